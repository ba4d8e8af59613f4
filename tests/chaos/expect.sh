# expect.sh: what a fault trial of tests/chaos/chaos.sh must end with, per
# fault and pooler: the one place to change when a contract changes.
#
# Columns:
#   fault      the fault injected (chaos.sh describes each)
#   pooler     direct (the server itself, pooler = none) or pgbouncer (a
#              PgBouncer in transaction pooling mode, pooler = transaction);
#              "any" for both
#   exits      the exit codes the run may end with when the fault lands
#              (mfa-sweeper(1) "EXIT STATUS"); 0 is accepted only when the run
#              finished the work (no row left that a rule must delete).  A
#              fault due after the run had already ended ("missed") must
#              give 0 and the work finished, whatever this says.
#   deletes    what the faulted run may delete: any (whole batches, as the
#              ledger records them), none (nothing at all), or unlocked
#              (nothing from the table the fault locks: otp_totp_totpdevice)
#   lease      whether the run lease may be left behind, to expire after
#              lease_ttl: yes only where the process or its connection died
#              before it could release it (pgbouncer runs); no elsewhere
#   summary    whether a run ending with 0, 1 or 75 must print its --json
#              summary (the contract: every run that got past loading its
#              config reports)
#
# Every trial also checks, whatever the row says: no row a rule must keep
# is gone; the ledger's deletions equal the rows gone, per table and user;
# no advisory lock is left held; a summary printed for exit 0, 1 or 75
# counts exactly the rows its run deleted and matches the run's ledger row;
# and a following normal run exits 0 and finishes the work.
#
# What the contract says for the faults that are not plain:
#   - lock: a table another session holds (ACCESS EXCLUSIVE) stops that
#     rule's preflight after lock_timeout: only the rules on the locked
#     table fail, the others delete, and the run reports (exit 1).
#   - sigterm_early: a SIGTERM while the run connects, plans or runs its
#     first batches ends it as interrupted (75), reported, with whole
#     batches deleted at most.
#   - restart through pgbouncer: PgBouncer hides a restart that comes
#     between two transactions (the run goes on, 0); one that comes inside
#     a batch closes the client (69).
#   - terminate: a backend terminated inside a batch loses the connection
#     (69); through pgbouncer, one terminated between two transactions is
#     replaced unseen, and the lease (a row, not the session's) still holds
#     (0).

CHAOS_EXPECT='
# fault         pooler     exits   deletes   lease  summary
kill9           direct     137     any       no     yes
kill9           pgbouncer  137     any       yes    yes
restart         direct     69      any       no     yes
restart         pgbouncer  69,0    any       yes    yes
terminate       direct     69      any       no     yes
terminate       pgbouncer  69,0    any       no     yes
sigterm         any        75      any       no     yes
lock            any        1       unlocked  no     yes
stmt_timeout    any        1       any       no     yes
sigterm_early   any        75      any       no     yes
'

# chaos_expect FAULT POOLER FIELD: the FIELD (exits, deletes, lease,
# summary) of the first line for FAULT whose pooler is POOLER or "any";
# empty when none.
chaos_expect() {
	local col
	case $3 in
	exits) col=3 ;;
	deletes) col=4 ;;
	lease) col=5 ;;
	summary) col=6 ;;
	*) return 1 ;;
	esac
	printf '%s\n' "$CHAOS_EXPECT" | awk -v f="$1" -v p="$2" -v c="$col" '
		/^#/ || NF < 6 { next }
		$1 == f && ($2 == p || $2 == "any") { print $c; exit }'
}
