#!/bin/bash
# Throttling (issue 4, item 2): pause and pause_ratio after batches,
# max_rows per run, and max_replica_lag / max_throttle against a real
# streaming standby.  Each throttle is counted in the summary's
# "throttle" object; a limit that stops the run says so in "stopped_by".
. "$(dirname "$0")/../lib/assert.sh"
. "$T_LIB_DIR/servers.sh"

# N eligible used codes must-go-bulk-1..N (in key order) and three that
# stay.
codes_db() {
	fresh_db
	fx_many_used_codes "$1"
	sql <<'EOF2'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (301, 'must-stay-u301-unused', false, NULL, now() - interval '400 days'),
  (301, 'must-stay-u301-used-1d', true, now() - interval '1 day', now() - interval '400 days');
EOF2
}

# Sum of the "in N ms" of the -v batch lines in $ERR.
batch_ms_sum() {
	printf '%s\n' "$ERR" | sed -nE 's/.* rows deleted in ([0-9]+) ms.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# ------------------------------------------------------------------ pauses

t_pause_ratio_sleeps_in_proportion() {
	local sum
	codes_db 3000
	# Each row costs 1 ms in one of 20, so that a batch takes a while.
	sql <<'EOF2'
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF OLD.id % 20 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN OLD; END $$;
CREATE TRIGGER slow BEFORE DELETE ON accounts_backupcode FOR EACH ROW EXECUTE FUNCTION slow();
EOF2
	cfg_std used_backup_codes "batch_size = 500"
	sweep -c "$CFG" --json -v
	assert_exit 0
	assert_json .deleted_total 3000 "deleted_total without throttles"
	assert_json '.throttle | [.pause.count, .pause.ms, .pause_ratio.count, .pause_ratio.ms] | join(",")' \
		"0,0,0,0" "no throttle counted without pause and pause_ratio"
	assert_jq 'has("stopped_by") | not' "no stopped_by when the run completes"

	codes_db 3000
	sql <<'EOF2'
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN IF OLD.id % 20 = 0 THEN PERFORM pg_sleep(0.001); END IF; RETURN OLD; END $$;
CREATE TRIGGER slow BEFORE DELETE ON accounts_backupcode FOR EACH ROW EXECUTE FUNCTION slow();
EOF2
	cfg_std used_backup_codes "batch_size = 500" "pause = 30ms" "pause_ratio = 1.5"
	sweep -c "$CFG" --json -v
	assert_exit 0
	assert_json .status ok "status"
	assert_json .deleted_total 3000 "deleted_total with pause_ratio"
	sum=$(batch_ms_sum)
	assert_int_cmp "$sum" -gt 0 "sum of the batches' ms"
	# Six full batches, a pause after each (the empty seventh ends the step).
	assert_json .throttle.pause.count 6 "pauses"
	assert_json .throttle.pause_ratio.count 6 "pause_ratio sleeps"
	assert_jq '.throttle.pause.ms >= 180' "pause ms: at least 6 x 30ms"
	assert_jq ".throttle.pause_ratio.ms >= (1.5 * $sum | floor)" \
		"pause_ratio ms: at least 1.5 x the batches' $sum ms"
	assert_json .throttle.replica_lag.count 0 "no replica lag wait"
}

# ------------------------------------------------------------------ max_rows

t_max_rows_stops_exactly() {
	codes_db 1000
	cfg_std used_backup_codes "batch_size = 100" "max_rows = 250"
	sweep -c "$CFG" --json -v
	assert_exit 0
	assert_json .status partial "status"
	assert_json .stopped_by max_rows "stopped_by"
	assert_json .deleted_total 250 "deleted_total"
	assert_json '.rules[0].status' partial "rule status"
	# 100, 100, then only the 50 left of max_rows.
	assert_json '.rules[0].batches' 3 "batches"
	assert_json '.rules[0].steps[0].batch_size.last' 50 "last batch's size"
	# The first 250 in key order are gone, nothing else.
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-bulk-%'" 750 "eligible rows left"
	assert_q "SELECT min(substring(code_hash FROM 'bulk-([0-9]+)')::int) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-bulk-%'" 251 "first row left"
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-stay-%'" 2 "rows that stay"
	assert_contains "$ERR" "max_rows reached" "log says which limit"

	# Adaptive: the first batch (1000) is cut to max_rows.
	cfg_std used_backup_codes "max_rows = 120"
	sweep -c "$CFG" --json
	assert_exit 0 "adaptive: exit code"
	assert_json .deleted_total 120 "adaptive: deleted_total"
	assert_json .stopped_by max_rows "adaptive: stopped_by"
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-bulk-%'" 630 "adaptive: eligible rows left"

	# The human table says it too.
	cfg_std used_backup_codes "batch_size = 5" "max_rows = 10" "pause = 10ms"
	sweep -c "$CFG"
	assert_exit 0 "table: exit code"
	assert_contains "$OUT" "stopped by max_rows" "table names the limit"
	assert_contains "$OUT" "throttled: pause 2 (" "table counts the pauses"
}

t_max_rows_over_several_rules() {
	fresh_db
	fx_used_codes
	fx_stale_devices
	fx_many_used_codes 30
	# used_backup_codes: 32 rows; stale_devices runs after it.
	cfg_std "used_backup_codes, stale_devices" "max_rows = 32"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json .deleted_total 32 "deleted_total"
	assert_json .status partial "status: stale_devices did not run"
	assert_json '.rules[1].status' partial "second rule partial"
	assert_json '.rules[1].deleted' 0 "second rule deleted nothing"
	cfg_std "used_backup_codes, stale_devices" "max_rows = 1000"
	sweep -c "$CFG" --json
	assert_json .status ok "status under a max_rows not reached"
	assert_json .deleted_total 2 "the stale devices"
}

# ------------------------------------------------------------------ replicas

# The sweeper's role without pg_monitor sees NULL lag columns: it must
# refuse to run with max_replica_lag rather than never throttle.
t_replica_lag_needs_pg_monitor() {
	local role="sweeper_nomon_$$"
	codes_db 10
	q "CREATE ROLE $role LOGIN" postgres >/dev/null
	q "GRANT SELECT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $role" >/dev/null
	cfg_write <<EOF2
[database]
dsn = dbname=$DB user=$role
[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
max_replica_lag = 1s
EOF2
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "GRANT pg_monitor TO" "tells how to fix it"
	assert_contains "$ERR" "$role" "names the role"
	assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "one line on stderr"
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-bulk-%'" 10 "nothing deleted"
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config"
	q "GRANT pg_monitor TO $role" postgres >/dev/null
	sweep -c "$CFG" --json
	assert_exit 0 "with pg_monitor"
	assert_json .deleted_total 10 "deleted with pg_monitor"
	q "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM $role" >/dev/null
	q "DROP ROLE $role" postgres >/dev/null
}

# A primary of the test's own with a streaming standby (tests/lib/servers.sh):
# the standby made to lag must hold up this test's runs, not those of the
# other tests on the shared server.
t_replica_lag_throttle_with_a_paused_standby() { # slow
	local left standby
	primary_start primary
	export PGHOST=$SRV_HOST
	codes_db 200
	standby_start "$PGHOST" standby
	standby=$SRV_HOST
	standby_caught_up "$PGHOST" || die "standby does not catch up"
	standby_lag "$PGHOST" "$standby" 600
	cfg_std used_backup_codes "batch_size = 50" "max_replica_lag = 300ms" "max_throttle = 1500ms"
	sweep -c "$CFG" --json
	assert_exit 0 "exit code: partial is success"
	assert_json .status partial "status while the standby lags"
	assert_json .stopped_by max_throttle "stopped_by"
	assert_jq '.throttle.replica_lag.count >= 1' "replica_lag waits counted"
	assert_jq '.throttle.replica_lag.ms >= 1500' "replica_lag wait lasted max_throttle"
	left=$(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-bulk-%'")
	assert_int_cmp "$left" -gt 0 "rows left while the standby lags"
	assert_contains "$ERR" "max_throttle reached" "log says which limit"

	standby_resume "$standby" || fail "cannot resume replay"
	standby_caught_up "$PGHOST" || fail "standby does not catch up after resume"
	cfg_std used_backup_codes "batch_size = 50" "max_replica_lag = 300ms" "max_throttle = 30s"
	sweep -c "$CFG" --json
	assert_exit 0 "exit code after resume"
	assert_json .status ok "status after resume"
	assert_json .deleted_total "$left" "the rest is deleted after resume"
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-bulk-%'" 0 "no eligible rows left"
}

run_tests "$@"
