#!/bin/bash
# The three built-in rules against the reference schema (doc/design.md "Rule semantics"): for
# every predicate, rows that must stay right beside rows that must go.
. "$(dirname "$0")/../lib/assert.sh"

# ------------------------------------------------------------ user_disabled

t_user_disabled_default() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled
	sweep_check '^(must-go|conf)-'
	assert_json '.rules | length' 1 "one rule in the summary"
	assert_json '.rules[0].name' user_disabled "rule name"
	assert_json '.rules[0].status' ok "rule status"
	assert_json '.rules[0].error' null "rule error"
	assert_json '.rules[0].deleted' "$GONE_N" "rule deleted"
	assert_jq '([.rules[0].steps[].deleted] | add) == .rules[0].deleted' \
		"the rule's steps add up to its deleted count"
	assert_jq '[.rules[0].steps[].table] | (index("accounts_backupcode") != null and index("otp_totp_totpdevice") != null)' \
		"steps on both the codes and the devices table"
}

t_user_disabled_now_ignores_grace() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled
	sweep_check '^(must-go|conf|grace)-' --now
}

t_user_disabled_grace_zero() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled "" "[rule.user_disabled]" "grace = 0"
	sweep_check '^(must-go|conf|grace)-'
}

t_user_disabled_grace_1h_keeps_recent_disables() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled "" "[rule.user_disabled]" "grace = 1h"
	# Users 1 and 4 disabled 10 minutes ago are now inside the grace
	# period; only user 3 (10 days ago) loses anything.
	sweep_check '^(must-go|conf)-u3-'
}

# lookback = 1h: only users who disabled MFA between the grace and an
# hour before it lose anything (users 1 and 4, ten minutes ago); user 3,
# ten days ago, is left to a run without lookback, which takes it.  The
# filter keeps two users: one window of the whole users table a step.
t_user_disabled_lookback_takes_recent_disables_only() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled "" "[rule.user_disabled]" "lookback = 1h"
	sweep_check '^(must-go|conf)-u[14]-' -v
	assert_eq "$(printf '%s\n' "$ERR" | grep -c ': batch [0-9]*: .*(users blocks 0-end: the [0-9]* or fewer users the rule.s filter keeps, in one window)')" 2 \
		"each step took the filter's users in one batch"
	assert_not_contains "$ERR" ": batch 2: " "no step took a second batch"
	# The same with --now: the lookback runs back from now.
	cfg_std user_disabled "" "[rule.user_disabled]" "lookback = 2h"
	sweep_check '^(grace)-u2-' --now
	cfg_std user_disabled
	sweep_check '^(must-go|conf)-u3-'
	# A lookback that is not a duration is refused, naming it.
	cfg_std user_disabled "" "[rule.user_disabled]" "lookback = an hour"
	sweep -c "$CFG" --check-config
	assert_exit 78 "a bad lookback"
	assert_contains "$ERR" "lookback" "the message names the key"
}

t_user_disabled_keep_confirmed_devices() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled "" "[rule.user_disabled]" "delete_confirmed_devices = false"
	sweep_check '^must-go-'
}

t_user_disabled_keep_confirmed_with_now() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled "" "[rule.user_disabled]" "delete_confirmed_devices = no"
	# grace-u2-dev-confirmed is confirmed: kept even with --now.
	sweep_check '^(must-go|grace-u2-code|grace-u2-dev-unconfirmed)' --now
}

t_user_disabled_empty_device_created_at_column() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled "" "[schema]" "device_created_at_column ="
	# Every device of a disabled user counts as created before the
	# disable, including user 3's fresh one; codes still use created_at.
	sweep_check '^(must-go|conf|new-dev)-'
}

t_user_disabled_empty_code_created_at_column() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled "" "[schema]" "code_created_at_column ="
	sweep_check '^(must-go|conf|new-code)-'
}

t_user_disabled_enrolled_user_named() {
	fresh_db
	fx_user_disabled
	cfg_std user_disabled
	# User 5 re-enabled MFA, user 7 is enrolled: a scoped run naming them
	# deletes nothing of theirs (nor anyone else's) and reports them.
	snap
	sweep -c "$CFG" --json -u 5 --user-id 7
	assert_exit 0
	check_nothing_deleted
	assert_json .deleted_total 0 "deleted_total"
	assert_jq '.rules[0].skipped_users | type == "array"' "skipped_users is an array"
	assert_jq '[.rules[0].skipped_users[].user] | sort == ["5", "7"]' \
		"skipped_users names users 5 and 7 by id as text"
	assert_jq '[.rules[0].skipped_users[].reason | type == "string" and length > 0] | all' \
		"every skipped user has a reason"
}

# ------------------------------------------------------------ stale_devices

t_stale_devices_default() {
	fresh_db
	fx_stale_devices
	fx_user_disabled
	cfg_std stale_devices
	# Unconfirmed devices older than 24h go, whoever owns them: user
	# 201's, and the 20-day-old ones of users 1 and 3 from the
	# user_disabled fixture.  Everything else stays.
	sweep_check '^must-go-(u201-|u1-dev-|u3-dev-)'
	assert_json '.rules[0].steps[0].table' otp_totp_totpdevice "step table"
}

t_stale_devices_null_created_at_delete() {
	fresh_db
	fx_stale_devices
	cfg_std stale_devices "" "[rule.stale_devices]" "null_created_at = delete"
	sweep_check '^(must-go|nullts)-'
}

t_stale_devices_null_created_at_keep() {
	fresh_db
	fx_stale_devices
	cfg_std stale_devices "" "[rule.stale_devices]" "null_created_at = keep"
	sweep_check '^must-go-'
}

t_stale_devices_max_age_1h() {
	fresh_db
	fx_stale_devices
	cfg_std stale_devices "" "[rule.stale_devices]" "max_age = 1h"
	sweep_check '^(must-go|young)-'
}

t_stale_devices_max_age_48h() {
	fresh_db
	fx_stale_devices
	cfg_std stale_devices "" "[rule.stale_devices]" "max_age = 2d"
	# Only the 30-day-old one is older than 2 days.
	sweep_check '^must-go-u201-unconfirmed-30d'
}

# -------------------------------------------------------- used_backup_codes

t_used_backup_codes_default() {
	fresh_db
	fx_used_codes
	fx_user_disabled
	cfg_std used_backup_codes
	sweep_check '^must-go-u101-'
	assert_json '.rules[0].steps[0].table' accounts_backupcode "step table"
}

t_used_backup_codes_max_age_30d() {
	fresh_db
	fx_used_codes
	cfg_std used_backup_codes "" "[rule.used_backup_codes]" "max_age = 30d"
	sweep_check '^(must-go|mid|recent)-'
}

t_used_backup_codes_empty_used_column() {
	fresh_db
	fx_used_codes
	cfg_std used_backup_codes "" "[schema]" "code_used_column ="
	# used_at IS NOT NULL decides: the unused code with an old used_at
	# goes; the used code with NULL used_at stays.
	sweep_check '^(must-go|unusedat)-'
}

# ------------------------------------------------------------ all together

t_all_rules_together() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	cfg_std "user_disabled, stale_devices, used_backup_codes"
	sweep_check '^(must-go|conf)-'
	assert_jq '[.rules[].name] == ["user_disabled", "stale_devices", "used_backup_codes"]' \
		"rules in config order"
	assert_jq '[.rules[].status] | all(. == "ok")' "every rule ok"
	assert_jq '([.rules[].deleted] | add) == .deleted_total' \
		"rules add up to deleted_total"
}

run_tests "$@"
