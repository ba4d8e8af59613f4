#!/bin/bash
# Runs over many databases and tenant schemas (doc/fleet.md): [target.NAME]
# sections, tenants_query targets, --target, --list-targets, jobs, the
# per-target run locks, the one summary, and what one failing target does
# to the others (nothing).
#
# Every database and every tenant holds the same two used backup codes of
# user 101: must-go-* (used 100 days ago: used_backup_codes deletes it)
# and must-stay-* (unused: kept), so a count per database or schema says
# what each target did.
. "$(dirname "$0")/../lib/assert.sh"
. "$T_LIB_DIR/servers.sh"

# fleet_tenants DB N: schemas t1..tN in DB, each with the reference
# tables and the two codes, listed in public.customers_client; one DO
# block, so 300 tenants take a few seconds.
fleet_tenants() {
	sql "$1" <<EOF
CREATE TABLE public.customers_client (schema_name text, active boolean);
DO \$\$
DECLARE i int;
BEGIN
  FOR i IN 1..$2 LOOP
    -- One statement string per tenant: the tables with only the
    -- indexes the rules use (the key, the user column), then the rows.
    EXECUTE format('CREATE SCHEMA t%1\$s;
      CREATE TABLE t%1\$s.accounts_user (LIKE public.accounts_user INCLUDING DEFAULTS, PRIMARY KEY (id));
      CREATE TABLE t%1\$s.otp_totp_totpdevice (LIKE public.otp_totp_totpdevice INCLUDING DEFAULTS, PRIMARY KEY (id));
      CREATE TABLE t%1\$s.accounts_backupcode (LIKE public.accounts_backupcode INCLUDING DEFAULTS, PRIMARY KEY (id));
      INSERT INTO t%1\$s.accounts_user (id, email, mfa_enrolled) VALUES (101, ''u101@example.com'', true), (102, ''u102@example.com'', true);
      INSERT INTO t%1\$s.accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
      (101, ''must-go-t%1\$s'', true, now() - interval ''100 days'', now() - interval ''400 days''),
      (102, ''must-go-u102-t%1\$s'', true, now() - interval ''100 days'', now() - interval ''400 days''),
      (101, ''must-stay-t%1\$s'', false, NULL, now() - interval ''400 days'')', i);
    INSERT INTO public.customers_client VALUES ('t' || i, true);
  END LOOP;
END
\$\$;
EOF
}

# fleet_db_rows DB: the two codes of user 101 (and one of user 102) in
# DB's public tables.
fleet_db_rows() {
	sql "$1" <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES
  (101, 'u101@example.com', true), (102, 'u102@example.com', true);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (101, 'must-go-db', true, now() - interval '100 days', now() - interval '400 days'),
  (102, 'must-go-u102-db', true, now() - interval '100 days', now() - interval '400 days'),
  (101, 'must-stay-db', false, NULL, now() - interval '400 days');
EOF
}

# codes_in DB [SCHEMA]: the markers left, sorted, comma-separated.
codes_in() {
	q "SELECT string_agg(code_hash, ',' ORDER BY code_hash) FROM ${2:-public}.accounts_backupcode" "$1"
}

# fleet_small NDB NTENANTS [KEYS...]: $DB with NTENANTS tenants (target
# "tenants"), NDB-1 more databases (targets db1..), rows in each; the
# config in $CFG with KEYS added to [sweeper].  Sets FLEET_DBS.
fleet_small() {
	local ndb=$1 nt=$2 i name
	shift 2
	fresh_db
	fleet_db_rows "$DB"
	fleet_tenants "$DB" "$nt"
	FLEET_DBS=()
	for i in $(seq 1 $((ndb - 1))); do
		name=$(other_db "d$i")
		fleet_db_rows "$name"
		FLEET_DBS+=("$name")
	done
	cfg_std used_backup_codes "$@"
	{
		printf '\n[target.main]\ndsn = dbname=%s\n' "$DB"
		for i in $(seq 1 $((ndb - 1))); do
			printf '\n[target.db%s]\ndsn = dbname=%s\n' "$i" "${FLEET_DBS[$((i - 1))]}"
		done
		printf '\n[target.tenants]\ndsn = dbname=%s\n' "$DB"
		printf 'tenants_query = SELECT schema_name FROM public.customers_client WHERE active ORDER BY 1\n'
	} >>"$CFG"
}

t_fleet_small_run_sweeps_every_target() {
	fleet_small 3 5 "jobs = 2"
	sweep -c "$CFG" --json
	assert_exit 0 "a run over 3 databases and 5 tenants"
	assert_eq "$(codes_in "$DB")" "must-stay-db" "main swept"
	assert_eq "$(codes_in "${FLEET_DBS[0]}")" "must-stay-db" "db1 swept"
	assert_eq "$(codes_in "$DB" t3)" "must-stay-t3" "tenant t3 swept"
	assert_jq '.targets | length == 8' "one entry per target and tenant"
	assert_jq '.targets_total.ok == 8' "all ok"
	assert_jq '.deleted_total == 16' "two rows each"
	assert_jq '.rules[0].deleted == 16' "the rule's total"
}

# The issue's scale: 20 databases and 300 tenant schemas in one cluster,
# one target unreachable, one tenant's table locked (a migration holds
# it), each failing alone while the others are swept; one webhook post in
# the Slack format (totals and the failures, not 320 blocks) and the
# metrics file with a target label.
t_fleet_20_databases_300_tenants() { # slow
	local i name tpl hook m=$T_DIR/metrics.prom
	fresh_db
	fleet_db_rows "$DB"
	fleet_tenants "$DB" 300
	# The 19 other databases are copies of one with the rows.
	note "tenants after $SECONDS s"
	tpl=$(other_db tpl)
	fleet_db_rows "$tpl"
	for i in $(seq 1 19); do
		name="${DB}_d$i"
		q "CREATE DATABASE \"$name\" TEMPLATE \"$tpl\"" postgres >/dev/null ||
			die "cannot create $name"
		T_DBS+=("$name")
	done
	"$SWEEPER_BUILD/tests/tools/httpd" -p "$T_DIR/port" -d "$T_DIR/req" -t 60 200 2>"$T_DIR/httpd.err" &
	T_BG_PIDS+=("$!")
	mkdir -p "$T_DIR/req"
	wait_until 5 '[ -s "$T_DIR/port" ]' || die "httpd did not start"
	hook="http://127.0.0.1:$(cat "$T_DIR/port")/hook"
	cfg_std used_backup_codes "jobs = 2" "metrics_file = $m"
	{
		printf '\n[webhook]\nurl = %s\nformat = slack\nbackoff = 10ms\n' "$hook"
		printf '\n[target.main]\ndsn = dbname=%s\n' "$DB"
		for i in $(seq 1 19); do
			printf '\n[target.db%s]\ndsn = dbname=%s_d%s\n' "$i" "$DB" "$i"
		done
		printf '\n[target.gone]\ndsn = host=%s port=1 dbname=nope connect_timeout=2\n' "$T_DIR"
		printf '\n[target.tenants]\ndsn = dbname=%s\n' "$DB"
		printf 'tenants_query = SELECT schema_name FROM public.customers_client WHERE active ORDER BY 1\n'
	} >>"$CFG"
	note "fixture ready after $SECONDS s"
	bg_session lock "BEGIN; LOCK TABLE t150.accounts_backupcode IN ACCESS EXCLUSIVE MODE"
	sweep -c "$CFG" --json
	bg_end lock
	assert_exit 69 "the worst over the targets: unreachable (69) over a failed rule (1)"
	assert_jq '.targets | length == 321' "one entry per database and tenant"
	assert_jq '.targets_total.ok == 319 and .targets_total.failed == 2' "all but two ok"
	assert_jq '.status == "failed"' "the run failed"
	assert_jq '[.targets[] | select(.name == "gone")][0].status == "failed"' "the unreachable target failed"
	assert_jq '[.targets[] | select(.name == "gone")][0].exit_code == 69' "with 69"
	assert_jq '[.targets[] | select(.name == "tenants/t150")][0].status == "failed"' "the locked tenant failed"
	assert_jq '[.targets[] | select(.name == "tenants/t150")][0].error | test("lock")' "its error says why"
	assert_jq '.deleted_total == 638' "two rows in each of 319 targets"
	for i in 1 7 19; do
		assert_eq "$(codes_in "${DB}_d$i")" "must-stay-db" "db$i swept"
	done
	assert_q "SELECT count(*) FILTER (WHERE code_hash LIKE 'must-go%'), count(*) FILTER (WHERE code_hash LIKE 'must-stay%')
	  FROM (SELECT code_hash FROM t1.accounts_backupcode UNION ALL SELECT code_hash FROM t149.accounts_backupcode
	        UNION ALL SELECT code_hash FROM t151.accounts_backupcode UNION ALL SELECT code_hash FROM t300.accounts_backupcode) c" \
		"0|4" "tenants swept, their must-stay rows kept"
	assert_eq "$(codes_in "$DB" t150)" "must-go-t150,must-go-u102-t150,must-stay-t150" "the locked tenant kept its rows"
	assert_eq "$(find "$T_DIR/req" -name '*.body' | wc -l)" 1 "one webhook post"
	assert_eq "$(jq '.blocks | length' "$T_DIR/req/1.body")" 4 "four blocks, not one per tenant"
	assert_contains "$(jq -r '.blocks[2].text.text' "$T_DIR/req/1.body")" "*321 targets*: 319 ok 2 failed" "the totals"
	assert_contains "$(jq -r '.blocks[2].text.text' "$T_DIR/req/1.body")" "tenants/t150" "the failed tenant"
	assert_contains "$(jq -r '.blocks[2].text.text' "$T_DIR/req/1.body")" '`gone`' "the failed database"
	assert_contains "$(cat "$m")" 'mfa_sweeper_rows_deleted{rule="used_backup_codes",table="t42.accounts_backupcode",target="tenants/t42"} 2' "metrics with a target label"
	assert_contains "$(cat "$m")" 'mfa_sweeper_target_status{target="gone",status="failed"} 1' "a target's status"
	note "321 targets swept in ${ELAPSED_MS} ms"
}

t_fleet_overlapping_runs_skip_only_held_targets() {
	fleet_small 2 3 "jobs = 1"
	# Another run holds tenant t1's lock (the key names the database and
	# the schema) and db1's (the database's own key).
	bg_session held "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper:' || current_database() || '/t1', 0))"
	BG_DB=${FLEET_DBS[0]} bg_session held2 "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	sweep -c "$CFG" --json
	bg_end held
	BG_DB=${FLEET_DBS[0]} bg_end held2
	assert_exit 75 "a target locked by another run: 75"
	assert_jq '[.targets[] | select(.status == "locked") | .name] | sort == ["db1", "tenants/t1"]' "only the held targets are locked"
	assert_eq "$(codes_in "$DB" t1)" "must-go-t1,must-go-u102-t1,must-stay-t1" "t1 untouched"
	assert_eq "$(codes_in "$DB" t2)" "must-stay-t2" "t2 swept"
	assert_eq "$(codes_in "$DB")" "must-stay-db" "main swept: the tenants' locks are not the database's"
	assert_jq '.status == "partial"' "work left: partial"
}

t_fleet_concurrent_runs_never_sweep_a_target_twice() {
	fleet_small 2 12 "jobs = 2" "pause = 100ms" "batch_size = 1"
	sweep_bg -c "$CFG" --json
	sweep -c "$CFG" --json
	cp "$T_DIR/stdout" "$T_DIR/second.json"
	sweep_bg_wait
	# A target both runs got to was swept by one and found empty by
	# the other, or skipped (locked) by the other while it ran.
	assert_jq '[.targets[] | select(.status == "failed")] == []' "no target failed in the second run"
	jq -e '[.targets[] | select(.status == "failed")] == []' "$T_DIR/bg.stdout" >/dev/null ||
		fail "a target failed in the first run: $(cat "$T_DIR/bg.stdout")"
	local total
	total=$(( $(jq '.deleted_total' "$T_DIR/bg.stdout") + $(jq '.deleted_total' "$T_DIR/second.json") ))
	assert_eq "$total" 28 "every row deleted exactly once over both runs"
	assert_eq "$(codes_in "$DB" t7)" "must-stay-t7" "t7 swept"
}

t_fleet_sigterm_stops_every_target() {
	fleet_small 2 6 "jobs = 2" "pause = 300ms" "batch_size = 1"
	sweep_bg -c "$CFG" --json
	wait_until 20 '[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = '"'"'mfa-sweeper'"'"'")" -ge 2 ]' ||
		fail "the workers did not connect"
	sleep 0.5
	# As systemd does (KillMode=control-group): the run and its workers
	# get the signal at once; a worker still stops at its next batch
	# boundary, stopped by its parent, not twice.
	local pids
	pids="$(bg_sweeper_pid) $(ps -o pid= --ppid "$(bg_sweeper_pid)" | tr '\n' ' ')"
	# shellcheck disable=SC2086
	kill -TERM $pids
	sweep_bg_wait
	assert_not_contains "$ERR" "canceling statement" "no batch was cancelled"
	assert_contains "$ERR" "stopped by a signal" "the stop is logged"
	assert_exit 75 "interrupted"
	assert_jq '.status == "interrupted"' "the run is interrupted"
	assert_jq '[.targets[] | select(.status == "interrupted")] | length >= 1' "targets interrupted"
	assert_jq '.targets | length == 8' "every target reported"
	# What the summary says was deleted is what is gone: every batch was
	# applied whole or rolled back, in every target.
	local gone
	gone=$(q "SELECT 16 - (SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go%')
	  - (SELECT count(*) FROM t1.accounts_backupcode WHERE code_hash LIKE 'must-go%')
	  - (SELECT count(*) FROM t2.accounts_backupcode WHERE code_hash LIKE 'must-go%')
	  - (SELECT count(*) FROM t3.accounts_backupcode WHERE code_hash LIKE 'must-go%')
	  - (SELECT count(*) FROM t4.accounts_backupcode WHERE code_hash LIKE 'must-go%')
	  - (SELECT count(*) FROM t5.accounts_backupcode WHERE code_hash LIKE 'must-go%')
	  - (SELECT count(*) FROM t6.accounts_backupcode WHERE code_hash LIKE 'must-go%')
	  - $(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go%'" "${FLEET_DBS[0]}")")
	assert_eq "$(j .deleted_total)" "$gone" "deleted_total is what is gone"
	assert_int_cmp "$gone" -lt 16 "the run stopped before the end"
	assert_eq "$(q "SELECT count(*) FROM t6.accounts_backupcode WHERE code_hash LIKE 'must-stay%'")" 1 "must-stay rows kept"
}

t_fleet_worker_killed_fails_its_target_alone() {
	fleet_small 2 6 "jobs = 2" "pause = 200ms" "batch_size = 1"
	sweep_bg -c "$CFG" --json
	local sweeper worker
	wait_until 20 '[ -n "$(bg_sweeper_pid)" ] && [ -n "$(ps -o pid= --ppid "$(bg_sweeper_pid)" | head -n1)" ]' ||
		fail "no worker started"
	sleep 0.5
	sweeper=$(bg_sweeper_pid)
	worker=$(ps -o pid= --ppid "$sweeper" | tr -d ' ' | head -n1)
	kill -KILL "$worker"
	sweep_bg_wait
	assert_exit 1 "a target whose worker died failed"
	assert_jq '[.targets[] | select(.error // "" | test("died of signal 9"))] | length == 1' "one target failed: its worker died"
	assert_jq '.targets_total.ok == 7' "the others were swept, by a worker in its place"
	assert_eq "$(codes_in "$DB" t6)" "must-stay-t6" "the last tenant was swept"
}

t_fleet_scoped_run_across_targets() {
	fleet_small 2 3 "jobs = 2"
	sweep -c "$CFG" --json -u 102
	assert_exit 0 "scoped run"
	assert_eq "$(codes_in "$DB" t1)" "must-go-t1,must-stay-t1" "only user 102's row went in t1"
	assert_eq "$(codes_in "${FLEET_DBS[0]}")" "must-go-db,must-stay-db" "and in db1"
	assert_jq '.deleted_total == 5' "one row per target"
}

t_fleet_target_option_and_list_targets() {
	fleet_small 2 3
	sweep -c "$CFG" --list-targets
	assert_exit 0 "--list-targets"
	assert_eq "$OUT" "$(printf 'main\ndb1\ntenants/t1\ntenants/t2\ntenants/t3')" "every target and tenant"
	sweep -c "$CFG" --json --target tenants/t2 --target db1
	assert_exit 0 "two targets"
	assert_jq '[.targets[].name] == ["db1", "tenants/t2"]' "only those"
	assert_eq "$(codes_in "$DB" t1)" "must-go-t1,must-go-u102-t1,must-stay-t1" "t1 untouched"
	assert_eq "$(codes_in "$DB" t2)" "must-stay-t2" "t2 swept"
	sweep -c "$CFG" --target nosuch
	assert_exit 64 "unknown target"
	assert_contains "$ERR" "'nosuch'" "names the target"
	assert_contains "$ERR" "main, db1, tenants" "lists the targets"
	sweep -c "$CFG" --target tenants/t99
	assert_exit 64 "unknown tenant"
	sweep -c "$CFG" --dry-run --json
	assert_exit 0 "dry run"
	assert_jq '.would_delete_total == 6' "would delete the rest: main, t1, t3"
	assert_eq "$(codes_in "$DB" t1)" "must-go-t1,must-go-u102-t1,must-stay-t1" "dry run deleted nothing"
}

t_fleet_bad_tenant_name_refused() {
	fleet_small 1 2
	q "INSERT INTO public.customers_client VALUES ('bad name; drop', true)" >/dev/null
	sweep -c "$CFG" --json
	assert_exit 78 "a tenants_query row that is not a schema name"
	assert_jq '[.targets[] | select(.name == "tenants")][0].error | test("not a schema name")' "says so"
	assert_contains "$ERR" "sweeper.ini:$(line_of '[target.tenants]'): [target.tenants] tenants_query" "names file, line and key"
	assert_contains "$ERR" "'bad name; drop'" "names the value"
	assert_eq "$(codes_in "$DB")" "must-stay-db" "the other target ran"
}

t_fleet_check_config_checks_every_target() {
	fleet_small 2 3 "jobs = 2"
	sweep -c "$CFG" --check-config
	assert_exit 0 "every target checks out"
	assert_contains "$OUT" "target 'tenants/t2': configuration ok" "each target says so"
	assert_eq "$(printf '%s\n' "$OUT" | grep -c 'configuration ok')" 5 "five targets"
	q "DROP TABLE t2.accounts_backupcode" >/dev/null
	sweep -c "$CFG" --check-config
	assert_exit 78 "a tenant without the codes table"
	assert_contains "$ERR" "target 'tenants/t2':" "the log names the target"
	assert_contains "$ERR" "t2.accounts_backupcode" "and the table"
	sweep -c "$CFG" --check-config --target tenants/t1
	assert_exit 0 "one tenant checked"
	assert_contains "$OUT" "target 'tenants/t1': configuration ok" "that one"
	sweep -c "$CFG" --explain --target tenants
	assert_exit 64 "a mode of one database needs one tenant"
	assert_contains "$ERR" "--target tenants/SCHEMA" "says how"
	sweep -c "$CFG" --explain --target tenants/t3
	assert_exit 0 "--explain of one tenant"
	assert_contains "$OUT" '"t3"."accounts_backupcode"' "its table, quoted"
	assert_eq "$(codes_in "$DB" t1)" "must-go-t1,must-go-u102-t1,must-stay-t1" "nothing deleted"
}

t_fleet_config_errors() {
	fresh_db
	cfg_std used_backup_codes "" "[target.a]" "dsn = dbname=$DB" "users_table = x"
	sweep -c "$CFG"
	assert_exit 78 "a [schema] key without schema."
	assert_contains "$ERR" "sweeper.ini:$(line_of 'users_table = x'): [target.a]" "names file, line and section"
	assert_contains "$ERR" "schema.users_table" "and the fix"
	cfg_std used_backup_codes "" "[target.a/b]" "dsn = dbname=$DB"
	sweep -c "$CFG"
	assert_exit 78 "a bad target name"
	assert_contains "$ERR" "does not name a target" "says so"
	cfg_std used_backup_codes "jobs = 0" "[target.a]" "dsn = dbname=$DB"
	sweep -c "$CFG"
	assert_exit 78 "jobs = 0"
	assert_contains "$ERR" "[sweeper] jobs: '0' is out of range" "names key and value"
	cfg_std used_backup_codes "" "[target.a]" "dsn = dbname=$DB" "tenants_query = DELETE FROM x"
	sweep -c "$CFG"
	assert_exit 78 "a tenants_query that is not a query"
	assert_contains "$ERR" "tenants_query" "names the key"
	cfg_std used_backup_codes "" "[target.a]" "dsn = dbname=$DB" "schema.users_tabel = x"
	sweep -c "$CFG"
	assert_exit 78 "an unknown schema key"
	assert_contains "$ERR" "'schema.users_tabel'" "names it"
}

t_fleet_tenants_query_runs_read_only() {
	fleet_small 1 2
	sed -i 's/^tenants_query = .*/tenants_query = WITH d AS (DELETE FROM public.customers_client RETURNING schema_name) SELECT schema_name FROM d/' "$CFG"
	sweep -c "$CFG" --json
	assert_exit 78 "a writing tenants_query fails"
	assert_jq '[.targets[] | select(.name == "tenants")][0].error | test("read-only")' "in a read-only transaction"
	assert_q "SELECT count(*) FROM public.customers_client" 2 "nothing written"
}

t_fleet_max_rows_is_run_wide() {
	fleet_small 2 6 "jobs = 2" "max_rows = 5" "batch_size = 1"
	sweep -c "$CFG" --json
	assert_jq '.deleted_total == 5' "five rows over all targets"
	assert_jq '.stopped_by == "max_rows"' "stopped by max_rows"
}

t_fleet_ledger_records_target() {
	fleet_small 1 2
	printf '\n[ledger]\nenabled = true\n' >>"$CFG"
	sweep -c "$CFG" --init-ledger --target main
	assert_exit 0 "init ledger on the target's database"
	sweep -c "$CFG" --json
	assert_exit 0 "run with the ledger"
	assert_q "SELECT string_agg(target, ',' ORDER BY target) FROM mfa_sweeper.runs" "main,tenants/t1,tenants/t2" "one run row per target"
}

# history_of TARGET [ARGS...]: the status column of TARGET's newest row
# in --history (ARGS: --target ...); "" when it has none.
history_of() {
	local target=$1
	shift
	sweep -c "$CFG" --history 10 "$@"
	[ "$RC" = 0 ] || { fail "--history $*: exit $RC: $ERR"; return; }
	awk -v t="$target" 'NR > 1 && $(NF - 1) == t { print $5; exit }' <<<"$OUT"
}

# tenant_waiting: 1 when a sweeper session waits on a lock in $DB.
tenant_waiting() {
	q "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()
	   AND application_name = 'mfa-sweeper' AND wait_event_type = 'Lock'"
}

# kill_worker_and_release: SIGKILL the background run's worker (the
# process holding the connection), then end the session holding the gate
# row its batch waits on, so that the server ends the dead run's session.
kill_worker_and_release() {
	local worker
	worker=$(ps -o pid= --ppid "$(bg_sweeper_pid)" | tr -d ' ' | head -n1)
	[ -n "$worker" ] || die "no worker to kill"
	kill -KILL "$worker"
	bg_end gate
}

# --history tells a tenant run in progress from a dead one by the
# tenant's own lock key (or its lease), with and without --target: a run
# waiting on a locked row is running, and once its worker is killed
# (SIGKILL, no chance to write its end) it is died.
t_fleet_history_live_and_dead_tenant_runs() {
	CFG_LOCK_TIMEOUT=30s fleet_small 1 3 "jobs = 1"
	printf '\n[ledger]\nenabled = true\n' >>"$CFG"
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger"
	# t2's deletes wait for the gate's row, which the test holds: the
	# run is held mid-batch, after its preflight and its runs row.
	sql <<'EOF2'
CREATE TABLE public.gate (i int);
INSERT INTO public.gate VALUES (1);
CREATE FUNCTION public.wait_for_gate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM 1 FROM public.gate FOR SHARE; RETURN OLD; END $$;
CREATE TRIGGER wait_for_gate BEFORE DELETE ON t2.accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION public.wait_for_gate();
EOF2
	bg_session gate "BEGIN; SELECT 1 FROM public.gate FOR UPDATE"
	sweep_bg -c "$CFG" --json
	wait_until 20 '[ "$(tenant_waiting)" = 1 ]' || die "the run never waited on t2's row"
	sweep -c "$CFG" --history 10
	assert_match "$(head -n1 <<<"$OUT")" "rows deleted +target +host$" "the listing has a target column before the host"
	assert_eq "$(history_of tenants/t2)" running "t2 in progress: running"
	assert_eq "$(history_of tenants/t1)" ok "t1 done: ok"
	assert_eq "$(history_of main)" ok "main done: ok"
	assert_eq "$(history_of tenants/t2 --target tenants/t2)" running "--target tenants/t2: running"
	assert_eq "$(history_of tenants/t2 --target main)" running "--target main (the same ledger): running"
	kill_worker_and_release
	wait_until 10 '[ "$(history_of tenants/t2)" = died ]' ||
		fail "the killed tenant run is not shown as died: $OUT"
	assert_eq "$(history_of tenants/t2 --target tenants/t2)" died "--target tenants/t2: died"
	sweep_bg_wait
	assert_exit 1 "the run whose worker died"
	assert_eq "$(history_of tenants/t3)" ok "t3, swept by the next worker: ok"
	assert_eq "$(codes_in "$DB" t2)" "must-go-t2,must-go-u102-t2,must-stay-t2" "the killed batch rolled back"

	# The same with a lease (pooler = transaction): running while the
	# lease lasts, died once it expired.
	sed -i '/^tenants_query = /a pooler = transaction\nlease_ttl = 2s' "$CFG"
	bg_session gate "BEGIN; SELECT 1 FROM public.gate FOR UPDATE"
	sweep_bg -c "$CFG" --json --target tenants/t2
	wait_until 20 '[ "$(tenant_waiting)" = 1 ]' || die "the leased run never waited on t2's row"
	assert_eq "$(q "SELECT count(*) FROM mfa_sweeper.run_lease WHERE name = 'mfa-sweeper/t2'")" 1 "the tenant's lease is taken"
	assert_eq "$(history_of tenants/t2)" running "leased t2 run in progress: running"
	assert_eq "$(history_of tenants/t2 --target tenants/t2)" running "--target tenants/t2: running"
	kill_worker_and_release
	wait_until 10 '[ "$(history_of tenants/t2)" = died ]' ||
		fail "the killed leased run is not shown as died: $OUT"
	sweep_bg_wait
	assert_exit 1 "the leased run whose worker died"
	assert_eq "$(codes_in "$DB" t2)" "must-go-t2,must-go-u102-t2,must-stay-t2" "the leased run's batch rolled back"

	# A ledger made before the target column lists as it always did.
	q "ALTER TABLE mfa_sweeper.runs DROP COLUMN target" >/dev/null
	sweep -c "$CFG" --history 10
	assert_exit 0 "--history of a ledger without the target column"
	assert_match "$(head -n1 <<<"$OUT")" "rows deleted +host$" "no target column"
	assert_eq "$(awk 'NR > 1 { print $5 }' <<<"$OUT" | sort | uniq -c | awk '{ printf "%s %s,", $2, $1 }')" \
		"died 2,ok 3," "main, t1 and t3 ok, the two killed runs of t2 died"
}

# target_json NAME JQ: JQ of target NAME's entry in the last summary.
target_json() {
	jq -r --arg n "$1" ".targets[] | select(.name == \$n) | $2" <<<"$OUT"
}

# max_replica_lag and max_throttle are each target's, measured on its own
# server: of two database targets on two primaries, the one whose standby
# lags waits for it (counted in its throttle) until max_throttle stops it,
# partial, while the other, whose server has no standby, is swept whole
# without a wait.
t_fleet_replica_lag_per_target() { # slow
	local lagging standby
	fresh_db
	fx_many_used_codes 40
	fx_used_code_keepers
	primary_start lagging
	lagging=$SRV_HOST
	PGHOST=$lagging q "CREATE DATABASE app TEMPLATE $SWEEPER_TEMPLATE_DB" postgres >/dev/null ||
		die "no database on the second primary"
	DB=app PGHOST=$lagging fx_many_used_codes 40
	DB=app PGHOST=$lagging fx_used_code_keepers
	standby_start "$lagging" standby
	standby=$SRV_HOST
	standby_lag "$lagging" "$standby" 400
	cfg_std used_backup_codes "jobs = 2" "batch_size = 10" "max_replica_lag = 200ms" "max_throttle = 1s"
	printf '\n[target.calm]\ndsn = dbname=%s\n' "$DB" >>"$CFG"
	printf '\n[target.lagging]\ndsn = host=%s dbname=app\n' "$lagging" >>"$CFG"
	sweep -c "$CFG" --json
	assert_exit 0 "max_throttle: partial, exit 0"
	assert_jq '.status == "partial"' "the run is partial"
	assert_jq '.stopped_by == "max_throttle"' "stopped by max_throttle"
	assert_eq "$(target_json lagging .status)" partial "the lagging target is partial"
	assert_eq "$(target_json lagging .exit_code)" 0 "with exit code 0"
	assert_eq "$(target_json lagging .stopped_by)" max_throttle "its entry says which limit stopped it"
	assert_contains "$ERR" "target 'lagging': partial: stopped by max_throttle" "and the log"
	assert_int_cmp "$(target_json lagging .throttle.replica_lag.count)" -ge 1 "the lagging target waited"
	assert_int_cmp "$(target_json lagging .throttle.replica_lag.ms)" -ge 1000 "for max_throttle"
	assert_int_cmp "$(PGHOST=$lagging q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-%'" app)" -gt 0 \
		"the lagging target's rows are left"
	assert_eq "$(target_json calm .status)" ok "the other target is ok"
	assert_eq "$(target_json calm .stopped_by)" null "not stopped by a limit"
	assert_eq "$(target_json calm .throttle.replica_lag.count)" 0 "and never waited"
	assert_eq "$(target_json calm .deleted)" 40 "it deleted all its rows"
	assert_int_cmp "$(target_json calm .duration_ms)" -lt 1000 "in less than max_throttle"
	assert_eq "$(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go-%'")" 0 "none of them left"
	assert_eq "$(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-stay-%'")" 3 "the calm target's must-stay rows kept"
	assert_eq "$(PGHOST=$lagging q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-stay-%'" app)" 3 \
		"the lagging target's must-stay rows kept"
	assert_match "$ERR" "target 'lagging': standby '[a-z]+' lags [0-9]+ ms, more than max_replica_lag \(200 ms\); waiting" "the log names the target and its standby"
	assert_not_contains "$ERR" "target 'calm': standby" "and only that target"
}

# ------------------------------------------------ targets and step workers

# fleet_bulk NDB ROWS [KEYS...]: NDB databases ($DB and NDB-1 more, in
# FLEET_DBS), each with ROWS codes of user 301 (six in seven used:
# must-go-bulk-*, the seventh unused: must-stay-*), every delete slowed
# by a trigger (2 ms a row) so that batches overlap; targets db0.. in
# $CFG with KEYS added to [sweeper].
fleet_bulk() {
	local ndb=$1 rows=$2 i db
	shift 2
	fresh_db
	FLEET_DBS=("$DB")
	for i in $(seq 1 $((ndb - 1))); do
		FLEET_DBS+=("$(other_db "b$i")")
	done
	for db in "${FLEET_DBS[@]}"; do
		sql "$db" <<EOF
INSERT INTO accounts_user (id, email, mfa_enrolled) VALUES (301, 'u301@example.com', true);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, CASE WHEN i % 7 = 0 THEN 'must-stay-' || i ELSE 'must-go-bulk-' || i END,
         i % 7 <> 0, CASE WHEN i % 7 <> 0 THEN now() - interval '100 days' END,
         now() - interval '200 days'
  FROM generate_series(1, $rows) AS i;
CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM pg_sleep(0.002);
  RETURN OLD;
END \$\$;
CREATE TRIGGER slow_delete BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION slow_delete();
ANALYZE;
EOF
	done
	cfg_std used_backup_codes "$@"
	for i in "${!FLEET_DBS[@]}"; do
		printf '\n[target.db%s]\ndsn = dbname=%s\n' "$i" "${FLEET_DBS[$i]}"
	done >>"$CFG"
}

# bulk_gone ROWS: the must-go rows gone from every database of fleet_bulk.
bulk_gone() {
	local db left=0 total=0 rows=$1
	for db in "${FLEET_DBS[@]}"; do
		left=$((left + $(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go%'" "$db")))
		total=$((total + rows - rows / 7))
	done
	echo $((total - left))
}

# bulk_stay: the must-stay rows left in every database of fleet_bulk.
bulk_stay() {
	local db n=0
	for db in "${FLEET_DBS[@]}"; do
		n=$((n + $(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-stay%'" "$db")))
	done
	echo "$n"
}

# bulk_backends [AND...]: the sweeper's backends on the databases of
# fleet_bulk (other tests run beside this one on the same server).
bulk_backends() {
	local list
	list=$(printf "'%s'," "${FLEET_DBS[@]}")
	q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'mfa-sweeper'
	   AND datname IN (${list%,}) $*" postgres
}

# sample_backends FILE: every 20 ms until the background run ends, the
# sweeper's backends on the databases of fleet_bulk, one count a line.
sample_backends() {
	while [ ! -s "$T_DIR/bg.rc" ]; do
		bulk_backends >>"$1"
		sleep 0.02
	done
}

# max_of FILE: the largest number in FILE.
max_of() {
	sort -n "$1" | tail -n1
}

# jobs caps the connections of the whole run, step workers included:
# with jobs = 2 and workers = 2 over three targets, two targets at once
# leave no room for workers (a step on N workers holds N + 1
# connections), so each sweeps serial; with jobs = 6 and two targets,
# each gets its two workers, 3 connections each.  Sampled on the server
# all through the run.
t_fleet_jobs_caps_connections_with_workers() {
	local samples="$T_DIR/backends"
	fleet_bulk 3 1400 "jobs = 2" "workers = 2" "batch_target = 20ms"
	: >"$samples"
	sweep_bg -c "$CFG" --json -v
	sample_backends "$samples"
	sweep_bg_wait
	assert_exit 0 "jobs = 2, workers = 2: exit code"
	assert_contains "$ERR" "workers = 2: 1 per target" "the cap is logged"
	assert_not_contains "$ERR" "workers, blocks walk split" "no step on workers"
	assert_int_cmp "$(max_of "$samples")" -le 2 "jobs = 2: sweeper backends at most"
	assert_int_cmp "$(max_of "$samples")" -ge 1 "the samples saw the run"
	assert_jq '.targets_total.ok == 3' "every target swept"
	assert_eq "$(bulk_gone 1400)" $((3 * 1200)) "jobs = 2: every must-go row gone"
	assert_eq "$(bulk_stay)" $((3 * 200)) "jobs = 2: must-stay rows kept"

	fleet_bulk 2 2800 "jobs = 6" "workers = 2" "batch_target = 20ms"
	: >"$samples"
	sweep_bg -c "$CFG" --json -v
	sample_backends "$samples"
	sweep_bg_wait
	assert_exit 0 "jobs = 6, workers = 2: exit code"
	assert_contains "$ERR" "2 workers, blocks walk split" "steps on two workers"
	assert_int_cmp "$(max_of "$samples")" -le 6 "jobs = 6: sweeper backends at most"
	assert_int_cmp "$(max_of "$samples")" -ge 3 "jobs = 6: the workers' connections seen"
	assert_jq '.deleted_total == 4800' "jobs = 6: deleted_total"
	assert_eq "$(bulk_gone 2800)" 4800 "jobs = 6: every must-go row gone"
	assert_eq "$(bulk_stay)" 800 "jobs = 6: must-stay rows kept"
}

# max_rows is one budget for every batch of the run, whichever target and
# whichever of its workers runs it: exactly max_rows rows go.
t_fleet_max_rows_across_targets_and_workers() {
	fleet_bulk 2 2800 "jobs = 6" "workers = 2" "batch_target = 20ms" "max_rows = 1501"
	sweep -c "$CFG" --json -v
	assert_exit 0 "exit code"
	assert_contains "$ERR" "2 workers, blocks walk split" "steps on two workers"
	assert_jq '.deleted_total == 1501' "deleted_total is max_rows"
	assert_jq '.stopped_by == "max_rows"' "stopped by max_rows"
	assert_eq "$(bulk_gone 2800)" 1501 "rows gone over both targets"
	assert_eq "$(bulk_stay)" 800 "must-stay rows kept"
}

# SIGTERM to the run (and, as systemd does, to its processes): every
# worker thread of every target stops at its next batch boundary, no batch
# cancelled, what the summary counts is what is gone.
t_fleet_sigterm_with_workers() {
	fleet_bulk 2 2800 "jobs = 6" "workers = 2" "batch_target = 50ms"
	sweep_bg -c "$CFG" --json -v
	wait_until 20 '[ "$(bulk_backends "AND state = '"'"'active'"'"' AND query ILIKE '"'"'%DELETE%'"'"'")" -ge 3 ]' ||
		die "the targets' workers were never deleting at once"
	local pids t0 gone
	pids="$(bg_sweeper_pid) $(ps -o pid= --ppid "$(bg_sweeper_pid)" | tr '\n' ' ')"
	t0=$(date +%s%N)
	# shellcheck disable=SC2086
	kill -TERM $pids
	sweep_bg_wait
	assert_int_cmp $((($(date +%s%N) - t0) / 1000000)) -lt 5000 "ms from SIGTERM to exit"
	assert_exit 75 "interrupted"
	assert_not_contains "$ERR" "canceling statement" "no batch was cancelled"
	assert_not_contains "$ERR" "cancelled by a stop request" "no batch was cancelled"
	assert_jq '.status == "interrupted"' "the run is interrupted"
	gone=$(bulk_gone 2800)
	assert_int_cmp "$gone" -lt 4800 "the run stopped before the end"
	assert_eq "$(j .deleted_total)" "$gone" "deleted_total is what is gone"
	assert_eq "$(bulk_stay)" 800 "must-stay rows kept"
	wait_until 10 '[ "$(bulk_backends)" = 0 ]' ||
		fail "the run's connections are not all closed"
}

run_tests "$@"
