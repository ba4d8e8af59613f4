#!/usr/bin/env bash
# demo.sh: what `make demo` runs.  Starts a throwaway PostgreSQL, loads the
# reference schema and 100,000 generated users, then runs mfa-sweeper with
# config/demo.ini, first as a dry run and then for real, and checks the
# result against the rules of doc/design.md "Rule semantics" evaluated independently
# in SQL: every row no rule matches must survive, every row a rule matches
# must be gone.
#
# Environment: BUILD (build directory, default build), DEMO_VERBOSE=1 to
# show the sweeper's info logs (stderr) as well as its warnings.
# Exit status: 0 when the sweeper succeeded and every check passed.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEMO_DIR=$ROOT/tests/demo
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
SWEEPER=$BUILD/mfa-sweeper
CONFIG=$ROOT/config/demo.ini
DEMO_DB=mfa_demo
DEMO_VERBOSE=${DEMO_VERBOSE:-0}

FAILED=0

heading() {
	printf '\n==> %s\n\n' "$*"
}

die() {
	echo "demo: $*" >&2
	exit 1
}

ms_now() {
	date +%s%3N
}

# Milliseconds since $1, as seconds with one decimal.
elapsed() {
	local ms=$(($(ms_now) - $1))
	printf '%d.%d s' $((ms / 1000)) $((ms % 1000 / 100))
}

# psql without the user's psqlrc, stopping at the first error, and without
# NOTICEs (the sweeper itself gets the environment untouched).
q() {
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -q -v ON_ERROR_STOP=1 "$@"
}

# One value, unaligned, no header.
q1() {
	q -At "$@"
}

# ini_get SECTION KEY: the value of KEY in [SECTION] of the demo config, so
# the checks below evaluate the rules with the thresholds the sweeper uses.
ini_get() {
	awk -v want="[$1]" -v key="$2" '
		/^[ \t]*\[/ { sec = $0; gsub(/[ \t]/, "", sec); next }
		sec == want && $0 ~ "^[ \t]*" key "[ \t]*=" {
			v = $0
			sub(/^[^=]*=[ \t]*/, "", v)
			sub(/[ \t]+[;#].*$/, "", v)
			sub(/[ \t]+$/, "", v)
			print v
			found = 1
			exit
		}
		END { exit !found }
	' "$CONFIG"
}

# The reference schema lives beside the repository (../shared); the copy
# in tests/demo is only for checkouts without it.
find_schema() {
	local shared=$ROOT/../shared/reference-schema.sql
	if [ -r "$shared" ]; then
		echo "$shared"
	elif [ -r "$DEMO_DIR/reference-schema.sql" ]; then
		echo "$DEMO_DIR/reference-schema.sql"
	else
		die "no reference-schema.sql in $ROOT/../shared or $DEMO_DIR"
	fi
}

check_build() {
	[ -x "$SWEEPER" ] || die "$SWEEPER not built; run 'make all' (or 'make demo')"
	[ -d "$BUILD/plugins" ] || die "$BUILD/plugins missing; run 'make all'"
}

# The build may be build/ or build-san/: run a copy of the config whose
# plugin_dir is absolute.  It lives in the server's temp dir, which pg_stop
# removes.
write_config() {
	RUN_CONFIG=$PG_TMP/demo.ini
	sed "s|^[ \t]*plugin_dir[ \t]*=.*|plugin_dir = $BUILD/plugins|" \
		"$CONFIG" >"$RUN_CONFIG"
	grep -q "^plugin_dir = $BUILD/plugins\$" "$RUN_CONFIG" ||
		die "no plugin_dir line in $CONFIG"
}

setup_db() {
	local schema
	schema=$(find_schema)
	q -c "CREATE DATABASE $DEMO_DB"
	export PGDATABASE=$DEMO_DB
	q -f "$schema"
	echo "schema: $schema"
}

generate() {
	local t0
	t0=$(ms_now)
	q -f "$DEMO_DIR/generate.sql" >/dev/null
	echo "generated in $(elapsed "$t0"):" \
		"$(q1 -c 'SELECT count(*) FROM accounts_user') users," \
		"$(q1 -c 'SELECT count(*) FROM otp_totp_totpdevice') devices," \
		"$(q1 -c 'SELECT count(*) FROM accounts_backupcode') backup codes"
}

# Rows per user kind.  The kinds come from the generator's plan
# (demo.user_plan); the counts from the application tables.
COUNTS_SQL="
WITH d AS (
	SELECT user_id,
	       count(*) FILTER (WHERE confirmed) AS confirmed,
	       count(*) FILTER (WHERE NOT confirmed) AS unconfirmed
	FROM otp_totp_totpdevice GROUP BY user_id
), c AS (
	SELECT user_id,
	       count(*) FILTER (WHERE NOT used) AS unused,
	       count(*) FILTER (WHERE used) AS used
	FROM accounts_backupcode GROUP BY user_id
)
SELECT coalesce(p.kind, 'total') AS kind,
       count(u.id) AS users,
       coalesce(sum(d.confirmed), 0)::bigint AS confirmed_devices,
       coalesce(sum(d.unconfirmed), 0)::bigint AS unconfirmed_devices,
       coalesce(sum(c.unused), 0)::bigint AS unused_codes,
       coalesce(sum(c.used), 0)::bigint AS used_codes
FROM demo.user_plan AS p
LEFT JOIN accounts_user AS u ON u.id = p.id
LEFT JOIN d ON d.user_id = p.id
LEFT JOIN c ON c.user_id = p.id
GROUP BY ROLLUP (p.kind)"

# Kinds in the order of the story: the protected ones first.
KIND_ORDER="array_position(ARRAY['enrolled', 're_enabled', 'in_grace',
	'reenrolling', 'disabled', 'never', 'total'], kind)"

counts_before() {
	q -c "CREATE TABLE demo.counts_before AS $COUNTS_SQL"
	q -P footer=off -c "SELECT * FROM demo.counts_before ORDER BY $KIND_ORDER"
}

counts_after() {
	q -P footer=off -c "
		WITH a AS ($COUNTS_SQL)
		SELECT a.*,
		       (b.confirmed_devices + b.unconfirmed_devices + b.unused_codes
		        + b.used_codes) - (a.confirmed_devices + a.unconfirmed_devices
		        + a.unused_codes + a.used_codes) AS rows_deleted
		FROM a JOIN demo.counts_before AS b USING (kind)
		ORDER BY $KIND_ORDER"
}

# Total rows of the three tables, to show a dry run changed nothing.
fingerprint() {
	q1 -c "SELECT (SELECT count(*) FROM accounts_user) || '/' ||
		(SELECT count(*) FROM otp_totp_totpdevice) || '/' ||
		(SELECT count(*) FROM accounts_backupcode)"
}

# demo.fate: every device and code with whether doc/design.md "Rule semantics", under
# the demo config, makes it go (doomed).  Written here from the spec, not
# from the sweeper's SQL, and taken just before the real run: the generator
# keeps every row minutes to days away from each threshold.
snapshot_fates() {
	q -v grace="$(ini_get rule.user_disabled grace)" \
		-v delete_confirmed="$(ini_get rule.user_disabled delete_confirmed_devices)" \
		-v stale_age="$(ini_get rule.stale_devices max_age)" \
		-v null_created="$(ini_get rule.stale_devices null_created_at)" \
		-v used_age="$(ini_get rule.used_backup_codes max_age)" <<'SQL'
CREATE TABLE demo.fate AS
WITH gone_users AS (
	-- user_disabled: disabled, not re-enabled, past the grace period
	SELECT id, mfa_disabled_at FROM accounts_user
	WHERE NOT mfa_enrolled AND mfa_disabled_at IS NOT NULL
	  AND mfa_disabled_at <= now() - :'grace'::interval
)
SELECT p.kind, 'device'::text AS artifact, d.id,
       CASE WHEN d.confirmed THEN 'confirmed device'
            ELSE 'unconfirmed device' END AS what,
       coalesce(d.created_at > u.mfa_disabled_at, false) AS fresh,
       coalesce(g.id IS NOT NULL
                AND (d.created_at IS NULL OR d.created_at <= g.mfa_disabled_at)
                AND (NOT d.confirmed OR :'delete_confirmed'::boolean), false)
       OR coalesce(NOT d.confirmed
                   AND (d.created_at < now() - :'stale_age'::interval
                        OR (d.created_at IS NULL AND :'null_created' = 'delete')),
                   false) AS doomed
FROM otp_totp_totpdevice AS d
JOIN accounts_user AS u ON u.id = d.user_id
JOIN demo.user_plan AS p ON p.id = d.user_id
LEFT JOIN gone_users AS g ON g.id = d.user_id
UNION ALL
SELECT p.kind, 'code', c.id,
       CASE WHEN c.used THEN 'used code' ELSE 'unused code' END,
       coalesce(c.created_at > u.mfa_disabled_at, false),
       coalesce(g.id IS NOT NULL
                AND (c.created_at IS NULL OR c.created_at <= g.mfa_disabled_at),
                false)
       OR coalesce(c.used AND c.used_at < now() - :'used_age'::interval, false)
FROM accounts_backupcode AS c
JOIN accounts_user AS u ON u.id = c.user_id
JOIN demo.user_plan AS p ON p.id = c.user_id
LEFT JOIN gone_users AS g ON g.id = c.user_id;

CREATE TABLE demo.users_before AS SELECT id FROM accounts_user;
SQL
}

# Whether each snapshotted row is still there, for the checks.
mark_survivors() {
	q <<'SQL'
CREATE TABLE demo.outcome AS
SELECT f.*, coalesce(d.id, c.id) IS NOT NULL AS present
FROM demo.fate AS f
LEFT JOIN otp_totp_totpdevice AS d ON f.artifact = 'device' AND d.id = f.id
LEFT JOIN accounts_backupcode AS c ON f.artifact = 'code' AND c.id = f.id;
SQL
}

# report LABEL EXPECTED ACTUAL: one PASS/FAIL line; failures are counted.
report() {
	if [ "$2" = "$3" ]; then
		printf 'PASS  %s: %s\n' "$1" "$3"
	else
		printf 'FAIL  %s: expected %s, got %s\n' "$1" "$2" "$3"
		FAILED=$((FAILED + 1))
	fi
}

# Counts "present/total" of outcome rows matching a condition.
present_of() {
	q1 -c "SELECT count(*) FILTER (WHERE present) || '/' || count(*)
		FROM demo.outcome WHERE $1"
}

total_of() {
	q1 -c "SELECT count(*) || '/' || count(*) FROM demo.outcome WHERE $1"
}

checks() {
	local users_before users_now
	users_before=$(q1 -c 'SELECT count(*) FROM demo.users_before')
	users_now=$(q1 -c 'SELECT count(*) FROM accounts_user
		WHERE id IN (SELECT id FROM demo.users_before)')
	report "users (the sweeper never deletes users)" \
		"$users_before" "$users_now"

	report "enrolled users' confirmed devices present" \
		"$(total_of "kind IN ('enrolled', 're_enabled') AND what = 'confirmed device'")" \
		"$(present_of "kind IN ('enrolled', 're_enabled') AND what = 'confirmed device'")"
	report "enrolled users' unused and recently used codes present" \
		"$(total_of "kind IN ('enrolled', 're_enabled') AND artifact = 'code' AND NOT doomed")" \
		"$(present_of "kind IN ('enrolled', 're_enabled') AND artifact = 'code' AND NOT doomed")"
	report "re-enabled users: leftovers from before their old disable present" \
		"$(total_of "kind = 're_enabled' AND NOT doomed")" \
		"$(present_of "kind = 're_enabled' AND NOT doomed")"
	report "re-enrolling users' fresh devices and codes present" \
		"$(total_of "kind = 'reenrolling' AND fresh")" \
		"$(present_of "kind = 'reenrolling' AND fresh")"
	report "in-grace users untouched" \
		"$(total_of "kind = 'in_grace'")" \
		"$(present_of "kind = 'in_grace'")"
	report "unconfirmed devices younger than the stale age present" \
		"$(total_of "what = 'unconfirmed device' AND NOT doomed")" \
		"$(present_of "what = 'unconfirmed device' AND NOT doomed")"
	report "every row no rule matches present" \
		"$(total_of "NOT doomed")" "$(present_of "NOT doomed")"
	report "every row a rule matches deleted (still present/total)" \
		"0/$(q1 -c 'SELECT count(*) FROM demo.outcome WHERE doomed')" \
		"$(q1 -c "SELECT count(*) FILTER (WHERE present) || '/' || count(*)
			FROM demo.outcome WHERE doomed")"

	if [ "$FAILED" -gt 0 ]; then
		echo
		echo "Rows on the wrong side, by kind (doomed = a rule matches it):"
		q -P footer=off -c "
			SELECT kind, what, doomed, count(*) AS wrong
			FROM demo.outcome WHERE present = doomed
			GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
	fi
}

# run_sweeper LOG ARGS...: run the sweeper, its summary on stdout; its
# stderr goes to LOG and only warnings and errors are shown, unless the run
# fails or DEMO_VERBOSE=1.  Returns the sweeper's exit status.
run_sweeper() {
	local log=$1 rc=0
	shift
	echo "\$ mfa-sweeper $*"
	echo
	"$SWEEPER" "$@" 2>"$log" || rc=$?
	if [ "$rc" -ne 0 ] || [ "$DEMO_VERBOSE" = 1 ]; then
		cat "$log" >&2
	else
		grep -v -E '^mfa-sweeper: (info|debug): ' "$log" >&2 || true
	fi
	return "$rc"
}

main() {
	local t_start t0 rc before after
	t_start=$(ms_now)
	check_build

	# shellcheck source-path=SCRIPTDIR source=../lib/pg.sh
	. "$ROOT/tests/lib/pg.sh"

	heading "Starting a throwaway PostgreSQL"
	# shellcheck disable=SC2119 # no extra server settings
	pg_start # installs pg_stop as the EXIT trap
	echo "server: $("$PG_BINDIR/postgres" --version), socket in $PGHOST"
	setup_db
	write_config

	heading "Generating 100,000 users (tests/demo/generate.sql)"
	generate

	heading "Rows by kind of user, before"
	counts_before

	heading "Dry run"
	before=$(fingerprint)
	rc=0
	run_sweeper "$PG_TMP/dry-run.log" -c "$RUN_CONFIG" --dry-run || rc=$?
	[ "$rc" -eq 0 ] || die "the dry run failed with exit status $rc"
	after=$(fingerprint)
	echo
	report "dry run deleted nothing (users/devices/codes)" "$before" "$after"

	snapshot_fates

	heading "Real run (config/demo.ini)"
	t0=$(ms_now)
	rc=0
	run_sweeper "$PG_TMP/run.log" -c "$RUN_CONFIG" || rc=$?
	[ "$rc" -eq 0 ] || die "the sweeper failed with exit status $rc"
	echo
	echo "sweeper run took $(elapsed "$t0")"

	heading "Rows by kind of user, after"
	counts_after

	heading "Checks"
	mark_survivors
	checks

	echo
	if [ "$FAILED" -gt 0 ]; then
		echo "demo: $FAILED check(s) failed ($(elapsed "$t_start"))" >&2
		exit 1
	fi
	echo "demo: all checks passed ($(elapsed "$t_start"))"
}

main "$@"
