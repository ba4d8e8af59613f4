#!/bin/bash
# Preflight (doc/design.md "How a run works"): before the first row is deleted the
# sweeper loads and initialises every plugin, plans every step and EXPLAINs
# every step's statement.  A missing table or column, or an identifier from
# config that tries SQL injection, is exit 78 with every table still there
# and no row gone.  The broken step always comes after a good rule with
# eligible rows.
. "$(dirname "$0")/../lib/assert.sh"

pre_db() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
}

# expect_preflight_error NEEDLE...: 78, nothing deleted, every table there.
expect_preflight_error() {
	local n
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	for n in "$@"; do
		assert_contains "$ERR" "$n" "stderr"
	done
	check_nothing_deleted
	assert_eq "$(tables_present)" "accounts_backupcode,accounts_user,otp_totp_totpdevice" \
		"reference tables still present"
	assert_q "SELECT count(*) FROM accounts_user" 9 "users still present"
}

t_missing_table() {
	pre_db
	cfg_std "stale_devices, used_backup_codes" "" "[schema]" "codes_table = no_such_table"
	expect_preflight_error no_such_table
}

t_missing_schema_qualified_table() {
	pre_db
	cfg_std "stale_devices, used_backup_codes" "" "[schema]" "codes_table = nowhere.accounts_backupcode"
	expect_preflight_error nowhere
}

t_missing_column() {
	pre_db
	cfg_std "stale_devices, used_backup_codes" "" "[schema]" "code_used_at_column = no_such"
	expect_preflight_error no_such
}

t_missing_users_column() {
	pre_db
	# Only user_disabled reads the users table: its step must fail
	# preflight, before stale_devices deletes anything.
	cfg_std "stale_devices, user_disabled" "" "[schema]" "mfa_disabled_at_column = disabled_on"
	expect_preflight_error disabled_on
}

t_missing_key_column() {
	pre_db
	cfg_std "stale_devices, used_backup_codes" "" "[schema]" "code_id_column = code_id"
	expect_preflight_error code_id
}

t_injection_in_table_name() {
	pre_db
	cfg_std "stale_devices, used_backup_codes" "" "[schema]" \
		'codes_table = accounts_backupcode"; DROP TABLE accounts_user; --'
	expect_preflight_error
}

t_injection_in_users_table() {
	pre_db
	cfg_std "stale_devices, user_disabled" "" "[schema]" \
		'users_table = accounts_user" u; DELETE FROM accounts_backupcode; --'
	expect_preflight_error
}

t_injection_in_column_name() {
	pre_db
	cfg_std "stale_devices, used_backup_codes" "" "[schema]" \
		'code_used_column = used OR true OR used'
	expect_preflight_error
}

t_injection_in_column_with_quote() {
	pre_db
	cfg_std "stale_devices, user_disabled" "" "[schema]" \
		'device_confirmed_column = confirmed" OR "confirmed'
	expect_preflight_error
}

t_injection_in_rule_value() {
	pre_db
	# Values travel as parameters: a duration is validated, never spliced.
	cfg_std "stale_devices, used_backup_codes" "" "[rule.used_backup_codes]" \
		"max_age = 1d'; DROP TABLE accounts_user; --"
	expect_preflight_error max_age
}

t_check_config_missing_column() {
	pre_db
	cfg_std "stale_devices, used_backup_codes" "" "[schema]" "code_used_at_column = no_such"
	snap
	sweep -c "$CFG" --check-config
	assert_exit 78
	assert_contains "$ERR" no_such "stderr names the column"
	check_nothing_deleted
}

t_check_config_ok() {
	pre_db
	cfg_std "user_disabled, stale_devices, used_backup_codes"
	snap
	sweep -c "$CFG" --check-config
	assert_exit 0
	check_nothing_deleted
}

t_check_config_database_down() {
	pre_db
	mkdir -p "$T_DIR/nosrv"
	cfg_write <<CFGEOF
[database]
dsn = host=$T_DIR/nosrv dbname=$DB connect_timeout=3

[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
CFGEOF
	sweep -c "$CFG" --check-config
	assert_exit 69
	assert_int_cmp "$ELAPSED_MS" -lt 10000 "ms to report the database down"
}

# A migration holding a table lock while the nightly run starts: the
# preflight's planning waits no longer than lock_timeout, then the rules
# on that table fail with a message that blames the lock, not the config,
# while the rule on the table nothing blocks runs; exit 1, rather than
# hang until systemd kills it.  (test_reports.sh follows the summary of
# such a run to the webhook, the metrics and the ledger.)
t_table_locked_during_preflight() {
	pre_db
	CFG_LOCK_TIMEOUT=1s cfg_std "user_disabled, stale_devices, used_backup_codes"
	snap
	bg_session migration "BEGIN; LOCK TABLE otp_totp_totpdevice IN ACCESS EXCLUSIVE MODE"
	sweep -c "$CFG" --json
	assert_exit 1 "exit code with a table locked during the preflight"
	assert_int_cmp "$ELAPSED_MS" -lt 15000 "run time in ms (lock_timeout 1s)"
	assert_contains "$ERR" "table 'otp_totp_totpdevice' is locked by another session" \
		"the error blames the lock"
	assert_contains "$ERR" "the rule did not run and deleted nothing, run again later" \
		"the error says what to do"
	assert_not_contains "$ERR" "check the column names" "the error does not blame the config"
	assert_json .status failed "run status"
	assert_eq "$(rule_json stale_devices .status)" failed "the blocked rule"
	assert_eq "$(rule_json user_disabled .status)" failed "the other blocked rule"
	assert_eq "$(rule_json used_backup_codes .status)" ok "the rule nothing blocks"
	bg_end migration
	check_rows '^must-go-u101-' "only the unblocked rule's rows are gone"
	sweep -c "$CFG" --json
	assert_exit 0 "the next run, once the lock is gone"
}

run_tests "$@"
