#!/bin/bash
# `make install` and the README's plugin walk-through, as a new team would
# follow them: install under a PREFIX into a DESTDIR, then build the
# README's minimal plugin against the installed header alone, install it
# next to the built-in rules, and run it.
. "$(dirname "$0")/../lib/assert.sh"

# install_tree: `make install` into $T_DIR/root with PREFIX=/opt/mfa, from a
# build tree of the test's own, so the suite's build/ keeps its PREFIX.
# Sets ROOT_DIR (DESTDIR) and INST (DESTDIR + PREFIX).
install_tree() {
	ROOT_DIR=$T_DIR/root
	INST=$ROOT_DIR/opt/mfa
	# The outer make's flags (jobs, -s) are not this make's business.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		make -C "$T_ROOT" --no-print-directory install \
		BUILD="$T_DIR/build" CFLAGS=-O0 PREFIX=/opt/mfa \
		SYSCONFDIR=/opt/mfa/etc DESTDIR="$ROOT_DIR" \
		>"$T_DIR/make.log" 2>&1 ||
		die "make install failed: $(tail -n 20 "$T_DIR/make.log")"
	# The test's temp dir is 0700; the plugin loader wants every
	# ancestor of plugin_dir closed to others' writes, which it is, and
	# owned by root or us, which it is.
	chmod 0755 "$T_DIR"
}

# mode PATH: octal permission bits.
mode() {
	stat -c '%a' "$1"
}

t_make_install_layout() {
	install_tree
	local f
	for f in bin/mfa-sweeper lib/mfa-sweeper/plugins/user_disabled.so \
		lib/mfa-sweeper/plugins/stale_devices.so \
		lib/mfa-sweeper/plugins/used_backup_codes.so \
		include/sweeper/plugin.h etc/mfa-sweeper/mfa-sweeper.ini.example \
		etc/mfa-sweeper/mfa-sweeper.cron.example \
		lib/systemd/system/mfa-sweeper.service lib/systemd/system/mfa-sweeper.timer; do
		[ -f "$INST/$f" ] || fail "make install did not install $f"
	done
	assert_eq "$(mode "$INST/bin/mfa-sweeper")" 755 "mode of the binary"
	assert_eq "$(mode "$INST/lib/mfa-sweeper/plugins/user_disabled.so")" 755 "mode of a plugin"
	assert_eq "$(mode "$INST/lib/mfa-sweeper/plugins")" 755 "mode of plugin_dir"
	assert_eq "$(mode "$INST/include/sweeper/plugin.h")" 644 "mode of the header"
	assert_eq "$(mode "$INST/etc/mfa-sweeper/mfa-sweeper.ini.example")" 644 "mode of the example config"
	assert_eq "$(mode "$INST/etc/mfa-sweeper/mfa-sweeper.cron.example")" 644 "mode of the cron example"
	assert_eq "$(mode "$INST/lib/systemd/system/mfa-sweeper.service")" 644 "mode of the service unit"
	assert_eq "$(mode "$INST/lib/systemd/system/mfa-sweeper.timer")" 644 "mode of the timer unit"
	# Nothing is scheduled by installing: no cron.d entry, no enabled timer.
	assert_eq "$(find "$ROOT_DIR" -path '*cron.d*' -o -name '*.wants' | wc -l)" 0 \
		"cron.d entries or .wants links made by make install"
	# Only the public header is installed, and no test plugin.
	assert_eq "$(find "$INST/include" -type f | wc -l)" 1 "files under include/"
	assert_eq "$(find "$INST/lib/mfa-sweeper/plugins" -type f | wc -l)" 3 "files in plugin_dir"
	# The example config names the plugin_dir of this PREFIX.
	assert_eq "$(grep '^plugin_dir' "$INST/etc/mfa-sweeper/mfa-sweeper.ini.example")" \
		"plugin_dir = /opt/mfa/lib/mfa-sweeper/plugins" "plugin_dir in the example config"
	# The deployment files name this PREFIX's binary and SYSCONFDIR.
	local svc=$INST/lib/systemd/system/mfa-sweeper.service
	local cron=$INST/etc/mfa-sweeper/mfa-sweeper.cron.example
	assert_eq "$(grep '^ExecStart=' "$svc")" \
		"ExecStart=/opt/mfa/bin/mfa-sweeper --config /opt/mfa/etc/mfa-sweeper/mfa-sweeper.ini" \
		"ExecStart= of the installed service"
	assert_eq "$(grep '^LoadCredential=' "$svc")" \
		"LoadCredential=db-password:/opt/mfa/etc/mfa-sweeper/db-password
LoadCredential=webhook-secret:/opt/mfa/etc/mfa-sweeper/webhook-secret" \
		"LoadCredential= of the installed service"
	assert_contains "$(grep -v '^#' "$cron")" \
		"/opt/mfa/bin/mfa-sweeper --config /opt/mfa/etc/mfa-sweeper/mfa-sweeper.ini" \
		"the command of the installed cron example"
	assert_contains "$(cat "$cron")" "/opt/mfa/etc/mfa-sweeper/db-password" \
		"the password file the installed cron example names"
	local left
	left=$(grep -nE '/usr/local/bin/mfa-sweeper|(^|[^a-z])/etc/mfa-sweeper/' "$svc" "$INST/lib/systemd/system/mfa-sweeper.timer" "$cron")
	assert_eq "$left" "" "default paths left in the installed deployment files"
	# The binary's built-in plugin_dir is this PREFIX's, not the default.
	fresh_db
	CFG=$T_DIR/no-plugin-dir.ini
	printf '[database]\ndsn = dbname=%s\n' "$DB" >"$CFG"
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --list-rules
	assert_exit 78 "exit code with the built-in plugin_dir absent under DESTDIR"
	assert_contains "$ERR" "/opt/mfa/lib/mfa-sweeper/plugins" \
		"the binary looks for plugins under its PREFIX"
	assert_contains "$ERR" "$CFG: [sweeper] plugin_dir is not set" \
		"the error says the built-in plugin_dir is in use"
}

t_make_uninstall_removes_everything() {
	install_tree
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		make -C "$T_ROOT" --no-print-directory uninstall \
		BUILD="$T_DIR/build" CFLAGS=-O0 PREFIX=/opt/mfa \
		SYSCONFDIR=/opt/mfa/etc DESTDIR="$ROOT_DIR" \
		>"$T_DIR/make.log" 2>&1 ||
		die "make uninstall failed: $(tail -n 20 "$T_DIR/make.log")"
	assert_eq "$(find "$ROOT_DIR" -type f)" "" "files left after make uninstall"
}

t_installed_example_config_runs() { # slow
	install_tree
	fresh_db
	fx_used_codes
	# The example config as an operator edits it: dsn, and plugin_dir
	# where DESTDIR put the plugins.
	CFG=$T_DIR/mfa-sweeper.ini
	sed -e "s|^dsn =.*|dsn = dbname=$DB|" \
		-e "s|^plugin_dir = .*|plugin_dir = $INST/lib/mfa-sweeper/plugins|" \
		"$INST/etc/mfa-sweeper/mfa-sweeper.ini.example" >"$CFG"
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --check-config
	assert_exit 0 "--check-config with the installed example config"
	snap
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --json
	assert_exit 0 "a run with the installed example config"
	check_rows '^must-go-'
}

# The C block under "### A minimal complete plugin" in README.md.
readme_plugin() {
	awk '/^### A minimal complete plugin/ { s = 1 }
	     s && /^```c$/ { c = 1; next }
	     c && /^```$/ { exit }
	     c { print }' "$T_ROOT/README.md"
}

t_readme_plugin_builds_and_runs() { # slow
	install_tree
	local plugdir=$INST/lib/mfa-sweeper/plugins
	readme_plugin >"$T_DIR/password_resets.c"
	[ -s "$T_DIR/password_resets.c" ] || die "no C block under '### A minimal complete plugin' in README.md"
	# Exactly the README's build command, against the installed header.
	cc -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror \
		-I"$INST/include" -o "$T_DIR/password_resets.so" \
		"$T_DIR/password_resets.c" 2>"$T_DIR/cc.log" ||
		die "the README plugin does not build: $(cat "$T_DIR/cc.log")"
	assert_eq "$(nm -D --defined-only "$T_DIR/password_resets.so" | awk '$2 == "T" { print $3 }')" \
		sweeper_plugin_entry "the one exported function"
	install -m 0644 "$T_DIR/password_resets.so" "$plugdir/"

	fresh_db
	sql <<'EOF'
CREATE TABLE accounts_passwordreset (
    id bigserial PRIMARY KEY, user_id bigint, token text NOT NULL,
    created_at timestamptz);
INSERT INTO accounts_passwordreset (user_id, token, created_at) VALUES
  (1, 'must-go-3d', now() - interval '3 days'),
  (1, 'must-go-25h', now() - interval '25 hours'),
  (2, 'must-stay-23h', now() - interval '23 hours'),
  (2, 'must-stay-now', now()),
  (3, 'must-stay-null', NULL);
EOF
	CFG=$T_DIR/sweeper.ini
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $plugdir
rules = used_backup_codes, password_resets
EOF
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules with the README plugin"
	assert_contains "$OUT" "password_resets 1.0: delete password-reset tokens older than max_age" \
		"--list-rules describes the README plugin"
	assert_contains "$OUT" "[rule.password_resets] max_age (duration, default 1d)" \
		"--list-rules shows its key"
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --json -r password_resets
	assert_exit 0 "a run of the README plugin"
	assert_json '.rules[0].deleted' 2 "rows the README plugin deleted"
	assert_q "SELECT string_agg(token, ',' ORDER BY token) FROM accounts_passwordreset" \
		"must-stay-23h,must-stay-now,must-stay-null" "the rows that must stay"
}

run_tests "$@"
