#!/bin/bash
# The command line (doc/design.md "Command line and exit codes"): options, usage errors (64), the config
# from -c or $MFA_SWEEPER_CONFIG, rule selection, and the database being
# unavailable (69).
. "$(dirname "$0")/../lib/assert.sh"

cli_db() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	cfg_std "user_disabled, stale_devices, used_backup_codes"
}

t_help() {
	sweep -h
	assert_exit 0
	assert_icontains "$OUT" "usage" "-h prints usage on stdout"
	assert_contains "$OUT" "--config" "usage mentions --config"
	assert_contains "$OUT" "--dry-run" "usage mentions --dry-run"
	sweep --help
	assert_exit 0 "exit code of --help"
	assert_icontains "$OUT" "usage" "--help prints usage on stdout"
}

t_version() {
	sweep -V
	assert_exit 0
	assert_match "$OUT" '[0-9]+\.[0-9]+' "-V prints a version number"
	assert_contains "$OUT" "mfa-sweeper" "-V names the program"
	sweep --version
	assert_exit 0 "exit code of --version"
}

t_unknown_option() {
	cli_db
	snap
	sweep -c "$CFG" --frobnicate
	assert_exit 64
	assert_contains "$ERR" "frobnicate" "stderr names the unknown option"
	check_nothing_deleted
	sweep -c "$CFG" -Z
	assert_exit 64 "exit code of -Z"
	check_nothing_deleted "-Z"
}

t_missing_option_argument() {
	cli_db
	snap
	sweep -c "$CFG" -r
	assert_exit 64 "exit code of -r without a rule"
	check_nothing_deleted
}

t_stray_argument() {
	cli_db
	snap
	sweep -c "$CFG" used_backup_codes
	assert_exit 64 "exit code with a stray positional argument"
	check_nothing_deleted
}

# The usage-error tests need rows that would go, not all three fixtures.
cli_small_db() {
	fresh_db
	fx_used_codes
	cfg_std used_backup_codes
}

# usage_error NEEDLE...: the last run exited 64 with one line on stderr
# holding every NEEDLE and never the binary's path.  (Each test checks
# once at its end that nothing was deleted.)
usage_error() {
	local n
	assert_exit 64 "exit code of: $SWEEP_CMD"
	for n in "$@"; do
		assert_contains "$ERR" "$n" "stderr of: $SWEEP_CMD"
	done
	assert_not_contains "$ERR" "'$SWEEPER_BIN'" "stderr of: $SWEEP_CMD"
	assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "lines on stderr of: $SWEEP_CMD"
}

# A bad short option is named, wherever it sits in a bundle ("-Zn" once
# named the binary instead).
t_bad_short_option_named() {
	cli_small_db
	snap
	sweep -c "$CFG" -Zn
	usage_error "unknown option '-Z'; see mfa-sweeper --help"
	sweep -c "$CFG" -nZ
	usage_error "unknown option '-Z'"
	sweep -c "$CFG" -n$'\x1b'
	usage_error "unknown option '-\x1b'"
	sweep -c "$CFG" -:
	usage_error "unknown option '-:'"
	check_nothing_deleted
}

t_bad_long_option_named() {
	cli_small_db
	snap
	sweep -c "$CFG" --bogus=3
	usage_error "unknown option '--bogus'"
	sweep -c "$CFG" --json=yes
	usage_error "option '--json' takes no value; write just --json"
	sweep -c "$CFG" --dry-run=no
	usage_error "option '--dry-run' takes no value"
	sweep -c "$CFG" --user 1
	usage_error "option '--user' is ambiguous; write one of --user-id, --user-email, --users-file"
	# A unique prefix still works.
	sweep -c "$CFG" --dry --json
	assert_exit 0 "--dry for --dry-run"
	check_nothing_deleted
}

# The option missing its value is named as typed, at the end of the line.
t_option_missing_value_named() {
	cli_small_db
	snap
	sweep -c "$CFG" -n -r
	usage_error "option '-r' needs a value"
	sweep -c "$CFG" -nr
	usage_error "option '-r' needs a value"
	sweep -c "$CFG" --rule
	usage_error "option '--rule' needs a value"
	sweep -c "$CFG" --users-file
	usage_error "option '--users-file' needs a value"
	sweep -n -c
	usage_error "option '-c' needs a value"
	check_nothing_deleted
}

# An empty value, or the next option taken as the value, is refused
# before it changes what the run does: "-c -n" once read a config named
# "-n" and would have run without --dry-run.
t_option_value_empty_or_an_option() {
	cli_small_db
	snap
	sweep -c "$CFG" --rule=
	usage_error "-r/--rule needs a rule name" "the value given is empty"
	sweep -c ""
	usage_error "-c/--config needs the configuration file; the value given is empty"
	sweep -c "$CFG" --users-file ""
	usage_error "--users-file needs a file of users, or - for stdin; the value given is empty"
	cp "$CFG" "$T_DIR/-n"
	sweep -c -n
	usage_error "-c/--config needs the configuration file, but the next argument is the option '-n'"
	sweep -c "$CFG" -r --json used_backup_codes
	usage_error "-r/--rule needs a rule name" "the option '--json'"
	sweep -c "$CFG" -u --now
	usage_error "-u/--user-id needs a user id, but the next argument is the option '--now'"
	sweep -c "$CFG" -e --json
	usage_error "-e/--user-email needs an email address"
	sweep -c="$CFG"
	usage_error "-c/--config needs the configuration file, not '=" "write -c VALUE or --config=VALUE"
	# What looks like an option but is a value still works.
	check_nothing_deleted
	sweep -c "$CFG" --json -n -u -1 --users-file -
	assert_exit 0 "a negative id and stdin as the users file"
	assert_jq '.unknown_users == ["-1"]' "-1 is looked up as an id"
}

# "-quiet" is not --quiet but -q -u iet: a run scoped to a user "iet".
# A long option with one dash is refused, naming the two-dash form.
t_long_option_with_one_dash() {
	cli_small_db
	snap
	sweep -c "$CFG" -quiet
	usage_error "unknown option '-quiet'; long options take two dashes: write --quiet"
	sweep -c "$CFG" -json
	usage_error "write --json"
	sweep -c "$CFG" -dry-run
	usage_error "write --dry-run"
	sweep -c "$CFG" -rule=used_backup_codes
	usage_error "write --rule"
	sweep -check-config
	usage_error "write --check-config"
	# After "--" nothing is an option.
	sweep -c "$CFG" -- -json
	usage_error "unexpected argument '-json'"
	# An option without its dashes.
	sweep -c "$CFG" check-config
	usage_error "unexpected argument 'check-config'; options start with two dashes: write --check-config"
	check_nothing_deleted
}

t_rule_not_in_rules() {
	cli_db
	cfg_std "user_disabled, used_backup_codes"
	snap
	sweep -c "$CFG" --json -r stale_devices
	assert_exit 64
	assert_contains "$ERR" stale_devices "stderr names the rule"
	check_nothing_deleted
	sweep -c "$CFG" --json -r used_backup_codes -r no_such_rule
	assert_exit 64 "one good and one unknown rule"
	check_nothing_deleted "one good and one unknown rule"
}

t_rule_selects() {
	cli_db
	sweep_check '^must-go-u101-' -r used_backup_codes
	assert_jq '[.rules[].name] == ["used_backup_codes"]' "only the selected rule in the summary"
	sweep_check '^must-go-u201-|^must-go-u(1|3)-dev-' --rule stale_devices
}

t_rule_selects_several() {
	cli_db
	sweep_check '^must-go-(u101|u201|u1-dev|u3-dev)-' -r used_backup_codes -r stale_devices
	assert_jq '[.rules[].name] | sort == ["stale_devices", "used_backup_codes"]' "the two selected rules"
}

# Rules run in the order of `rules` in the config, once each, however -r
# names them.
t_rule_order_and_repeats() {
	cli_db
	sweep -c "$CFG" --json -r used_backup_codes -r stale_devices -r used_backup_codes
	assert_exit 0
	assert_jq '[.rules[].name] == ["stale_devices", "used_backup_codes"]' \
		"selected rules in config order, each once"
}

t_config_from_env() {
	cli_db
	snap
	MFA_SWEEPER_CONFIG=$CFG sweep --json
	assert_exit 0
	assert_json .status ok "status"
	check_rows '^(must-go|conf)-'
}

t_config_option_beats_env() {
	cli_db
	snap
	MFA_SWEEPER_CONFIG=$T_DIR/missing.ini sweep --config "$CFG" --json -n
	assert_exit 0
	check_nothing_deleted
}

t_default_config_path() {
	if [ -e /etc/mfa-sweeper/mfa-sweeper.ini ]; then
		# Not this machine's business to create or remove it.
		# Not this test's business to move it: only check it is read.
		sweep --check-config
		assert_not_contains "$ERR" "No such file" "the default config is read"
		return
	fi
	sweep --json
	assert_exit 78
	assert_contains "$ERR" /etc/mfa-sweeper/mfa-sweeper.ini "stderr names the default config file"
}

t_database_down() {
	fresh_db
	fx_used_codes
	mkdir -p "$T_DIR/nosrv"
	cfg_write <<CFGEOF
[database]
dsn = host=$T_DIR/nosrv dbname=$DB connect_timeout=3

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
CFGEOF
	snap
	sweep -c "$CFG" --json
	assert_exit 69
	assert_int_cmp "$ELAPSED_MS" -lt 10000 "ms to report the database down"
	check_nothing_deleted
	sweep -c "$CFG"
	assert_exit 69 "exit code without --json"
	assert_contains "$ERR" "mfa-sweeper: error:" "an error line on stderr"
}

t_database_does_not_exist() {
	fresh_db
	cfg_write <<CFGEOF
[database]
dsn = dbname=no_such_database_here connect_timeout=3

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
CFGEOF
	sweep -c "$CFG" --json
	assert_exit 69
}

t_dsn_uri() {
	cli_db
	cfg_write <<CFGEOF
[database]
dsn = postgresql:///$DB?host=$PGHOST

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
CFGEOF
	sweep_check '^must-go-u101-'
}

t_dsn_from_pg_env() {
	cli_db
	cfg_write <<CFGEOF
[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
CFGEOF
	snap
	PGDATABASE=$DB sweep -c "$CFG" --json
	assert_exit 0
	check_rows '^must-go-u101-'
}

run_tests "$@"
