#!/bin/bash
# The three rules against a schema whose every name differs from the
# reference schema, mapped in [schema]: a schema and columns that need
# quoting (mixed case, spaces, a hyphen), key columns not named id (one of
# them text), and the reference tables dropped so nothing can fall back to
# the default names.
. "$(dirname "$0")/../lib/assert.sh"

MARK_TABLES=('"Sec Ops"."RecoveryCodes"|"Digest"' '"Sec Ops"."TotpKeys"|"Label"')

# The reference fixtures, copied into the renamed tables; then the
# reference tables go.
renamed_db() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	sql <<'EOF'
CREATE SCHEMA "Sec Ops";
CREATE TABLE "Sec Ops"."People" (
    "PersonNo"   bigint PRIMARY KEY,
    "E-Mail"     text NOT NULL UNIQUE,
    "MFA On"     boolean NOT NULL DEFAULT false,
    "MFA Off At" timestamptz
);
CREATE TABLE "Sec Ops"."TotpKeys" (
    "Key No"      text PRIMARY KEY,
    "Owner"       bigint NOT NULL REFERENCES "Sec Ops"."People" ("PersonNo"),
    "Label"       text NOT NULL,
    "IsConfirmed" boolean NOT NULL DEFAULT true,
    "Made At"     timestamptz
);
CREATE TABLE "Sec Ops"."RecoveryCodes" (
    "CodeNo"    bigint PRIMARY KEY,
    "Holder"    bigint NOT NULL REFERENCES "Sec Ops"."People" ("PersonNo"),
    "Digest"    text NOT NULL,
    "WasUsed"   boolean NOT NULL DEFAULT false,
    "Used When" timestamptz,
    "Minted"    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO "Sec Ops"."People"
  SELECT id, email, mfa_enrolled, mfa_disabled_at FROM accounts_user;
INSERT INTO "Sec Ops"."TotpKeys"
  SELECT 'key-' || lpad(id::text, 6, '0'), user_id, name, confirmed, created_at
  FROM otp_totp_totpdevice;
INSERT INTO "Sec Ops"."RecoveryCodes"
  SELECT 5000 + id, user_id, code_hash, used, used_at, created_at
  FROM accounts_backupcode;
DROP TABLE accounts_backupcode, otp_totp_totpdevice, accounts_user;
EOF
}

renamed_cfg() {
	cfg_std "user_disabled, stale_devices, used_backup_codes" \
		"batch_size = 2" \
		"" \
		"[schema]" \
		"users_table = Sec Ops.People" \
		"user_id_column = PersonNo" \
		"user_email_column = E-Mail" \
		"mfa_enrolled_column = MFA On" \
		"mfa_disabled_at_column = MFA Off At" \
		"devices_table = Sec Ops.TotpKeys" \
		"device_id_column = Key No" \
		"device_user_column = Owner" \
		"device_confirmed_column = IsConfirmed" \
		"device_created_at_column = Made At" \
		"codes_table = Sec Ops.RecoveryCodes" \
		"code_id_column = CodeNo" \
		"code_user_column = Holder" \
		"code_used_column = WasUsed" \
		"code_used_at_column = Used When" \
		"code_created_at_column = Minted" \
		"$@"
}

t_renamed_schema_all_rules() {
	renamed_db
	renamed_cfg
	sweep_check '^(must-go|conf)-'
	assert_jq '[.rules[].status] | all(. == "ok")' "every rule ok"
	# batch_size = 2 walks several batches over the text key.
	assert_jq '[.rules[].batches] | add > 3' "several batches"
}

t_renamed_schema_variants() {
	renamed_db
	renamed_cfg "" "[rule.user_disabled]" "grace = 0" "delete_confirmed_devices = false" \
		"" "[rule.stale_devices]" "max_age = 90m" "null_created_at = delete" \
		"" "[rule.used_backup_codes]" "max_age = 30d"
	# grace = 0: user 2's codes and unconfirmed device go; confirmed
	# devices (conf-*, grace-u2-dev-confirmed) stay; stale_devices at 90m
	# takes the young and NULL-dated unconfirmed devices too (u4's
	# NULL-dated unconfirmed one is must-go anyway); used codes at 30d
	# take the mid-* and recent-* ones.
	sweep_check '^(must-go-|grace-u2-code-|grace-u2-dev-unconfirmed|young-|nullts-|mid-|recent-)'
}

t_renamed_schema_scoped_by_email() {
	renamed_db
	renamed_cfg
	snap
	sweep -c "$CFG" --json -e u3@example.com -e nobody@example.com -u 7
	assert_exit 0
	check_rows '^(must-go|conf)-u3-'
	assert_json '.deleted_total' "$GONE_N" "deleted_total"
	assert_jq '.unknown_users == ["nobody@example.com"]' "unknown_users"
	assert_jq '[.rules[] | select(.name == "user_disabled") | .skipped_users[].user] | index("7") != null' \
		"user_disabled reports enrolled user 7 as skipped"
}

t_renamed_schema_check_config() {
	renamed_db
	renamed_cfg
	snap
	sweep -c "$CFG" --check-config
	assert_exit 0
	check_nothing_deleted
}

t_renamed_schema_dry_run() {
	renamed_db
	renamed_cfg
	snap
	# One rule: in a dry run two rules may count the same row.
	sweep -c "$CFG" --json -n -r user_disabled
	assert_exit 0
	check_nothing_deleted
	grep -cE '^(must-go|conf)-u[134]-' "$T_DIR/snap" >"$T_DIR/n"
	assert_json .would_delete_total "$(cat "$T_DIR/n")" "would_delete_total"
}

# The key columns left out of [schema]: each table's primary key ("Key No",
# text, and "CodeNo"), read from the catalog, is walked, by key (a fixed
# batch_size) and adaptively alike; "id", the default, names no column
# here.
t_key_from_the_primary_key() {
	local bs
	for bs in "batch_size = 2" ""; do
		renamed_db
		renamed_cfg
		sed -i -e '/^device_id_column = /d' -e '/^code_id_column = /d' \
			-e "s/^batch_size = 2\$/$bs/" "$CFG"
		sweep_check '^(must-go|conf)-'
		assert_jq '[.rules[].status] | all(. == "ok")' "every rule ok (${bs:-adaptive})"
		sweep -c "$CFG" --explain -r used_backup_codes
		assert_exit 0 "--explain (${bs:-adaptive})"
		assert_contains "$OUT" '-- key: "CodeNo", the primary key ([schema] code_id_column is not set)' \
			"--explain names the key and where it comes from"
	done
	# The key's UPDATE privilege (FOR UPDATE needs one column's) is
	# printed for the key the run walks.
	sweep -c "$CFG" --print-grants
	assert_exit 0 "--print-grants"
	assert_contains "$OUT" 'GRANT UPDATE ("CodeNo") ON "Sec Ops"."RecoveryCodes"' \
		"the codes' primary key"
	assert_contains "$OUT" 'GRANT UPDATE ("Key No") ON "Sec Ops"."TotpKeys"' \
		"the devices' primary key"
}

# A table with neither a one-column primary key nor a column named as
# the default key: a walk by key cannot start, and the message names the
# setting to write; the adaptive walk by blocks needs no key and runs.
t_table_without_a_key_names_the_setting() {
	fresh_db
	fx_used_codes
	sql <<'EOF2'
CREATE TABLE keyless_codes AS
  SELECT id AS code_serial, user_id, code_hash, used, used_at, created_at
  FROM accounts_backupcode;
DROP TABLE accounts_backupcode;
EOF2
	MARK_TABLES=('keyless_codes|code_hash')
	cfg_std used_backup_codes "batch_size = 2" "" "[schema]" "codes_table = keyless_codes"
	snap
	sweep -c "$CFG" --json
	assert_exit 78 "a walk by key with no key"
	assert_contains "$ERR" "keyless_codes" "names the table"
	assert_contains "$ERR" "set [schema] code_id_column to a unique, NOT NULL column" \
		"names the setting to write"
	check_nothing_deleted
	cfg_std used_backup_codes "" "[schema]" "codes_table = keyless_codes"
	sweep_check '^must-go-'
	# Named, the key is walked.
	sql <<'EOF2'
INSERT INTO keyless_codes (code_serial, user_id, code_hash, used, used_at, created_at)
  SELECT 1000 + i, 101, 'must-go-again-' || i, true, now() - interval '100 days', now()
  FROM generate_series(1, 5) AS i;
EOF2
	cfg_std used_backup_codes "batch_size = 2" "" "[schema]" \
		"codes_table = keyless_codes" "code_id_column = code_serial"
	sweep_check '^must-go-'
	assert_json '.rules[0].batches' 3 "batches of 2 by the named key"
}

run_tests "$@"
