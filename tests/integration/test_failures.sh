#!/bin/bash
# Failures of a batch and stopping a run (issue 4, items 3 and 4):
# deadlocks, lock timeouts and statement timeouts are retried with backoff
# and then fail the rule; a lost connection (backend terminated, server
# stopped) ends the run with exit 69 and leaves only whole batches; SIGTERM
# and SIGINT stop at the next batch boundary, and a batch still running
# after stop_timeout, or at a second signal, is cancelled and rolled back.
#
# The slow batches here come from BEFORE DELETE triggers that sleep, so a
# test knows the sweeper is inside a batch when its backend waits in
# pg_sleep.  t_connection_lost_mid_run and t_interrupted_by_sigterm in
# test_engine.sh cover the plain cases; these add what they do not.
. "$(dirname "$0")/../lib/assert.sh"

# N eligible used codes (must-go-bulk-1..N) plus three that stay.
codes_db() {
	fresh_db
	fx_many_used_codes "$1"
	fx_used_code_keepers
}

stale_left() {
	q "SELECT count(*) FROM otp_totp_totpdevice WHERE name LIKE 'must-go-%'"
}

# slow_codes FIRST SECONDS: deleting must-go-bulk-K for K >= FIRST sleeps
# SECONDS per row.
slow_codes() {
	sql <<EOF
CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF substring(OLD.code_hash from '^must-go-bulk-([0-9]+)\$')::int >= $1 THEN
    PERFORM pg_sleep($2);
  END IF;
  RETURN OLD;
END \$\$;
CREATE TRIGGER slow_delete BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION slow_delete();
EOF
}

# The sweeper's backend sleeps in a trigger: it is inside a batch.
in_slow_batch() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity
		WHERE datname = '$DB' AND application_name = 'mfa-sweeper'
		AND wait_event = 'PgSleep'")" = 1 ]
}

# The pid of the background sweeper (under its timeout wrapper).
sweeper_pid() {
	local child
	child=$(bg_sweeper_pid)
	[ -n "$child" ] || die "cannot find the sweeper process"
	printf '%s\n' "$child"
}

ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

# Add KEY = VALUE to [database] of $CFG (cfg_std writes only lock_timeout).
cfg_database() {
	sed -i "/^lock_timeout = /a $1 = $2" "$CFG"
}

# granted_advisory KEY: sessions holding advisory lock KEY in $DB.
granted_advisory() {
	q "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
	   WHERE l.locktype = 'advisory' AND l.granted AND l.objid = $1
	   AND d.datname = '$DB'"
}

# ------------------------------------------------------------------ config

t_bad_retry_and_stop_keys() {
	fresh_db
	local bad
	for bad in "retries = 21|'21' is out of range; write a number from 0 to 20" \
		"retry_backoff = fast|'fast' is not a duration" \
		"stop_timeout = 10|'10' is not a duration"; do
		cfg_std used_backup_codes "${bad%%|*}"
		sweep -c "$CFG"
		assert_exit 78 "exit code for ${bad%%|*}"
		assert_contains "$ERR" "$CFG:$(line_of "${bad%%|*}"): [sweeper] ${bad%% *}: ${bad#*|}" \
			"the error names file, line, section and key"
	done
}

# ------------------------------------------------------------------ deadlocks

# Every row the sweeper deletes takes advisory lock 1, then 4242.  A
# second session holds 4242 and, each time the sweeper waits for it,
# takes lock 1: a deadlock.  That session sets a long deadlock_timeout, so
# the sweeper (the server's default, 1s) always detects it and is the one
# rolled back; after `rounds` deadlocks the session lets go.
deadlock_setup() {
	local rounds=$1
	sql <<'EOF'
CREATE FUNCTION lock_pair() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1);
  PERFORM pg_advisory_xact_lock(4242);
  RETURN OLD;
END $$;
CREATE TRIGGER lock_pair BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION lock_pair();
EOF
	cat >"$T_DIR/blocker.sql" <<EOF
SET deadlock_timeout = '30s';
SELECT pg_advisory_lock(4242);
DO \$\$
DECLARE
  n int;
BEGIN
  FOR i IN 1..$rounds LOOP
    -- Wait for the sweeper to wait for 4242, holding lock 1.
    FOR n IN 1..1500 LOOP
      -- In this database: other tests run at the same time.
      EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                        AND objid = 4242 AND NOT granted
                        AND database = (SELECT oid FROM pg_database
                                        WHERE datname = current_database()));
      PERFORM pg_sleep(0.02);
    END LOOP;
    PERFORM pg_advisory_lock(1);
    PERFORM pg_advisory_unlock(1);
    RAISE NOTICE 'deadlock round % done', i;
  END LOOP;
END \$\$;
SELECT pg_advisory_unlock_all();
SELECT pg_sleep(100);
EOF
	local app="mfa-test-blocker-$$"
	PGAPPNAME=$app timeout -k 5 120 psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" \
		-f "$T_DIR/blocker.sql" >"$T_DIR/blocker.out" 2>&1 &
	T_BG_PIDS+=("$!")
	T_BG_APPS+=("$app")
	wait_until 10 '[ "$(granted_advisory 4242)" = 1 ]' ||
		die "the blocking session did not take its lock: $(cat "$T_DIR/blocker.out")"
}

t_deadlock_retried_then_succeeds() {
	codes_db 10
	fx_stale_devices
	deadlock_setup 1
	cfg_std "used_backup_codes, stale_devices" "batch_size = 100" \
		"retries = 3" "retry_backoff = 50ms"
	snap
	sweep -c "$CFG" --json
	assert_exit 0 "exit code after one deadlock and a retry"
	assert_json .status ok "status"
	check_rows '^must-go-'
	assert_eq "$(rule_json used_backup_codes .retries)" 1 "retries of the rule"
	assert_eq "$(rule_json used_backup_codes '.steps[0].retries')" 1 "retries of the step"
	assert_eq "$(rule_json stale_devices .retries)" 0 "retries of the other rule"
	assert_json .deleted_total "$GONE_N" "deleted_total"
	assert_match "$ERR" "warn: .*used_backup_codes.*deadlock.*40P01.*retry 1 of 3" \
		"the retry is logged with its reason"
	assert_contains "$(cat "$T_DIR/blocker.out")" "deadlock round 1 done" \
		"the other session got its lock"
	assert_not_contains "$(cat "$T_DIR/blocker.out")" "ERROR" \
		"the other session was not the deadlock's victim"
}

t_deadlock_repeated_fails_after_retries() {
	codes_db 10
	fx_stale_devices
	deadlock_setup 3
	cfg_std "used_backup_codes, stale_devices" "batch_size = 100" \
		"retries = 2" "retry_backoff = 50ms"
	snap
	sweep -c "$CFG" --json
	assert_exit 1 "exit code when the deadlock repeats past the retries"
	assert_json .status failed "status"
	assert_eq "$(rule_json used_backup_codes .status)" failed "the rule failed"
	assert_eq "$(rule_json used_backup_codes .retries)" 2 "retries of the rule"
	assert_match "$(rule_json used_backup_codes .error)" \
		"deadlock detected.*SQLSTATE 40P01.*gave up after 2 retries" \
		"the error names the SQLSTATE, the message and the retries"
	assert_eq "$(rule_json stale_devices .status)" ok "the next rule still runs"
	check_rows '^must-go-u201-'
	assert_eq "$(rows_left must-go-bulk)" 10 "the failed batch rolled back whole"
	assert_eq "$(grep -c 'retry [0-9] of 2' <<<"$ERR")" 2 "one warning per retry"
}

# ------------------------------------------------------------------ lock_timeout

# Batch 1 (must-go-bulk-1..5) is slow; while it runs, a second session
# queues LOCK TABLE ... IN SHARE MODE, which it gets when batch 1 commits:
# every later DELETE then waits for it past lock_timeout.  (Taking the lock
# before the run would also stop the preflight's EXPLAIN.)
lock_after_first_batch() {
	codes_db 10
	fx_stale_devices
	sql <<'EOF'
-- The first batch lasts until the holder's LOCK waits behind it (10 s at
-- most), so the holder gets the table before the second batch, however
-- slowly a loaded machine starts its session.  The holder of this test's
-- database: another test's, running at the same time, is not it.
CREATE FUNCTION slow_first() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  until timestamptz := clock_timestamp() + interval '10 s';
BEGIN
  PERFORM pg_sleep(0.2);
  WHILE clock_timestamp() < until AND NOT EXISTS (
      SELECT 1 FROM pg_stat_activity
      WHERE application_name LIKE 'mfa-test-holder-%'
        AND datname = current_database()
        AND wait_event_type = 'Lock') LOOP
    PERFORM pg_sleep(0.05);
  END LOOP;
  RETURN OLD;
END $$;
CREATE TRIGGER slow_first BEFORE DELETE ON accounts_backupcode FOR EACH ROW
  WHEN (OLD.code_hash = 'must-go-bulk-1') EXECUTE FUNCTION slow_first();
EOF
	CFG_LOCK_TIMEOUT=200ms cfg_std "used_backup_codes, stale_devices" \
		"batch_size = 5" "$@"
	snap
	sweep_bg -c "$CFG" --json
	wait_until 20 'in_slow_batch' || die "the first batch never ran"
	bg_session holder "LOCK TABLE accounts_backupcode IN SHARE MODE"
}

t_lock_timeout_retries_then_fails() {
	lock_after_first_batch "retries = 2" "retry_backoff = 50ms"
	sweep_bg_wait
	bg_end holder
	assert_exit 1 "exit code when a lock is held past lock_timeout and the retries"
	assert_json .status failed "status"
	assert_eq "$(rule_json used_backup_codes .status)" failed "the rule failed"
	assert_match "$(rule_json used_backup_codes .error)" \
		"lock timeout.*SQLSTATE 55P03.*gave up after 2 retries" \
		"the error names the SQLSTATE and the retries"
	assert_eq "$(rule_json used_backup_codes .retries)" 2 "retries counted"
	assert_eq "$(rule_json used_backup_codes .deleted)" 5 "the first batch counts"
	assert_eq "$(rows_left must-go-bulk)" 5 "the first batch is gone, the second rolled back"
	assert_eq "$(rule_json stale_devices .status)" ok "the next rule still runs"
	assert_eq "$(stale_left)" 0 "the next rule deleted its rows"
	assert_eq "$(grep -c 'warn: .*lock timeout.*retry [0-9] of 2' <<<"$ERR")" 2 \
		"each retry logged with its reason"
	assert_contains "$ERR" "rule 'used_backup_codes': failed" "the failure is logged"
}

t_lock_released_during_retries() {
	lock_after_first_batch "retries = 20" "retry_backoff = 100ms"
	wait_until 20 'grep -q "lock timeout" "$T_DIR/bg.stderr"' ||
		die "no retry after a lock timeout: $(cat "$T_DIR/bg.stderr")"
	bg_end holder
	sweep_bg_wait
	assert_exit 0 "exit code when the lock goes away during the retries"
	assert_json .status ok "status"
	check_rows '^must-go-'
	assert_jq '.rules[] | select(.name == "used_backup_codes") | .retries >= 1 and .retries < 20' \
		"retries counted"
	assert_json .deleted_total "$GONE_N" "deleted_total"
}

# ------------------------------------------------------------------ statement_timeout

t_statement_timeout_retried_then_failed() {
	codes_db 10
	fx_stale_devices
	# Batch 2 (must-go-bulk-6..10) takes 5 s, far past statement_timeout.
	slow_codes 6 1
	cfg_std "used_backup_codes, stale_devices" "batch_size = 5" \
		"retries = 2" "retry_backoff = 10ms"
	cfg_database statement_timeout 300ms
	snap
	sweep -c "$CFG" --json
	assert_exit 1 "exit code after statement timeouts past the retries"
	assert_eq "$(rule_json used_backup_codes .status)" failed "the rule failed"
	assert_match "$(rule_json used_backup_codes .error)" \
		"statement timeout.*SQLSTATE 57014.*gave up after 2 retries" \
		"the error names the SQLSTATE and the retries"
	assert_eq "$(rule_json used_backup_codes .retries)" 2 "retries counted"
	assert_eq "$(rows_left must-go-bulk)" 5 "batch 1 gone, batch 2 rolled back"
	assert_eq "$(rule_json stale_devices .status)" ok "the next rule still runs"
	assert_eq "$(grep -c 'warn: .*statement timeout.*retry [0-9] of 2' <<<"$ERR")" 2 \
		"each retry logged"
}

# A failure that no retry can mend fails the rule at once.  A data
# exception (SQLSTATE 22000) belongs to no row; what a trigger refuses with
# a plain RAISE EXCEPTION (P0001) is left behind instead (test_left_behind).
t_other_errors_not_retried() {
	codes_db 10
	sql <<'EOF'
CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'boom: this row refuses to go'
    USING ERRCODE = 'data_exception';
END $$;
CREATE TRIGGER boom BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION boom();
EOF
	cfg_std used_backup_codes "retries = 5" "retry_backoff = 1s"
	sweep -c "$CFG" --json
	assert_exit 1 "exit code"
	assert_eq "$(rule_json used_backup_codes .retries)" 0 "no retry"
	assert_contains "$(rule_json used_backup_codes .error)" "22000" "the error's SQLSTATE"
	assert_not_contains "$ERR" "retry" "no retry logged"
	assert_int_cmp "$ELAPSED_MS" -lt 1000 "ms taken (no backoff slept)"
}

# ------------------------------------------------------------------ lost connection

t_backend_terminated_then_clean_rerun() {
	codes_db 30
	fx_stale_devices
	# Each batch of 10 takes 1 s.
	slow_codes 1 0.1
	cfg_std "used_backup_codes, stale_devices" "batch_size = 10"
	snap
	sweep_bg -c "$CFG" --json
	# One query, so the batch seen sleeping is the one the count is of.
	wait_until 20 '[ "$(q "SELECT (SELECT count(*) FROM accounts_backupcode
		WHERE code_hash LIKE '\''must-go-bulk%'\'') <= 20 AND EXISTS (
		SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = '\''mfa-sweeper'\'' AND wait_event = '\''PgSleep'\'')")" = t ]' ||
		die "the run never got into its second batch"
	q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	   WHERE datname = '$DB' AND application_name = 'mfa-sweeper'" >/dev/null
	sweep_bg_wait
	assert_exit 69 "exit code when the sweeper's backend is terminated"
	local left
	left=$(rows_left must-go-bulk)
	assert_int_cmp "$left" -gt 0 "rows left"
	assert_eq $(((30 - left) % 10)) 0 "rows gone ($((30 - left))) are whole batches of 10"
	assert_json .status failed "status"
	assert_json .deleted_total $((30 - left)) "deleted_total against rows gone"
	assert_contains "$(rule_json used_backup_codes .error)" \
		"connection lost before COMMIT was sent; the batch was rolled back" \
		"the batch's fate"
	assert_eq "$(rule_json stale_devices .status)" failed "the later rule"
	assert_eq "$(rule_json stale_devices .error)" "not run: database connection lost" \
		"the later rule is marked not run"
	assert_contains "$ERR" "lost the database connection" "the log says why the run ended"
	assert_eq "$(advisory_lock_held)" 0 "the run lock died with the session"

	# A later run starts cleanly and finishes the work.
	sweep -c "$CFG" --json
	assert_exit 0 "exit code of the next run"
	assert_eq "$(rule_json used_backup_codes .deleted)" "$left" "the next run deletes the rest"
	check_rows '^must-go-' "after the next run"
}

# The connection dies while the server runs COMMIT (a deferred trigger
# sleeps in it): the sweeper asks a new connection what became of the
# batch instead of saying it may or may not be applied.
t_connection_lost_during_commit() {
	codes_db 30
	sql <<'EOF'
CREATE FUNCTION slow_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_sleep(10);
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER slow_commit AFTER DELETE ON accounts_backupcode
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.code_hash = 'must-go-bulk-11') EXECUTE FUNCTION slow_commit();
EOF
	cfg_std used_backup_codes "batch_size = 10"
	sweep_bg -c "$CFG" --json
	wait_until 20 '[ "$(rows_left must-go-bulk)" = 20 ] && in_slow_batch' ||
		die "the run never got into its second COMMIT"
	q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	   WHERE datname = '$DB' AND application_name = 'mfa-sweeper'" >/dev/null
	sweep_bg_wait
	assert_exit 69 "exit code when the connection is lost during COMMIT"
	assert_eq "$(rows_left must-go-bulk)" 20 "the batch whose COMMIT was cut off is not applied"
	assert_contains "$(rule_json used_backup_codes .error)" \
		"connection lost during COMMIT; the batch was rolled back (checked on a new connection)" \
		"the batch's fate, found out"
	assert_json .deleted_total 10 "deleted_total"
}

# A private server for this test alone, so that stopping it leaves the
# shared one alone.  Stopped (and its directory removed) whatever happens.
PRIV_PG=

priv_pg_start() {
	PRIV_PG=$T_DIR/pg
	mkdir -p "$PRIV_PG"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$PRIV_PG"
	trap 'exit 143' TERM INT
	trap 'T_RC=$?; priv_pg_stop; (exit $T_RC); _t_exit' EXIT
	pg_as_owner "$PG_BINDIR/initdb" -D "$PRIV_PG/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C >"$T_DIR/initdb.log" 2>&1 ||
		die "initdb failed: $(cat "$T_DIR/initdb.log")"
	priv_pg_ctl start || die "the private server did not start: $(cat "$PRIV_PG/server.log")"
}

priv_pg_ctl() {
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PRIV_PG/data" -l "$PRIV_PG/server.log" \
		-o "-k $PRIV_PG -c listen_addresses='' -c fsync=off -c shared_buffers=16MB -c max_connections=20" \
		-w -t 60 "$@" >/dev/null 2>&1
}

priv_pg_stop() {
	if [ -n "$PRIV_PG" ] && [ -f "$PRIV_PG/data/postmaster.pid" ]; then
		pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PRIV_PG/data" -m immediate \
			-w stop >/dev/null 2>&1
	fi
}

t_server_stopped_mid_run() {
	. "$T_LIB_DIR/pg.sh"
	[ -n "${PG_BINDIR:-}" ] || PG_BINDIR=$(pg_bindir) || die "no PostgreSQL binaries"
	local main_host=$PGHOST
	priv_pg_start
	export PGHOST=$PRIV_PG
	q "CREATE DATABASE $SWEEPER_TEMPLATE_DB" postgres >/dev/null || die "no template"
	PGHOST=$main_host pg_dump -s -d "$SWEEPER_TEMPLATE_DB" | sql "$SWEEPER_TEMPLATE_DB" >/dev/null
	codes_db 30
	fx_stale_devices
	slow_codes 1 0.05
	cfg_std "used_backup_codes, stale_devices" "batch_size = 10"
	snap
	sweep_bg -c "$CFG" --json
	# One query, so the batch seen sleeping is the one the count is of.
	wait_until 20 '[ "$(q "SELECT (SELECT count(*) FROM accounts_backupcode
		WHERE code_hash LIKE '\''must-go-bulk%'\'') <= 20 AND EXISTS (
		SELECT 1 FROM pg_stat_activity WHERE datname = current_database()
		AND application_name = '\''mfa-sweeper'\'' AND wait_event = '\''PgSleep'\'')")" = t ]' ||
		die "the run never got into its second batch"
	# A fast shutdown ends every session's transaction, as a restart or
	# failover of the database server would.
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PRIV_PG/data" -m fast -w stop >/dev/null 2>&1 ||
		die "the private server did not stop"
	sweep_bg_wait
	assert_exit 69 "exit code when the server stops mid-run"
	assert_contains "$ERR" "lost the database connection" "the log says why the run ended"
	assert_contains "$(rule_json used_backup_codes .error)" "the batch was rolled back" \
		"the batch's fate is known and reported"
	assert_match "$ERR" "error: rule 'used_backup_codes'.*(terminating connection|server closed)" \
		"the server's reason is logged"
	note "stderr: $ERR"
	assert_eq "$(rule_json stale_devices .error)" "not run: database connection lost" \
		"the later rule is marked not run"

	priv_pg_ctl start || die "the private server did not start again"
	local left
	left=$(rows_left must-go-bulk)
	assert_int_cmp "$left" -gt 0 "rows left"
	assert_eq $(((30 - left) % 10)) 0 "rows gone ($((30 - left))) are whole batches of 10"
	assert_json .deleted_total $((30 - left)) "deleted_total against rows gone"

	sweep -c "$CFG" --json
	assert_exit 0 "exit code of the run after the restart"
	check_rows '^must-go-' "after the run after the restart"
}

# ------------------------------------------------------------------ signals

# 30 codes in batches of 10: batch 1 is quick, batch 2 (bulk-11..20) and 3
# sleep SECONDS per row.  Starts the run and returns once batch 1 is
# committed and batch 2 is running.
signal_setup() {
	local per_row=$1
	shift
	codes_db 30
	slow_codes 11 "$per_row"
	cfg_std used_backup_codes "batch_size = 10" "$@"
	sweep_bg -c "$CFG" --json
	wait_until 20 '[ "$(rows_left must-go-bulk)" = 20 ] && in_slow_batch' ||
		die "the run never got into its second batch"
}

# The summary of an interrupted run: status, exit code, and rows gone in
# whole batches matching deleted_total.
check_interrupted() {
	local want_left=$1
	assert_exit 75 "exit code after the signal"
	assert_json .status interrupted "run status"
	assert_eq "$(rule_json used_backup_codes .status)" interrupted "rule status"
	assert_eq "$(rule_json used_backup_codes .error)" null "no error for a stop"
	assert_eq "$(rows_left must-go-bulk)" "$want_left" "rows left: whole batches"
	assert_json .deleted_total $((30 - want_left)) "deleted_total against rows gone"
	assert_eq "$(rows_left must-stay)" 3 "rows that must stay"
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
}

t_sigterm_cancels_batch_after_stop_timeout() {
	# Batch 2 would take 10 s.
	signal_setup 1 "stop_timeout = 500ms"
	local t0 ms
	t0=$(date +%s%N)
	kill -TERM "$(sweeper_pid)"
	sweep_bg_wait
	ms=$(ms_since "$t0")
	check_interrupted 20
	assert_int_cmp "$ms" -lt 5000 "ms from SIGTERM to exit (the batch would take 10000)"
	assert_contains "$ERR" "cancelled by a stop request and rolled back" "the cancel is logged"
}

t_stop_timeout_zero_cancels_at_once() {
	signal_setup 1 "stop_timeout = 0"
	local t0 ms
	t0=$(date +%s%N)
	kill -INT "$(sweeper_pid)"
	sweep_bg_wait
	ms=$(ms_since "$t0")
	check_interrupted 20
	assert_int_cmp "$ms" -lt 5000 "ms from SIGINT to exit (the batch would take 10000)"
}

t_sigterm_lets_batch_finish_within_stop_timeout() {
	# Batch 2 takes 2 s, well within stop_timeout.
	signal_setup 0.2 "stop_timeout = 60s"
	kill -TERM "$(sweeper_pid)"
	sweep_bg_wait
	# Batch 2 committed; batch 3 never began.
	check_interrupted 10
	assert_not_contains "$ERR" "cancelled" "nothing was cancelled"
}

t_second_signal_cancels_at_once() {
	signal_setup 1 "stop_timeout = 60s"
	local child t0 ms
	child=$(sweeper_pid)
	kill -TERM "$child"
	sleep 1
	kill -0 "$child" 2>/dev/null || fail "the first signal did not wait for the batch"
	t0=$(date +%s%N)
	kill -TERM "$child"
	sweep_bg_wait
	ms=$(ms_since "$t0")
	check_interrupted 20
	assert_int_cmp "$ms" -lt 5000 "ms from the second SIGTERM to exit (the batch had 9000 left)"
	assert_contains "$ERR" "cancelled by a stop request and rolled back" "the cancel is logged"
}

run_tests "$@"
