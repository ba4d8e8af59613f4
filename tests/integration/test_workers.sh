#!/bin/bash
# [sweeper] workers and max_rate (doc/workers.md): one step swept by
# several connections over disjoint parts of its walk, each batch one
# transaction; the run's limits, the run lock and signals across them;
# the summary exact; and max_rate capping the rows per second of the
# whole run.
. "$(dirname "$0")/../lib/assert.sh"
. "$T_LIB_DIR/pgbouncer.sh"

LS=mfa_sweeper

# N eligible used codes of user 301 (must-go-bulk-1..N, in key order),
# with codes that must stay beside them: unused ones of the same user,
# spread through the table, and the other rules' rows.
codes_db() {
	fresh_db
	sql <<EOF2
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  VALUES (301, 'u301@example.com', true, NULL);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, CASE WHEN i % 7 = 0 THEN 'must-stay-unused-' || i ELSE 'must-go-bulk-' || i END,
         i % 7 <> 0, CASE WHEN i % 7 <> 0 THEN now() - interval '100 days' END,
         now() - interval '200 days'
  FROM generate_series(1, $1) AS i;
EOF2
	fx_used_code_keepers
	fx_stale_devices
	sql <<<"ANALYZE"
}

# cfg_ledger RULES [LINE...]: cfg_std with the audit ledger on, its
# tables created.
cfg_ledger() {
	local rules=$1
	shift
	cfg_std "$rules" "$@" "" "[ledger]" "enabled = true"
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger" || die "cannot initialise the ledger"
}

ledger_total() {
	q "SELECT coalesce(sum(rows_deleted), 0) FROM $LS.deletions"
}

# Rows of the last run's -v batch lines in $ERR, summed: what the
# committed batches say they deleted.
batch_rows_sum() {
	printf '%s\n' "$ERR" | sed -nE 's/.*: batch [0-9]+: ([0-9]+) rows deleted.*/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}

# The sweeper's backends deleting right now (inside a batch).
deleting_backends() {
	q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
	   AND application_name = 'mfa-sweeper' AND state = 'active'
	   AND query ILIKE '%DELETE%'"
}

# The number of worker lines ("N workers, ... walk split") in $ERR.
workers_used() {
	printf '%s\n' "$ERR" | sed -nE 's/.*: ([0-9]+) workers, .* walk split at .*/\1/p' | head -n1
}

# --------------------------------------------------------------- the walks

t_blocks_walk_with_two_and_three_workers() {
	local n
	for n in 2 3; do
		codes_db 9100
		snap
		cfg_std used_backup_codes "workers = $n"
		sweep -c "$CFG" --json -v
		assert_exit 0 "workers = $n: exit code"
		assert_json .status ok "workers = $n: status"
		assert_eq "$(workers_used)" "$n" "workers = $n: the step ran on $n workers"
		assert_contains "$ERR" "blocks walk split" "workers = $n: split by blocks"
		check_rows '^must-go-bulk-' "workers = $n"
		assert_json .deleted_total 7800 "workers = $n: deleted_total counts every row once"
		assert_json '.rules[0].steps[0].deleted' 7800 "workers = $n: the step's rows"
		assert_json '.rules[0].batches' \
			"$(printf '%s\n' "$ERR" | grep -c 'accounts_backupcode: batch [0-9]*: ')" \
			"workers = $n: every batch counted once"
	done
}

# user_disabled walks by users (an index on each step's user column):
# the users table's blocks are split, so each worker deletes the rows of
# its own users.
# A tenant's run lock is its own key (doc/fleet.md "Locks and
# isolation"): the workers' check of it before each batch looks for that
# key, not the database's, and every batch runs.
t_tenant_target_with_workers() {
	codes_db 9100
	snap
	cfg_std used_backup_codes "workers = 3" "jobs = 4" "" \
		"[target.tenants]" "tenants_query = SELECT 'public'"
	sweep -c "$CFG" --json -v
	assert_exit 0 "a tenant target on 3 workers: exit code"
	assert_json .status ok "status"
	assert_eq "$(workers_used)" 3 "the tenant's step ran on 3 workers"
	check_rows '^must-go-bulk-' "a tenant target on 3 workers"
	assert_json .deleted_total 7800 "deleted_total counts every row once"
	# With pooler = transaction the lock is the tenant's lease row.
	codes_db 9100
	snap
	cfg_ledger used_backup_codes "workers = 3" "jobs = 4" "" \
		"[target.tenants]" "tenants_query = SELECT 'public'"
	cfg_database pooler transaction
	sweep -c "$CFG" --json -v
	assert_exit 0 "a tenant target on 3 workers, pooler = transaction"
	assert_eq "$(workers_used)" 3 "pooler = transaction: 3 workers"
	check_rows '^must-go-bulk-' "pooler = transaction"
	assert_eq "$(ledger_total)" 7800 "pooler = transaction: the ledger's rows"
}

t_users_walk_with_two_and_three_workers() {
	local n
	for n in 2 3; do
		fresh_db
		sql <<'EOF2'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  SELECT i, 'u' || i || '@example.com', i % 3 <> 0,
         CASE WHEN i % 3 = 0 THEN now() - interval '30 days' END
  FROM generate_series(1000, 3999) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT u, CASE WHEN u % 3 = 0 THEN 'must-go-' ELSE 'must-stay-' END || u || '-' || k,
         false, NULL, now() - interval '300 days'
  FROM generate_series(1000, 3999) AS u, generate_series(1, 3) AS k;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT u, CASE WHEN u % 3 = 0 THEN 'must-go-dev-' ELSE 'must-stay-dev-' END || u,
         false, 'k', now() - interval '300 days'
  FROM generate_series(1000, 3999) AS u;
ANALYZE;
EOF2
		snap
		cfg_std user_disabled "workers = $n" "batch_target = 20ms"
		sweep -c "$CFG" --json -v
		assert_exit 0 "workers = $n: exit code"
		assert_contains "$ERR" "$n workers, users walk split" "workers = $n: split by users"
		check_rows '^must-go-' "workers = $n"
		assert_json .deleted_total 4000 "workers = $n: deleted_total (3000 codes, 1000 devices)"
		assert_json '[.rules[0].steps[].deleted] | add' 4000 "workers = $n: the steps' rows"
		assert_json '.rules[0].batches' \
			"$(printf '%s\n' "$ERR" | grep -c ': batch [0-9]*: ')" \
			"workers = $n: every batch counted once"
	done
}

# A step its index walks stays serial, and says why once.
t_index_walk_stays_serial() {
	codes_db 3000
	sql <<'EOF2'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, 'must-stay-recent-' || i, true, now() - interval '1 day', now() - interval '200 days'
  FROM generate_series(1, 60000) AS i;
CREATE INDEX codes_used_at ON accounts_backupcode (used_at);
ANALYZE;
EOF2
	snap
	cfg_std used_backup_codes "workers = 2"
	sweep -c "$CFG" --json -v
	assert_exit 0
	if ! printf '%s\n' "$ERR" | grep -q 'walked by index'; then
		note "$(printf '%s\n' "$ERR" | grep walked)"
		die "the planner did not pick the index walk; the test needs it"
	fi
	assert_contains "$ERR" "workers = 2: rule 'used_backup_codes': accounts_backupcode: a step walked by its index runs serial" \
		"the log says why the step is serial"
	assert_eq "$(printf '%s\n' "$ERR" | grep -c 'runs serial')" 1 "said once"
	check_rows '^must-go-bulk-'
	assert_json .deleted_total 2572 "deleted_total"
}

# A partitioned table walks by key: the key range is split.
t_key_walk_with_two_and_three_workers() {
	local n
	for n in 2 3; do
		fresh_db
		fx_part_codes
		sql <<'EOF2'
INSERT INTO part_codes (id, user_id, code_hash, used, used_at)
  SELECT i, i % 200, CASE WHEN i % 5 = 0 THEN 'must-stay-' ELSE 'must-go-' END || i,
         i % 5 <> 0, CASE WHEN i % 5 <> 0 THEN now() - interval '100 days' END
  FROM generate_series(1, 20000) AS i;
ANALYZE;
EOF2
		cfg_std used_backup_codes "workers = $n" "batch_target = 20ms" "[schema]" "codes_table = part_codes"
		sweep -c "$CFG" --json -v
		assert_exit 0 "workers = $n: exit code"
		assert_contains "$ERR" "$n workers, key walk split" "workers = $n: split by key"
		assert_json .deleted_total 16000 "workers = $n: deleted_total"
		assert_q "SELECT count(*) FROM part_codes WHERE code_hash LIKE 'must-go-%'" 0 "workers = $n: every victim gone"
		assert_q "SELECT count(*) FROM part_codes WHERE code_hash LIKE 'must-stay-%'" 4000 "workers = $n: every survivor there"
		assert_json '.rules[0].batches' \
			"$(printf '%s\n' "$ERR" | grep -c ': batch [0-9]*: ')" \
			"workers = $n: every batch counted once"
	done
}

# Rows the database refuses (a foreign key) in several workers' parts:
# each is left behind and reported once, everything else goes (65).
t_refused_rows_reported_once_across_workers() {
	fresh_db
	sql <<'EOF2'
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (401, 'u401@example.com', true);
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 401, 'must-go-dev-' || i, false, 'k', now() - interval '2 days'
  FROM generate_series(1, 6000) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 401, 'must-stay-young-' || i, false, 'k', now() - interval '1 hour'
  FROM generate_series(1, 3) AS i;
CREATE TABLE app_device_log (
    id        serial PRIMARY KEY,
    device_id integer NOT NULL REFERENCES otp_totp_totpdevice (id));
UPDATE otp_totp_totpdevice SET name = 'must-stay-ref-' || id
  WHERE name IN ('must-go-dev-40', 'must-go-dev-3000', 'must-go-dev-5999');
INSERT INTO app_device_log (device_id)
  SELECT id FROM otp_totp_totpdevice WHERE name LIKE 'must-stay-ref-%';
ANALYZE;
EOF2
	cfg_ledger stale_devices "workers = 3" "batch_max = 300" "batch_min = 10"
	snap
	sweep -c "$CFG" --json -v
	assert_exit 65 "rows left behind"
	assert_contains "$ERR" "3 workers, blocks walk split" "on three workers"
	check_rows '^must-go-'
	assert_json .deleted_total 5997 "deleted_total"
	assert_json .left_behind_total 3 "each refused row counted once"
	assert_json '[.rules[0].steps[0].left_behind_rows[].key] | unique | length' 3 \
		"each refused row listed once"
	assert_eq "$(ledger_total)" 5997 "the ledger"
}

# ------------------------------------------------------------------ explain

# --explain says how many workers each step will use and where its walk
# is split, the same split the run then logs; a dry run is unaffected.
t_explain_and_dry_run_with_workers() {
	local split
	codes_db 9100
	snap
	cfg_std used_backup_codes "workers = 3"
	sweep -c "$CFG" --explain
	assert_exit 0 "--explain: exit code"
	check_nothing_deleted
	split=$(printf '%s\n' "$OUT" | sed -nE 's/^-- workers: 3, one connection each .*, the blocks walk split at (.*), batches of at most 16666 rows each \(batch_max shared\); the split is made again when the step starts$/\1/p')
	[ -n "$split" ] || fail "--explain shows 3 workers and the split: $(printf '%s\n' "$OUT" | grep -- '-- workers')"
	sweep -c "$CFG" --dry-run --json
	assert_exit 0 "--dry-run: exit code"
	assert_json .would_delete_total 7800 "--dry-run: would_delete_total is exact"
	check_nothing_deleted
	sweep -c "$CFG" --json -v
	assert_exit 0 "the run"
	assert_contains "$ERR" "3 workers, blocks walk split at $split, batches of at most 16666 rows each" \
		"the run splits and shares batch_max as --explain said"
	assert_json .deleted_total 7800 "the run deletes what the dry run counted"
	cfg_std used_backup_codes "workers = 2" "batch_size = 500"
	sweep -c "$CFG" --explain
	assert_contains "$OUT" "-- workers: 1 (serial, though workers = 2): a fixed batch_size runs serial" \
		"--explain says why a step stays serial"
	cfg_std used_backup_codes
	sweep -c "$CFG" --explain
	assert_contains "$OUT" "-- workers: 1 (serial)" "--explain with the default"
}

# The workers share batch_max: together they hold no more rows locked
# at one moment than one worker's batch would, which is what bounds the
# application's waits on them (doc/workers.md).  One worker on the same
# data takes batches larger than the share, so the check can fail.
t_workers_share_batch_max() {
	local n most
	for n in 1 2; do
		codes_db 9100
		snap
		cfg_std used_backup_codes "workers = $n" "batch_min = 100" "batch_max = 1000"
		sweep -c "$CFG" --json -v
		assert_exit 0 "workers = $n: exit code"
		check_rows '^must-go-bulk-' "workers = $n"
		most=$(printf '%s\n' "$ERR" | sed -nE 's/.*accounts_backupcode: batch [0-9]+: ([0-9]+) rows deleted.*/\1/p' |
			sort -n | tail -n1)
		if [ "$n" = 1 ]; then
			[ "${most:-0}" -gt 500 ] || fail "one worker: its largest batch ($most rows) is over 500"
		else
			assert_contains "$ERR" "2 workers, blocks walk split at" "workers = 2: the step ran on 2 workers"
			assert_contains "$ERR" "batches of at most 500 rows each" "workers = 2: the log states the share"
			[ -n "$most" ] && [ "$most" -le 500 ] ||
				fail "workers = 2: every batch holds at most 500 rows (batch_max 1000 shared by 2); largest: ${most:-none}"
		fi
	done
}

# ------------------------------------------------------------------ max_rows

# Each batch reserves its rows before it runs: however the workers'
# batches interleave, the run deletes exactly max_rows, and the ledger
# and the summary agree with the rows gone.
t_max_rows_exact_across_workers() {
	local n
	for n in 2 3; do
		codes_db 9100
		cfg_ledger used_backup_codes "workers = $n" "max_rows = 3003" "batch_target = 20ms"
		sweep -c "$CFG" --json -v
		assert_exit 0 "workers = $n: exit code"
		assert_contains "$ERR" "$n workers, blocks walk split" "workers = $n: on workers"
		assert_json .status partial "workers = $n: status"
		assert_json .stopped_by max_rows "workers = $n: stopped_by"
		assert_json .deleted_total 3003 "workers = $n: deleted_total"
		assert_eq "$(rows_left must-go-bulk)" $((7800 - 3003)) "workers = $n: rows gone"
		assert_eq "$(rows_left must-stay)" $((1300 + 3)) "workers = $n: rows that stay"
		assert_eq "$(ledger_total)" 3003 "workers = $n: the ledger records each row once"
		assert_eq "$(batch_rows_sum)" 3003 "workers = $n: the batches' log lines"
		assert_eq "$(advisory_lock_held)" 0 "workers = $n: no advisory lock left behind"
	done
}

# max_runtime stops every worker between batches (partial, exit 0); pause
# is taken by each worker after its own batches, and counted for each.
t_max_runtime_and_pause_with_workers() {
	codes_db 6000
	fx_slow_deletes
	cfg_ledger used_backup_codes "workers = 2" "batch_target = 50ms" \
		"max_runtime = 1500ms" "pause = 20ms"
	sweep -c "$CFG" --json -v
	assert_exit 0 "exit code"
	assert_contains "$ERR" "2 workers, blocks walk split" "on two workers"
	assert_json .status partial "status"
	assert_json .stopped_by max_runtime "stopped_by"
	local left
	left=$(rows_left must-go-bulk)
	assert_int_cmp "$left" -gt 0 "rows left"
	assert_json .deleted_total $((5143 - left)) "deleted_total against rows gone"
	assert_eq "$(ledger_total)" $((5143 - left)) "the ledger against rows gone"
	# A pause after every batch that deleted rows, by each worker.
	assert_jq '.throttle.pause.count >= .rules[0].batches - 2' \
		"a pause after each worker's batches"
	assert_jq '.throttle.pause.ms >= 20 * .throttle.pause.count' "pause ms"
}

# ------------------------------------------------------------------ signals

# SIGTERM: every worker stops at its next batch boundary (or has its batch
# cancelled after stop_timeout); only whole batches are gone, each counted
# once in the summary and the ledger.
t_sigterm_stops_every_worker_with_whole_batches() {
	codes_db 6000
	fx_slow_deletes
	cfg_ledger used_backup_codes "workers = 2" "batch_target = 50ms" "stop_timeout = 0"
	sweep_bg -c "$CFG" --json -v
	wait_until 20 '[ "$(rows_left must-go-bulk)" -lt 4900 ] && [ "$(deleting_backends)" = 2 ]' ||
		die "the two workers were never deleting at once"
	local child t0 left
	child=$(bg_sweeper_pid)
	[ -n "$child" ] || die "cannot find the sweeper process"
	t0=$(date +%s%N)
	kill -TERM "$child"
	sweep_bg_wait
	assert_int_cmp $((($(date +%s%N) - t0) / 1000000)) -lt 5000 "ms from SIGTERM to exit"
	assert_exit 75 "exit code after SIGTERM"
	assert_json .status interrupted "status"
	assert_contains "$ERR" "the running batch was cancelled by a stop request and rolled back" \
		"stop_timeout = 0 cancels the open batches"
	left=$(rows_left must-go-bulk)
	assert_int_cmp "$left" -gt 0 "rows left after the interruption"
	assert_json .deleted_total $((5143 - left)) "deleted_total against rows actually gone"
	assert_eq "$(ledger_total)" $((5143 - left)) "the ledger against rows gone"
	assert_eq "$(batch_rows_sum)" $((5143 - left)) "the committed batches against rows gone"
	assert_eq "$(rows_left must-stay)" $((857 + 3)) "rows that must stay"
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
	wait_until 10 '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '"'"'$DB'"'"' AND application_name = '"'"'mfa-sweeper'"'"'")" = 0 ]' ||
		fail "the run's connections are not all closed"
}

# A worker's server connection terminated inside a batch: as in a serial
# run, the batch is rolled back, the run stops (69), the other worker at
# its boundary, and the next run finishes the work.
t_worker_connection_terminated_mid_run() {
	codes_db 6000
	fx_slow_deletes
	cfg_ledger used_backup_codes "workers = 2" "batch_target = 50ms"
	sweep_bg -c "$CFG" --json -v
	wait_until 20 '[ "$(rows_left must-go-bulk)" -lt 4900 ] && [ "$(deleting_backends)" = 2 ]' ||
		die "the two workers were never deleting at once"
	q "SELECT count(pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity
	   WHERE datname = '$DB' AND application_name = 'mfa-sweeper' AND state = 'active'
	   AND query ILIKE '%DELETE%' LIMIT 1) AS one" >/dev/null
	sweep_bg_wait
	assert_exit 69 "exit code when a worker's connection is lost"
	assert_json .status failed "status"
	assert_jq '.rules[0].error | test("connection")' "the rule's error names the connection"
	local left
	left=$(rows_left must-go-bulk)
	assert_int_cmp "$left" -gt 0 "rows left"
	assert_json .deleted_total $((5143 - left)) "deleted_total against rows actually gone"
	assert_eq "$(ledger_total)" $((5143 - left)) "the ledger against rows gone"
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
	q "DROP TRIGGER slow_delete ON accounts_backupcode" >/dev/null
	snap
	sweep -c "$CFG" --json
	assert_exit 0 "the next run"
	assert_eq "$(rows_left must-go-bulk)" 0 "the next run finished the work"
	assert_eq "$(rows_left must-stay)" $((857 + 3)) "rows that must stay"
}

# A statement error in one worker's batch (a trigger raising a data
# exception, neither retried nor a refusal) fails the rule as a serial
# run does (1), the other worker stops at its boundary, the next rule
# still runs, and the summary and the ledger count what committed.
t_worker_failure_fails_the_step() {
	codes_db 6000
	fx_slow_deletes
	sql <<'EOF2'
UPDATE accounts_backupcode SET code_hash = 'boom' WHERE code_hash = 'must-go-bulk-4500';
EOF2
	fx_boom_trigger
	cfg_ledger "used_backup_codes, stale_devices" "workers = 2" "batch_target = 50ms"
	sweep -c "$CFG" --json -v
	assert_exit 1 "exit code when a worker's batch fails"
	assert_contains "$ERR" "2 workers, blocks walk split" "on two workers"
	assert_json '.rules[0].status' failed "the rule failed"
	assert_jq '.rules[0].error | contains("boom: this row refuses to go")' "the rule's error"
	assert_json '.rules[1].status' ok "the next rule still runs"
	assert_eq "$(rows_left boom)" 1 "the row that failed the batch"
	local gone=$((5142 - $(rows_left must-go-bulk)))
	assert_int_cmp "$(rows_left must-go-bulk)" -gt 0 "the workers stopped before the end"
	assert_json '.rules[0].deleted' "$gone" "the rule's deleted against rows gone"
	assert_eq "$(q "SELECT coalesce(sum(rows_deleted), 0) FROM $LS.deletions WHERE table_name = 'accounts_backupcode'")" \
		"$gone" "the ledger against rows gone"
	assert_eq "$(rows_left must-stay)" $((857 + 3)) "rows that must stay"
}

# ------------------------------------------------------------------ max_rate

# max_rate caps the run's rows per second however many workers run: the
# waits are counted in the summary (JSON, table, metrics), and the run's
# rows over its time stay under the cap.
t_max_rate_caps_the_whole_run() {
	local n rate=1500
	for n in 1 2; do
		codes_db 3000
		cfg_std used_backup_codes "workers = $n" "max_rate = $rate" \
			"metrics_file = $T_DIR/metrics.prom"
		sweep -c "$CFG" --json
		assert_exit 0 "workers = $n: exit code"
		assert_json .deleted_total 2572 "workers = $n: deleted_total"
		assert_jq '.throttle.max_rate.count > 0' "workers = $n: max_rate waits counted"
		assert_jq '.throttle.max_rate.ms > 0' "workers = $n: max_rate wait time counted"
		assert_jq ".deleted_total * 1000 / .duration_ms <= $rate" \
			"workers = $n: rows per second over the run, at most $rate"
		assert_match "$(grep '^mfa_sweeper_rate_waited_seconds ' "$T_DIR/metrics.prom")" \
			'^mfa_sweeper_rate_waited_seconds [0-9]+\.[0-9]{3}$' "workers = $n: the metric"
		assert_ne "$(grep '^mfa_sweeper_rate_waited_seconds ' "$T_DIR/metrics.prom")" \
			"mfa_sweeper_rate_waited_seconds 0.000" "workers = $n: the metric counts the wait"
	done
	codes_db 300
	cfg_std used_backup_codes "workers = 2" "max_rate = 1000"
	sweep -c "$CFG"
	assert_exit 0 "table: exit code"
	assert_match "$OUT" "max_rate: waited [0-9]+ times? \([0-9]+ ms\)" "the table shows the wait"
	# Without max_rate nothing is waited.
	codes_db 300
	cfg_std used_backup_codes "workers = 2"
	sweep -c "$CFG" --json
	assert_json '.throttle.max_rate | [.count, .ms] | join(",")' "0,0" "no max_rate, no wait"
}

# ------------------------------------------------------------------ config

t_config_errors() {
	local bad
	codes_db 300
	for bad in "workers = 0|'0' is out of range; write a number from 1 to 16, e.g. workers = 2" \
		"workers = -1|'-1' is not a whole number; write a number from 1 to 16" \
		"workers = 2x|'2x' is not a whole number" \
		"workers = 1000|'1000' is out of range; write a number from 1 to 16" \
		"max_rate = -10|'-10' is not a whole number; write a number from 0 to 1000000000, e.g. max_rate = 5000" \
		"max_rate = fast|'fast' is not a whole number"; do
		cfg_std used_backup_codes "${bad%%|*}"
		snap
		sweep -c "$CFG" --json
		assert_exit 78 "${bad%%|*}: exit code"
		assert_contains "$ERR" "$CFG:8: [sweeper] ${bad%% =*}: " "${bad%%|*}: file, line and key"
		assert_contains "$ERR" "${bad#*|}" "${bad%%|*}: the value and the fix"
		assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "${bad%%|*}: one line"
		check_nothing_deleted
	done
}

# ------------------------------------------------------------------ PgBouncer

# Behind a transaction-pooling PgBouncer, with the run lease: two workers
# delete exactly the victims, the ledger agrees, and nothing stays held;
# a second run meanwhile is skipped.
t_workers_behind_transaction_pooler() {
	trap 'exit 143' TERM INT
	trap 'T_RC=$?; pgb_stop; (exit $T_RC); _t_exit' EXIT
	pgb_start transaction 4 || die "cannot start PgBouncer"
	codes_db 3000
	fx_slow_deletes
	snap
	cfg_ledger used_backup_codes "workers = 2" "batch_target = 50ms"
	sed -i "s|^dsn = .*|dsn = host=$PGB_HOST port=$PGB_PORT dbname=$DB\\
pooler = transaction|" "$CFG"
	sweep_bg -c "$CFG" --json -v
	wait_until 20 '[ "$(rows_left must-go-bulk)" -lt 2500 ]' ||
		die "the run deleted nothing"
	sweep -c "$CFG" --json
	assert_exit 75 "a second run meanwhile is skipped"
	sweep_bg_wait
	assert_exit 0 "exit code"
	assert_contains "$ERR" "2 workers, blocks walk split" "on two workers"
	check_rows '^must-go-bulk-'
	assert_json .deleted_total 2572 "deleted_total"
	assert_eq "$(ledger_total)" 2572 "the ledger"
	assert_eq "$(q "SELECT count(*) FROM $LS.run_lease")" 0 "no lease row left"
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
}

run_tests "$@"
