#!/bin/bash
# Connection poolers (doc/operations.md "Connection poolers"): the sweeper behind a
# real PgBouncer (tests/lib/pgbouncer.sh) in session and in transaction
# pooling mode.  What must hold in both: of two overlapping runs exactly
# one sweeps and the other is skipped (75); nothing of the run lock is
# left held afterwards; a run whose server connection is terminated never
# deletes without its lock; and the application's other clients of the
# pool never see the sweeper's lock_timeout or statement_timeout.  With
# [database] pooler = transaction the run lock is a lease row; with none
# or session behind a transaction pooler the run stops and names the fix.
. "$(dirname "$0")/../lib/assert.sh"
. "$T_LIB_DIR/pgbouncer.sh"

LS=mfa_sweeper

# pooler_up MODE [POOL_SIZE] [SETTING...]: a PgBouncer in front of the
# test server for this test, stopped at its end whatever happens.
pooler_up() {
	trap 'exit 143' TERM INT
	trap 'T_RC=$?; pgb_stop; (exit $T_RC); _t_exit' EXIT
	pgb_start "$@" || die "cannot start PgBouncer"
}

# N eligible used codes (must-go-bulk-1..N) of user 301, three that stay,
# and devices of other rules' users that must stay too.
codes_db() {
	fresh_db
	fx_many_used_codes "$1"
	fx_used_code_keepers
	fx_stale_devices
}

# slow_batches SECONDS [FROM]: deleting a backup code sleeps SECONDS, so a
# test can see the sweeper inside a batch (its backend waits in PgSleep).
# While the gate is closed (gate_close), deleting must-go-PREFIX-K for K
# >= FROM (default 1) also waits for gate_open (30 s at most): a test
# then acts while the run is inside that batch, however slowly a loaded
# machine starts the test's own commands.
slow_batches() {
	sql <<EOF
CREATE TABLE test_gate (closed boolean);
CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS \$\$
DECLARE
  until timestamptz := clock_timestamp() + interval '30 s';
BEGIN
  PERFORM pg_sleep($1);
  IF coalesce(substring(OLD.code_hash from '^must-go-[a-z]+-([0-9]+)\$')::int
              >= ${2:-1}, false) THEN
    WHILE clock_timestamp() < until AND EXISTS (SELECT 1 FROM test_gate) LOOP
      PERFORM pg_sleep(0.02);
    END LOOP;
  END IF;
  RETURN OLD;
END \$\$;
CREATE TRIGGER slow_delete BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION slow_delete();
EOF
}

gate_close() {
	q "INSERT INTO test_gate VALUES (true)" >/dev/null
}

gate_open() {
	q "DELETE FROM test_gate" >/dev/null
}

# cfg_pooled POOLER RULES [LINE...]: cfg_std reaching $DB through the
# PgBouncer, with [database] pooler = POOLER (lease_ttl $LEASE_TTL, default
# 2m) and the audit ledger enabled (unless LEDGER=false); init_ledger then
# creates its tables and the lease table.
cfg_pooled() {
	local pooler=$1 rules=$2
	shift 2
	cfg_std "$rules" "$@" "" "[ledger]" "enabled = ${LEDGER:-true}"
	sed -i "s|^dsn = .*|dsn = host=$PGB_HOST port=$PGB_PORT dbname=$DB\\
pooler = $pooler\\
lease_ttl = ${LEASE_TTL:-2m}|" "$CFG"
}

init_ledger() {
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger" || die "cannot initialise the ledger"
}

# The sweeper's server backend is inside a batch (sleeping in the trigger).
in_slow_batch() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity
		WHERE datname = '$DB' AND application_name = 'mfa-sweeper'
		AND wait_event = 'PgSleep'")" = 1 ]
}

# Terminate every server backend the sweeper has used (behind a pooler
# they stay named mfa-sweeper while idle in the pool).
terminate_sweeper_backends() {
	q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	   WHERE datname = '$DB' AND application_name = 'mfa-sweeper'"
}

lease_rows() {
	q "SELECT count(*) FROM $LS.run_lease"
}

# Rows gone from accounts_backupcode against the rows the ledger records.
ledger_total() {
	q "SELECT coalesce(sum(rows_deleted), 0) FROM $LS.deletions"
}

# Nothing of the run lock is held: no advisory lock in $DB, no lease row
# (when the table exists).
assert_nothing_held() {
	assert_eq "$(advisory_lock_held)" 0 "${1:-after the run}: advisory locks held"
	if [ "$(q "SELECT to_regclass('$LS.run_lease') IS NOT NULL")" = t ]; then
		assert_eq "$(lease_rows)" 0 "${1:-after the run}: lease rows"
	fi
}

# ------------------------------------------------------------------ overlapping runs

# overlap POOLER: the first run is inside a slow batch when the second
# starts; the second must be skipped and the first sweep everything.  The
# pool has two server connections, which both runs used: the next client,
# given one of them, sees the server's timeouts, not the runs'.
overlap() {
	codes_db 20
	slow_batches 0.05
	CFG_LOCK_TIMEOUT=1500ms cfg_pooled "$1" "used_backup_codes, stale_devices" \
		"batch_size = 5"
	sed -i '/^lock_timeout = /a statement_timeout = 45s' "$CFG"
	init_ledger
	snap
	gate_close
	sweep_bg -c "$CFG" --json
	wait_until 20 'in_slow_batch' || die "the first run never got into a batch"
	if [ "$1" = transaction ]; then
		# --history shows the leased run in progress as running.
		sweep -c "$CFG" --history
		assert_exit 0 "--history"
		assert_eq "$(printf '%s\n' "$OUT" | awk 'NR == 2 { print $5 }')" running \
			"--history: the leased run in progress"
	fi
	local first_out=$T_DIR/first.json
	sweep -c "$CFG" --json
	assert_exit 75 "the second, overlapping run"
	assert_json .status skipped "status of the second run"
	assert_contains "$ERR" "another mfa-sweeper run holds the lock" "the second run says why"
	assert_eq "$(rule_json used_backup_codes .deleted)" 0 "the second run deleted nothing"
	SECOND_ERR=$ERR
	gate_open
	sweep_bg_wait
	printf '%s' "$OUT" >"$first_out"
	assert_exit 0 "the first run"
	assert_json .status ok "status of the first run"
	check_rows '^must-go-'
	assert_json .deleted_total "$GONE_N" "the first run deleted every eligible row"
	assert_eq "$(ledger_total)" "$GONE_N" "ledger: deletions recorded against rows gone"
	assert_nothing_held
	local seen
	seen=$(pgb_psql "$DB" "SHOW lock_timeout")"|"$(pgb_psql "$DB" "SHOW statement_timeout")
	assert_eq "$seen" "0|0" "the next client of the pool: lock_timeout|statement_timeout"
}

t_session_overlapping_runs_one_sweeps() {
	pooler_up session 2
	overlap session
}

t_transaction_overlapping_runs_one_sweeps() {
	pooler_up transaction 2
	overlap transaction
	assert_match "$SECOND_ERR" "run [0-9a-f-]{36} on host .* holds the run lease|a batch of the run that holds the lease is running" \
		"the skipped run names the lease's holder"
}

# ------------------------------------------------------------------ a transaction pooler without pooler = transaction

# The session-level lock would land on whichever server connection the
# pooler picks: the run refuses before deleting anything, says what to
# set, and leaves no lock held on the pooled connection.
t_transaction_pooler_detected_without_the_key() {
	pooler_up transaction 2
	codes_db 10
	local p
	for p in none session; do
		cfg_pooled "$p" used_backup_codes "batch_size = 5"
		[ "$p" = session ] || init_ledger
		snap
		sweep -c "$CFG" --json
		assert_exit 78 "pooler = $p behind a transaction pooler"
		assert_json .status failed "pooler = $p: status"
		assert_contains "$ERR" "pooler = transaction" "pooler = $p: the message names the fix"
		assert_contains "$ERR" "nothing was deleted" "pooler = $p: the message says nothing was deleted"
		check_nothing_deleted "pooler = $p"
		assert_nothing_held "pooler = $p"
	done
}

# A session left holding the lock on a pooled server connection (as an
# older sweeper behind a transaction pooler left it): a run handed that
# connection sees the lock is its session's already, and refuses.
t_transaction_pooler_lock_left_on_server_connection() {
	pooler_up transaction 1
	codes_db 10
	pgb_psql "$DB" "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))" >/dev/null ||
		die "cannot take the lock through the pooler"
	assert_eq "$(advisory_lock_held)" 1 "the lock stays on the pooled server connection"
	cfg_pooled none used_backup_codes "batch_size = 5"
	init_ledger
	snap
	sweep -c "$CFG" --json
	assert_exit 78 "a run handed the server connection that holds the lock"
	assert_contains "$ERR" "already holds the run lock" "the symptom"
	assert_contains "$ERR" "pooler = transaction" "the fix"
	check_nothing_deleted
}

# ------------------------------------------------------------------ the server connection terminated mid-run

# Wait until the run is in the pause after its first batch (the first
# batch committed, no batch open), then terminate its server backends.
terminate_in_pause() {
	wait_until 20 '[ "$(rows_left must-go-bulk)" -le 5 ]' ||
		die "the run never finished its first batch"
	assert_int_cmp "$(terminate_sweeper_backends)" -ge 1 "server backends terminated"
}

# pooler = transaction: the pooler hands the next transaction a new server
# connection, and the lease (a row, not a session's lock) still holds: the
# run goes on and finishes the work.
t_transaction_server_replaced_between_batches_lease_holds() {
	pooler_up transaction 4
	codes_db 10
	cfg_pooled transaction used_backup_codes "batch_size = 5" "pause = 800ms"
	init_ledger
	snap
	sweep_bg -c "$CFG" --json
	terminate_in_pause
	sweep_bg_wait
	assert_exit 0 "a leased run whose server connection was replaced between batches"
	assert_json .status ok "status"
	check_rows '^must-go-bulk'
	assert_eq "$(ledger_total)" "$GONE_N" "ledger against rows gone"
	assert_nothing_held
}

# pooler = none behind a transaction pooler, with the check at the start
# unable to open its second connection (max_client_conn = 1): the server
# connection replaced between batches no longer holds the lock, and the
# next batch sees that, rolls back, and the run stops naming the fix.
t_transaction_server_replaced_between_batches_advisory_stops() {
	pooler_up transaction 4 "max_client_conn = 1"
	codes_db 10
	cfg_pooled none used_backup_codes "batch_size = 5" "pause = 800ms"
	init_ledger
	snap
	sweep_bg -c "$CFG" --json
	terminate_in_pause
	sweep_bg_wait
	assert_exit 1 "a run that lost its lock to a replaced server connection, after deleting"
	assert_json .status failed "status"
	assert_contains "$ERR" "pooler = transaction" "the message names the fix"
	assert_contains "$(rule_json used_backup_codes .error)" "the batch was rolled back" \
		"the rule's error says the batch was rolled back"
	local left
	left=$(rows_left must-go-bulk)
	assert_eq "$left" 5 "only the first batch is gone"
	assert_eq "$(ledger_total)" 5 "ledger against rows gone"
	assert_json .deleted_total 5 "deleted_total"
	assert_nothing_held
}

# A server backend terminated inside a batch: PgBouncer closes the client,
# the batch rolls back, the run exits 69.  With a lease, the run releases
# it from a new connection; an advisory lock died with the session.  The
# next run finishes the work.
terminated_in_batch() {
	local pooler=$1
	codes_db 30
	slow_batches 0.05 6
	cfg_pooled "$pooler" used_backup_codes "batch_size = 5"
	init_ledger
	snap
	gate_close
	sweep_bg -c "$CFG" --json
	wait_until 20 '[ "$(rows_left must-go-bulk)" -le 25 ] && in_slow_batch' ||
		die "the run never got into its second batch"
	terminate_sweeper_backends >/dev/null
	sweep_bg_wait
	assert_exit 69 "pooler = $pooler: the server backend terminated inside a batch"
	assert_json .status failed "status"
	local left
	left=$(rows_left must-go-bulk)
	assert_eq $(((30 - left) % 5)) 0 "rows gone ($((30 - left))) are whole batches"
	assert_eq "$(ledger_total)" $((30 - left)) "ledger against rows gone"
	assert_nothing_held "after the terminated run"
	q "DROP TRIGGER slow_delete ON accounts_backupcode" >/dev/null
	sweep -c "$CFG" --json
	assert_exit 0 "the next run"
	check_rows '^must-go-bulk' "after the next run"
	assert_nothing_held "after the next run"
}

t_session_terminated_in_batch() {
	pooler_up session 4
	terminated_in_batch session
}

t_transaction_terminated_in_batch() {
	pooler_up transaction 4
	terminated_in_batch transaction
}

# ------------------------------------------------------------------ settings other clients see

# The pool has one server connection, so a second client gets the very
# connection the sweeper uses: during the run (in its pause) and after it,
# that client sees the server's defaults, not the sweeper's timeouts, and
# holds no advisory lock.
t_transaction_settings_not_leaked() {
	pooler_up transaction 1
	codes_db 10
	CFG_LOCK_TIMEOUT=1500ms cfg_pooled transaction used_backup_codes \
		"batch_size = 5" "pause = 800ms"
	sed -i '/^lock_timeout = /a statement_timeout = 45s' "$CFG"
	init_ledger
	snap
	sweep_bg -c "$CFG" --json
	wait_until 20 '[ "$(rows_left must-go-bulk)" -le 5 ]' ||
		die "the run never finished its first batch"
	local seen
	seen=$(pgb_psql "$DB" "SELECT current_setting('lock_timeout') || '|' ||
		current_setting('statement_timeout') || '|' ||
		(SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory')
		|| '|' || pg_backend_pid()")
	assert_eq "$(cut -d'|' -f1-3 <<<"$seen")" "0|0|0" \
		"another client of the pool during the run: lock_timeout|statement_timeout|advisory locks"
	# The run's row records the server backend it was written from.
	assert_eq "$(cut -d'|' -f4 <<<"$seen")" "$(q "SELECT backend_pid FROM $LS.runs")" \
		"that client was given the sweeper's own server connection"
	sweep_bg_wait
	assert_exit 0 "the run"
	check_rows '^must-go-bulk'
	seen=$(pgb_psql "$DB" "SHOW lock_timeout")"|"$(pgb_psql "$DB" "SHOW statement_timeout")
	assert_eq "$seen" "0|0" "another client of the pool after the run: lock_timeout|statement_timeout"
	assert_nothing_held
}

# ------------------------------------------------------------------ the lease

t_transaction_lease_table_missing() {
	pooler_up transaction 2
	codes_db 10
	LEDGER=false cfg_pooled transaction used_backup_codes
	snap
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config without the lease table"
	assert_contains "$ERR" 'the run lease table "mfa_sweeper"."run_lease" does not exist' "the message names the table"
	assert_contains "$ERR" "--init-ledger" "the message names the fix"
	sweep -c "$CFG" --json
	assert_exit 78 "a run without the lease table"
	assert_contains "$ERR" "--init-ledger" "the run's message names the fix"
	check_nothing_deleted
	# A dry run takes no lock and needs no lease.
	sweep -c "$CFG" --json --dry-run
	assert_exit 0 "a dry run without the lease table"
}

# A live lease keeps a run out (75, naming the holder); an expired one is
# taken over with a warning, and released at the end.
t_transaction_lease_live_skips_expired_taken_over() {
	pooler_up transaction 2
	codes_db 10
	cfg_pooled transaction used_backup_codes "batch_size = 5"
	init_ledger
	q "INSERT INTO $LS.run_lease VALUES ('mfa-sweeper',
	   '11111111-2222-3333-4444-555555555555', 'other-host', now(), now(),
	   now() + interval '1 hour')" >/dev/null
	snap
	sweep -c "$CFG" --json
	assert_exit 75 "a live lease of another run"
	assert_json .status skipped "status"
	assert_contains "$ERR" "run 11111111-2222-3333-4444-555555555555 on host other-host" "the holder is named"
	check_nothing_deleted
	assert_eq "$(lease_rows)" 1 "the other run's lease is left alone"
	q "UPDATE $LS.run_lease SET expires_at = now() - interval '1 second'" >/dev/null
	sweep -c "$CFG" --json
	assert_exit 0 "an expired lease of another run"
	assert_contains "$ERR" "took over the run lease of run 11111111-2222-3333-4444-555555555555 on host other-host, expired at" \
		"the takeover is logged"
	check_rows '^must-go-bulk'
	assert_nothing_held
}

# Another run takes the lease over while this one pauses between batches
# (as one would after lease_ttl without a renewal): the next batch finds
# the lease gone, rolls back, and the run stops as interrupted (75).
t_transaction_lease_taken_over_mid_run() {
	pooler_up transaction 2
	codes_db 10
	cfg_pooled transaction used_backup_codes "batch_size = 5" "pause = 2s"
	init_ledger
	snap
	sweep_bg -c "$CFG" --json
	wait_until 20 '[ "$(rows_left must-go-bulk)" -le 5 ]' ||
		die "the run never finished its first batch"
	assert_eq "$(q "UPDATE $LS.run_lease SET holder = '11111111-2222-3333-4444-555555555555',
	   host = 'other-host' RETURNING 1")" 1 "the lease taken over"
	sweep_bg_wait
	assert_exit 75 "a run whose lease was taken over"
	assert_json .status interrupted "status"
	assert_contains "$ERR" "the run lease was taken over by run 11111111-2222-3333-4444-555555555555 on host other-host" \
		"the message names the new holder"
	assert_eq "$(rows_left must-go-bulk)" 5 "only the first batch is gone"
	assert_eq "$(ledger_total)" 5 "ledger against rows gone"
	assert_eq "$(q "SELECT host FROM $LS.run_lease")" other-host "the new holder's lease is left alone"
}

# A direct run (pooler = none) and a pooled one (pooler = transaction)
# keep each other out: the lease taker tries the advisory lock's key, and
# the advisory run checks for a live lease.
t_direct_and_leased_runs_exclude_each_other() {
	pooler_up transaction 4
	codes_db 20
	slow_batches 0.05
	cfg_pooled transaction used_backup_codes "batch_size = 5"
	init_ledger
	local leased=$CFG direct=$T_DIR/direct.ini
	sed -e "s|^dsn = .*|dsn = dbname=$DB|" -e 's|^pooler = .*|pooler = none|' "$leased" >"$direct"

	gate_close
	sweep_bg -c "$direct" --json
	wait_until 20 'in_slow_batch' || die "the direct run never got into a batch"
	sweep -c "$leased" --json
	assert_exit 75 "a leased run while a direct run holds the advisory lock"
	assert_contains "$ERR" "advisory run lock" "the leased run says why"
	gate_open
	sweep_bg_wait
	assert_exit 0 "the direct run"

	fx_many_used_codes 20 must-go-more
	gate_close
	sweep_bg -c "$leased" --json
	wait_until 20 'in_slow_batch' || die "the leased run never got into a batch"
	sweep -c "$direct" --json
	assert_exit 75 "a direct run while a leased run holds the lease"
	assert_contains "$ERR" "holds the run lease" "the direct run says why"
	gate_open
	sweep_bg_wait
	assert_exit 0 "the leased run"
	assert_eq "$(rows_left must-go)" 0 "every eligible row is gone"
	assert_nothing_held
}

# ------------------------------------------------------------------ config

t_pooler_config_errors() {
	fresh_db
	local bad
	for bad in "pooler = transactional|'transactional' is not one of none, session, transaction" \
		"lease_ttl = 500ms|'500ms' is shorter than a second" \
		"lease_ttl = soon|'soon' is not a duration"; do
		cfg_std used_backup_codes
		sed -i "/^lock_timeout = /a ${bad%%|*}" "$CFG"
		sweep -c "$CFG"
		assert_exit 78 "exit code for ${bad%%|*}"
		assert_contains "$ERR" "$CFG:$(line_of "${bad%%|*}"): [database] ${bad%% *}: ${bad#*|}" \
			"the error names file, line, section, key and the problem"
	done
}

run_tests "$@"
