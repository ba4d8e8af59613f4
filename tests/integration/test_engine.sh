#!/bin/bash
# The engine: batching, row locks, the advisory lock, dry runs, limits,
# --explain, the JSON summary contract (doc/design.md "Run summary"), the human table and
# logging levels.
. "$(dirname "$0")/../lib/assert.sh"

# N eligible used codes (must-go-bulk-*) plus three that stay.
codes_db() {
	fresh_db
	fx_many_used_codes "$1"
	fx_used_code_keepers
}

# ------------------------------------------------------------------ batches

t_batch_counts() {
	codes_db 12
	cfg_std used_backup_codes "batch_size = 5"
	sweep_check '^must-go-'
	assert_json .deleted_total 12 "deleted_total"
	assert_json '.rules[0].deleted' 12 "rule deleted"
	assert_json '.rules[0].batches' 3 "rule batches (12 rows, batch_size 5)"
	assert_json '.rules[0].steps | length' 1 "one step"
	assert_json '.rules[0].steps[0].deleted' 12 "step deleted"
	assert_json '.rules[0].steps[0].batches' 3 "step batches"
}

t_batch_counts_exact_multiple() {
	codes_db 10
	cfg_std used_backup_codes "batch_size = 5"
	sweep_check '^must-go-'
	# 5 + 5, then an empty batch that is not counted.
	assert_json '.rules[0].batches' 2 "batches (10 rows, batch_size 5)"
}

t_batch_size_one() {
	codes_db 7
	cfg_std used_backup_codes "batch_size = 1"
	sweep_check '^must-go-'
	assert_json '.rules[0].batches' 7 "batches (7 rows, batch_size 1)"
}

t_nothing_to_delete() {
	codes_db 0
	cfg_std used_backup_codes "batch_size = 5"
	sweep_check 'a^'
	assert_json '.rules[0].batches' 0 "batches when nothing is eligible"
	assert_json '.rules[0].status' ok "rule status"
}

t_skip_locked_row() {
	codes_db 12
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
SELECT 301, 'locked-eligible', true, now() - interval '100 days', now() - interval '200 days';
-- more eligible rows after it, so the walk goes on past the locked key
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
SELECT 301, 'must-go-after-' || i, true, now() - interval '100 days', now() - interval '200 days'
FROM generate_series(1, 4) AS i;
EOF
	CFG_LOCK_TIMEOUT=10s cfg_std used_backup_codes "batch_size = 5"
	bg_session holder "BEGIN; SELECT id FROM accounts_backupcode WHERE code_hash = 'locked-eligible' FOR UPDATE"
	snap
	sweep -c "$CFG" --json
	assert_exit 0
	assert_int_cmp "$ELAPSED_MS" -lt 5000 "run time in ms with a locked row (lock_timeout 10s)"
	check_rows '^must-go-'
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash = 'locked-eligible'" 1 \
		"the row locked by another session survives"
	assert_json .deleted_total 16 "deleted_total"
	bg_end holder
}

# ------------------------------------------------------------ advisory lock

t_overlapping_runs() {
	codes_db 20
	cfg_std used_backup_codes "batch_size = 1" "pause = 300ms"
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(advisory_lock_held)" = 1 ]' ||
		die "the first run never took the advisory lock"
	# Let the first run delete a row or two, then start the second.
	wait_until 10 '[ "$(rows_left must-go)" -lt 20 ]' ||
		die "the first run deleted nothing within 10 s"
	sweep -c "$CFG" --json
	assert_exit 75 "exit code of the second, overlapping run"
	assert_json .status skipped "status of the second run"
	assert_json .deleted_total 0 "deleted_total of the second run"
	assert_int_cmp "$ELAPSED_MS" -lt 5000 "the second run gives up at once (ms)"
	local left
	left=$(rows_left must-go)
	assert_int_cmp "$left" -gt 0 "the first run is still working when the second ends (rows left)"
	sweep_bg_wait
	assert_exit 0 "exit code of the first run"
	assert_json .status ok "status of the first run"
	assert_json .deleted_total 20 "the first run deleted every eligible row"
	assert_eq "$(rows_left must-go)" 0 "eligible rows left"
	assert_eq "$(rows_left must-stay)" 3 "rows that must stay"
}

t_lock_held_by_psql() {
	codes_db 12
	cfg_std used_backup_codes
	bg_session holder "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	snap
	sweep -c "$CFG" --json
	assert_exit 75
	assert_json .status skipped "status"
	assert_json .deleted_total 0 "deleted_total"
	check_nothing_deleted
	assert_int_cmp "$ELAPSED_MS" -lt 5000 "run time in ms with the lock held"
	# Without --json: same exit code, and the log says why.
	sweep -c "$CFG"
	assert_exit 75 "exit code without --json"
	check_nothing_deleted "nothing deleted without --json"
	# Released: the next run works.
	bg_end holder
	wait_until 10 '[ "$(advisory_lock_held)" = 0 ]' || die "lock not released"
	sweep_check '^must-go-'
}

t_lock_is_per_database() {
	codes_db 12
	cfg_std used_backup_codes
	local other
	other=$(other_db lockother)
	BG_DB=$other bg_session holder "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	# The lock held in another database does not stop this one.
	sweep_check '^must-go-'
	bg_end holder
}

t_lock_released_after_run() {
	codes_db 3
	cfg_std used_backup_codes
	sweep_check '^must-go-'
	sweep_check 'a^'
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
}

# ------------------------------------------------------------------ dry run

t_dry_run() {
	fresh_db
	fx_user_disabled
	fx_used_codes
	cfg_std "user_disabled, used_backup_codes"
	snap
	local ud uc
	ud=$(grep -cE '^(must-go|conf)-u[134]-' "$T_DIR/snap")
	uc=$(grep -cE '^must-go-u101-' "$T_DIR/snap")
	sweep -c "$CFG" --json -n
	assert_exit 0
	check_nothing_deleted
	assert_json .dry_run true "dry_run"
	assert_json .status ok "status"
	assert_json .would_delete_total $((ud + uc)) "would_delete_total"
	assert_json .deleted_total 0 "deleted_total"
	assert_json "$(printf '.rules[] | select(.name == "user_disabled") | .would_delete')" "$ud" "user_disabled would_delete"
	assert_json "$(printf '.rules[] | select(.name == "used_backup_codes") | .would_delete')" "$uc" "used_backup_codes would_delete"
	assert_jq '[.rules[].deleted] | all(. == 0)' "every rule has deleted 0"
	assert_jq '[.rules[].steps[] | has("would_delete") and (.would_delete | type == "number")] | all' \
		"every step has would_delete"
	assert_jq '[.rules[].steps[] | has("deleted")] | any | not' \
		"no step has deleted in a dry run"
	assert_jq '[.rules[] | ([.steps[].would_delete] | add) == .would_delete] | all' \
		"steps add up to their rule's would_delete"
	# Long option, human output, and --dry-run with --now.
	sweep -c "$CFG" --dry-run --now
	assert_exit 0 "exit code of --dry-run --now"
	check_nothing_deleted "--dry-run (human output)"
	# And the real run deletes what the dry run counted.
	sweep_check '^(must-go|conf)-u(1|3|4|101)-'
	assert_json .deleted_total $((ud + uc)) "real run deletes what the dry run counted"
}

# A row two rules match (a used code of a user who disabled MFA, used
# over 90 days ago: user_disabled and used_backup_codes) is counted once,
# by the rule that runs first, as the run deletes it once.
t_dry_run_counts_a_row_two_rules_match_once() {
	fresh_db
	fx_user_disabled
	fx_used_codes
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (1, 'must-go-u1-code-used-100d', true, now() - interval '100 days', now() - interval '200 days'),
  (4, 'must-go-u4-code-used-100d', true, now() - interval '100 days', now() - interval '200 days');
EOF
	cfg_std "user_disabled, used_backup_codes"
	snap
	sweep -c "$CFG" --json -n -r used_backup_codes
	assert_json .would_delete_total 4 "used_backup_codes alone counts the two shared codes"
	sweep -c "$CFG" --json -n
	assert_exit 0
	check_nothing_deleted
	local ud
	ud=$(grep -cE '^(must-go|conf)-u[134]-' "$T_DIR/snap")
	assert_json "$(printf '.rules[] | select(.name == "user_disabled") | .would_delete')" "$ud" \
		"user_disabled counts the shared codes"
	assert_json "$(printf '.rules[] | select(.name == "used_backup_codes") | .would_delete')" 2 \
		"used_backup_codes passes over the codes user_disabled deletes first"
	assert_json .would_delete_total $((ud + 2)) "would_delete_total counts each row once"
	sweep_check '^(must-go|conf)-u(1|3|4|101)-'
	assert_json .deleted_total $((ud + 2)) "the run deletes what the dry run counted"
}

# The demo's data (tests/demo/generate.sql, 3,000 users): all three rules
# overlap there (disabled users' old used codes and stale unconfirmed
# devices).  The dry run predicts, step by step and in total, exactly
# what the run then deletes.
t_dry_run_is_exact_on_the_demo_data() {
	fresh_db
	sed 's/^\\set users 100000$/\\set users 3000/' \
		"$T_ROOT/tests/demo/generate.sql" | sql >/dev/null
	cfg_std "user_disabled, stale_devices, used_backup_codes"
	local before dry alone total
	before=$(q "SELECT (SELECT count(*) FROM accounts_backupcode) +
		(SELECT count(*) FROM otp_totp_totpdevice)")
	sweep -c "$CFG" --json -n -r used_backup_codes
	alone=$(jq .would_delete_total <<<"$OUT")
	sweep -c "$CFG" --json -n
	assert_exit 0 "dry run"
	dry=$(jq -c '[.rules[].steps[].would_delete]' <<<"$OUT")
	total=$(jq .would_delete_total <<<"$OUT")
	assert_int_cmp "$(jq '.rules[] | select(.name == "used_backup_codes") | .would_delete' <<<"$OUT")" \
		-lt "$alone" "the rules overlap on this data"
	sweep -c "$CFG" --json
	assert_exit 0 "run"
	assert_eq "$(jq -c '[.rules[].steps[].deleted]' <<<"$OUT")" "$dry" \
		"each step deletes what the dry run counted for it"
	assert_json .deleted_total "$total" "the run deletes would_delete_total"
	assert_eq "$(q "SELECT (SELECT count(*) FROM accounts_backupcode) +
		(SELECT count(*) FROM otp_totp_totpdevice)")" $((before - total)) \
		"rows gone from the tables"
}

# ------------------------------------------------------------------ limits

t_max_runtime_partial() {
	codes_db 200
	cfg_std used_backup_codes "batch_size = 10" "pause = 100ms" "max_runtime = 1s"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json .status partial "status"
	assert_int_cmp "$ELAPSED_MS" -lt 5000 "run time in ms with max_runtime = 1s"
	local deleted left batches
	deleted=$(j .deleted_total)
	left=$(rows_left must-go-bulk)
	assert_int_cmp "$deleted" -gt 0 "deleted_total"
	assert_int_cmp "$deleted" -lt 200 "deleted_total"
	assert_eq "$deleted" "$((200 - left))" "deleted_total against rows actually gone"
	assert_eq "$(rule_json used_backup_codes .deleted)" "$deleted" "rule deleted"
	# Every row is eligible, so every batch but a half-applied one is full.
	assert_eq "$((deleted % 10))" 0 "deleted is a multiple of batch_size (no half batch)"
	batches=$(rule_json used_backup_codes .batches)
	assert_eq "$batches" "$((deleted / 10))" "batches"
	assert_eq "$(rows_left must-stay)" 3 "rows that must stay"
	# A second run finishes the work.
	cfg_std used_backup_codes "batch_size = 100"
	sweep -c "$CFG" --json
	assert_exit 0 "exit code of the second run"
	assert_json .deleted_total "$left" "the second run deletes the rest"
}

t_pause_between_batches() {
	codes_db 12
	cfg_std used_backup_codes "batch_size = 5" "pause = 400ms"
	sweep_check '^must-go-'
	# Three batches: at least two pauses.
	assert_int_cmp "$ELAPSED_MS" -ge 800 "run time in ms with pause = 400ms and 3 batches"
}

# A trigger failing with a data exception (SQLSTATE 22000), an error that
# belongs to no row: the rule fails alone.  A row a trigger refuses with a
# plain RAISE EXCEPTION (P0001) is left behind instead (test_left_behind).
t_rule_fails_at_run_time() {
	codes_db 12
	fx_stale_devices
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
SELECT 301, 'boom', true, now() - interval '100 days', now() - interval '200 days';
EOF
	fx_boom_trigger
	cfg_std "used_backup_codes, stale_devices" "batch_size = 5"
	snap
	sweep -c "$CFG" --json
	assert_exit 1 "exit code when a rule fails at run time"
	assert_json_doc
	assert_json .status failed "run status when a rule failed"
	assert_json "$(printf '.rules[] | select(.name == "used_backup_codes") | .status')" failed \
		"the failing rule's status"
	assert_jq '.rules[] | select(.name == "used_backup_codes") | .error | type == "string" and length > 0' \
		"the failing rule's error is a message"
	assert_json "$(printf '.rules[] | select(.name == "stale_devices") | .status')" ok \
		"the next rule still runs"
	# Batches 1 and 2 (ids 1-10) committed; batch 3 (11, 12, boom)
	# rolled back whole.
	assert_eq "$(rows_left must-go-bulk)" 2 "rows of the failed batch are all still there"
	assert_eq "$(rows_left boom)" 1 "the refusing row"
	assert_eq "$(rule_json used_backup_codes .deleted)" 10 "the failing rule's deleted count"
	assert_eq "$(q "SELECT count(*) FROM otp_totp_totpdevice WHERE name LIKE 'must-go%'")" 0 \
		"the other rule's rows are gone"
	assert_json .deleted_total $((10 + 2)) "deleted_total"
}

t_interrupted_by_sigterm() {
	codes_db 30
	cfg_std used_backup_codes "batch_size = 1" "pause = 200ms"
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(rows_left must-go)" -lt 28 ]' ||
		die "the run deleted nothing within 10 s"
	local child t0
	child=$(bg_sweeper_pid)
	[ -n "$child" ] || die "cannot find the sweeper process"
	t0=$(date +%s%N)
	kill -TERM "$child"
	sweep_bg_wait
	assert_int_cmp $((($(date +%s%N) - t0) / 1000000)) -lt 3000 "ms from SIGTERM to exit"
	assert_exit 75 "exit code after SIGTERM"
	assert_json .status interrupted "status"
	local left
	left=$(rows_left must-go)
	assert_int_cmp "$left" -gt 0 "rows left after the interruption"
	assert_json .deleted_total $((30 - left)) "deleted_total against rows actually gone"
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
}

t_interrupted_by_sigint() {
	codes_db 30
	cfg_std used_backup_codes "batch_size = 1" "pause = 200ms"
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(rows_left must-go)" -lt 28 ]' ||
		die "the run deleted nothing within 10 s"
	local child
	child=$(bg_sweeper_pid)
	[ -n "$child" ] || die "cannot find the sweeper process"
	kill -INT "$child"
	sweep_bg_wait
	assert_exit 75 "exit code after SIGINT"
	assert_json .status interrupted "status"
	assert_json .deleted_total $((30 - $(rows_left must-go))) "deleted_total against rows actually gone"
}

t_connection_lost_mid_run() {
	codes_db 30
	cfg_std used_backup_codes "batch_size = 1" "pause = 200ms"
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(rows_left must-go)" -lt 28 ]' ||
		die "the run deleted nothing within 10 s"
	# Kill the sweeper's server process, as a failover or restart would.
	q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	   WHERE datname = '$DB' AND pid <> pg_backend_pid()
	   AND backend_type = 'client backend'" >/dev/null
	sweep_bg_wait
	assert_exit 69 "exit code when the connection is lost mid-run"
	local left
	left=$(rows_left must-go)
	assert_int_cmp "$left" -gt 0 "rows left after the connection was lost"
	if json_doc_ok; then
		assert_jq '.status != "ok"' "status is not ok"
		assert_json .deleted_total $((30 - left)) "deleted_total against rows actually gone"
	else
		fail "stdout is not one JSON document after a lost connection"
		show_run
	fi
	assert_eq "$(rows_left must-stay)" 3 "rows that must stay"
}

# ------------------------------------------------------------------ explain

t_explain() {
	fresh_db
	fx_user_disabled
	fx_used_codes
	# Plans depend on statistics: give the planner a realistically sized,
	# analyzed table (doc/design.md "Batching" measured 2,000,000 rows; 100,000 are
	# enough for the planner to prefer the key index and a TID scan).
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  SELECT 1000 + i, 'bulk' || i || '@example.com', i % 10 <> 0,
         CASE WHEN i % 10 = 0 THEN now() - interval '30 days' END
  FROM generate_series(1, 2000) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 1001 + i % 2000, 'bulk-' || i, i % 3 = 0,
         CASE WHEN i % 3 = 0 THEN now() - (i % 200 || ' days')::interval END,
         now() - interval '300 days'
  FROM generate_series(1, 100000) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 1001 + i % 2000, 'bulk-' || i, i % 4 <> 0, 'k', now() - interval '300 days'
  FROM generate_series(1, 20000) AS i;
ANALYZE;
EOF
	cfg_std "user_disabled, used_backup_codes"
	snap
	sweep -c "$CFG" --explain
	assert_exit 0
	check_nothing_deleted
	assert_icontains "$OUT" "DELETE" "--explain prints the DELETE statements"
	assert_contains "$OUT" "accounts_backupcode" "--explain names the codes table"
	assert_contains "$OUT" "otp_totp_totpdevice" "--explain names the devices table"
	assert_match "$OUT" "Tid Range Scan|Tid Scan|accounts_backupcode_pkey|otp_totp_totpdevice_pkey" \
		"the plan finds victims by ctid (Tid Range Scan, Tid Scan) or the key index"
	local ndel nfast
	ndel=$(printf '%s\n' "$OUT" | grep -c 'Delete on')
	nfast=$(printf '%s\n' "$OUT" | grep -cE 'Tid Range Scan on|Tid Scan on|Index Scan using [a-z_]+_pkey on')
	assert_int_cmp "$ndel" -ge 3 "a Delete node for each of at least 3 steps"
	assert_int_cmp "$nfast" -ge "$ndel" \
		"every step's DELETE reaches its victims by ctid (Tid Range Scan, Tid Scan) or the key index"
	# The default adaptive batches walk a plain table by heap blocks: the
	# first batch deletes the first window of blocks, bounded by ctids.
	# user_disabled's filter keeps 200 users here: a walk by users takes
	# them in one window of the whole users table.
	assert_int_cmp "$(printf '%s\n' "$OUT" | grep -A12 '^-- rule used_backup_codes' |
		grep -c 'TID Cond: ((ctid >= ')" -ge 1 \
		"used_backup_codes' first batch is a window of blocks"
	assert_eq "$(printf '%s\n' "$OUT" | grep -c "^-- the first batch (users blocks 0-end: the [0-9]* or fewer users the rule's filter keeps, in one window):")" 2 \
		"user_disabled's steps take the filter's few users in one window"
	# The table deleted from is never read whole once per batch.
	if printf '%s\n' "$OUT" | grep -B3 -A3 'Delete on' | grep -qE 'Seq Scan on (accounts_backupcode|otp_totp_totpdevice)'; then
		fail "a DELETE seq-scans its table on every batch"
		note "$(printf '%s\n' "$OUT" | grep -B3 -A3 'Delete on' | head -40)"
	fi
}

# --explain prints the plan the run then follows: the walk and why, the
# key, and the first batch as the run starts it (the same window of
# blocks the run's first batch takes), for a walk by blocks, by users and
# by key alike.
t_explain_shows_the_walk_the_run_takes() {
	fresh_db
	fx_user_disabled
	fx_many_used_codes 20000
	sql <<<"ANALYZE"
	cfg_std "user_disabled, used_backup_codes"
	sweep -c "$CFG" --explain
	assert_exit 0
	assert_contains "$OUT" "-- walked by users: the rule filters users" "user_disabled walks by users"
	assert_contains "$OUT" "-- walked by blocks: no index finds the matching rows" \
		"used_backup_codes walks by blocks"
	assert_contains "$OUT" '-- key: "id", the primary key ([schema] code_id_column is not set)' \
		"the key and where it comes from"
	assert_contains "$OUT" "-- a window whose plain DELETE would wait for a row lock" \
		"the walk's other statements"
	local first
	first=$(printf '%s\n' "$OUT" | grep -A3 '^-- rule used_backup_codes, step 1' |
		sed -n 's/^-- the first batch (\(blocks [0-9]*-[0-9a-z]*\)):$/\1/p')
	[ -n "$first" ] || fail "--explain names the first window: $OUT"
	sweep -c "$CFG" --json -v -r used_backup_codes
	assert_exit 0
	assert_match "$(printf '%s\n' "$ERR" | grep 'accounts_backupcode: batch 1:')" "\\($first[,)]" \
		"the run's first batch is the window --explain showed"
	cfg_std "used_backup_codes" "batch_size = 500"
	sweep -c "$CFG" --explain
	assert_exit 0
	assert_contains "$OUT" "-- walked by key: batch_size is fixed (500)" "a fixed size walks by key"
	assert_contains "$OUT" "-- before each batch, in its transaction: the end of its key window" \
		"the key window's statement"
	assert_match "$OUT" '-- \$[0-9]+ = 500$' "the first batch's LIMIT is the batch size"
	sweep -c "$CFG" --explain --dry-run
	assert_contains "$OUT" "-- a dry run counts instead:" "--explain --dry-run shows the count"
}

# --------------------------------------------------------------------- JSON

t_json_contract() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	cfg_std "user_disabled, stale_devices, used_backup_codes"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json_doc || return
	local iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:?[0-9]{2})$'
	assert_jq '.run_id | type == "string" and length > 0' "run_id is a non-empty string"
	assert_jq '.status == "ok"' "status ok"
	assert_jq '.dry_run == false' "dry_run is false"
	assert_jq '.host | type == "string" and length > 0' "host is a non-empty string"
	assert_jq ".started_at | type == \"string\" and test(\"$iso\")" "started_at is an ISO 8601 time"
	assert_jq ".finished_at | type == \"string\" and test(\"$iso\")" "finished_at is an ISO 8601 time"
	assert_jq '.started_at <= .finished_at' "started_at <= finished_at"
	assert_jq '.duration_ms | type == "number" and . >= 0 and floor == .' "duration_ms is a whole number"
	assert_jq '.deleted_total | type == "number"' "deleted_total is a number"
	assert_jq '.rules | type == "array" and length == 3' "rules is an array of 3"
	assert_jq '[.rules[] | (.name | type == "string") and (.status | type == "string")
	            and has("error") and .error == null
	            and (.deleted | type == "number") and (.batches | type == "number")
	            and (.steps | type == "array" and length > 0)] | all' \
		"every rule has name, status, error null, deleted, batches, steps"
	assert_jq '[.rules[].steps[] | (.table | type == "string" and length > 0)
	            and (.label | type == "string" and length > 0)
	            and (.deleted | type == "number") and (.batches | type == "number")] | all' \
		"every step has table, label, deleted, batches"
	assert_jq '[.rules[] | ([.steps[].deleted] | add) == .deleted] | all' \
		"each rule's steps add up to its deleted"
	assert_jq '[.rules[] | ([.steps[].batches] | add) == .batches] | all' \
		"each rule's steps add up to its batches"
	assert_jq '([.rules[].deleted] | add) == .deleted_total' "rules add up to deleted_total"
	assert_jq 'has("unknown_users") | not' "no unknown_users in an unscoped run"
	local id1
	id1=$(j .run_id)
	# Verbose logs go to stderr: stdout is still exactly one document.
	sweep -c "$CFG" --json -v
	assert_exit 0 "exit code with --json -v"
	assert_json_doc
	assert_ne "$(j .run_id)" "$id1" "run_id of a second run"
	assert_json .deleted_total 0 "second run has nothing left"
}

t_human_table() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	cfg_std "user_disabled, stale_devices, used_backup_codes"
	sweep -c "$CFG"
	assert_exit 0
	if printf '%s' "$OUT" | jq -e . >/dev/null 2>&1; then
		fail "stdout without --json is JSON"
	fi
	local r
	for r in user_disabled stale_devices used_backup_codes; do
		assert_contains "$OUT" "$r" "the table lists rule $r"
	done
	assert_contains "$OUT" accounts_backupcode "the table lists the codes table"
	assert_contains "$OUT" otp_totp_totpdevice "the table lists the devices table"
	# used_backup_codes deleted 2 rows: its line says so.
	assert_match "$(printf '%s\n' "$OUT" | grep used_backup_codes)" '(^|[^0-9])2([^0-9]|$)' \
		"the used_backup_codes line shows 2 rows deleted"
}

# ------------------------------------------------------------------ logging

t_verbose_one_line_per_batch() {
	local n0 n5 n2
	codes_db 12
	cfg_std used_backup_codes "batch_size = 5"
	sweep -c "$CFG"
	assert_exit 0 "exit code without -v"
	n0=$(printf '%s' "$ERR" | grep -c .)
	codes_db 12
	cfg_std used_backup_codes "batch_size = 5"
	sweep -c "$CFG" -v
	assert_exit 0 "exit code with -v"
	n5=$(printf '%s' "$ERR" | grep -c .)
	codes_db 12
	cfg_std used_backup_codes "batch_size = 2"
	sweep -c "$CFG" --verbose
	assert_exit 0 "exit code with --verbose"
	n2=$(printf '%s' "$ERR" | grep -c .)
	# 3 batches of 5, 6 batches of 2.
	assert_int_cmp $((n5 - n0)) -ge 3 "-v adds at least one line per batch (3 batches)"
	assert_eq $((n2 - n5)) 3 "-v lines for 6 batches minus those for 3 batches"
	assert_eq "$(printf '%s\n' "$ERR" | grep -vcE '^mfa-sweeper: (error|warn|info|debug): ')" 0 \
		"every stderr line is 'mfa-sweeper: <level>: <message>'"
}

t_quiet() {
	codes_db 12
	cfg_std used_backup_codes "batch_size = 5"
	sweep -c "$CFG" -q
	assert_exit 0
	assert_eq "$ERR" "" "stderr of a successful -q run"
	assert_eq "$(rows_left must-go)" 0 "the -q run deleted"
	# Errors still show.
	sweep -c "$T_DIR/missing.ini" -q
	assert_exit 78 "exit code of -q with a missing config"
	assert_contains "$ERR" "missing.ini" "-q still prints errors"
}

t_log_format() {
	codes_db 12
	cfg_std used_backup_codes
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(printf '%s\n' "$ERR" | grep . | grep -vcE '^mfa-sweeper: (error|warn|info|debug): ')" 0 \
		"every stderr line is 'mfa-sweeper: <level>: <message>'"
}

# ------------------------------------------------------------ partitioned

# In a partitioned table every partition numbers its rows from ctid (0,1),
# so deleting by ctid alone would take rows of the wrong partition, and
# the key (id) repeats across partitions too: the engine must match
# victims on (tableoid, ctid).  Each partition's rows sit at the same
# ctids and ids as the other's, keepers beside victims.
t_partitioned_table_deletes_by_key() {
	fresh_db
	fx_part_codes
	sql <<'EOF'
INSERT INTO part_codes_a (id, user_id, code_hash, used, used_at) VALUES
  (1, 1, 'must-go-a1', true, now() - interval '100 days'),
  (2, 1, 'must-stay-a2', false, NULL),
  (3, 1, 'must-go-a3', true, now() - interval '100 days');
INSERT INTO part_codes_b (id, user_id, code_hash, used, used_at) VALUES
  (1, 101, 'must-stay-b1', false, NULL),
  (2, 101, 'must-go-b2', true, now() - interval '100 days'),
  (3, 101, 'must-stay-b3', true, now() - interval '1 day');
EOF
	cfg_std used_backup_codes "batch_size = 2" "[schema]" "codes_table = part_codes"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json .deleted_total 3 "deleted_total"
	assert_q "SELECT string_agg(code_hash, ',' ORDER BY code_hash) FROM part_codes" \
		"must-stay-a2,must-stay-b1,must-stay-b3" \
		"exactly the victims are gone, in both partitions"
}

# ------------------------------------------------------------ kill -9

# A sweeper killed with SIGKILL in the middle of a batch leaves an open
# transaction the server rolls back: only whole batches are ever gone.  A
# trigger makes every row slow to delete, so each batch of 100 takes about
# 0.2 s and a kill lands inside one.  Three kills, each checked.
t_killed_mid_batch_leaves_only_whole_batches() {
	codes_db 2000
	fx_slow_deletes
	cfg_std used_backup_codes "batch_size = 100"
	local round child left before
	before=2000
	for round in 1 2 3; do
		sweep_bg -c "$CFG" --json
		sleep 0.7
		child=$(bg_sweeper_pid)
		[ -n "$child" ] || die "round $round: cannot find the sweeper process"
		kill -KILL "$child"
		# Not sweep_bg_wait: a killed sweeper is what this test wants,
		# not a crash to report.
		wait_until 10 '[ -s "$T_DIR/bg.rc" ]' ||
			die "round $round: the killed sweeper did not exit"
		assert_eq "$(cat "$T_DIR/bg.rc")" 137 "round $round: the sweeper died of SIGKILL"
		# The backend runs on until it notices its client is gone.
		wait_until 20 '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '"'"'$DB'"'"' AND application_name = '"'"'mfa-sweeper'"'"'")" = 0 ]' ||
			die "round $round: the killed run's session did not end"
		left=$(rows_left must-go-bulk)
		assert_int_cmp "$left" -lt "$before" "round $round: the run deleted something before the kill"
		assert_int_cmp "$left" -gt 0 "round $round: the kill came before the end"
		assert_eq $(((2000 - left) % 100)) 0 \
			"round $round: rows gone ($((2000 - left))) are whole batches of 100"
		assert_eq "$(rows_left must-stay)" 3 "round $round: rows that must stay are there"
		before=$left
	done
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
}

run_tests "$@"
