#!/bin/bash
# Least privilege (issue 9, item 6): a role that is no superuser and owns
# nothing, holding exactly the GRANTs --print-grants prints, runs every
# mode (every rule, --dry-run, scoped runs, --check-config, --explain,
# the ledger, max_replica_lag); without any one of them, --check-config
# and every run exit 78 naming that GRANT, before anything is deleted; a
# privilege error is never blamed on [schema].
#
# Roles belong to the whole server: each test makes its own (a name with
# the test's pid) and drops it at the end.  The sweeper connects as the
# role with user=... in its dsn; the test server trusts local connections.
. "$(dirname "$0")/../lib/assert.sh"

ALL_RULES="user_disabled, stale_devices, used_backup_codes"
T_ROLES=()

# qi NAME: NAME as a quoted SQL identifier.
qi() {
	printf '"%s"' "${1//\"/\"\"}"
}

_roles_drop() {
	local r d
	for r in "${T_ROLES[@]}"; do
		for d in "${T_DBS[@]}"; do
			psql -XAtq -d "$d" -c "DROP OWNED BY $(qi "$r")" >/dev/null 2>&1
		done
		psql -XAtq -d postgres -c "DROP ROLE IF EXISTS $(qi "$r")" >/dev/null 2>&1
	done
}

# role_new NAME: a LOGIN role with no other attribute and no privilege
# beyond PUBLIC's; dropped when the test ends.
role_new() {
	q "CREATE ROLE $(qi "$1") LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE" postgres >/dev/null ||
		die "cannot create role $1"
	T_ROLES+=("$1")
	trap 'rc=$?; _roles_drop; (exit $rc); _t_exit' EXIT
}

# role_cfg ROLE RULES [LINE...]: cfg_std whose dsn logs in as ROLE.
role_cfg() {
	local role=$1
	shift
	cfg_std "$@"
	sed -i "s|^dsn = .*|dsn = dbname=$DB user='$role'|" "$CFG"
}

# app_db: a fresh database whose three tables live in schema app, which
# the database's search_path finds: [schema] keeps its unqualified
# defaults, and USAGE on app is a privilege PUBLIC does not hold.
app_db() {
	fresh_db
	sql <<EOF
CREATE SCHEMA app;
ALTER TABLE accounts_backupcode SET SCHEMA app;
ALTER TABLE otp_totp_totpdevice SET SCHEMA app;
ALTER TABLE accounts_user SET SCHEMA app;
ALTER DATABASE "$DB" SET search_path = app, public;
EOF
}

# ledger_by_owner: the ledger's tables, created by the database owner from
# --print-ledger-sql (the role never owns them).
ledger_by_owner() {
	"$SWEEPER_BIN" -c "$CFG" --print-ledger-sql >"$T_DIR/ledger.sql" ||
		die "--print-ledger-sql failed"
	sql <"$T_DIR/ledger.sql"
}

# print_grants [ROLE]: --print-grants with $CFG into $T_DIR/grants.sql.
print_grants() {
	sweep -c "$CFG" --print-grants "$@"
	assert_exit 0 "--print-grants" || die "--print-grants failed: $ERR"
	printf '%s\n' "$OUT" >"$T_DIR/grants.sql"
}

# grant_lines: the GRANT statements of $T_DIR/grants.sql, one per line,
# without their ';' and comment.
grant_lines() {
	sed -n 's/^\(GRANT .*\);  -- .*/\1/p' "$T_DIR/grants.sql"
}

# revoke_of GRANT: the REVOKE that undoes the GRANT statement.
revoke_of() {
	printf '%s\n' "$1" | sed 's/^GRANT /REVOKE /; s/ TO \("[^"]*"\)$/ FROM \1/'
}

# What the three rules delete from the three fixtures with the defaults:
# must-go-* and the confirmed devices of users who disabled MFA (conf-*).
GONE='^(must-go|conf)-'

# The rows the fixtures' scoped users own: every user of the three.
SCOPE_ARGS=(-u 1 -u 2 -u 3 -u 4 -u 5 -u 6 -u 7 -u 101 -e u201@example.com)

# ------------------------------------------------------------------ tests

# The issue's reader: SELECT on users, SELECT and DELETE on codes and
# devices.  The batches lock rows FOR UPDATE, so the check names UPDATE
# (on one column) and the GRANT, never [schema]; with it the run works.
t_reader_grants_name_the_missing_update() {
	local role="reader_$$"
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	role_new "$role"
	q "GRANT SELECT ON accounts_user TO $role;
	   GRANT SELECT, DELETE ON accounts_backupcode, otp_totp_totpdevice TO $role" >/dev/null
	role_cfg "$role" "$ALL_RULES"
	snap
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config"
	assert_contains "$ERR" "role '$role' lacks UPDATE on table 'accounts_backupcode' (batches lock rows FOR UPDATE" \
		"names the privilege, the table and why"
	assert_contains "$ERR" "and 1 more privilege (mfa-sweeper --print-grants prints every GRANT)" \
		"counts the devices table's UPDATE too"
	assert_match "$ERR" "; run: GRANT UPDATE \(\"id\"\) ON \"public\".\"accounts_backupcode\" TO \"$role\"\$" \
		"ends with the GRANT to run"
	assert_not_contains "$ERR" "[schema]" "does not blame [schema]"
	assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "one line"
	sweep -c "$CFG"
	assert_exit 78 "a run"
	assert_contains "$ERR" "lacks UPDATE on table 'accounts_backupcode'" "a run names it too"
	assert_not_contains "$ERR" "[schema]" "a run does not blame [schema]"
	check_nothing_deleted "refused run"
	sweep -c "$CFG" --dry-run
	assert_exit 78 "a dry run checks what the run it stands for needs"

	# The GRANT of the message, then the one for devices: the run works.
	q "$(printf '%s\n' "$ERR" | sed 's/.*; run: //')" >/dev/null
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config with codes granted"
	assert_contains "$ERR" "lacks UPDATE on table 'otp_totp_totpdevice'" "then names the devices table"
	q "$(printf '%s\n' "$ERR" | sed 's/.*; run: //')" >/dev/null
	sweep -c "$CFG" --check-config
	assert_exit 0 "--check-config with both granted"
	sweep_check "$GONE"
	# UPDATE on the key column let it lock rows, not change any other.
	assert_q "SELECT has_table_privilege('$role', 'accounts_backupcode', 'UPDATE'),
	          has_column_privilege('$role', 'accounts_backupcode', 'used', 'UPDATE')" "f|f" \
		"the role may update no column but the key"
}

# The printed GRANTs, applied to a fresh role that owns nothing, make
# every mode work: check, explain, dry run, scoped and full runs with the
# ledger and max_replica_lag, and --history.
t_printed_grants_run_every_mode() { # slow
	local role="sweeper_$$" want
	app_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	role_new "$role"
	role_cfg "$role" "$ALL_RULES" "max_replica_lag = 10s" "" "[ledger]" "enabled = true"
	ledger_by_owner
	print_grants
	assert_contains "$OUT" "-- The privileges mfa-sweeper's role '$role' needs in database '$DB'" "heading"
	assert_contains "$OUT" "GRANT USAGE ON SCHEMA \"app\" TO \"$role\";" "the schema found through search_path"
	assert_contains "$OUT" "GRANT DELETE ON \"app\".\"otp_totp_totpdevice\" TO \"$role\";" "qualified and quoted"
	assert_contains "$OUT" "GRANT SELECT (\"mfa_disabled_at\") ON \"app\".\"accounts_user\" TO \"$role\";" \
		"the users table column by column"
	assert_contains "$OUT" "GRANT INSERT ON \"mfa_sweeper\".\"deletions\" TO \"$role\";" "the ledger"
	assert_contains "$OUT" "GRANT \"pg_read_all_stats\" TO \"$role\";" "max_replica_lag"
	assert_contains "$OUT" "-- GRANT CREATE ON DATABASE \"$DB\" TO \"$role\";" "--init-ledger's, commented out"
	assert_not_contains "$OUT" "SUPERUSER" "no superuser"
	assert_eq "$(grep -c '^GRANT ' "$T_DIR/grants.sql")" "$(grant_lines | sort -u | grep -c .)" \
		"each GRANT once"
	sql <"$T_DIR/grants.sql"

	assert_q "SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolbypassrls FROM pg_roles WHERE rolname = '$role'" f \
		"the role has no special attribute"
	assert_q "SELECT count(*) FROM pg_class WHERE relowner = '$role'::regrole" 0 "the role owns no table"
	snap
	sweep -c "$CFG" --check-config
	assert_exit 0 "--check-config"
	assert_contains "$OUT" "configuration ok" "--check-config says ok"
	sweep -c "$CFG" --explain
	assert_exit 0 "--explain"
	assert_contains "$OUT" "-- rule used_backup_codes, step 1" "--explain prints the plans"
	sweep -c "$CFG" --dry-run --json
	assert_exit 0 "--dry-run"
	assert_jq '[.rules[].steps[].would_delete] | add > 0' "the dry run counts rows"
	check_nothing_deleted "dry run"
	# A scoped run for user 1 only, then the whole run.
	want=$(grep -cE "$GONE" "$T_DIR/snap")
	sweep_check '^(must-go|conf)-u1-' -u 1 -e u1@example.com
	snap
	sweep -c "$CFG" --json -v
	assert_exit 0 "a full run"
	check_rows "$GONE"
	assert_contains "$ERR" "walked by users" "a walk by users ran (SELECT on ctid)"
	assert_q "SELECT count(*) FROM mfa_sweeper.runs WHERE status = 'ok'" 3 \
		"the ledger has every run (dry, scoped, full)"
	assert_q "SELECT sum(rows_deleted) FROM mfa_sweeper.deletions" "$want" \
		"the ledger has every row deleted"
	sweep -c "$CFG" --history 5
	assert_exit 0 "--history"
	assert_contains "$OUT" "(dry run)" "--history lists the runs"
}

# Each printed GRANT missing in turn: --check-config and a run exit 78
# with one line that ends with exactly that GRANT, and nothing is
# deleted.  The email column is for scoped runs and --check-config only
# (a full run works without it), so its run is a scoped one.
t_each_missing_grant_is_named() { # slow
	local role="sweeper_$$" line n=0
	app_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	role_new "$role"
	role_cfg "$role" "$ALL_RULES" "max_replica_lag = 10s" "" "[ledger]" "enabled = true"
	ledger_by_owner
	print_grants
	sql <"$T_DIR/grants.sql"
	snap
	while IFS= read -r line; do
		case $line in
		# PUBLIC holds CONNECT; without it the server refuses the
		# connection itself (t_no_connect_privilege).  --history's is
		# not a run's.
		"GRANT CONNECT "* | "GRANT SELECT ON \"mfa_sweeper\".\"deletions\""*) continue ;;
		esac
		n=$((n + 1))
		q "$(revoke_of "$line")" >/dev/null || die "cannot revoke: $line"
		sweep -c "$CFG" --check-config
		assert_exit 78 "--check-config without: $line"
		assert_match "$ERR" "^mfa-sweeper: error: role '$role' lacks .*; run: $(printf '%s' "$line" | sed 's/[][\.*^$()+?{}|]/\\&/g')\$" \
			"--check-config names: $line"
		assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "one line without: $line"
		assert_not_contains "$ERR" "[schema]" "no [schema] blamed without: $line"
		# The nightly run; the email is looked up by scoped runs only.
		case $line in
		*'("email")'*) sweep -c "$CFG" "${SCOPE_ARGS[@]}" ;;
		*) sweep -c "$CFG" ;;
		esac
		assert_exit 78 "a run without: $line"
		assert_contains "$ERR" "; run: $line" "a run names: $line"
		check_nothing_deleted "without: $line"
		q "$line" >/dev/null
	done < <(grant_lines)
	# Rules' tables (2 tables x 3 + the schema), users (5), ledger (5),
	# the run lease (SELECT; its schema is the ledger's), lag.
	assert_eq "$n" 19 "privileges tried one by one"

	# Without --history's SELECT a run works; --history says what it lacks.
	line=$(grant_lines | grep '^GRANT SELECT ON "mfa_sweeper"."deletions"')
	q "$(revoke_of "$line")" >/dev/null
	sweep -c "$CFG" --history
	assert_exit 78 "--history without SELECT on deletions"
	assert_contains "$ERR" "permission denied for table deletions" "--history says why"
	sweep -c "$CFG" --json
	assert_exit 0 "a run needs no SELECT on deletions"
	check_rows "$GONE"
}

# Without CONNECT (revoked from PUBLIC too), the server refuses the
# connection: the run stops there, exit 69, with the server's reason.
t_no_connect_privilege() {
	local role="sweeper_$$"
	fresh_db
	fx_used_codes
	role_new "$role"
	role_cfg "$role" used_backup_codes
	print_grants
	sql <"$T_DIR/grants.sql"
	q "REVOKE CONNECT ON DATABASE \"$DB\" FROM PUBLIC, $role" >/dev/null
	snap
	sweep -c "$CFG"
	assert_exit 69 "no CONNECT"
	assert_contains "$ERR" "CONNECT privilege" "the server's reason"
	check_nothing_deleted
}

# --init-ledger needs CREATE on the database, and the role then owns the
# ledger it created.
t_init_ledger_needs_create_on_database() {
	local role="sweeper_$$" line
	fresh_db
	role_new "$role"
	role_cfg "$role" used_backup_codes "" "[ledger]" "enabled = true" "schema = own_ledger"
	sweep -c "$CFG" --init-ledger
	assert_exit 78 "--init-ledger without CREATE"
	assert_contains "$ERR" "permission denied for database" "the server's reason"
	print_grants
	line=$(sed -n 's/^-- \(GRANT CREATE ON DATABASE .*\);  -- .*/\1/p' "$T_DIR/grants.sql")
	assert_eq "$line" "GRANT CREATE ON DATABASE \"$DB\" TO \"$role\"" "the commented GRANT"
	assert_contains "$OUT" "-- Table 'own_ledger.runs' does not exist (yet)" "says the ledger is not there yet"
	q "$line" >/dev/null
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger with CREATE"
	assert_q "SELECT nspowner = '$role'::regrole FROM pg_namespace WHERE nspname = 'own_ledger'" t \
		"the role owns the ledger it made"
}

# A rule whose SQL reads a table the sweeper cannot know of: the
# preflight's EXPLAIN is refused (42501), and the message blames the
# role, not [schema].  A batch refused the same way (a DELETE trigger
# writing elsewhere) rolls back and says why.
t_rule_sql_reading_another_table_blames_the_role() {
	local role="sweeper_$$"
	fresh_db
	fx_used_codes
	sql <<'EOF'
CREATE TABLE mfa_test_blocklist (user_id bigint);
INSERT INTO mfa_test_blocklist VALUES (101);
EOF
	role_new "$role"
	role_cfg "$role" reads_other
	sed -i "s|^plugin_dir = .*|plugin_dir = $TEST_PLUGIN_DIR|" "$CFG"
	print_grants
	sql <"$T_DIR/grants.sql"
	snap
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config"
	assert_contains "$ERR" "rule 'reads_other': the role may not run the step on 'accounts_backupcode': permission denied for table mfa_test_blocklist" \
		"names the table the rule reads"
	assert_not_contains "$ERR" "[schema]" "does not blame [schema]"
	sweep -c "$CFG"
	assert_exit 78 "a run"
	check_nothing_deleted "refused run"
	q "GRANT SELECT ON mfa_test_blocklist TO $role" >/dev/null
	sweep_check '^must-go-u101-|^must-stay-u101-used-|^mid-|^recent-'

	# A batch whose DELETE trigger writes where the role may not.
	fx_many_used_codes 5 must-go-trig
	sql <<'EOF'
INSERT INTO mfa_test_blocklist VALUES (301);
CREATE TABLE mfa_test_audit (n int);
CREATE FUNCTION mfa_test_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO mfa_test_audit VALUES (1); RETURN OLD; END $$;
CREATE TRIGGER audit BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION mfa_test_audit();
EOF
	snap
	sweep -c "$CFG" --check-config
	assert_exit 0 "EXPLAIN fires no trigger"
	sweep -c "$CFG"
	assert_exit 1 "the rule fails"
	assert_contains "$ERR" "batch failed and was rolled back: permission denied for table mfa_test_audit" \
		"the batch says why"
	assert_not_contains "$ERR" "[schema]" "a batch does not blame [schema]"
	check_nothing_deleted "rolled back"
}

# --print-grants ROLE names a role that need not exist yet, quoted; that
# output applied to the new role lets it run.  The mode needs the dsn's
# connection (to find the tables' schemas): without it, exit 69.
t_print_grants_for_a_named_role() {
	local role="Odd \"Sweeper\" $$"
	fresh_db
	fx_user_disabled
	cfg_std "$ALL_RULES"
	print_grants "$role"
	assert_contains "$ERR" "does not exist (yet)" "warns of a role that is not there"
	assert_contains "$OUT" "GRANT DELETE ON \"public\".\"accounts_backupcode\" TO \"Odd \"\"Sweeper\"\" $$\";" \
		"the role quoted"
	assert_not_contains "$OUT" "mfa_sweeper" "no ledger when it is off"
	assert_not_contains "$OUT" "pg_read_all_stats" "no lag privilege without max_replica_lag"
	role_new "$role"
	sql <"$T_DIR/grants.sql"
	role_cfg "$role" "$ALL_RULES"
	snap
	sweep -c "$CFG" --check-config
	assert_exit 0 "--check-config as the new role"
	sweep_check "$GONE"

	# Only the rules selected with -r.
	sweep -c "$CFG" --print-grants -r stale_devices
	assert_exit 0 "--print-grants -r"
	assert_not_contains "$OUT" "accounts_backupcode" "a rule not selected adds nothing"
	assert_not_contains "$OUT" "mfa_enrolled" "no user filter without user_disabled"
	assert_contains "$OUT" "GRANT SELECT (\"email\")" "scoped runs and --check-config still need the users"

	sweep -c "$CFG" --print-grants --check-config
	assert_exit 64 "one mode at a time"
	sed -i "s|^dsn = .*|dsn = host=$T_DIR/nowhere dbname=$DB|" "$CFG"
	sweep -c "$CFG" --print-grants "$role"
	assert_exit 69 "no database"
	assert_contains "$ERR" "check [database] dsn" "says which key"
}

run_tests "$@"
