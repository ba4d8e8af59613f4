#!/bin/bash
# Every bad config a tired operator writes (doc/design.md "Configuration"): exit 78, one
# line on stderr naming the file, the line (where one applies), the
# [section] and the key; nothing deleted.  Assertions are on those
# substrings and the exit code, never on the wording.
. "$(dirname "$0")/../lib/assert.sh"

# A database with eligible used codes (must-go-*), and a good config that
# the tests break.
base() {
	fresh_db
	fx_used_codes
}

# expect_config_error LINE NEEDLE...: the last run failed with 78, deleted
# nothing, and printed one line with "$CFG:LINE:" (LINE may be "3|4" for
# either; empty when no line applies) and every NEEDLE.
expect_config_error() {
	local line=$1 n
	shift
	assert_exit 78 || true
	if [ -n "$line" ]; then
		assert_match "$ERR" "$(printf '%s' "$CFG" | sed 's/[.[\*^$()+?{|]/\\&/g'):($line):" \
			"stderr names file and line $line"
	else
		assert_contains "$ERR" "$CFG" "stderr names the file"
	fi
	for n in "$@"; do
		assert_contains "$ERR" "$n" "stderr"
	done
	n=$(printf '%s\n' "$ERR" | grep -c .)
	assert_eq "$n" 1 "number of lines on stderr"
	[ "$n" = 1 ] || show_run
	check_nothing_deleted
}

# run_bad: snapshot and run the broken $CFG, with --json as a cron job
# would.
run_bad() {
	snap
	sweep -c "$CFG" --json "$@"
}

t_missing_file() {
	base
	CFG=$T_DIR/no-such-dir/mfa-sweeper.ini
	run_bad
	expect_config_error ""
}

t_missing_file_from_env() {
	base
	CFG=$T_DIR/from-env.ini
	snap
	MFA_SWEEPER_CONFIG=$CFG sweep --json
	expect_config_error ""
}

t_unreadable_is_directory() {
	base
	mkdir "$T_DIR/a-dir.ini"
	CFG=$T_DIR/a-dir.ini
	run_bad
	expect_config_error ""
}

# -c given something that is not a config file: refused at once with one
# line, exit 78.  A FIFO without a writer once blocked the run and
# /dev/zero was read for 270 MB, then taken as an empty config; the
# timeout makes a hang a failure.
t_config_not_a_file() {
	base
	mkfifo "$T_DIR/fifo.ini"
	CFG=$T_DIR/fifo.ini
	snap
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json
	expect_config_error "" "is a FIFO, not a regular file" "give the configuration file itself with -c/--config"
	CFG=/dev/zero
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json
	expect_config_error "" "'/dev/zero' is a character device, not a regular file"
	assert_int_cmp "$ELAPSED_MS" -lt 3000 "ms to refuse /dev/zero"
	CFG=$T_DIR
	sweep -c "$CFG" --check-config
	expect_config_error "" "is a directory, not a regular file"
	# A file over 1 MiB is no config either, whatever it holds.
	CFG=$T_DIR/huge.ini
	{
		printf '[database]\ndsn = dbname=%s\n' "$DB"
		head -c $((1024 * 1024)) /dev/zero | tr '\0' '\n'
	} >"$CFG"
	sweep -c "$CFG" --json
	expect_config_error "" "is larger than 1048576 bytes"
	# MFA_SWEEPER_CONFIG is read the same way.
	CFG=/dev/zero
	MFA_SWEEPER_CONFIG=$CFG sweep --json
	expect_config_error "" "'/dev/zero' is a character device"
}

# A config without a single setting would run every rule on the
# defaults, against whatever database libpq finds.
t_config_without_settings() {
	base
	cfg_write <<EOF
; mfa-sweeper configuration, to be filled in
[database]
# dsn = dbname=$DB

[sweeper]
EOF
	run_bad
	expect_config_error "" "the file holds no settings" "write at least [database] dsn = ... and [sweeper] rules = ..."
	: >"$CFG"
	run_bad
	expect_config_error "" "the file holds no settings"
}

# A DSN with certificate paths or a webhook URL with its token makes a
# line longer than inih's 200 bytes: such lines work whole, up to 8 KiB.
t_config_long_lines() {
	base
	local name
	name=$(head -c 4100 /dev/zero | tr '\0' a)
	cfg_write <<EOF
[database]
dsn = dbname=$DB application_name=$name   ; a long value, then a comment

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
EOF
	assert_int_cmp "$(sed -n 2p "$CFG" | wc -c)" -gt 4096 "bytes on the dsn line"
	sweep_check '^must-go-u101-'

	name=$(head -c 8200 /dev/zero | tr '\0' a)
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
; $name
EOF
	run_bad
	expect_config_error 7 "line too long (over 8192 bytes)"
}

# PostgreSQL cuts a name longer than 63 bytes to 63 without an error: the
# name would silently be another table's.
t_schema_name_too_long() {
	base
	local long
	long=accounts_backupcode_$(head -c 44 /dev/zero | tr '\0' x)
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[schema]
codes_table = public.$long
EOF
	run_bad
	expect_config_error 9 "[schema]" codes_table "longer than 63 bytes" "'public.accounts_backupcode_xxx"
	sed -i "s/^codes_table = .*/code_used_at_column = $long/" "$CFG"
	run_bad
	expect_config_error 9 "[schema]" code_used_at_column "holds a column name longer than 63 bytes"
}

# A duration too long to add to a clock is "too large", and the message
# names the longest one.
t_duration_too_large() {
	base
	bad_sweeper_cfg max_runtime 99999999999999999999d
	run_bad
	expect_config_error 7 "[sweeper]" max_runtime "is too large; the longest duration is 36500d"
	bad_sweeper_cfg pause 36501d
	run_bad
	expect_config_error 7 "[sweeper]" pause "is too large"
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[rule.used_backup_codes]
max_age = 9999999999999999999999h
EOF
	run_bad
	expect_config_error 9 "rule.used_backup_codes" max_age "is too large; the longest duration is 36500d"
}

t_unknown_section() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[databse]
lock_timeout = 2s
EOF
	run_bad
	expect_config_error "8|9" databse
}

t_unknown_key_typo() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
batchsize = 100
EOF
	run_bad
	expect_config_error 7 "[sweeper]" batchsize batch_size
}

t_unknown_schema_key_typo() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[schema]
code_table = accounts_backupcode
EOF
	run_bad
	expect_config_error 9 "[schema]" code_table codes_table
}

t_unknown_rule_key() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[rule.used_backup_codes]
maxage = 30d
EOF
	run_bad
	expect_config_error 9 "rule.used_backup_codes" maxage
}

t_duplicate_key() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
batch_size = 100
pause = 0ms
batch_size = 200
EOF
	run_bad
	expect_config_error 9 "[sweeper]" batch_size
}

t_duplicate_section_key() {
	base
	# The same section twice is fine; the same key in both is not.
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[database]
dsn = dbname=postgres
EOF
	run_bad
	expect_config_error 9 "[database]" dsn
}

# bad_sweeper_cfg KEY VALUE: a config with [sweeper] KEY = VALUE on line 7.
bad_sweeper_cfg() {
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
$1 = $2
EOF
}

# bad_sweeper_value KEY VALUE: a run with it fails on line 7.
bad_sweeper_value() {
	base
	bad_sweeper_cfg "$1" "$2"
	run_bad
	expect_config_error 7 "[sweeper]" "$1"
}

t_bad_duration_bare_number() {
	bad_sweeper_value pause 5
}

t_bad_duration_words() {
	bad_sweeper_value pause "5 minutes"
}

t_bad_duration_negative() {
	bad_sweeper_value max_runtime -1m
}

t_bad_duration_unknown_unit() {
	bad_sweeper_value max_runtime 5w
}

t_bad_duration_fraction() {
	bad_sweeper_value pause 1.5s
}

t_bad_duration_database_section() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB
lock_timeout = 2

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
EOF
	run_bad
	expect_config_error 3 "[database]" lock_timeout
}

t_bad_duration_rule_key() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[rule.used_backup_codes]
max_age = 90
EOF
	run_bad
	expect_config_error 9 "rule.used_backup_codes" max_age
}

t_bad_int_word() {
	bad_sweeper_value batch_size lots
}

t_bad_int_zero() {
	bad_sweeper_value batch_size 0
}

t_bad_int_thousands_separator() {
	bad_sweeper_value batch_size 5,000
}

t_bad_int_negative() {
	bad_sweeper_value batch_size -5
}

t_bad_int_too_big() {
	bad_sweeper_value batch_size 1000001
}

t_bad_int_with_unit() {
	bad_sweeper_value batch_size 5k
}

t_bad_bool() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = user_disabled, used_backup_codes

[rule.user_disabled]
grace = 5m
delete_confirmed_devices = maybe
EOF
	run_bad
	expect_config_error 10 "rule.user_disabled" delete_confirmed_devices
}

t_bad_enum() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes, stale_devices

[rule.stale_devices]
null_created_at = purge
EOF
	run_bad
	expect_config_error 9 "rule.stale_devices" null_created_at
}

t_bad_webhook_format() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[webhook]
format = xml
EOF
	run_bad
	expect_config_error 9 "[webhook]" format
}

t_rule_section_not_in_rules() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes

[rule.stale_devices]
max_age = 24h
EOF
	run_bad
	expect_config_error "8|9" rule.stale_devices
}

t_key_outside_section() {
	base
	cfg_write <<EOF
batch_size = 100
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
EOF
	run_bad
	expect_config_error 1 batch_size
}

t_unparsable_line() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
this line is not ini
EOF
	run_bad
	expect_config_error 7
}

t_rules_empty() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules =
EOF
	run_bad
	expect_config_error 6 "[sweeper]" rules
}

t_rules_duplicate() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes, stale_devices, used_backup_codes
EOF
	run_bad
	expect_config_error 6 "[sweeper]" rules used_backup_codes
}

t_rules_bad_name() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes, ../evil
EOF
	run_bad
	expect_config_error 6 "[sweeper]" rules
}

t_rule_plugin_file_missing() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes, no_such_rule
EOF
	run_bad
	assert_exit 78
	assert_contains "$ERR" no_such_rule "stderr names the rule"
	check_nothing_deleted
}

t_plugin_dir_missing() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $T_DIR/no-such-plugins
rules = used_backup_codes
EOF
	run_bad
	assert_exit 78
	assert_contains "$ERR" "$T_DIR/no-such-plugins" "stderr names plugin_dir"
	assert_contains "$ERR" "$CFG:$(line_of "plugin_dir ="): [sweeper] plugin_dir: " \
		"stderr names the file and line that set plugin_dir"
	check_nothing_deleted
}

t_plugin_dir_relative() {
	base
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = build/plugins
rules = used_backup_codes
EOF
	run_bad
	assert_exit 78
	assert_contains "$ERR" "plugin_dir" "stderr names plugin_dir"
	check_nothing_deleted
}

# ok_keys (tests/plugins/ok_keys.c) declares text (string), flag (bool),
# count (int), wait (duration) and mode (enum keep|delete).
ok_keys_cfg() {
	local d
	d=$(plugin_copy_dir)
	cp "$TEST_PLUGIN_DIR/ok_keys.so" "$d"/ && chmod 0644 "$d/ok_keys.so"
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $d
rules = used_backup_codes, ok_keys

[rule.ok_keys]
text = fine
$1
EOF
}

t_plugin_key_wrong_type_int() {
	base
	ok_keys_cfg "count = many"
	run_bad
	expect_config_error 10 "rule.ok_keys" count
}

t_plugin_key_wrong_type_bool() {
	base
	ok_keys_cfg "flag = 2"
	run_bad
	expect_config_error 10 "rule.ok_keys" flag
}

t_plugin_key_wrong_type_duration() {
	base
	ok_keys_cfg "wait = 90"
	run_bad
	expect_config_error 10 "rule.ok_keys" wait
}

t_plugin_key_wrong_type_enum() {
	base
	ok_keys_cfg "mode = archive"
	run_bad
	expect_config_error 10 "rule.ok_keys" mode
}

t_plugin_key_unknown() {
	base
	ok_keys_cfg "colour = blue"
	run_bad
	expect_config_error 10 "rule.ok_keys" colour
}

t_check_config_reports_config_errors() {
	base
	bad_sweeper_cfg batch_size lots
	snap
	sweep -c "$CFG" --check-config
	expect_config_error 7 "[sweeper]" batch_size
}

run_tests "$@"
