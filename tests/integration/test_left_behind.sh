#!/bin/bash
# Rows the database refuses to delete never block the rest (doc/operations.md
# "Failures and retries"): a foreign key with no ON DELETE action, deferred
# as Django makes them or immediate, and a trigger that raises for one row.
# The batch that holds such a row is split until the row stands alone; the
# row stays, the rest goes, every later batch of the step passes over it,
# and the run reports it (summary, webhook, metrics, log) and exits 65.
. "$(dirname "$0")/../lib/assert.sh"

HTTPD=$SWEEPER_BUILD/tests/tools/httpd
LS=mfa_sweeper
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# httpd_start: a webhook receiver answering 200; sets HOOK_URL and REQ.
httpd_start() {
	REQ=$T_DIR/req
	mkdir -p "$REQ"
	[ -x "$HTTPD" ] || die "no $HTTPD; run make test-progs"
	"$HTTPD" -p "$T_DIR/port" -d "$REQ" -t 60 200 2>"$T_DIR/httpd.err" &
	T_BG_PIDS+=("$!")
	wait_until 5 '[ -s "$T_DIR/port" ]' || die "httpd did not start: $(cat "$T_DIR/httpd.err")"
	HOOK_URL="http://127.0.0.1:$(cat "$T_DIR/port")/hook"
}

# fx_devices N: user 401 (enrolled) with N stale unconfirmed devices
# (must-go-dev-I, created two days ago) and three young ones that
# stale_devices keeps (must-stay-young-I).
fx_devices() {
	sql <<EOF
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (401, 'u401@example.com', true);
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 401, 'must-go-dev-' || i, false, 'k', now() - interval '2 days'
  FROM generate_series(1, $1) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 401, 'must-stay-young-' || i, false, 'k', now() - interval '1 hour'
  FROM generate_series(1, 3) AS i;
EOF
}

# fx_device_refs DEFERRABILITY I...: an application table whose foreign
# key, with no ON DELETE action, points at the stale devices number I...,
# which are renamed must-stay-ref-I: the database refuses to delete them.
# DEFERRABILITY is "DEFERRABLE INITIALLY DEFERRED" (Django's) or "".
fx_device_refs() {
	local mode=$1 i
	shift
	sql <<EOF
CREATE TABLE app_device_log (
    id        serial PRIMARY KEY,
    device_id integer NOT NULL REFERENCES otp_totp_totpdevice (id) $mode
);
EOF
	for i in "$@"; do
		sql <<EOF
UPDATE otp_totp_totpdevice SET name = 'must-stay-ref-$i' WHERE name = 'must-go-dev-$i';
INSERT INTO app_device_log (device_id)
  SELECT id FROM otp_totp_totpdevice WHERE name = 'must-stay-ref-$i';
EOF
	done
}

# device_id NAME: the key of the device called NAME.
device_id() {
	q "SELECT id FROM otp_totp_totpdevice WHERE name = '$1'"
}

# ledger_on: create the audit ledger and remember every row, for
# ledger_matches.
ledger_on() {
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger" || die "cannot initialise the ledger"
	sql <<'EOF'
CREATE TABLE snap_keys AS
  SELECT 'accounts_backupcode' AS tbl, id::text AS key FROM accounts_backupcode
  UNION ALL SELECT 'otp_totp_totpdevice', id::text FROM otp_totp_totpdevice;
EOF
}

# ledger_matches: the rows gone since ledger_on, per table, equal what the
# ledger's deletions record.
ledger_matches() {
	assert_q "WITH now_keys AS (
	     SELECT 'accounts_backupcode' AS tbl, id::text AS key FROM accounts_backupcode
	     UNION ALL SELECT 'otp_totp_totpdevice', id::text FROM otp_totp_totpdevice),
	   gone AS (SELECT s.tbl, count(*) AS n FROM snap_keys s
	     WHERE NOT EXISTS (SELECT 1 FROM now_keys k WHERE k.tbl = s.tbl AND k.key = s.key)
	     GROUP BY s.tbl),
	   rec AS (SELECT table_name AS tbl, sum(rows_deleted) AS n FROM $LS.deletions
	     GROUP BY table_name)
	   SELECT count(*) FROM gone g FULL JOIN rec r USING (tbl)
	   WHERE coalesce(g.n, 0) <> coalesce(r.n, 0)" 0 \
		"the ledger records exactly the rows gone"
}

# metric FILE NAME_WITH_LABELS: the value of one sample.
metric() {
	awk -v k="$2" 'index($0, k " ") == 1 { print substr($0, length(k) + 2) }' "$1"
}

# The step of rule $1 on table $2 in the summary, as jq.
step_of() {
	printf '.rules[] | select(.name == "%s") | .steps[] | select(.table == "%s")' "$1" "$2"
}

t_deferred_foreign_key_leaves_referenced_rows() {
	fresh_db
	fx_devices 1200
	# Django's foreign keys: checked at COMMIT.
	fx_device_refs "DEFERRABLE INITIALLY DEFERRED" 150 777
	local m=$T_DIR/left.prom k150 k777 st
	k150=$(device_id must-stay-ref-150)
	k777=$(device_id must-stay-ref-777)
	httpd_start
	# batch_size: batches of 100 by key, twelve of them.
	cfg_std stale_devices "batch_size = 100" "metrics_file = $m" \
		"" "[ledger]" "enabled = true" "" "[webhook]" "url = $HOOK_URL"
	ledger_on
	snap
	sweep -c "$CFG" --json
	assert_exit 65 "rows left behind"
	check_rows '^must-go-'
	assert_json_doc
	st=$(step_of stale_devices otp_totp_totpdevice)
	# One jq for the lot: status, totals, the rule (partial, no error: it
	# did not fail) and the step's rows, in key order.
	assert_eq "$(j "[.status, .deleted_total, .left_behind_total,
		.rules[0].status, .rules[0].error, .rules[0].left_behind,
		($st | .left_behind, (.left_behind_rows | map(.key) | join(\",\")),
		 (.left_behind_rows | map(.sqlstate) | unique | join(\",\")),
		 (.left_behind_rows | map(.constraint) | unique | join(\",\")))] | map(tostring) | join(\" \")")" \
		"partial $GONE_N 2 partial null 2 2 $k150,$k777 23503 app_device_log_device_id_fkey" \
		"run status, deleted_total, left_behind_total; the rule's status, error and left_behind; the step's left_behind, keys, sqlstates and constraints"
	assert_jq "$st | .left_behind_rows[0].error | contains(\"violates foreign key constraint\")" \
		"the server's message"
	# Twelve batches of a hundred, plus the parts of the two split ones.
	assert_jq "$st | .batches >= 12" "several batches"
	ledger_matches
	# The log: one error line for the step, naming the keys and the
	# constraint; the rule's line says partial.
	assert_contains "$ERR" "rule 'stale_devices': otp_totp_totpdevice: 2 rows left behind, refused by the database: key $k150 (23503, constraint \"app_device_log_device_id_fkey\"), key $k777" \
		"the step's log line"
	assert_eq "$(grep -c 'left behind, refused by the database' <<<"$ERR")" 1 "one line for the step"
	assert_contains "$ERR" "rule 'stale_devices': partial, $GONE_N rows deleted" "the rule's line"
	# Metrics: a gauge per rule and table; no success.
	assert_eq "$(metric "$m" 'mfa_sweeper_rows_left_behind{rule="stale_devices",table="otp_totp_totpdevice"}')" 2 \
		"rows_left_behind gauge"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="partial"}')" 1 "run_status partial"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" 0 "not a success"
	# The webhook carries the summary.
	wait_until 5 '[ -s "$REQ/1.body" ]' || fail "no webhook request"
	assert_eq "$(jq -r '.data.left_behind_total' "$REQ/1.body")" 2 "webhook: left_behind_total"
	assert_eq "$(jq -r ".data | $st | .left_behind_rows | length" "$REQ/1.body")" 2 "webhook: the rows"
	assert_eq "$(jq -r '.data.status' "$REQ/1.body")" partial "webhook: status"

	# Every night the same: the referenced rows stay, reported again, and
	# nothing else is touched.
	snap
	sweep -c "$CFG" --json
	assert_exit 65 "rows left behind again"
	check_nothing_deleted "second run"
	assert_json .left_behind_total 2 "left behind again"
	ledger_matches
}

t_immediate_foreign_key_in_block_windows() {
	fresh_db
	fx_devices 3000
	fx_device_refs "" 40 1500 2999
	# Adaptive batches walk the heap in windows of blocks, whose plain
	# DELETE fails at the statement; small batches make several windows.
	cfg_std stale_devices "batch_max = 300" "batch_min = 10" \
		"" "[ledger]" "enabled = true"
	ledger_on
	snap
	sweep -c "$CFG" --json -v
	assert_exit 65
	check_rows '^must-go-'
	assert_json .deleted_total "$GONE_N" "deleted_total"
	assert_json .left_behind_total 3 "three rows left behind"
	assert_json "[$(step_of stale_devices otp_totp_totpdevice) | .left_behind_rows[] | .sqlstate] | unique | join(\",\")" \
		23503 "foreign key violation"
	assert_contains "$ERR" "(blocks 0-" "walked by blocks"
	assert_contains "$ERR" "the window goes in capped batches" "a refused window goes capped"
	ledger_matches
}

# fx_hold_trigger TABLE MARKER_COLUMN: a BEFORE DELETE trigger that raises
# for rows whose marker starts with must-stay-hold, as an application's
# legal-hold check would.
fx_hold_trigger() {
	sql <<EOF
CREATE FUNCTION refuse_held() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF OLD.$2 LIKE 'must-stay-hold%' THEN
    RAISE EXCEPTION 'row % is on legal hold', OLD.id;
  END IF;
  RETURN OLD;
END \$\$;
CREATE TRIGGER refuse_held BEFORE DELETE ON $1
  FOR EACH ROW EXECUTE FUNCTION refuse_held();
EOF
}

t_trigger_refuses_one_row() {
	fresh_db
	# 300 users who disabled MFA an hour ago, five codes and a device
	# each; one code on hold; one enrolled user who keeps everything.
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  SELECT 1000 + u, 'u' || (1000 + u) || '@example.com', false, now() - interval '1 hour'
  FROM generate_series(1, 300) AS u;
INSERT INTO accounts_backupcode (user_id, code_hash, created_at)
  SELECT 1000 + u, 'must-go-u' || (1000 + u) || '-code-' || c, now() - interval '2 days'
  FROM generate_series(1, 300) AS u, generate_series(1, 5) AS c;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 1000 + u, 'must-go-u' || (1000 + u) || '-dev', true, 'k', now() - interval '2 days'
  FROM generate_series(1, 300) AS u;
UPDATE accounts_backupcode SET code_hash = 'must-stay-hold-u1123-code-3'
  WHERE code_hash = 'must-go-u1123-code-3';
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (1999, 'u1999@example.com', true);
INSERT INTO accounts_backupcode (user_id, code_hash, created_at)
  VALUES (1999, 'must-stay-u1999-code', now() - interval '2 days');
ANALYZE;
EOF
	fx_hold_trigger accounts_backupcode code_hash
	local k st
	k=$(q "SELECT id FROM accounts_backupcode WHERE code_hash = 'must-stay-hold-u1123-code-3'")
	cfg_std user_disabled "batch_max = 200" "batch_min = 10" \
		"" "[ledger]" "enabled = true"
	ledger_on
	snap
	sweep -c "$CFG" --json -v
	assert_exit 65
	check_rows '^must-go-'
	assert_json .deleted_total "$GONE_N" "deleted_total"
	st=$(step_of user_disabled accounts_backupcode)
	assert_json "$st | .left_behind" 1 "one code left behind"
	assert_json "$st | .left_behind_rows[0].key" "$k" "its key"
	assert_json "$st | .left_behind_rows[0].sqlstate" P0001 "raised by the trigger"
	assert_json "$st | .left_behind_rows[0].constraint" null "no constraint"
	assert_json "$st | .left_behind_rows[0].error" "row $k is on legal hold" "the trigger's message"
	assert_json "$(step_of user_disabled otp_totp_totpdevice) | .left_behind" 0 "the devices step left nothing"
	assert_contains "$ERR" "walked by users" "the codes step walks by users"
	ledger_matches
}

t_free_walk_passes_over_refused_rows() {
	fresh_db
	fx_many_used_codes 1500
	fx_used_code_keepers
	# Many codes used recently and an index on used_at: the planner finds
	# the old ones through it, and the walk goes freely, without bounds.
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, 'must-stay-recent-' || i, true, now() - interval '1 day', now() - interval '2 days'
  FROM generate_series(1, 30000) AS i;
CREATE INDEX accounts_backupcode_used_at ON accounts_backupcode (used_at);
UPDATE accounts_backupcode SET code_hash = 'must-stay-hold-' || id
  WHERE code_hash IN ('must-go-bulk-7', 'must-go-bulk-800');
ANALYZE accounts_backupcode;
EOF
	fx_hold_trigger accounts_backupcode code_hash
	cfg_std used_backup_codes "batch_max = 200" "batch_min = 10"
	snap
	sweep -c "$CFG" --json -v
	assert_exit 65
	check_rows '^must-go-'
	assert_json .left_behind_total 2 "two rows left behind"
	assert_contains "$ERR" "(found by index)" "walked freely, through the index"
}

t_dry_run_counts_rows_it_cannot_know_are_refused() {
	fresh_db
	fx_devices 500
	fx_device_refs "DEFERRABLE INITIALLY DEFERRED" 10
	cfg_std stale_devices "batch_size = 100"
	snap
	sweep -c "$CFG" --json --dry-run
	assert_exit 0 "a dry run deletes nothing, so nothing is refused"
	check_nothing_deleted
	# Only deleting a row tells whether the database refuses it: the
	# count includes the referenced one.
	assert_json .would_delete_total 500 "would_delete counts the referenced row"
	assert_json '.left_behind_total' null "no left_behind in a dry run"
	assert_json '.status' ok "dry run status"
}

t_too_many_refused_rows_fail_the_rule() {
	fresh_db
	fx_devices 200
	fx_many_used_codes 50
	# Every device of the first 150 is on hold: more than the 100 a step
	# isolates before its rule fails.
	sql <<'EOF'
UPDATE otp_totp_totpdevice SET name = 'must-stay-hold-' || id
  WHERE name ~ '^must-go-dev-([1-9]|[1-9][0-9]|1[0-4][0-9]|150)$';
EOF
	fx_hold_trigger otp_totp_totpdevice name
	cfg_std "stale_devices, used_backup_codes" "batch_size = 50"
	snap
	sweep -c "$CFG" --json
	assert_exit 1 "the rule failed"
	assert_json '.rules[0].status' failed "stale_devices failed"
	assert_jq '.rules[0].error | contains("refused to delete more than 100 rows")' "the error names the limit"
	assert_json '.rules[0].left_behind' 100 "the rows isolated before it stopped"
	assert_json '.rules[1].status' ok "the next rule ran"
	# No held row went; the codes went.
	assert_eq "$(q "SELECT count(*) FROM otp_totp_totpdevice WHERE name LIKE 'must-stay-hold-%'")" 150 \
		"every held device stays"
	assert_eq "$(rows_left must-go-bulk)" 0 "used_backup_codes did its work"
}

run_tests "$@"
