#!/bin/bash
# The plugin loader and the plugin lifecycle: every broken plugin stops the
# run with 78 before anything is deleted, with a message naming the plugin
# and the problem.  The bad rule is always enabled after a good one
# (used_backup_codes) that has eligible rows, so a sweeper that deleted
# before loading everything would be caught.  Also: the plugin_dir safety
# rules, the links on the way to plugin_dir and the /proc/self/fd the
# loader loads through, ok_keys' values, --list-rules, and the example
# plugin.
. "$(dirname "$0")/../lib/assert.sh"

# bad_plugin NAME: a safe plugin dir with the real plugins and the test
# plugin NAME; config rules = used_backup_codes, NAME; eligible codes.
bad_plugin() {
	fresh_db
	fx_used_codes
	PDIR=$(plugin_copy_dir)
	cp "$TEST_PLUGIN_DIR/$1.so" "$PDIR"/ || die "no test plugin $1.so in $TEST_PLUGIN_DIR"
	chmod 0644 "$PDIR/$1.so"
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, $1"
}

# expect_plugin_error NAME NEEDLE...: run; 78, nothing deleted, stderr
# names NAME and every NEEDLE.
expect_plugin_error() {
	local name=$1 n
	shift
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "$name" "stderr names the plugin"
	for n in "$@"; do
		assert_contains "$ERR" "$n" "stderr"
	done
	check_nothing_deleted
	# --check-config finds the same problem.
	sweep -c "$CFG" --check-config
	assert_exit 78 "exit code of --check-config"
	assert_contains "$ERR" "$name" "--check-config names the plugin"
	check_nothing_deleted "nothing deleted by --check-config"
}

t_bad_magic() {
	bad_plugin bad_magic
	expect_plugin_error bad_magic magic
}

t_bad_abi_version() {
	bad_plugin bad_abi
	expect_plugin_error bad_abi abi_version 99 1
}

t_bad_size() {
	bad_plugin bad_size
	expect_plugin_error bad_size size
}

t_no_entry_symbol() {
	bad_plugin no_entry
	expect_plugin_error no_entry sweeper_plugin_entry
}

t_init_fails() {
	bad_plugin init_fail
	expect_plugin_error init_fail "cannot reach the ticket system"
	assert_not_contains "$ERR" "plan called after a failed init" "plan() is not called after init() failed"
}

t_plan_fails() {
	bad_plugin plan_fail
	expect_plugin_error plan_fail "the ticket queue is closed"
}

t_name_mismatch() {
	bad_plugin name_mismatch
	expect_plugin_error name_mismatch other_name
}

t_bad_step_missing_column() {
	bad_plugin bad_step
	expect_plugin_error bad_step no_such_column
}

t_bad_step_scoped_run() {
	bad_plugin bad_step
	snap
	sweep -c "$CFG" --json -u 101
	assert_exit 78
	check_nothing_deleted
}

t_plugin_file_missing() {
	bad_plugin bad_magic
	rm -f "$PDIR/used_backup_codes.so"
	CFG_PLUGIN_DIR=$PDIR cfg_std "stale_devices, used_backup_codes"
	fx_stale_devices
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" used_backup_codes "stderr names the missing rule"
	check_nothing_deleted
}

t_world_writable_plugin_file() {
	bad_plugin ok_keys
	chmod 0646 "$PDIR/ok_keys.so"
	expect_plugin_error ok_keys
	chmod 0644 "$PDIR/ok_keys.so"
	chmod 0666 "$PDIR/used_backup_codes.so"
	expect_plugin_error used_backup_codes
}

t_group_writable_plugin_file() {
	bad_plugin ok_keys
	chmod 0664 "$PDIR/ok_keys.so"
	expect_plugin_error ok_keys
}

t_group_writable_plugin_dir() {
	bad_plugin ok_keys
	chmod 0775 "$PDIR"
	expect_plugin_error "$PDIR"
}

t_world_writable_plugin_dir() {
	bad_plugin ok_keys
	chmod 0757 "$PDIR"
	expect_plugin_error "$PDIR"
}

t_writable_ancestor_of_plugin_dir() {
	fresh_db
	fx_used_codes
	mkdir -p "$T_DIR/open/plugins"
	chmod 0777 "$T_DIR/open"
	chmod 0755 "$T_DIR/open/plugins"
	cp "$PLUGIN_DIR/used_backup_codes.so" "$T_DIR/open/plugins/" && chmod 0644 "$T_DIR"/open/plugins/*.so
	CFG_PLUGIN_DIR=$T_DIR/open/plugins cfg_std used_backup_codes
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "$T_DIR/open" "stderr names the writable directory"
	check_nothing_deleted
}

t_plugin_file_owned_by_other_user() {
	bad_plugin ok_keys
	chown postgres "$PDIR/ok_keys.so"
	expect_plugin_error ok_keys
}

t_plugin_dir_owned_by_other_user() {
	bad_plugin ok_keys
	chown postgres "$PDIR"
	expect_plugin_error "$PDIR"
}

t_plugin_symlink_to_writable_file() {
	# A symlink in a safe dir pointing into a world-writable place must
	# not smuggle a plugin in.
	bad_plugin ok_keys
	mkdir -p "$T_DIR/open"
	chmod 0777 "$T_DIR/open"
	mv "$PDIR/ok_keys.so" "$T_DIR/open/ok_keys.so"
	chmod 0666 "$T_DIR/open/ok_keys.so"
	ln -s "$T_DIR/open/ok_keys.so" "$PDIR/ok_keys.so"
	expect_plugin_error ok_keys
}

t_plugin_symlink_to_safe_file() {
	# Even a link to a safe file is refused: the file loaded must be the
	# one in plugin_dir, opened without following anything.
	bad_plugin ok_keys
	mkdir -m 0755 "$T_DIR/safe"
	mv "$PDIR/ok_keys.so" "$T_DIR/safe/ok_keys.so"
	ln -s "$T_DIR/safe/ok_keys.so" "$PDIR/ok_keys.so"
	expect_plugin_error ok_keys "symbolic link"
}

# ---------------------------------------------- plugin_dir through links

t_plugin_dir_through_other_users_directory() {
	# plugin_dir is reached through a link in another user's directory.
	# The link points at a safe directory, but its owner could repoint it
	# between any check and any load: the path is refused.
	bad_plugin ok_keys
	mkdir -m 0755 "$T_DIR/alice"
	ln -s "$PDIR" "$T_DIR/alice/plugins"
	CFG_PLUGIN_DIR=$T_DIR/alice/plugins cfg_std "used_backup_codes, ok_keys"
	sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules through a link in root's directory"
	chown nobody "$T_DIR/alice"
	expect_plugin_error "$T_DIR/alice" owned "uid $(id -u nobody)"
}

t_plugin_dir_link_owned_by_other_user() {
	bad_plugin ok_keys
	ln -s "$PDIR" "$T_DIR/current"
	chown -h nobody "$T_DIR/current"
	CFG_PLUGIN_DIR=$T_DIR/current cfg_std "used_backup_codes, ok_keys"
	expect_plugin_error "$T_DIR/current" "symbolic link" owned
}

t_plugin_dir_through_root_link() {
	# A link root owns, as a deploy tool's "current", is followed: the
	# run loads the plugins it leads to and names them as configured.
	fresh_db
	fx_used_codes
	PDIR=$(plugin_copy_dir)
	ln -s "$(basename "$PDIR")" "$T_DIR/current"
	CFG_PLUGIN_DIR=$T_DIR/current cfg_std used_backup_codes
	sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules through a root-owned link"
	assert_contains "$OUT" "plugin: $T_DIR/current/used_backup_codes.so" "the plugin's path as configured"
	sweep_check '^must-go-'
}

t_plugins_need_proc() {
	# The loader loads the file it checked through /proc/self/fd: with
	# that hidden (an empty tmpfs over the sweeper's own fd directory; the
	# sh execs the sweeper, which keeps its pid), nothing loads, and the
	# message says why.  The rest of /proc stays, as a sanitizer runtime
	# needs it.
	bad_plugin ok_keys
	snap
	SWEEPER_BIN=unshare sweep -m --propagation private \
		sh -c 'mount -t tmpfs none "/proc/$$/fd" && exec "$0" "$@"' \
		"$SWEEPER_BIN" -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "cannot load plugin '$PDIR/used_backup_codes.so'" "the message names the plugin"
	assert_contains "$ERR" "/proc must be mounted" "the message says what is missing"
	check_nothing_deleted
}

t_ok_keys_defaults() {
	bad_plugin ok_keys
	sweep -c "$CFG" --json
	assert_exit 0
	assert_contains "$ERR" "text='hello world' flag=false count=3 wait_ms=90000 mode=keep" \
		"ok_keys gets its declared defaults"
	assert_not_contains "$ERR" "host api:" "the host API keeps its contract"
}

t_ok_keys_values() {
	bad_plugin ok_keys
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, ok_keys" "" "[rule.ok_keys]" \
		"text = two words" "flag = yes" "count = 42" "wait = 2m" "mode = delete"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_contains "$ERR" "text='two words' flag=true count=42 wait_ms=120000 mode=delete" \
		"ok_keys gets the configured values"
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, ok_keys" "" "[rule.ok_keys]" \
		"text =" "flag = OFF" "count = 0" "wait = 0" "mode = keep"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_contains "$ERR" "text='' flag=false count=0 wait_ms=0 mode=keep" \
		"ok_keys gets empty text, OFF, 0 and a bare 0 duration"
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, ok_keys" "" "[rule.ok_keys]" \
		"wait = 1500ms" "flag = 1"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_contains "$ERR" "flag=true count=3 wait_ms=1500 mode=keep" "1500ms and 1"
}

t_list_rules() {
	bad_plugin ok_keys
	CFG_PLUGIN_DIR=$PDIR cfg_std "user_disabled, stale_devices, used_backup_codes, ok_keys"
	sweep -c "$CFG" --list-rules
	assert_exit 0
	local r
	for r in user_disabled stale_devices used_backup_codes ok_keys; do
		assert_contains "$OUT" "$r" "--list-rules lists $r"
	done
	assert_contains "$OUT" "test plugin declaring one key of each type" "ok_keys' description"
	for r in grace delete_confirmed_devices max_age null_created_at 5m 24h 90d keep \
		text flag count wait mode "hello world" 90s duration bool; do
		assert_contains "$OUT" "$r" "--list-rules shows keys, types and defaults"
	done
}

t_list_rules_deletes_nothing() {
	fresh_db
	fx_used_codes
	cfg_std used_backup_codes
	snap
	sweep -c "$CFG" --list-rules
	assert_exit 0
	check_nothing_deleted
}

# ----------------------------------------------------------- example plugin

sessions_db() {
	fresh_db
	fx_used_codes
	fx_django_sessions
	PDIR=$(example_plugin_dir)
	chmod 0755 "$PDIR"
}

t_example_django_sessions() {
	sessions_db
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, django_sessions" "batch_size = 10"
	snap
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json .status ok "status"
	check_rows '^must-go-'
	assert_q "SELECT count(*) FROM django_session WHERE session_key LIKE 'expired-%'" 0 "expired sessions left"
	assert_q "SELECT count(*) FROM django_session WHERE session_key LIKE 'live-%'" 7 "live sessions left"
	assert_json "$(printf '.rules[] | select(.name == "django_sessions") | .deleted')" 25 "django_sessions deleted"
	assert_json "$(printf '.rules[] | select(.name == "django_sessions") | .batches')" 3 "django_sessions batches (25 rows, batch_size 10)"
	assert_json "$(printf '.rules[] | select(.name == "django_sessions") | .steps[0].table')" django_session "step table"
	assert_jq '.deleted_total == 27' "deleted_total (25 sessions, 2 codes)"
}

t_example_django_sessions_renamed() {
	sessions_db
	sql <<'EOF'
CREATE SCHEMA "Web";
ALTER TABLE django_session SET SCHEMA "Web";
ALTER TABLE "Web".django_session RENAME TO "Sessions";
ALTER TABLE "Web"."Sessions" RENAME COLUMN session_key TO "Key";
ALTER TABLE "Web"."Sessions" RENAME COLUMN expire_date TO "Expires At";
EOF
	CFG_PLUGIN_DIR=$PDIR cfg_std "django_sessions" "" "[rule.django_sessions]" \
		"table = Web.Sessions" "key_column = Key" "expire_column = Expires At"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_q "SELECT count(*) FROM \"Web\".\"Sessions\" WHERE \"Key\" LIKE 'expired-%'" 0 "expired sessions left"
	assert_q "SELECT count(*) FROM \"Web\".\"Sessions\" WHERE \"Key\" LIKE 'live-%'" 7 "live sessions left"
}

t_example_django_sessions_dry_run() {
	sessions_db
	CFG_PLUGIN_DIR=$PDIR cfg_std "django_sessions"
	sweep -c "$CFG" --json -n
	assert_exit 0
	assert_json .would_delete_total 25 "would_delete_total"
	assert_q "SELECT count(*) FROM django_session" 32 "sessions left after a dry run"
}

run_tests "$@"
