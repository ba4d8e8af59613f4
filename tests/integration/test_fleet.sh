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
    EXECUTE format('CREATE SCHEMA t%s', i);
    EXECUTE format('CREATE TABLE t%s.accounts_user (LIKE public.accounts_user INCLUDING ALL)', i);
    EXECUTE format('CREATE TABLE t%s.otp_totp_totpdevice (LIKE public.otp_totp_totpdevice INCLUDING ALL)', i);
    EXECUTE format('CREATE TABLE t%s.accounts_backupcode (LIKE public.accounts_backupcode INCLUDING ALL)', i);
    EXECUTE format('INSERT INTO t%s.accounts_user (id, email, mfa_enrolled) VALUES (101, ''u101@example.com'', true), (102, ''u102@example.com'', true)', i);
    EXECUTE format('INSERT INTO t%s.accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
      (101, ''must-go-t%s'', true, now() - interval ''100 days'', now() - interval ''400 days''),
      (102, ''must-go-u102-t%s'', true, now() - interval ''100 days'', now() - interval ''400 days''),
      (101, ''must-stay-t%s'', false, NULL, now() - interval ''400 days'')', i, i, i, i);
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

run_tests "$@"
