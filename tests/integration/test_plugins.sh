#!/bin/bash
# The plugin loader and the plugin lifecycle: every broken plugin stops the
# run with 78 before anything is deleted, with a message naming the plugin
# and the problem.  The bad rule is always enabled after a good one
# (used_backup_codes) that has eligible rows, so a sweeper that deleted
# before loading everything would be caught.  Also: the plugin_dir safety
# rules, the links on the way to plugin_dir and the /proc/self/fd the
# loader loads through, ok_keys' values, --list-rules, the example
# plugins, and the plugin SDK: plugins built against the first ABI 1
# header and in C++, declared key ranges, the sweeper's explanations of
# host API mistakes and of steps that do not plan, and --print-plan.
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
	# The name is the plugin's own: [schema] is not where to look.
	assert_contains "$ERR" "the column 'no_such_column' is written in plugin 'bad_step' itself (its step's predicate)" \
		"the hint says where the name came from"
	assert_not_contains "$ERR" "[schema]" "no [schema] hint for a name the plugin wrote"
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

# ------------------------------------------------------------ plugin SDK

t_schema_column_hint() {
	fresh_db
	fx_used_codes
	cfg_std used_backup_codes "" "[schema]" "code_used_at_column = usedat"
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "column t.usedat does not exist" "the server's message"
	assert_contains "$ERR" "[schema] code_used_at_column ('$CFG' line $(line_of 'code_used_at_column')) names the column 'usedat'" \
		"the hint names the [schema] key, file and line"
	assert_contains "$ERR" "check the column names in [schema]" "the fix"
	check_nothing_deleted
}

t_placeholder_hints() {
	bad_plugin bad_sql
	expect_plugin_error bad_sql "SQLSTATE 42883" "placeholders of the predicate" \
		"nparams = 1 parameter" '($1::interval)' 'the predicate: t.used_at < now() - $1::text'
	assert_not_contains "$ERR" "[schema]" "no [schema] hint for a cast"
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, bad_sql" "" "[rule.bad_sql]" "mistake = no_cast"
	expect_plugin_error bad_sql "SQLSTATE 42P18" "placeholders of the predicate" 'the predicate: $1 IS NULL'
	# A column named in the rule's own section: that key is the fix.
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, bad_sql" "" "[rule.bad_sql]" \
		"mistake = own_column" "column = used_att"
	expect_plugin_error bad_sql "SQLSTATE 42703" \
		"[rule.bad_sql] column ('$CFG' line $(line_of 'column = used_att')) names the column 'used_att'" \
		"check [rule.bad_sql]"
	assert_not_contains "$ERR" "[schema]" "no [schema] hint for the rule's own key"
	# A joined predicate only the later windows of a walk by users run:
	# the preflight plans it too, before the first batch.
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, bad_sql" "" "[rule.bad_sql]" "mistake = joined"
	expect_plugin_error bad_sql "SQLSTATE 42703" \
		"the window DELETE with its joined_predicate" "mfa_enroled"
}

t_add_step_mistakes_explained() {
	bad_plugin bad_calls
	local m cases=(
		"unsized|add_step(): the step's size is 0 (not set); set .size = sizeof(struct sweeper_step)"
		"no_key_column|add_step(): the step on 'accounts_backupcode' has no key_column; set .key_column"
		"no_predicate|add_step(): the step on 'accounts_backupcode' has no predicate"
		"params_null|has nparams = 2 but params is NULL"
		"joined_no_user|add_step(): the step on 'accounts_backupcode' has a joined_predicate but no user_column"
		"in_init|init failed: add_step(): called from init(); steps are added in plan()"
		"ignored|plan failed: it returned success, but add_step(): the step on 'accounts_backupcode' has no key_column"
		"bad_column|config_column(): [rule.bad_calls] column = 'a.b' ('$T_DIR/sweeper.ini' line 11) is not one column name"
		"wrong_type|config_interval('column'): key 'column' is declared as string, not duration"
		"undeclared|config_column('colum'): rule 'bad_calls' declares no key 'colum'")
	for m in "${cases[@]}"; do
		# column = a.b is on line 11.
		CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, bad_calls" "" "[rule.bad_calls]" \
			"mistake = ${m%%|*}" "column = a.b"
		[ "$(line_of 'column = a.b')" = 11 ] || die "column = a.b moved in $CFG"
		sweep -c "$CFG" --print-plan
		assert_exit 78 "--print-plan with mistake ${m%%|*}"
		assert_contains "$ERR" "rule 'bad_calls': " "the message names the rule"
		assert_contains "$ERR" "${m#*|}" "the sweeper explains mistake ${m%%|*}"
		assert_eq "$OUT" "" "no plan printed with mistake ${m%%|*}"
	done
	# A real run stops before deleting anything, like any plugin error.
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, bad_calls" "" "[rule.bad_calls]" "mistake = ignored"
	expect_plugin_error bad_calls "the plugin must check what add_step() returns"
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, bad_calls"
	sweep -c "$CFG" --print-plan
	assert_exit 0 "bad_calls without a mistake"
}

t_plan_with_no_step_warns() {
	bad_plugin ok_keys
	sweep -c "$CFG" --json
	assert_exit 0
	assert_contains "$ERR" "warn: rule 'ok_keys' planned no step, so it deletes nothing" \
		"a rule without steps is warned about"
	assert_not_contains "$ERR" "rule 'used_backup_codes' planned no step" "only that rule"
}

t_cxx_plugin_loads_and_runs() {
	bad_plugin cxx_rule
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (101, 'must-go-cxx-used-2d', true, now() - interval '2 days', now() - interval '9 days'),
  (101, 'cxx-used-1h', true, now() - interval '1 hour', now() - interval '9 days'),
  (101, 'must-stay-cxx-other-prefix', true, now() - interval '2 days', now() - interval '9 days');
UPDATE accounts_backupcode SET code_hash = 'other-cxx-2d' WHERE code_hash = 'must-stay-cxx-other-prefix';
EOF
	sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules with a C++ plugin"
	assert_contains "$OUT" "[rule.cxx_rule] which (enum: used|any, default used)" "its enum key"
	assert_contains "$OUT" "[rule.cxx_rule] max_age (duration: 1h..3650d, default 1d)" "its range"
	sweep_check '^must-go-'
	assert_json "$(printf '.rules[] | select(.name == "cxx_rule") | .deleted')" 1 "rows the C++ plugin deleted"
	# which = any, read with config_enum(): a recent code goes too.
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, cxx_rule" "" "[rule.cxx_rule]" \
		"which = any" "prefix = cxx-"
	sweep_check '^cxx-used-1h'
	assert_q "SELECT count(*) FROM accounts_backupcode WHERE code_hash = 'other-cxx-2d'" 1 \
		"a code with another prefix stays"
}

t_abi1_plugin_loads_and_runs() {
	bad_plugin abi1_keys
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (101, 'must-go-abi1-used-2d', true, now() - interval '2 days', now() - interval '9 days'),
  (101, 'must-stay-abi1-used-1h', true, now() - interval '1 hour', now() - interval '9 days');
EOF
	sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules with a plugin of the first ABI 1 header"
	assert_contains "$OUT" "[rule.abi1_keys] mode (enum: keep|delete, default keep)" "its enum key"
	sweep_check '^must-go-'
	assert_contains "$ERR" "abi1_keys: host api size" "its plan() ran"
	assert_contains "$ERR" ", abi 1" "the host speaks ABI version 1"
	assert_json "$(printf '.rules[] | select(.name == "abi1_keys") | .deleted')" 1 "rows it deleted"
}

t_abi1_cxx_entry_point_named() {
	bad_plugin abi1_cxx
	expect_plugin_error abi1_cxx "exports sweeper_plugin_entry() with C++ linkage (as _Z20sweeper_plugin_entryv)" \
		"rebuild it against this sweeper's sweeper/plugin.h"
	assert_not_contains "$ERR" "declare the plugin with SWEEPER_PLUGIN()" \
		"the loader does not claim the macro was not used"
}

t_key_range_checked_by_core() {
	fresh_db
	fx_used_codes
	fx_reset_tokens
	PDIR=$(example_plugin_dir)
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, password_reset_tokens" "" \
		"[rule.password_reset_tokens]" "max_age = 3651d"
	snap
	sweep -c "$CFG" --json
	assert_exit 78 "a value outside the declared range"
	assert_contains "$ERR" "$CFG:$(line_of 'max_age'): [rule.password_reset_tokens] max_age: '3651d' is out of range; write a duration from 0 to 3650d" \
		"file, line, key, value and range"
	check_nothing_deleted
	sweep -c "$CFG" --print-plan
	assert_exit 78 "--print-plan checks the range too"
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, password_reset_tokens" "" \
		"[rule.password_reset_tokens]" "max_age = 3650d"
	sweep -c "$CFG" --print-plan
	assert_exit 0 "the range's end is inside it"
	assert_contains "$OUT" "'315360000000 milliseconds'" "config_interval() in milliseconds"
}

t_example_password_reset_tokens() {
	fresh_db
	fx_used_codes
	fx_reset_tokens
	PDIR=$(example_plugin_dir)
	CFG_PLUGIN_DIR=$PDIR cfg_std "used_backup_codes, password_reset_tokens"
	# Scoped to one user: only that user's tokens go.
	snap
	sweep -c "$CFG" --json -u 102
	assert_exit 0 "a run scoped to user 102"
	check_rows '^must-go-u102-token'
	sweep_check '^must-go-'
	assert_json "$(printf '.rules[] | select(.name == "password_reset_tokens") | .deleted')" 2 \
		"tokens deleted by the unscoped run"
}

t_example_password_reset_tokens_renamed() {
	fresh_db
	sql <<<'CREATE SCHEMA app;'
	fx_reset_tokens app.tokens
	sql <<'EOF'
ALTER TABLE app.tokens RENAME COLUMN used_at TO "Used At";
ALTER TABLE app.tokens RENAME COLUMN user_id TO owner;
EOF
	PDIR=$(example_plugin_dir)
	CFG_PLUGIN_DIR=$PDIR cfg_std "password_reset_tokens" "" "[rule.password_reset_tokens]" \
		"table = app.tokens" "user_column = owner" "used_at_column = Used At" "max_age = 1d"
	# max_age = 1d: the token expired 6 days ago goes too.
	sweep_check '^must-go-|expired-6d'
	# A column the table lacks: the hint names the rule's key and line.
	fx_reset_tokens app.tokens2
	CFG_PLUGIN_DIR=$PDIR cfg_std "password_reset_tokens" "" "[rule.password_reset_tokens]" \
		"table = app.tokens2" "used_at_column = used" "max_age = 1d"
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	assert_contains "$ERR" "[rule.password_reset_tokens] used_at_column ('$CFG' line $(line_of 'used_at_column')) names the column 'used'" \
		"the hint names the rule's key"
	assert_not_contains "$ERR" "[schema]" "not [schema]"
	check_nothing_deleted
}

# --------------------------------------------------------------- --print-plan

# A dsn no server answers: a connection attempt would hang for 30 s.
print_plan_cfg() {
	PDIR=$(example_plugin_dir)
	cfg_write <<EOF
[database]
dsn = host=192.0.2.1 port=5432 dbname=nowhere connect_timeout=30

[sweeper]
plugin_dir = $PDIR
rules = used_backup_codes, password_reset_tokens
EOF
	[ $# -eq 0 ] || printf '%s\n' "$@" >>"$CFG"
}

t_print_plan_connects_to_nothing() {
	print_plan_cfg
	command -v strace >/dev/null || die "strace is missing; run make deps"
	# LeakSanitizer does not run under ptrace.
	ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 SWEEPER_BIN=strace \
		sweep -f -qq -e trace=socket,connect -o "$T_DIR/strace.txt" \
		"$SWEEPER_BIN" -c "$CFG" --print-plan
	assert_exit 0 "--print-plan with a dsn nobody answers"
	[ "$ELAPSED_MS" -lt 10000 ] || fail "--print-plan took ${ELAPSED_MS} ms: it waited for the dsn"
	assert_eq "$(grep -cE 'AF_INET|PGSQL' "$T_DIR/strace.txt")" 0 "sockets towards a server"
	assert_contains "$OUT" "rule password_reset_tokens: 1 step (plugin $PDIR/password_reset_tokens.so)" "the rule"
	assert_contains "$OUT" "    table:         password_reset_tokens
    key column:    id
    user column:   user_id
    predicate:     t.\"used_at\" IS NOT NULL OR t.\"expires_at\" < now() - \$1::interval
    \$1:            '604800000 milliseconds'
    time columns:  password_reset_tokens.expires_at" "the step, as the run would use it"
	assert_contains "$OUT" "rule used_backup_codes: 1 step" "every rule"
	# Like the other modes that print, one at a time.
	sweep -c "$CFG" --print-plan --check-config
	assert_exit 64 "--print-plan with --check-config"
	assert_contains "$ERR" "use only one of" "the usage error"
}

t_print_plan_json() {
	print_plan_cfg "" "[rule.password_reset_tokens]" "table = app.tokens" \
		"user_column = owner_id" "max_age = 1d"
	cp "$TEST_PLUGIN_DIR/old_step.so" "$PDIR"/ && chmod 0644 "$PDIR/old_step.so"
	sed -i 's/^rules = .*/rules = password_reset_tokens, old_step/' "$CFG"
	sweep -c "$CFG" --print-plan --json
	assert_exit 0
	assert_jq '.rules | map(.name) == ["password_reset_tokens", "old_step"]' "the rules, in order"
	assert_jq '.rules[0].steps | length == 1' "one step"
	assert_jq '.rules[0].steps[0] == {"label": "password-reset tokens", "table": "app.tokens",
		"key_column": "id", "user_column": "owner_id",
		"predicate": "t.\"used_at\" IS NOT NULL OR t.\"expires_at\" < now() - $1::interval",
		"joined_predicate": null,
		"params": ["86400000 milliseconds"],
		"time_columns": [{"table": "app.tokens", "column": "expires_at"}]}' \
		"the step with the configured values"
	assert_jq '.rules[0].user_filter == null' "no user filter"
	# A plugin built before steps declared time columns: null, not [].
	assert_jq '.rules[1].steps[0].time_columns == null' "time columns not declared"
	assert_jq '.rules[1].steps[0].joined_predicate == null' \
		"nor a joined predicate, which its step is too short to hold"
	assert_jq '.rules[1].steps[0].user_column == "user_id"' "the old step's user column"
}

# user_disabled's steps carry the predicate a window that joins its users
# tests instead (struct sweeper_step's joined_predicate): the plan shows
# it beside the predicate, in text and JSON, with the filter inside both.
t_print_plan_joined_predicate() {
	print_plan_cfg "[rule.user_disabled]" "delete_confirmed_devices = false"
	sed -i 's/^rules = .*/rules = user_disabled/' "$CFG"
	sweep -c "$CFG" --print-plan
	assert_exit 0
	assert_contains "$OUT" '    joined:        NOT u."mfa_enrolled" AND u."mfa_disabled_at" IS NOT NULL AND u."mfa_disabled_at" <= now() - $1::interval AND (t."created_at" IS NULL OR t."created_at" <= u."mfa_disabled_at")
    $1:' "the codes' joined predicate, after the predicate"
	assert_contains "$OUT" 'u."mfa_disabled_at") AND NOT t."confirmed"
    $1:' "the devices' keeps the unconfirmed-only condition"
	sweep -c "$CFG" --print-plan --json
	assert_exit 0 "--json"
	assert_jq '[.rules[0].steps[].joined_predicate | startswith("NOT u.\"mfa_enrolled\"")] == [true, true]' \
		"both steps' joined predicates in JSON"
	assert_jq '.rules[0].steps[0].predicate | startswith("EXISTS (SELECT 1 FROM \"accounts_user\" AS u")' \
		"the predicate still looks the user up"
}

t_print_plan_plugin_error() {
	print_plan_cfg
	cp "$TEST_PLUGIN_DIR/init_fail.so" "$PDIR"/ && chmod 0644 "$PDIR/init_fail.so"
	sed -i 's/^rules = .*/rules = used_backup_codes, init_fail/' "$CFG"
	sweep -c "$CFG" --print-plan
	assert_exit 78 "a plugin that fails init()"
	assert_contains "$ERR" "rule 'init_fail': init failed: cannot reach the ticket system" "its message"
	assert_eq "$OUT" "" "no plan printed"
	sed -i 's/^rules = .*/rules = used_backup_codes, no_such_rule/' "$CFG"
	sweep -c "$CFG" --print-plan
	assert_exit 78 "a plugin that is not there"
	assert_contains "$ERR" "no_such_rule.so" "the missing file"
}

run_tests "$@"
