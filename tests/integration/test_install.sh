#!/bin/bash
# `make install`, `make uninstall` and the plugin page's walk-through, as
# a new team would follow them: make, install under a PREFIX into a
# DESTDIR (compiling nothing again), then build the man page's plugin (the
# installed example) with its one line against the installed header and
# pkg-config file alone, install it next to the built-in rules, and run
# it; uninstall removes what install installed and nothing of the team's.
. "$(dirname "$0")/../lib/assert.sh"

# tree_make TARGET LOG [VAR=VALUE...]: make TARGET for this test's
# installation (PREFIX=/opt/mfa into $T_DIR/root) from a build tree of the
# test's own, so the suite's build/ keeps its PREFIX; output to LOG.
tree_make() {
	local target=$1 log=$2
	shift 2
	# The outer make's flags (jobs, -s) are not this make's business.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		make -C "$T_ROOT" --no-print-directory "$target" \
		BUILD="$T_DIR/build" CFLAGS=-O0 PREFIX=/opt/mfa \
		SYSCONFDIR=/opt/mfa/etc DESTDIR="$T_DIR/root" "$@" \
		>"$log" 2>&1 ||
		die "make $target failed: $(tail -n 20 "$log")"
}

# install_tree: `make`, then `make install`, as README.md says.  Sets
# ROOT_DIR (DESTDIR) and INST (DESTDIR + PREFIX); the output of the two
# is in $T_DIR/make-all.log and $T_DIR/make.log.
install_tree() {
	ROOT_DIR=$T_DIR/root
	INST=$ROOT_DIR/opt/mfa
	tree_make all "$T_DIR/make-all.log"
	tree_make install "$T_DIR/make.log"
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
		lib/systemd/system/mfa-sweeper.service lib/systemd/system/mfa-sweeper.timer \
		lib/pkgconfig/mfa-sweeper-plugin.pc \
		share/doc/mfa-sweeper/examples/django_sessions.c \
		share/doc/mfa-sweeper/examples/password_reset_tokens.c; do
		[ -f "$INST/$f" ] || fail "make install did not install $f"
	done
	# Every man page doc/ has, uncompressed (a package compresses them).
	local page sec n=0
	for page in mfa-sweeper.1 mfa-sweeper.ini.5 mfa-sweeper-plugin.7; do
		sec=${page##*.}
		[ -f "$T_ROOT/doc/$page" ] || continue
		n=$((n + 1))
		cmp -s "$T_ROOT/doc/$page" "$INST/share/man/man$sec/$page" ||
			fail "make install did not install doc/$page as share/man/man$sec/$page"
		assert_eq "$(mode "$INST/share/man/man$sec/$page")" 644 "mode of $page"
	done
	assert_eq "$(find "$INST/share/man" -type f 2>/dev/null | wc -l)" "$n" \
		"man pages installed (those doc/ has)"
	assert_eq "$(mode "$INST/bin/mfa-sweeper")" 755 "mode of the binary"
	assert_eq "$(mode "$INST/lib/mfa-sweeper/plugins/user_disabled.so")" 755 "mode of a plugin"
	assert_eq "$(mode "$INST/lib/mfa-sweeper/plugins")" 755 "mode of plugin_dir"
	assert_eq "$(mode "$INST/include/sweeper/plugin.h")" 644 "mode of the header"
	assert_eq "$(mode "$INST/etc/mfa-sweeper/mfa-sweeper.ini.example")" 644 "mode of the example config"
	assert_eq "$(mode "$INST/etc/mfa-sweeper/mfa-sweeper.cron.example")" 644 "mode of the cron example"
	assert_eq "$(mode "$INST/lib/systemd/system/mfa-sweeper.service")" 644 "mode of the service unit"
	assert_eq "$(mode "$INST/lib/systemd/system/mfa-sweeper.timer")" 644 "mode of the timer unit"
	assert_eq "$(mode "$INST/lib/pkgconfig/mfa-sweeper-plugin.pc")" 644 "mode of the pkg-config file"
	assert_eq "$(mode "$INST/share/doc/mfa-sweeper/examples/password_reset_tokens.c")" 644 "mode of an example"
	# The examples installed are the sources of the tree, unchanged.
	cmp -s "$INST/share/doc/mfa-sweeper/examples/password_reset_tokens.c" \
		"$T_ROOT/plugins/examples/password_reset_tokens.c" ||
		fail "the installed example differs from plugins/examples/password_reset_tokens.c"
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
	# What a plugin author reads from it, and what `make install` rebuilt:
	# nothing.
	check_pkg_config_file
	check_install_built_nothing
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

# check_install_built_nothing: after install_tree, `make install` compiled
# nothing `make` had built, and make -q and make -n agree.
check_install_built_nothing() {
	local bin=$T_DIR/build/mfa-sweeper
	local plugin=$T_DIR/build/plugins/used_backup_codes.so
	local before after
	grep -q -- '-o .*/mfa-sweeper ' "$T_DIR/make-all.log" ||
		die "make did not build the binary: $(tail -n 5 "$T_DIR/make-all.log")"
	# What make built, it built: the install log shows no compiler.
	assert_eq "$(grep -cE -- ' -c -o | -shared ' "$T_DIR/make.log")" 0 \
		"compiler runs in make install after make"
	# make -q agrees that nothing is left to build, and make -n plans no
	# compiler run for another install.
	before=$(stat -c '%y %n' "$bin" "$plugin")
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE make -C "$T_ROOT" -q all \
		BUILD="$T_DIR/build" CFLAGS=-O0 PREFIX=/opt/mfa SYSCONFDIR=/opt/mfa/etc \
		DESTDIR="$ROOT_DIR" >/dev/null 2>&1
	assert_eq "$?" 0 "make -q all after make and make install"
	tree_make install "$T_DIR/make-n.log" -n
	assert_eq "$(grep -cE -- ' -c -o | -shared ' "$T_DIR/make-n.log")" 0 \
		"compiler runs make -n install plans"
	tree_make install "$T_DIR/make2.log"
	assert_eq "$(grep -cE -- ' -c -o | -shared ' "$T_DIR/make2.log")" 0 \
		"compiler runs in a second make install"
	after=$(stat -c '%y %n' "$bin" "$plugin")
	assert_eq "$after" "$before" "mtimes of the built binary and plugin"
	cmp -s "$bin" "$INST/bin/mfa-sweeper" || fail "the installed binary is not the one make built"
	# Other flags are another build: make -q says so.
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE make -C "$T_ROOT" -q all \
		BUILD="$T_DIR/build" CFLAGS=-O0 PREFIX=/opt/other >/dev/null 2>&1
	assert_eq "$?" 1 "make -q all with another PREFIX"
}

# check_pkg_config_file: after install_tree, the installed
# mfa-sweeper-plugin.pc says what a plugin author needs.
check_pkg_config_file() {
	local pc=(env PKG_CONFIG_PATH="$INST/lib/pkgconfig" pkg-config)
	"${pc[@]}" --validate mfa-sweeper-plugin ||
		fail "pkg-config --validate refuses mfa-sweeper-plugin.pc"
	# pkgconf ends its output with a blank: compare the words.
	assert_eq "$(echo $("${pc[@]}" --cflags mfa-sweeper-plugin))" \
		"-I/opt/mfa/include -fvisibility=hidden" "--cflags"
	assert_eq "$(echo $("${pc[@]}" --libs mfa-sweeper-plugin))" "" \
		"--libs: a plugin links against nothing of the sweeper"
	assert_eq "$("${pc[@]}" --variable=plugindir mfa-sweeper-plugin)" \
		/opt/mfa/lib/mfa-sweeper/plugins "plugindir: this PREFIX's plugin_dir"
	assert_eq "$("${pc[@]}" --variable=examplesdir mfa-sweeper-plugin)" \
		/opt/mfa/share/doc/mfa-sweeper/examples "examplesdir"
	assert_eq "$("${pc[@]}" --variable=abi_version mfa-sweeper-plugin)" \
		"$(sed -n 's/^#define SWEEPER_ABI_VERSION \([0-9]*\)u$/\1/p' "$INST/include/sweeper/plugin.h")" \
		"abi_version: the installed header's SWEEPER_ABI_VERSION"
	assert_eq "$("${pc[@]}" --variable=abi_version mfa-sweeper-plugin)" 1 "abi_version"
	assert_contains "$("$INST/bin/mfa-sweeper" --version)" \
		"mfa-sweeper $("${pc[@]}" --modversion mfa-sweeper-plugin) (plugin ABI 1)" \
		"the pc file's version is the sweeper's"
	# The plugin_dir the binary loads from by default is the pc file's.
	fresh_db
	CFG=$T_DIR/no-plugin-dir.ini
	printf '[database]\ndsn = dbname=%s\n' "$DB" >"$CFG"
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --list-rules
	assert_contains "$ERR" "$("${pc[@]}" --variable=plugindir mfa-sweeper-plugin)" \
		"the binary's built-in plugin_dir"
}

# Exactly what install installed: a team's plugin in plugin_dir, installed
# where README.md says, and the operator's config next to the example stay.
t_make_uninstall_removes_everything() {
	install_tree
	local plugdir=$INST/lib/mfa-sweeper/plugins
	printf 'not really a plugin\n' >"$plugdir/password_reset_tokens.so"
	printf '[database]\ndsn = dbname=app\n' >"$INST/etc/mfa-sweeper/mfa-sweeper.ini"
	tree_make uninstall "$T_DIR/make.log"
	[ -f "$plugdir/password_reset_tokens.so" ] ||
		fail "make uninstall deleted a team's plugin from plugin_dir"
	[ -f "$INST/etc/mfa-sweeper/mfa-sweeper.ini" ] ||
		fail "make uninstall deleted the operator's config"
	assert_eq "$(cd "$ROOT_DIR" && find . -type f | sort)" \
		"./opt/mfa/etc/mfa-sweeper/mfa-sweeper.ini
./opt/mfa/lib/mfa-sweeper/plugins/password_reset_tokens.so" \
		"the files make uninstall left: only those it did not install"
	rm "$plugdir/password_reset_tokens.so" "$INST/etc/mfa-sweeper/mfa-sweeper.ini"
	assert_eq "$(find "$ROOT_DIR" -type f)" "" "files left after make uninstall"
	# The sweeper's own directories go too, once empty.
	tree_make uninstall "$T_DIR/make2.log"
	assert_eq "$(cd "$INST" && find . -path '*mfa-sweeper*' -o -path './include/sweeper')" "" \
		"directories of the sweeper's left after make uninstall"
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

# The C block of mfa-sweeper-plugin(7), EXAMPLE, as a reader copies it.
. "$(dirname "$0")/../lib/docs.sh"
manpage_plugin() {
	man_block "$T_ROOT/doc/mfa-sweeper-plugin.7" c
}

# The man page's plugin is the installed example, built as a team would
# with the one line of mfa-sweeper-plugin(7) "BUILDING", against the installed header and pc
# file alone, installed into plugin_dir and run against a real table.
t_manpage_plugin_builds_and_runs() { # slow
	install_tree
	local plugdir=$INST/lib/mfa-sweeper/plugins
	local example=$INST/share/doc/mfa-sweeper/examples/password_reset_tokens.c
	manpage_plugin >"$T_DIR/manpage.c"
	[ -s "$T_DIR/manpage.c" ] || die "no block marked 'doctest: c' in doc/mfa-sweeper-plugin.7"
	cmp -s "$T_DIR/manpage.c" "$example" ||
		fail "the man page's plugin differs from the installed example: $(diff "$T_DIR/manpage.c" "$example" | head -n 5)"
	[ "$(wc -l <"$example")" -lt 60 ] || fail "the example plugin has $(wc -l <"$example") lines, not under 60"
	mkdir "$T_DIR/team"
	cp "$example" "$T_DIR/team/rule.c"
	# Exactly the one line, with pkg-config finding the installed pc file
	# (and, under DESTDIR, the header where it was installed).
	(
		cd "$T_DIR/team" || exit 1
		export PKG_CONFIG_PATH=$INST/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$ROOT_DIR
		cc -shared -fPIC $(pkg-config --cflags mfa-sweeper-plugin) -o rule.so rule.c
	) >"$T_DIR/cc.log" 2>&1 || die "the example does not build: $(cat "$T_DIR/cc.log")"
	assert_eq "$(cat "$T_DIR/cc.log")" "" "compiler output of the one-line build"
	assert_eq "$(nm -D --defined-only "$T_DIR/team/rule.so" | awk '$2 == "T" { print $3 }')" \
		sweeper_plugin_entry "the one exported function"
	# It is clean C11 and C++20 under every warning the project uses.
	cc -std=c11 -Wall -Wextra -Werror -Wpedantic -fsyntax-only -I"$INST/include" \
		"$T_DIR/team/rule.c" >"$T_DIR/cc.log" 2>&1 ||
		fail "the example warns as C: $(cat "$T_DIR/cc.log")"
	g++ -x c++ -std=c++20 -Wall -Wextra -Werror -shared -fPIC -I"$INST/include" \
		-fvisibility=hidden -o "$T_DIR/team/rule_cxx.so" "$T_DIR/team/rule.c" >"$T_DIR/cc.log" 2>&1 ||
		fail "the example does not build as C++: $(cat "$T_DIR/cc.log")"
	assert_eq "$(nm -D --defined-only "$T_DIR/team/rule_cxx.so" | awk '$2 == "T" { print $3 }')" \
		sweeper_plugin_entry "the C++ build's entry point, not mangled"
	install -m 0644 "$T_DIR/team/rule.so" "$plugdir/password_reset_tokens.so"

	fresh_db
	fx_used_codes
	fx_reset_tokens
	CFG=$T_DIR/sweeper.ini
	cfg_write <<EOF
[database]
dsn = dbname=$DB

[sweeper]
plugin_dir = $plugdir
rules = used_backup_codes, password_reset_tokens
EOF
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules with the man page plugin"
	assert_contains "$OUT" "password_reset_tokens 1.0: delete used or long-expired reset tokens" \
		"--list-rules describes the man page plugin"
	assert_contains "$OUT" "[rule.password_reset_tokens] max_age (duration: 0..3650d, default 7d)" \
		"--list-rules shows its key and range"
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --print-plan -r password_reset_tokens
	assert_exit 0 "--print-plan of the man page plugin"
	assert_contains "$OUT" "'604800000 milliseconds'" "its max_age as an interval"
	snap
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --json -r password_reset_tokens
	assert_exit 0 "a run of the man page plugin"
	assert_json '.rules[0].deleted' 4 "rows the man page plugin deleted"
	check_rows '^must-go-u10[12]-token'
	# Built as C++, it loads and plans the same.
	install -m 0644 "$T_DIR/team/rule_cxx.so" "$plugdir/password_reset_tokens.so"
	SWEEPER_BIN=$INST/bin/mfa-sweeper sweep -c "$CFG" --print-plan -r password_reset_tokens
	assert_exit 0 "--print-plan of the man page plugin built as C++"
	assert_contains "$OUT" "'604800000 milliseconds'" "the C++ build's plan"
}

run_tests "$@"
