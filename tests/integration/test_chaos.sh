#!/bin/bash
# The fault trials (tests/chaos/chaos.sh, `make chaos`) in small: one trial
# of every fault, directly and through PgBouncer in transaction mode, each
# checked as the harness checks them (tests/chaos/expect.sh); and one trial
# of a sweeper that deletes a row it must keep, which the harness must
# report.  `make chaos TRIALS=200` is the long run.
. "$(dirname "$0")/../lib/assert.sh"

CHAOS=$T_ROOT/tests/chaos/chaos.sh

# chaos ARGS...: run the harness; sets OUT (its stdout and stderr) and RC.
chaos() {
	OUT=$(BUILD=$SWEEPER_BUILD timeout -k 5 100 bash "$CHAOS" "$@" 2>&1)
	RC=$?
}

# The table's row for FAULT and POOLER: "trials passed missed".
chaos_row() {
	printf '%s\n' "$OUT" | awk -v f="$1" -v p="$2" '$1 == f && $2 == p { print $3, $4, $5 }'
}

t_one_trial_of_every_fault() { # slow
	local kinds=14 f p row
	SWEEPER_BIN=$SWEEPER_BIN chaos "$kinds"
	assert_eq "$RC" 0 "the harness's exit code" || note "$(printf '%s' "$OUT" | tail -n 30)"
	for f in kill9 restart terminate sigterm sigterm_early lock stmt_timeout; do
		for p in direct pgbouncer; do
			row=$(chaos_row "$f" "$p")
			assert_match "$row" "^1 1 [01]$" "$f through $p: trials passed missed"
		done
	done
	assert_match "$OUT" "total +$kinds +$kinds" "the total line"
}

# A sweeper that deletes a row every rule must keep (and otherwise works):
# the trial fails, and says why.
t_harness_reports_a_kept_row_deleted() {
	local wrapper=$T_DIR/bad-sweeper
	cat >"$wrapper" <<EOF
#!/bin/bash
"$SWEEPER_BIN" "\$@"
rc=\$?
case " \$* " in
*" --json "*)
	dsn=\$(sed -n 's/^dsn = //p' "\$2")
	psql -XAtq "\$dsn" -c "DELETE FROM accounts_backupcode WHERE code_hash = 'must-stay-u3-code-1'" >/dev/null
	;;
esac
exit \$rc
EOF
	chmod 0755 "$wrapper"
	SWEEPER_BIN=$wrapper FAULTS=sigterm POOLERS=direct CHAOS_KEEP=0 chaos 1
	assert_eq "$RC" 1 "the harness's exit code"
	assert_contains "$OUT" "trial 1 (sigterm, direct): " "the failed trial is named"
	assert_contains "$OUT" "rows that must stay are gone" "the reason"
	assert_eq "$(chaos_row sigterm direct)" "1 0 0" "sigterm through direct: trials passed missed"
}

run_tests "$@"
