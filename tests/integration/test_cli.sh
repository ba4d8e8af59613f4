#!/bin/bash
# The command line (DESIGN.md §4): options, usage errors (64), the config
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
