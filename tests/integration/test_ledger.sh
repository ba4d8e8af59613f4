#!/bin/bash
# The audit ledger: [ledger] enabled/schema, --init-ledger,
# --print-ledger-sql, --history, the runs row of a run and the deletions
# rows its batches write in their own statement.  The key test kills the
# sweeper with SIGKILL many times mid-run and checks after every kill that
# the rows gone from the table are exactly the rows the ledger records.
. "$(dirname "$0")/../lib/assert.sh"

LS=mfa_sweeper

# ledger_cfg RULES [LINE...]: cfg_std with the ledger enabled (LINEs go
# into [sweeper] first, as with cfg_std).  LEDGER_SCHEMA sets the schema.
ledger_cfg() {
	local rules=$1
	shift
	cfg_std "$rules" "$@" "" "[ledger]" "enabled = ${LEDGER_ENABLED:-true}" \
		"schema = ${LEDGER_SCHEMA:-$LS}"
}

# init_ledger: --init-ledger with $CFG, which must succeed.
init_ledger() {
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger" || die "cannot initialise the ledger"
}

# The example plugin's table, with 25 expired and 7 live sessions, and a
# plugin dir holding the built-in rules and the example; sets PDIR.
sessions_setup() {
	fx_django_sessions
	PDIR=$(example_plugin_dir)
}

# snap_rows: copy the key and user of every row of the three tables the
# rules delete from, to compare with after a run.
snap_rows() {
	sql <<'EOF'
CREATE TABLE snap_rows AS
  SELECT 'accounts_backupcode' AS tbl, id::text AS key, user_id::text AS uid
    FROM accounts_backupcode
  UNION ALL
  SELECT 'otp_totp_totpdevice', id::text, user_id::text FROM otp_totp_totpdevice;
EOF
	if [ "$(q "SELECT to_regclass('django_session') IS NOT NULL")" = t ]; then
		sql <<<"INSERT INTO snap_rows SELECT 'django_session', session_key, NULL FROM django_session"
	fi
}

# gone_vs_ledger SCHEMA: "table|user|gone|recorded" for every (table, user)
# where the rows gone since snap_rows differ from the rows the ledger's
# deletions record; empty when they agree exactly.
gone_vs_ledger() {
	local s=$1 sessions=
	[ "$(q "SELECT to_regclass('django_session') IS NOT NULL")" = f ] ||
		sessions="UNION ALL SELECT 'django_session', session_key FROM django_session"
	q "WITH now_rows AS (
	     SELECT 'accounts_backupcode' AS tbl, id::text AS key FROM accounts_backupcode
	     UNION ALL SELECT 'otp_totp_totpdevice', id::text FROM otp_totp_totpdevice
	     $sessions),
	   gone AS (
	     SELECT s.tbl, s.uid, count(*) AS n FROM snap_rows s
	     WHERE NOT EXISTS (SELECT 1 FROM now_rows r WHERE r.tbl = s.tbl AND r.key = s.key)
	     GROUP BY s.tbl, s.uid),
	   rec AS (
	     SELECT table_name AS tbl, user_id AS uid, sum(rows_deleted) AS n
	     FROM $s.deletions GROUP BY table_name, user_id)
	   SELECT coalesce(g.tbl, r.tbl) || '|' || coalesce(g.uid, r.uid, 'NULL') || '|'
	          || coalesce(g.n, 0) || '|' || coalesce(r.n, 0)
	   FROM gone g FULL JOIN rec r ON r.tbl = g.tbl AND r.uid IS NOT DISTINCT FROM g.uid
	   WHERE coalesce(g.n, 0) <> coalesce(r.n, 0)
	   ORDER BY 1"
}

# ------------------------------------------------------------------ the DDL

t_print_sql_applies_and_equals_init() {
	fresh_db
	ledger_cfg used_backup_codes
	sweep -c "$CFG" --print-ledger-sql
	assert_exit 0 "--print-ledger-sql"
	assert_contains "$OUT" 'CREATE TABLE IF NOT EXISTS "mfa_sweeper"."runs"' "DDL"
	assert_contains "$OUT" 'CREATE TABLE IF NOT EXISTS "mfa_sweeper"."deletions"' "DDL"
	printf '%s\n' "$OUT" >"$T_DIR/ledger.sql"
	local out
	out=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -f "$T_DIR/ledger.sql" 2>&1) ||
		fail "the printed SQL does not apply with psql: $out"
	# Applying it again changes nothing and is no error.
	out=$(psql -XAtq -v ON_ERROR_STOP=1 -d "$DB" -f "$T_DIR/ledger.sql" 2>&1) ||
		fail "the printed SQL does not apply twice: $out"
	pg_dump -s -n "$LS" --no-owner -d "$DB" | grep -vE '^(--|\\(un)?restrict |$)' >"$T_DIR/printed.dump" ||
		die "pg_dump failed"

	# --init-ledger, twice, into an empty database, gives the same schema.
	DB=$(other_db init)
	ledger_cfg used_backup_codes
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger"
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger a second time"
	pg_dump -s -n "$LS" --no-owner -d "$DB" | grep -vE '^(--|\\(un)?restrict |$)' >"$T_DIR/init.dump" ||
		die "pg_dump failed"
	assert_int_cmp "$(grep -c 'CREATE TABLE' "$T_DIR/init.dump")" -eq 3 "three tables created (runs, deletions, run_lease)"
	if ! diff -u "$T_DIR/printed.dump" "$T_DIR/init.dump" >"$T_DIR/diff"; then
		fail "--init-ledger and --print-ledger-sql differ"
		note "$(head -c 1500 "$T_DIR/diff")"
	fi
}

# A second --init-ledger finds everything in place.  The server's "already
# exists, skipping" for each IF NOT EXISTS is the expected outcome, not
# news: the sweeper says itself that the ledger is ready, through the log,
# so -q silences it and --log-format json keeps every line JSON.
t_init_ledger_again_says_one_line() {
	fresh_db
	ledger_cfg used_backup_codes
	init_ledger
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger a second time"
	assert_eq "$ERR" "mfa-sweeper: info: ledger ready: \"$LS\".\"runs\", \"$LS\".\"deletions\" and the run lease table \"$LS\".\"run_lease\"" \
		"stderr of a second --init-ledger"
	assert_eq "$OUT" "" "stdout of a second --init-ledger"
	sweep -c "$CFG" --init-ledger -q
	assert_exit 0 "--init-ledger -q a second time"
	assert_eq "$ERR" "" "stderr of a second --init-ledger -q"
	sweep -c "$CFG" --init-ledger --log-format json
	assert_exit 0 "--init-ledger --log-format json a second time"
	assert_eq "$(jq -c 'select(type == "object" and (.msg | type) == "string") | [.level, (.msg | startswith("ledger ready: "))]' <<<"$ERR")" \
		'["info",true]' "the one JSON log line of a second --init-ledger"
	assert_not_contains "$ERR" "already exists" "the server's notices"
	# Run three times, the ledger is still the three tables.
	assert_eq "$(q "SELECT count(*) FROM pg_tables WHERE schemaname = '$LS'")" 3 "ledger tables"
}

t_print_sql_connects_to_nothing() {
	fresh_db
	cfg_write <<EOF
[database]
dsn = host=$T_DIR/no-server dbname=nothing connect_timeout=2

[ledger]
schema = Audit Log
EOF
	sweep -c "$CFG" --print-ledger-sql
	assert_exit 0 "--print-ledger-sql with no database"
	assert_contains "$OUT" 'CREATE SCHEMA IF NOT EXISTS "Audit Log";' "quoted schema"
	assert_contains "$OUT" '"Audit Log"."deletions"' "quoted table"
	# The modes that need the database say it is unavailable.
	sweep -c "$CFG" --init-ledger
	assert_exit 69 "--init-ledger with no database"
	sweep -c "$CFG" --history
	assert_exit 69 "--history with no database"
}

# ------------------------------------------------------------------ runs

t_run_records_runs_and_deletions() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	sessions_setup
	CFG_PLUGIN_DIR=$PDIR ledger_cfg \
		"user_disabled, stale_devices, used_backup_codes, django_sessions" \
		"batch_size = 2"
	init_ledger
	snap
	snap_rows
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json .status ok "status"
	check_rows '^(must-go-|conf-)'
	assert_q "SELECT count(*) FROM django_session" 7 "sessions left"

	local run_id
	run_id=$(j .run_id)
	assert_q "SELECT count(*) FROM $LS.runs" 1 "one runs row"
	assert_q "SELECT run_id::text || '|' || status || '|' || (finished_at IS NOT NULL)
	          || '|' || dry_run || '|' || deleted_total || '|' || host
	          || '|' || (webhook_status IS NULL) FROM $LS.runs" \
		"$run_id|ok|true|false|$(j .deleted_total)|$(j .host)|true" "runs row"
	assert_int_cmp "$(j .deleted_total)" -gt 25 "something besides sessions was deleted"
	# The stored summary is the document --json printed.
	local stored printed
	stored=$(q "SELECT summary FROM $LS.runs" | jq -S . 2>&1)
	printed=$(printf '%s' "$OUT" | jq -S .)
	assert_eq "$stored" "$printed" "summary in the runs row"
	assert_q "SELECT sum(rows_deleted) FROM $LS.deletions WHERE run_id = '$run_id'" \
		"$(j .deleted_total)" "rows recorded in deletions"
	# Every row gone is recorded, per table and user, and nothing else.
	assert_eq "$(gone_vs_ledger "$LS")" "" "rows gone vs deletions (table|user|gone|recorded)"
	# The step without a user column records NULL users.
	assert_q "SELECT rule || '|' || count(*) FILTER (WHERE user_id IS NOT NULL) || '|' || sum(rows_deleted)
	          FROM $LS.deletions WHERE table_name = 'django_session' GROUP BY rule" \
		"django_sessions|0|25" "django_sessions deletions"
	assert_q "SELECT sum(rows_deleted) FROM $LS.deletions
	          WHERE rule = 'user_disabled' AND user_id = '1'" 5 "user 1's rows in the ledger (3 codes, 2 devices)"
	# Every batch of user_disabled on codes: at most batch_size rows.
	assert_q "SELECT count(*) FROM $LS.deletions WHERE rows_deleted > 2" 0 \
		"no deletions row exceeds a batch"
}

t_dry_run_records_no_deletions() {
	fresh_db
	fx_used_codes
	ledger_cfg used_backup_codes
	init_ledger
	snap
	sweep -c "$CFG" --json --dry-run
	assert_exit 0
	check_nothing_deleted
	assert_q "SELECT count(*) FROM $LS.deletions" 0 "no deletions rows for a dry run"
	assert_q "SELECT status || '|' || dry_run || '|' || deleted_total || '|' || (finished_at IS NOT NULL)
	          FROM $LS.runs" "ok|true|0|true" "the dry run's row"
	sweep -c "$CFG" --history
	assert_exit 0
	assert_contains "$OUT" "ok (dry run)" "--history marks the dry run"
}

t_skipped_run_recorded() {
	fresh_db
	fx_used_codes
	ledger_cfg used_backup_codes
	init_ledger
	bg_session lock "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	snap
	sweep -c "$CFG" --json
	assert_exit 75
	check_nothing_deleted
	assert_q "SELECT status || '|' || deleted_total || '|' || (finished_at IS NOT NULL)
	          FROM $LS.runs" "skipped|0|true" "the skipped run's row"
	assert_q "SELECT count(*) FROM $LS.deletions" 0 "no deletions"
	bg_end lock
}

t_ledger_off_writes_nothing() {
	fresh_db
	fx_used_codes
	cfg_std used_backup_codes
	sweep_check '^must-go-'
	assert_q "SELECT to_regnamespace('$LS') IS NULL" t "no ledger schema made when off"
	# Tables present but the ledger off: still nothing written.
	LEDGER_ENABLED=false ledger_cfg used_backup_codes
	init_ledger
	fx_many_used_codes 5
	sweep_check '^must-go-'
	assert_q "SELECT (SELECT count(*) FROM $LS.runs) + (SELECT count(*) FROM $LS.deletions)" 0 \
		"nothing recorded with enabled = false"
}

t_not_initialised_stops_before_deleting() {
	fresh_db
	fx_used_codes
	ledger_cfg used_backup_codes
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "run mfa-sweeper --init-ledger, or apply --print-ledger-sql" "hint"
	assert_contains "$ERR" '"mfa_sweeper"' "names the schema"
	check_nothing_deleted
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config without the ledger tables"
	sweep -c "$CFG" --history
	assert_exit 78 "--history without the ledger tables"
	assert_contains "$ERR" "--init-ledger" "--history hint"
	# A deletions table that does not fit the statement stops the
	# run at the preflight's EXPLAIN, before anything is deleted.
	sql <<'EOF'
CREATE SCHEMA mfa_sweeper;
CREATE TABLE mfa_sweeper.runs (run_id uuid PRIMARY KEY);
CREATE TABLE mfa_sweeper.deletions (run_id uuid);
EOF
	sweep -c "$CFG" --json
	assert_exit 78 "deletions table of another shape"
	assert_contains "$ERR" "does not plan" "preflight names the problem"
	check_nothing_deleted "nothing deleted with a broken ledger"
	assert_q "SELECT count(*) FROM mfa_sweeper.runs" 0 "no run recorded"
}

t_custom_schema_quoted() {
	fresh_db
	fx_used_codes
	LEDGER_SCHEMA="Audit Log" ledger_cfg used_backup_codes
	sweep -c "$CFG" --print-ledger-sql
	assert_contains "$OUT" 'CREATE TABLE IF NOT EXISTS "Audit Log"."runs"' "quoted in the DDL"
	init_ledger
	assert_q "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'Audit Log'" \
		"deletions,run_lease,runs" "tables in \"Audit Log\""
	sweep_check '^must-go-'
	assert_q "SELECT status || '|' || deleted_total FROM \"Audit Log\".runs" "ok|2" "runs row"
	assert_q "SELECT user_id || '|' || sum(rows_deleted) FROM \"Audit Log\".deletions GROUP BY user_id" \
		"101|2" "deletions"
	sweep -c "$CFG" --history
	assert_exit 0
	assert_contains "$OUT" "$(q "SELECT run_id FROM \"Audit Log\".runs")" "--history lists the run"
}

t_bad_ledger_config() {
	fresh_db
	cfg_std used_backup_codes "" "[ledger]" "enabled = yes please"
	sweep -c "$CFG" --check-config
	assert_exit 78
	assert_contains "$ERR" "sweeper.ini:$(line_of 'enabled =')" "names the file and line"
	assert_contains "$ERR" "[ledger] enabled:" "names section and key"
	cfg_std used_backup_codes "" "[ledger]" "schema = audit.log"
	sweep -c "$CFG" --init-ledger
	assert_exit 78
	assert_contains "$ERR" "[ledger] schema: 'audit.log' is not a schema name" "schema message"
	cfg_std used_backup_codes "" "[ledgers]"
	sweep -c "$CFG" --check-config
	assert_exit 78
	assert_contains "$ERR" "did you mean [ledger]?" "section suggestion"
}

# ------------------------------------------------------------------ history

t_history_newest_first_and_n() {
	fresh_db
	fx_many_used_codes 3
	ledger_cfg used_backup_codes
	init_ledger
	local ids=() i
	for i in 1 2 3; do
		[ "$i" = 1 ] || fx_many_used_codes 2 "must-go-more$i"
		sweep -c "$CFG" --json
		assert_exit 0
		ids+=("$(j .run_id)")
	done
	sweep -c "$CFG" --history
	assert_exit 0
	assert_match "$(printf '%s\n' "$OUT" | head -n1)" '^run id +started \(UTC\) +duration +status +rows deleted +host' "header"
	assert_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')" \
		"${ids[2]} ${ids[1]} ${ids[0]} " "runs newest first"
	assert_match "$(printf '%s\n' "$OUT" | grep "${ids[0]}")" \
		"${ids[0]} +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +[0-9]+\.[0-9]{3}s +ok +3 +$(hostname)" "a run's line"
	local form
	for form in "--history 2" "--history=2"; do
		# shellcheck disable=SC2086
		sweep -c "$CFG" $form
		assert_exit 0 "$form"
		assert_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }' | tr '\n' ' ')" \
			"${ids[2]} ${ids[1]} " "$form: the last two runs"
	done
	sweep --history 1 -c "$CFG"
	assert_exit 0 "--history N before -c"
	assert_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }')" "${ids[2]}" "--history 1"
	for form in "--history 0" "--history abc" "--history=-1" "--history=" "--history 1x"; do
		# shellcheck disable=SC2086
		sweep -c "$CFG" $form
		assert_exit 64 "$form"
	done
	assert_contains "$ERR" "--history '1x' is not a number of runs" "message"
	sweep -c "$CFG" --history --explain
	assert_exit 64 "--history with --explain"
}

# ------------------------------------------------------------------ kill -9

# 4000 eligible codes spread over 20 users, so that every batch holds
# several users, and a trigger that makes each deleted row take 2 ms.
kill_db() {
	fresh_db
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  SELECT 400 + u, 'u' || (400 + u) || '@example.com', true, NULL
  FROM generate_series(1, 20) AS u;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 401 + i % 20, 'must-go-k-' || i, true, now() - interval '100 days',
         now() - interval '200 days'
  FROM generate_series(1, 4000) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 401 + i % 20, 'must-stay-k-' || i, true, now() - interval '1 day',
         now() - interval '200 days'
  FROM generate_series(1, 40) AS i;
EOF
	fx_slow_deletes
}

t_kill_9_many_times_ledger_stays_exact() { # slow
	kill_db
	ledger_cfg used_backup_codes "batch_size = 50"
	init_ledger
	snap_rows
	local round child runs_before runs_after ms left gone rec with_row=0 rounds=20 r
	for round in $(seq "$rounds"); do
		runs_before=$(q "SELECT count(*) FROM $LS.runs")
		sweep_bg -c "$CFG" --json
		# A random moment between 0.1 and 0.7 s into the run.
		ms=$((100 + RANDOM % 600))
		sleep "$(printf '0.%03d' "$ms")"
		child=$(bg_sweeper_pid)
		[ -n "$child" ] || die "round $round: cannot find the sweeper process"
		kill -KILL "$child"
		wait_until 10 '[ -s "$T_DIR/bg.rc" ]' ||
			die "round $round: the killed sweeper did not exit"
		assert_eq "$(cat "$T_DIR/bg.rc")" 137 "round $round: the sweeper died of SIGKILL"
		wait_until 20 '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '"'"'$DB'"'"' AND application_name = '"'"'mfa-sweeper'"'"'")" = 0 ]' ||
			die "round $round: the killed run's session did not end"

		# The ledger accounts for exactly the rows gone, per user.
		r=$(gone_vs_ledger "$LS")
		[ -z "$r" ] || fail "round $round (killed after ${ms} ms): rows gone vs recorded differ (table|user|gone|recorded): $(printf '%s' "$r" | _list)"
		left=$(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-%'")
		gone=$((4000 - left))
		rec=$(q "SELECT coalesce(sum(rows_deleted), 0) FROM $LS.deletions")
		assert_eq "$rec" "$gone" "round $round: rows recorded = rows gone"
		assert_int_cmp "$left" -gt 0 "round $round: the kill came before the end"
		assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-stay-%'" 40 \
			"round $round: rows that must stay are there"
		# Every recorded user still has exactly that many rows fewer.
		assert_q "SELECT count(*) FROM (SELECT user_id, sum(rows_deleted) AS n
		            FROM $LS.deletions GROUP BY user_id) d
		          WHERE d.n > (SELECT count(*) FROM snap_rows s WHERE s.uid = d.user_id)
		                      - (SELECT count(*) FROM accounts_backupcode b WHERE b.user_id::text = d.user_id)" \
			0 "round $round: no deletion recorded for a row still present"

		runs_after=$(q "SELECT count(*) FROM $LS.runs")
		if [ "$runs_after" -gt "$runs_before" ]; then
			with_row=$((with_row + 1))
			assert_q "SELECT status || '|' || (finished_at IS NULL) || '|' || (summary IS NULL)
			          FROM $LS.runs ORDER BY started_at DESC LIMIT 1" "running|true|true" \
				"round $round: the killed run's row says running, not finished"
		else
			assert_eq "$rec" "$((4000 - ${last_left:-4000}))" \
				"round $round: killed before its runs row, so it deleted nothing"
		fi
		last_left=$left
	done
	# Most kills land inside the run, after its row is written.
	assert_int_cmp "$with_row" -ge $((rounds / 2)) "rounds whose run had its row"
	assert_q "SELECT count(*) FROM $LS.runs WHERE status <> 'running'" 0 "no killed run finished"
	assert_int_cmp "$(q "SELECT count(DISTINCT run_id) FROM $LS.deletions")" -ge 2 "several killed runs deleted rows"

	# --history shows the killed runs as died, with the rows they deleted.
	sweep -c "$CFG" --history 50
	assert_exit 0
	assert_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1' | grep -c ' died ')" "$with_row" "--history: killed runs shown as died"
	assert_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { s += $(NF - 1) } END { print s + 0 }')" "$rec" \
		"--history: rows deleted of the killed runs add up"

	# A last run finishes the work; everything is accounted for.
	snap
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json .status ok
	assert_eq "$(gone_vs_ledger "$LS")" "" "after the last run: rows gone vs recorded"
	assert_q "SELECT count(*) FROM accounts_backupcode" 40 "only the rows that must stay are left"
	assert_q "SELECT sum(rows_deleted) FROM $LS.deletions" 4000 "every deleted row recorded once"
	assert_eq "$(advisory_lock_held)" 0 "no advisory lock left behind"
}

run_tests "$@"
