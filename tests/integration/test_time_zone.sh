#!/bin/bash
# [database] time_zone and naive time columns (doc/operations.md
# "Naive time columns").  The Django-like variant of the reference schema here stores
# naive times, as Django does with USE_TZ = False: every time column is
# "timestamp without time zone" and holds the application's local wall
# clock, while the server runs in UTC.  Rows sit just inside and just
# outside the grace period and the max_age of each rule, so that an offset
# of hours in either direction (America/New_York is west of UTC,
# Asia/Tokyo east) moves some of them across.
. "$(dirname "$0")/../lib/assert.sh"

# fx_boundaries: rows one or five minutes either side of each rule's limit,
# written as timestamptz relative to now() (naive_db converts them).
#
#   user 501  disabled 6 minutes ago, outside the 5m grace: code and
#             device go
#   user 502  disabled 4 minutes ago, inside the grace: they stay
#   user 503  enrolled: an unconfirmed device 24h05m old goes
#             (stale_devices), one 23h55m old stays; a code used 90d and
#             5 minutes ago goes (used_backup_codes), one used 89d23h55m
#             ago stays
fx_boundaries() {
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at) VALUES
  (501, 'u501@example.com', false, now() - interval '6 minutes'),
  (502, 'u502@example.com', false, now() - interval '4 minutes'),
  (503, 'u503@example.com', true, NULL);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (501, 'must-go-u501-code', false, NULL, now() - interval '480 hours'),
  (502, 'must-stay-u502-code', false, NULL, now() - interval '480 hours'),
  (503, 'must-go-u503-used-90d-5m', true, now() - interval '2160 hours 5 minutes',
        now() - interval '4800 hours'),
  (503, 'must-stay-u503-used-89d-23h-55m', true, now() - interval '2159 hours 55 minutes',
        now() - interval '4800 hours');
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at) VALUES
  (501, 'must-go-u501-dev', true, 'k', now() - interval '480 hours'),
  (502, 'must-stay-u502-dev', true, 'k', now() - interval '480 hours'),
  (503, 'must-go-u503-stale-24h-5m', false, 'k', now() - interval '24 hours 5 minutes'),
  (503, 'must-stay-u503-young-23h-55m', false, 'k', now() - interval '23 hours 55 minutes');
EOF
}

# naive_db ZONE: a database with fx_boundaries whose time columns are then
# made naive, holding the wall-clock time in ZONE of each instant, as an
# application in ZONE with USE_TZ = False writes them; the database's own
# TimeZone is UTC.
naive_db() {
	fresh_db
	q "ALTER DATABASE \"$DB\" SET TimeZone = 'UTC'" >/dev/null
	fx_boundaries
	naive_columns "$1"
}

# naive_columns ZONE: make the reference tables' time columns naive.
naive_columns() {
	sql <<EOF
ALTER TABLE accounts_user
  ALTER mfa_disabled_at TYPE timestamp USING mfa_disabled_at AT TIME ZONE '$1';
ALTER TABLE otp_totp_totpdevice
  ALTER created_at TYPE timestamp USING created_at AT TIME ZONE '$1',
  ALTER last_used_at TYPE timestamp USING last_used_at AT TIME ZONE '$1',
  ALTER throttling_failure_timestamp TYPE timestamp
    USING throttling_failure_timestamp AT TIME ZONE '$1';
ALTER TABLE accounts_backupcode
  ALTER used_at TYPE timestamp USING used_at AT TIME ZONE '$1',
  ALTER created_at DROP DEFAULT,
  ALTER created_at TYPE timestamp USING created_at AT TIME ZONE '$1';
EOF
}

# tz_cfg ZONE RULES [LINE...]: cfg_std, with [database] time_zone = ZONE
# (no such line when ZONE is "-").
tz_cfg() {
	local zone=$1 rules=$2
	shift 2
	cfg_std "$rules" "$@"
	if [ "$zone" != - ]; then
		sed -i "s|^lock_timeout = .*|&\ntime_zone = $zone|" "$CFG"
	fi
}

ALL="user_disabled, stale_devices, used_backup_codes"

# naive_exact ZONE: with time_zone = ZONE, the dry run counts and the run
# deletes exactly the rows outside each limit.
naive_exact() {
	naive_db "$1"
	tz_cfg "$1" "$ALL"
	snap
	sweep -c "$CFG" --json --dry-run
	assert_exit 0 "dry run"
	assert_json .would_delete_total 4 "the dry run counts in $1"
	sweep_check '^must-go-'
	assert_json '[.rules[] | .deleted] | join(",")' "2,1,1" "rows per rule"

	# The fixture tells zones apart: read in UTC, the same rows are
	# counted otherwise (more in the west, fewer in the east).
	tz_cfg UTC "$ALL"
	q "TRUNCATE accounts_backupcode, otp_totp_totpdevice, accounts_user" >/dev/null
	q "ALTER TABLE accounts_user ALTER mfa_disabled_at TYPE timestamptz USING mfa_disabled_at AT TIME ZONE '$1';
	   ALTER TABLE otp_totp_totpdevice ALTER created_at TYPE timestamptz USING created_at AT TIME ZONE '$1',
	     ALTER last_used_at TYPE timestamptz USING last_used_at AT TIME ZONE '$1',
	     ALTER throttling_failure_timestamp TYPE timestamptz USING throttling_failure_timestamp AT TIME ZONE '$1';
	   ALTER TABLE accounts_backupcode ALTER used_at TYPE timestamptz USING used_at AT TIME ZONE '$1',
	     ALTER created_at TYPE timestamptz USING created_at AT TIME ZONE '$1'" >/dev/null
	fx_boundaries
	naive_columns "$1"
	sweep -c "$CFG" --json --dry-run
	assert_exit 0 "dry run in the wrong zone"
	assert_ne "$(j .would_delete_total)" 4 "read in UTC, $1's naive times count otherwise"
}

t_naive_times_west_of_utc() {
	naive_exact America/New_York
}

t_naive_times_east_of_utc() {
	naive_exact Asia/Tokyo
}

# A scoped run learns whom user_disabled skips as it looks the named
# users up: in the run's zone, as its batches judge the grace.  Read in
# the server's UTC, New York's naive times are five hours old, and user
# 502, disabled four minutes ago, would not be skipped.
t_scoped_skipped_users_judged_in_the_zone() {
	naive_db America/New_York
	tz_cfg America/New_York user_disabled
	snap
	sweep -c "$CFG" --json -u 501 -u 502
	assert_exit 0 "scoped run"
	check_rows '^must-go-u501-' "the scoped run in New York's zone"
	assert_jq '[.rules[] | select(.name == "user_disabled") | .skipped_users[].user] == ["502"]' \
		"user 502, inside the grace in New York, is skipped; 501 is not"
}

t_time_zone_is_set_local_in_every_transaction() {
	naive_db America/New_York
	# The server logs every statement of this database's sessions.
	q "ALTER DATABASE \"$DB\" SET log_statement = 'all'" >/dev/null
	q "ALTER DATABASE \"$DB\" SET application_name = 'tz-$DB'" >/dev/null
	tz_cfg America/New_York "$ALL"
	sweep -c "$CFG" --json --dry-run
	assert_exit 0 "dry run"
	sweep -c "$CFG" --json
	assert_exit 0 "run"
	[ -r "${PG_TMP:-}/server.log" ] || die "no server log at ${PG_TMP:-?}/server.log"
	local lines
	lines=$(grep -a "TimeZone" "$PG_TMP/server.log" | grep -a "America/New_York")
	assert_int_cmp "$(grep -c . <<<"$lines")" -ge 6 "transactions set the zone"
	# Each time inside a transaction the same statement began, and never
	# for the session: nothing outlives the transaction on a pooled
	# connection.  A statement in a transaction of its own sends BEGIN
	# and each SET LOCAL as commands of one round trip (extended
	# protocol: "execute <unnamed>: ..."), one after the other.
	assert_eq "$(grep -v "statement: BEGIN; SET LOCAL lock_timeout = [0-9]*; SET LOCAL statement_timeout = [0-9]*; SET LOCAL TimeZone = 'America/New_York'$" <<<"$lines" |
		grep -vc "execute <unnamed>: SET LOCAL TimeZone = 'America/New_York'$")" 0 \
		"every SET of the zone is SET LOCAL"
	assert_int_cmp "$(grep -c "execute <unnamed>: SET LOCAL TimeZone" <<<"$lines")" -ge 1 \
		"statements outside a batch set the zone too"
	# Each SET LOCAL of the zone as a command of its own follows, in its
	# session, BEGIN and the two timeouts' SET LOCAL, and nothing else.
	assert_eq "$(grep -a -E "\[[0-9]+\] LOG:  (statement|execute [^:]*):" "$PG_TMP/server.log" | awk '
		{ match($0, /\[[0-9]+\]/); pid = substr($0, RSTART, RLENGTH)
		  sql = $0; sub(/^.* LOG:  (statement|execute [^:]*): /, "", sql) }
		sql ~ /^SET LOCAL TimeZone = / && $0 ~ /execute/ {
			if (p3[pid] != "BEGIN" || p2[pid] !~ /^SET LOCAL lock_timeout = [0-9]+$/ ||
			    p1[pid] !~ /^SET LOCAL statement_timeout = [0-9]+$/) bad++ }
		{ p3[pid] = p2[pid]; p2[pid] = p1[pid]; p1[pid] = sql }
		END { print bad + 0 }')" 0 "every SET LOCAL of the zone right after BEGIN"
}

t_naive_columns_refused_without_time_zone() {
	naive_db America/New_York
	tz_cfg - "$ALL"
	snap
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config"
	assert_contains "$ERR" "rule 'user_disabled': accounts_user.mfa_disabled_at is timestamp without time zone" \
		"names the rule, table, column and type"
	assert_contains "$ERR" "'$CFG' sets no [database] time_zone" "names the file and the key"
	assert_contains "$ERR" "TIME_ZONE" "names Django's setting to copy"
	assert_contains "$ERR" "(UTC)" "says the server's zone"
	sweep -c "$CFG" --json
	assert_exit 78 "a run"
	sweep -c "$CFG" --json --dry-run
	assert_exit 78 "a dry run"
	check_nothing_deleted
	# Each rule names its own column.
	sweep -c "$CFG" --check-config -r stale_devices
	assert_exit 78 "stale_devices"
	assert_contains "$ERR" "otp_totp_totpdevice.created_at is timestamp without time zone" "the devices' column"
	sweep -c "$CFG" --check-config -r used_backup_codes
	assert_exit 78 "used_backup_codes"
	assert_contains "$ERR" "accounts_backupcode.used_at is timestamp without time zone" "the codes' column"
	check_nothing_deleted
}

t_only_steps_with_naive_columns_are_refused() {
	fresh_db
	fx_boundaries
	# Only used_at is naive: the other rules compare time zone aware
	# columns and run without time_zone.
	sql <<'EOF'
ALTER TABLE accounts_backupcode
  ALTER used_at TYPE timestamp USING used_at AT TIME ZONE 'Asia/Tokyo';
EOF
	tz_cfg - "$ALL"
	sweep -c "$CFG" --check-config -r user_disabled -r stale_devices
	assert_exit 0 "time zone aware columns need no time_zone"
	sweep -c "$CFG" --check-config
	assert_exit 78 "used_backup_codes compares a naive column"
	assert_contains "$ERR" "rule 'used_backup_codes': accounts_backupcode.used_at" "names it"
}

t_bad_time_zone() {
	naive_db America/New_York
	snap
	tz_cfg Mars/Olympus "$ALL"
	sweep -c "$CFG" --check-config
	assert_exit 78 "unknown zone"
	assert_contains "$ERR" "$CFG:4: [database] time_zone: 'Mars/Olympus' is not a time zone the server knows" \
		"names the file, line, key and value"
	assert_contains "$ERR" "America/New_York" "shows a valid name"
	sweep -c "$CFG" --json
	assert_exit 78 "a run with an unknown zone"
	check_nothing_deleted
	# A name in the wrong case: the server's spelling is the fix.
	tz_cfg america/new_york "$ALL"
	sweep -c "$CFG" --check-config
	assert_exit 78 "wrong case"
	assert_contains "$ERR" "'america/new_york' is not a time zone name the server knows; it spells it 'America/New_York'" \
		"suggests the spelling"
	# Not a name at all: refused when the file is read.
	tz_cfg "'America/New_York'" "$ALL"
	sweep -c "$CFG" --check-config
	assert_exit 78 "quoted"
	assert_contains "$ERR" "$CFG:4: [database] time_zone:" "names the line and key"
	tz_cfg "New York" "$ALL"
	sweep -c "$CFG" --check-config
	assert_exit 78 "a blank"
	assert_contains "$ERR" "'New York' is not a time zone name" "names the value"
	check_nothing_deleted
}

t_time_zone_with_aware_columns_changes_nothing() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	# timestamptz columns are instants: any session zone reads them alike.
	tz_cfg Asia/Tokyo "$ALL"
	sweep_check '^(must-go|conf)-'
}

t_example_plugin_declares_its_column() {
	fresh_db
	q "ALTER DATABASE \"$DB\" SET TimeZone = 'UTC'" >/dev/null
	fx_django_sessions
	# Django with USE_TZ = False in Tokyo: expired-N is N hours ago and
	# live-N N hours ahead, on Tokyo's wall clock.
	sql <<'EOF'
ALTER TABLE django_session
  ALTER expire_date TYPE timestamp USING expire_date AT TIME ZONE 'Asia/Tokyo';
EOF
	CFG_PLUGIN_DIR=$(example_plugin_dir)
	tz_cfg - django_sessions
	sweep -c "$CFG" --check-config
	assert_exit 78 "the example's naive column"
	assert_contains "$ERR" "rule 'django_sessions': django_session.expire_date is timestamp without time zone" \
		"names the example's column"
	tz_cfg Asia/Tokyo django_sessions
	sweep -c "$CFG" --json
	assert_exit 0
	assert_eq "$(q "SELECT string_agg(session_key, ',' ORDER BY expire_date) FROM django_session")" \
		"live-1,live-2,live-3,live-4,live-5,live-6,live-7" "the live sessions stay, the expired ones go"
}

t_old_plugin_loads_and_runs_unchecked() {
	naive_db America/New_York
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (503, 'must-go-old-1', true, '2000-01-01', '1999-01-01'),
  (503, 'must-go-old-2', true, '2000-01-01', '1999-01-01'),
  (503, 'old-but-later', true, '2999-01-01', '1999-01-01');
EOF
	local d
	d=$(plugin_copy_dir)
	cp "$TEST_PLUGIN_DIR/old_step.so" "$d"/ && chmod 0644 "$d/old_step.so"
	CFG_PLUGIN_DIR=$d
	tz_cfg - old_step
	# Built against the first ABI 1 header, it declares no time columns:
	# it loads and runs as before, and --check-config says it cannot be
	# checked.
	sweep -c "$CFG" --check-config
	assert_exit 0 "an old plugin still loads"
	assert_contains "$ERR" "rule 'old_step': the step on 'accounts_backupcode' does not say which time columns it compares" \
		"--check-config says what it cannot check"
	sweep_check '^must-go-old-'
}

run_tests "$@"
