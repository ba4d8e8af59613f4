#!/bin/bash
# Adaptive batch size (issue 4, item 1): batch_target, batch_min and
# batch_max size the batches from the rows per second seen so far, and a
# written batch_size fixes the size.
. "$(dirname "$0")/../lib/assert.sh"

# batch_sizes TABLE: "ms size" of every -v batch line of TABLE in $ERR.
batch_lines() {
	printf '%s\n' "$ERR" |
		sed -nE "s/.*: $1: batch [0-9]+: [0-9]+ rows deleted in ([0-9]+) ms, batch size ([0-9]+) .*/\1 \2/p"
}

# median_of_tail COLUMN: the median of COLUMN (1 = ms, 2 = size) over the
# five batches before the last one (the last may be cut short by the end
# of the table) of the "ms size" lines on stdin.
median_of_tail() {
	local col=$1
	awk -v c="$col" '{ v[NR] = $c } END {
		n = 0
		for (i = NR - 5; i < NR; i++) if (i >= 1) w[++n] = v[i]
		# insertion sort of n <= 5 values
		for (i = 2; i <= n; i++) { x = w[i]; j = i - 1
			while (j >= 1 && w[j] > x) { w[j + 1] = w[j]; j-- }
			w[j + 1] = x }
		print (n ? w[int((n + 1) / 2)] : -1) }'
}

# Two tables whose rows cost very different times to delete: every used
# code is cheap (one in 50 runs a 1 ms trigger), every stale device runs
# a 1 ms trigger.  Sleeping triggers keep the cost steady on a busy
# machine without using its CPU.
t_batch_times_converge_on_cheap_and_costly_rows() {
	local cheap costly n_cheap n_costly ms_cheap ms_costly size_cheap size_costly
	fresh_db
	fx_many_used_codes 25000
	sql <<'EOF2'
CREATE FUNCTION cheap_cost() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.id % 50 = 0 THEN PERFORM pg_sleep(0.001); END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER cheap_cost BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION cheap_cost();
CREATE FUNCTION costly_cost() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_sleep(0.001);
  RETURN OLD;
END $$;
CREATE TRIGGER costly_cost BEFORE DELETE ON otp_totp_totpdevice
  FOR EACH ROW EXECUTE FUNCTION costly_cost();
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (201, 'u201@example.com', true);
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 201, 'must-go-dev-' || i, false, 'k', now() - interval '30 days'
  FROM generate_series(1, 2400) AS i;
EOF2
	cfg_std "used_backup_codes, stale_devices" "batch_target = 100ms" "batch_min = 10"
	sweep -c "$CFG" --json -v
	assert_exit 0
	assert_json .status ok "status"
	assert_json .deleted_total 27400 "deleted_total"
	cheap=$(batch_lines accounts_backupcode)
	costly=$(batch_lines otp_totp_totpdevice)
	n_cheap=$(printf '%s\n' "$cheap" | grep -c .)
	n_costly=$(printf '%s\n' "$costly" | grep -c .)
	note "cheap batches (ms size): $(printf '%s' "$cheap" | tr '\n' ',')"
	note "costly batches (ms size): $(printf '%s' "$costly" | tr '\n' ',')"
	assert_int_cmp "$n_cheap" -ge 10 "batches of the cheap table"
	assert_int_cmp "$n_costly" -ge 10 "batches of the costly table"
	ms_cheap=$(printf '%s\n' "$cheap" | median_of_tail 1)
	ms_costly=$(printf '%s\n' "$costly" | median_of_tail 1)
	size_cheap=$(printf '%s\n' "$cheap" | median_of_tail 2)
	size_costly=$(printf '%s\n' "$costly" | median_of_tail 2)
	# Within a factor of two of batch_target = 100ms.
	assert_int_cmp "$ms_cheap" -ge 50 "median ms of the cheap table's later batches"
	assert_int_cmp "$ms_cheap" -le 200 "median ms of the cheap table's later batches"
	assert_int_cmp "$ms_costly" -ge 50 "median ms of the costly table's later batches"
	assert_int_cmp "$ms_costly" -le 200 "median ms of the costly table's later batches"
	assert_int_cmp "$size_cheap" -ge $((10 * size_costly)) \
		"cheap rows get batches at least 10 times larger than costly ones ($size_cheap vs $size_costly)"
	# The first batch is the conservative start (at most the adaptive
	# start of 1000 rows: a block walk's first window holds that many
	# rows at the table's average rows per block, one block when the
	# table was never analysed); sizes stay in bounds.
	assert_int_cmp "$(printf '%s\n' "$costly" | head -n1 | cut -d' ' -f2)" -le 1000 "first batch size"
	assert_jq '[.rules[].steps[] | select(.batches > 0) | .batch_size
		    | .min >= 1 and .max <= 50000 and .last >= .min and .last <= .max] | all' \
		"batch_size min/last/max in the summary"
	assert_jq '(.rules[] | select(.name == "used_backup_codes") | .steps[0].batch_size.max) >
		   10 * (.rules[] | select(.name == "stale_devices") | .steps[0].batch_size.last)' \
		"summary: the cheap step's largest batch against the costly step's last"

}

# Sparse rows: a block walk widens its windows (WINDOW_SIZER_STEP times a
# window while each takes far less than batch_target), so a table with
# one eligible row in 400 takes a handful of batches, not one per block,
# and no batch grows past batch_target.
t_sparse_rows_widen_the_window() {
	fresh_db
	sql <<'EOF2'
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (301, 'u301@example.com', true);
-- 40000 codes, one in 400 eligible: every window finds few rows.
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, CASE WHEN i % 400 = 0 THEN 'must-go-' ELSE 'must-stay-' END || i,
         i % 400 = 0, CASE WHEN i % 400 = 0 THEN now() - interval '100 days' END,
         now() - interval '200 days'
  FROM generate_series(1, 40000) AS i;
ANALYZE accounts_backupcode;
EOF2
	cfg_std used_backup_codes "batch_target = 5s"
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0
	check_rows '^must-go-'
	assert_json .deleted_total 100 "deleted_total"
	assert_contains "$ERR" "(blocks 0-" "the step walks the table by blocks"
	# About 300 blocks: windows of 13, 52, 208 blocks and the rest.
	assert_int_cmp "$(jq .rules[0].batches <<<"$OUT")" -le 6 \
		"batches over ~300 blocks with windows growing 4 times a batch"
	assert_int_cmp "$(jq .rules[0].batches <<<"$OUT")" -ge 2 \
		"the first window is the conservative start, not the whole table"
}

# A window holding more rows than batch_max is rolled back and deleted in
# capped batches of batch_max rows, again and again until one comes up
# short; the rows around are untouched.
t_dense_window_goes_in_capped_batches() {
	fresh_db
	# 20000 rows that stay, then 3000 that go: the windows grow over the
	# first part and the one that reaches the second holds too many.
	sql <<'EOF2'
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (301, 'u301@example.com', true);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, 'must-stay-unused-' || i, false, NULL, now() - interval '200 days'
  FROM generate_series(1, 20000) AS i;
EOF2
	fx_many_used_codes 3000
	fx_used_code_keepers
	sql <<<"ANALYZE accounts_backupcode"
	cfg_std used_backup_codes "batch_min = 10" "batch_max = 400"
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0
	check_rows '^must-go-'
	assert_json .deleted_total 3000 "deleted_total"
	assert_jq '.rules[0].steps[0].batch_size.max <= 400' "no batch over batch_max"
	assert_contains "$ERR" "capped)" "some windows went in capped batches"
	assert_int_cmp "$(jq .rules[0].batches <<<"$OUT")" -ge 8 "3000 rows in batches of at most 400"
}

# An eligible row, which held_row_sweep has another session hold.
LOCKED_ELIGIBLE="INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  VALUES (301, 'locked-eligible', true, now() - interval '100 days', now() - interval '200 days');"

# held_row_sweep: used_backup_codes (lock_timeout 10s) while another
# session holds the row LOCKED_ELIGIBLE added: the run gives way at once
# instead of waiting for lock_timeout, deletes every other eligible row,
# and leaves the held one.  The holder is still there: bg_end holder.
held_row_sweep() {
	CFG_LOCK_TIMEOUT=10s cfg_std used_backup_codes
	bg_session holder "BEGIN; SELECT id FROM accounts_backupcode WHERE code_hash = 'locked-eligible' FOR UPDATE"
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0
	assert_int_cmp "$ELAPSED_MS" -lt 5000 "run time in ms with a locked row (lock_timeout 10s)"
	check_rows '^must-go-'
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash = 'locked-eligible'" 1 \
		"the row locked by another session survives"
	assert_contains "$ERR" "another session holds a row" "the plain batch gave way"
	assert_json .rules[0].retries 0 "the lock is not a failure to retry"
}

# A block walk's plain DELETE meets a row another session holds: it gives
# up after a short wait, and the window goes in SKIP LOCKED batches; the
# run does not wait for lock_timeout, and the held row survives.
t_locked_row_in_a_block_window() {
	fresh_db
	fx_many_used_codes 40
	fx_used_code_keepers
	sql <<<"$LOCKED_ELIGIBLE"
	held_row_sweep
	assert_contains "$ERR" "the window goes in SKIP LOCKED batches" "to SKIP LOCKED batches"
	bg_end holder
}

# indexed_codes N [SQL]: N used codes, one in 1000 used long enough ago
# to go, then SQL, then an index on used_at that serves the predicate.
indexed_codes() {
	fresh_db
	sql <<EOF2
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (301, 'u301@example.com', true);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, CASE WHEN i % 1000 = 0 THEN 'must-go-' ELSE 'must-stay-' END || i,
         true, now() - CASE WHEN i % 1000 = 0 THEN interval '100 days' ELSE interval '1 day' END,
         now() - interval '200 days'
  FROM generate_series(1, $1) AS i;
${2:-}
CREATE INDEX accounts_backupcode_used_at ON accounts_backupcode (used_at);
ANALYZE accounts_backupcode;
EOF2
}

# An index that serves the predicate: the step is walked freely (capped
# batches the index finds, no bounds), and only the eligible rows go.
t_indexed_predicate_is_walked_by_its_index() {
	indexed_codes 50000
	cfg_std used_backup_codes
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0
	check_rows '^must-go-'
	assert_json .deleted_total 50 "deleted_total"
	assert_contains "$ERR" "(found by index)" "the batches were found through the index"
	sweep -c "$CFG" --explain
	assert_exit 0 "--explain"
	assert_contains "$OUT" "LIMIT \$2), gone AS (DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT row_ctid FROM victims)) AND (" \
		"the first batch takes its rows unlocked and checks the predicate again"
}

# A row another session holds, on a walk by index: the unlocked batch
# gives up after a short wait, and the walk goes on in batches that lock
# their rows first and pass over the held one, which survives.
t_indexed_walk_passes_over_a_locked_row() {
	indexed_codes 20000 "$LOCKED_ELIGIBLE"
	held_row_sweep
	assert_contains "$ERR" "(found by index)" "walked by its index"
	assert_contains "$ERR" "the walk goes on in SKIP LOCKED batches" "to locked batches"
	bg_end holder
}

# user_disabled's steps are walked by users: windows of the users table,
# the disabled users in each, their rows through the user column's index.
# Codes and devices of enrolled and recently disabled users stay.
t_user_rows_are_walked_by_users() {
	fresh_db
	fx_user_disabled
	fx_bulk_disabled_users
	cfg_std user_disabled
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0
	check_rows '^(must-go|conf)-'
	assert_contains "$ERR" "accounts_backupcode: walked by users" "the codes are walked by users"
	assert_contains "$ERR" "(users blocks 0-" "batches name windows of the users table"
}

# Once its windows delete rows (here ten codes per disabled user), a walk
# by users joins each window's users instead of listing them, so that the
# rule's predicate reads each user once: the later windows run that
# statement, and must delete exactly what the listed one would.
t_user_rows_joined_once_windows_delete() {
	fresh_db
	fx_user_disabled
	fx_bulk_disabled_users
	cfg_std user_disabled
	sweep -c "$CFG" --explain
	assert_exit 0 "--explain"
	assert_contains "$OUT" "a window joins its users instead of listing them" \
		"--explain says when a window joins its users"
	assert_contains "$OUT" 'DELETE FROM "accounts_backupcode" AS t USING "accounts_user" AS u WHERE u."id" = t."user_id" AND (NOT u."mfa_enrolled"' \
		"--explain prints the joined statement, with the rule's joined predicate"
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0
	check_rows '^(must-go|conf)-'
	assert_contains "$ERR" "accounts_backupcode: batch 2: " \
		"the codes went in several windows, the later ones joined"
}

# The joined windows test the rule's joined predicate on each row and its
# user, where the other statements test the predicate: the rows that must
# stay and those that must go, placed after 5,000 users so that the
# windows that meet them are joined ones, go exactly as the predicate
# says, with confirmed devices kept and deleted.  A row trigger notes the
# statement that deleted each of those rows.
t_user_rows_joined_windows_judge_each_row_as_the_predicate() {
	local confirmed
	for confirmed in true false; do
		fresh_db
		fx_bulk_disabled_users
		sql <<'EOF'
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 1000 + i,
         CASE WHEN i % 5 = 0 THEN 'must-go-bulkdev-' ELSE 'must-stay-bulkdev-' END || i,
         false, 'k', now() - interval '300 days'
  FROM generate_series(1, 5000) AS i;
CREATE TABLE deleted_by (marker text, joined boolean);
CREATE FUNCTION note_deleter() RETURNS trigger LANGUAGE plpgsql
  SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO deleted_by VALUES (
    coalesce(to_jsonb(OLD) ->> 'code_hash', to_jsonb(OLD) ->> 'name'),
    current_query() LIKE '%USING "accounts_user" AS u WHERE%');
  RETURN OLD;
END $$;
CREATE TRIGGER note_code BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW WHEN (OLD.user_id < 1000) EXECUTE FUNCTION note_deleter();
CREATE TRIGGER note_device BEFORE DELETE ON otp_totp_totpdevice
  FOR EACH ROW WHEN (OLD.user_id < 1000) EXECUTE FUNCTION note_deleter();
EOF
		fx_user_disabled
		sql <<<"ANALYZE"
		cfg_std user_disabled "" "[rule.user_disabled]" \
			"delete_confirmed_devices = $confirmed"
		snap
		sweep -c "$CFG" --json -v
		assert_exit 0 "delete_confirmed_devices = $confirmed"
		if [ "$confirmed" = true ]; then
			check_rows '^(must-go|conf)-' "delete_confirmed_devices = true"
		else
			check_rows '^must-go-' "delete_confirmed_devices = false"
		fi
		assert_int_cmp "$(q "SELECT count(*) FROM deleted_by")" -ge 8 \
			"the fixture's rows were deleted ($confirmed)"
		assert_eq "$(q "SELECT coalesce(string_agg(marker, ', '), '') FROM deleted_by WHERE NOT joined")" "" \
			"every one of them by a joined window ($confirmed)"
	done
}

# Without an index on the user column a users walk would read the table
# whole in every batch: the step walks its own blocks instead.
t_user_rows_without_an_index_walk_by_blocks() {
	fresh_db
	fx_user_disabled
	sql <<<"DROP INDEX accounts_backupcode_user_id; ANALYZE"
	cfg_std user_disabled
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0
	check_rows '^(must-go|conf)-'
	assert_contains "$ERR" "accounts_backupcode: not walked by users" "no users walk without the index"
	assert_contains "$ERR" "accounts_backupcode: batch 1: " "the codes are deleted all the same"
}

t_fixed_batch_size_does_not_adapt() {
	fresh_db
	fx_many_used_codes 3000
	cfg_std used_backup_codes "batch_size = 700" "batch_target = 1ms" "batch_min = 1" "batch_max = 5"
	sweep -c "$CFG" --json -v
	assert_exit 0
	assert_json .deleted_total 3000 "deleted_total"
	assert_json '.rules[0].batches' 5 "batches of 700 for 3000 rows"
	assert_json '.rules[0].steps[0].batch_size | [.min, .max, .last] | join(",")' \
		"700,700,700" "batch sizes"
	assert_eq "$(batch_lines accounts_backupcode | cut -d' ' -f2 | sort -u | tr '\n' ' ')" "700 " \
		"batch size in every -v line"
}

# A dry run counts batches at the first size: batch_size, or the adaptive
# start (1000, within batch_min..batch_max).
t_dry_run_counts_batches_at_the_first_size() {
	fresh_db
	fx_many_used_codes 2500
	cfg_std used_backup_codes
	sweep -c "$CFG" --json --dry-run
	assert_exit 0
	assert_json '.rules[0].would_delete' 2500 "would_delete"
	assert_json '.rules[0].batches' 3 "batches at the adaptive start of 1000"
	assert_jq '.rules[0].steps[0] | has("batch_size") | not' "no batch sizes in a dry run"
	cfg_std used_backup_codes "batch_max = 400"
	sweep -c "$CFG" --json --dry-run
	assert_json '.rules[0].batches' 7 "batches at batch_max = 400"
	cfg_std used_backup_codes "batch_size = 2500"
	sweep -c "$CFG" --json --dry-run
	assert_json '.rules[0].batches' 1 "batches at batch_size = 2500"
	assert_eq "$(q "SELECT count(*) FROM accounts_backupcode")" 2500 "rows after dry runs"
}

# Bad values: exit 78, one line naming file, line, section and key.
t_bad_sizing_keys() {
	fresh_db
	fx_used_codes
	snap
	cfg_std used_backup_codes "batch_min = 900" "batch_max = 800"
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "$CFG:$(line_of 'batch_max = 800'): [sweeper] batch_max: " "names file, line, section and key"
	assert_contains "$ERR" "batch_min (900) is larger than batch_max (800)" "says why"
	cfg_std used_backup_codes "batch_target = 0"
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "[sweeper] batch_target: " "batch_target = 0"
	cfg_std used_backup_codes "pause_ratio = 1/2"
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "[sweeper] pause_ratio: '1/2' is not a ratio" "pause_ratio = 1/2"
	cfg_std used_backup_codes "batch_min = 0"
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "[sweeper] batch_min: '0' is out of range" "batch_min = 0"
	check_nothing_deleted
}

run_tests "$@"
