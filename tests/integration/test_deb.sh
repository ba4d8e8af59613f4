#!/bin/bash
# `make deb`, as a packager and then an operator would meet it: the two
# packages are built once from a staged `make install`, their contents and
# control data read back with dpkg-deb, checked with lintian, installed
# with dpkg into a throwaway root (the machine's own dpkg database and
# /usr are left as they were), and the installed program run from there:
# --version, and --print-plan of the example plugin built with the
# installed pkg-config file.
. "$(dirname "$0")/../lib/assert.sh"

# The man pages a package must hold whenever doc/ has their source.
MAN_PAGES="mfa-sweeper.1 mfa-sweeper.ini.5 mfa-sweeper-plugin.7"

# deb_build: `make deb` into $T_DIR/deb, from the tree's sources, with a
# build tree of its own (the suite's build/ keeps its PREFIX).  Sets
# VERSION (the package version), ARCH, MAIN_DEB and DEV_DEB.  Built at
# -O0 -g, which compiles in a third of the time of -O2 (and leaves debug
# information for the packaging to strip): this test is about the
# packaging; the hardening of an optimised build is
# hardening/t_build_is_hardened's (at -O0 lintian only notes the
# fortified functions it cannot find).
deb_build() {
	local upstream
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		make -C "$T_ROOT" --no-print-directory -j2 deb DEB_BUILD="$T_DIR/deb" \
		CFLAGS="-O0 -g" >"$T_DIR/make.log" 2>&1 ||
		die "make deb failed: $(tail -n 20 "$T_DIR/make.log")"
	upstream=$(sed -n 's/^#define SWEEPER_VERSION "\(.*\)"$/\1/p' "$T_ROOT/src/cli.h")
	[ -n "$upstream" ] || die "no SWEEPER_VERSION in src/cli.h"
	VERSION=$upstream-1
	ARCH=$(dpkg --print-architecture)
	MAIN_DEB=$T_DIR/deb/mfa-sweeper_${VERSION}_$ARCH.deb
	DEV_DEB=$T_DIR/deb/mfa-sweeper-dev_${VERSION}_$ARCH.deb
	[ -f "$MAIN_DEB" ] || die "make deb made no $(basename "$MAIN_DEB"): $(ls "$T_DIR/deb")"
	[ -f "$DEV_DEB" ] || die "make deb made no $(basename "$DEV_DEB"): $(ls "$T_DIR/deb")"
}

# files_of DEB: the paths of the regular files and links in DEB, sorted.
files_of() {
	dpkg-deb -c "$1" | awk '$1 !~ /^d/ { sub(/^\.\//, "", $6); print $6 }' | LC_ALL=C sort
}

# check_contents: each package holds exactly its files, owned by root.
check_contents() {
	local want page sec
	want="etc/mfa-sweeper
lib/systemd/system/mfa-sweeper.service
lib/systemd/system/mfa-sweeper.timer
usr/bin/mfa-sweeper
usr/lib/mfa-sweeper/plugins/stale_devices.so
usr/lib/mfa-sweeper/plugins/used_backup_codes.so
usr/lib/mfa-sweeper/plugins/user_disabled.so
usr/share/doc/mfa-sweeper/changelog.Debian.gz
usr/share/doc/mfa-sweeper/copyright
usr/share/doc/mfa-sweeper/examples/mfa-sweeper.cron.example
usr/share/doc/mfa-sweeper/examples/mfa-sweeper.ini.example
usr/share/lintian/overrides/mfa-sweeper"
	# Every page doc/ has is in the package, compressed as policy wants.
	for page in $MAN_PAGES; do
		sec=${page##*.}
		[ -f "$T_ROOT/doc/$page" ] || continue
		want+=$'\n'"usr/share/man/man$sec/$page.gz"
		files_of "$MAIN_DEB" | grep -qxF "usr/share/man/man$sec/$page.gz" ||
			fail "doc/$page exists but the package lacks usr/share/man/man$sec/$page.gz"
	done
	assert_eq "$(files_of "$MAIN_DEB" | grep -v '^etc/mfa-sweeper$')" \
		"$(LC_ALL=C sort <<<"$want" | grep -v '^etc/mfa-sweeper$')" \
		"the files of $(basename "$MAIN_DEB")"
	# /etc/mfa-sweeper is the package's directory, empty: the operator's
	# config and secrets go there, and are never the package's files.
	assert_eq "$(dpkg-deb -c "$MAIN_DEB" | awk '$6 ~ /^\.\/etc\/./ { print $1, $6 }')" \
		"drwxr-xr-x ./etc/mfa-sweeper/" "what the package has under /etc"
	assert_eq "$(files_of "$DEV_DEB")" \
		"usr/include/sweeper/plugin.h
usr/share/doc/mfa-sweeper-dev/changelog.Debian.gz
usr/share/doc/mfa-sweeper-dev/copyright
usr/share/doc/mfa-sweeper-dev/examples/django_sessions.c
usr/share/doc/mfa-sweeper-dev/examples/password_reset_tokens.c
usr/share/lintian/overrides/mfa-sweeper-dev
usr/share/pkgconfig/mfa-sweeper-plugin.pc" "the files of $(basename "$DEV_DEB")"
	assert_eq "$(for d in "$MAIN_DEB" "$DEV_DEB"; do dpkg-deb -c "$d"; done |
		awk '$2 != "root/root"' | wc -l)" 0 "entries not owned by root/root"
	assert_eq "$(dpkg-deb -c "$MAIN_DEB" | awk '$6 == "./usr/bin/mfa-sweeper" { print $1 }')" \
		"-rwxr-xr-x" "mode of the program"
}

# check_metadata: the control fields, from dpkg-deb -f and -I.
check_metadata() {
	assert_eq "$(dpkg-deb -f "$MAIN_DEB" Package Version Architecture Section)" \
		"Package: mfa-sweeper
Version: $VERSION
Architecture: $ARCH
Section: admin" "control fields of mfa-sweeper"
	assert_eq "$(dpkg-deb -f "$DEV_DEB" Package Version Architecture Section Depends)" \
		"Package: mfa-sweeper-dev
Version: $VERSION
Architecture: $ARCH
Section: devel
Depends: mfa-sweeper (= $VERSION)" "control fields of mfa-sweeper-dev"
	local dep
	dep=$(dpkg-deb -f "$MAIN_DEB" Depends)
	for lib in libc6 libpq5 libcurl4 libjansson4 libinih1 libssl3 libacl1; do
		assert_match "$dep" "(^|, )$lib( \\(>= [^)]*\\))?(,|$)" "Depends of mfa-sweeper names $lib"
	done
	assert_match "$(dpkg-deb -f "$MAIN_DEB" Maintainer)" '^[^<]+ <[^@ ]+@[^> ]+>$' "Maintainer"
	assert_match "$(dpkg-deb -f "$MAIN_DEB" Installed-Size)" '^[1-9][0-9]*$' "Installed-Size"
	assert_contains "$(dpkg-deb -I "$MAIN_DEB")" " md5sums" "an md5sums member"
	# No maintainer scripts: nothing is enabled or created on install.
	assert_eq "$(for d in "$MAIN_DEB" "$DEV_DEB"; do dpkg-deb -I "$d"; done |
		grep -cE ' (pre|post)(inst|rm) *$')" 0 "maintainer scripts"
	# What the staged `make install` wrote, for /usr.
	mkdir "$T_DIR/x"
	dpkg-deb -x "$MAIN_DEB" "$T_DIR/x"
	assert_eq "$(grep '^ExecStart=' "$T_DIR/x/lib/systemd/system/mfa-sweeper.service")" \
		"ExecStart=/usr/bin/mfa-sweeper --config /etc/mfa-sweeper/mfa-sweeper.ini" \
		"ExecStart= of the packaged unit"
	assert_eq "$(grep '^plugin_dir' "$T_DIR/x/usr/share/doc/mfa-sweeper/examples/mfa-sweeper.ini.example")" \
		"plugin_dir = /usr/lib/mfa-sweeper/plugins" "plugin_dir in the packaged example config"
	# The copyright file carries the license; the changelog names this
	# version.
	assert_contains "$(cat "$T_DIR/x/usr/share/doc/mfa-sweeper/copyright")" \
		"$(sed -n 's/^Copyright (c) //p' "$T_ROOT/LICENSE" | head -n1)" "the copyright holder"
	assert_contains "$(cat "$T_DIR/x/usr/share/doc/mfa-sweeper/copyright")" \
		" THE SOFTWARE IS PROVIDED \"AS IS\"" "the license text"
	assert_eq "$(zcat "$T_DIR/x/usr/share/doc/mfa-sweeper/changelog.Debian.gz" | head -n1)" \
		"mfa-sweeper ($VERSION) unstable; urgency=medium" "the changelog's first line"
	# Stripped: the debug information stays in the build tree.
	assert_eq "$(readelf -S "$T_DIR/x/usr/bin/mfa-sweeper" | grep -c '\.debug_info')" 0 \
		"debug sections in the packaged program"
}

# check_lintian: no error; no warning either, but the missing manual
# page's while doc/ has no mfa-sweeper.1.
check_lintian() {
	local out
	out=$(lintian --pedantic "$MAIN_DEB" "$DEV_DEB" 2>&1 |
		grep -v '^running with root privileges is not recommended!$')
	note "lintian: ${out:-(nothing)}"
	assert_eq "$(grep -c '^E: ' <<<"$out")" 0 "lintian errors: $out"
	if [ -f "$T_ROOT/doc/mfa-sweeper.1" ]; then
		assert_eq "$(grep -c '^W: ' <<<"$out")" 0 "lintian warnings: $out"
	else
		assert_eq "$(grep '^W: ' <<<"$out" | grep -vc ' no-manual-page ')" 0 \
			"lintian warnings: $out"
	fi
}

# machine_state: what the machine's own dpkg and /usr know of the sweeper.
machine_state() {
	dpkg-query -W -f='${Package} ${Status}\n' mfa-sweeper mfa-sweeper-dev 2>&1
	ls -d /usr/bin/mfa-sweeper /usr/lib/mfa-sweeper /usr/include/sweeper \
		/usr/share/pkgconfig/mfa-sweeper-plugin.pc /lib/systemd/system/mfa-sweeper.service \
		/usr/share/doc/mfa-sweeper /usr/share/doc/mfa-sweeper-dev 2>&1
}

# install_root: dpkg -i both packages into $ROOT, a throwaway root whose
# dpkg database knows only the libraries mfa-sweeper depends on (copied
# from the machine's, where they are installed), so that dpkg checks the
# dependencies instead of being told to ignore them.
install_root() {
	local deps p
	ROOT=$T_DIR/root
	mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates"
	deps=$(dpkg-deb -f "$MAIN_DEB" Depends | tr ',' '\n' | sed 's/^ *\([^ ]*\).*/\1/')
	for p in $deps; do
		dpkg-query -s "$p" >>"$ROOT/var/lib/dpkg/status" 2>/dev/null ||
			die "$p, which mfa-sweeper depends on, is not installed here"
		echo >>"$ROOT/var/lib/dpkg/status"
		: >"$ROOT/var/lib/dpkg/info/$p.list"
	done
	dpkg --root="$ROOT" --force-not-root --log=/dev/null -i "$MAIN_DEB" "$DEV_DEB" \
		>"$T_DIR/dpkg.log" 2>&1 || die "dpkg -i into the throwaway root failed: $(cat "$T_DIR/dpkg.log")"
	assert_eq "$(dpkg --root="$ROOT" -l mfa-sweeper mfa-sweeper-dev | awk '/^ii/ { print $2, $3 }')" \
		"mfa-sweeper $VERSION
mfa-sweeper-dev $VERSION" "the packages dpkg installed into the root"
	dpkg --root="$ROOT" --verify mfa-sweeper mfa-sweeper-dev >"$T_DIR/verify.log" 2>&1
	assert_eq "$?$(cat "$T_DIR/verify.log")" 0 "dpkg --verify of the installed files"
}

# run_installed: the installed program, and the example plugin built with
# the installed pc file and loaded by it.
run_installed() {
	local bin=$ROOT/usr/bin/mfa-sweeper pc pcroot examples plugdir
	assert_contains "$("$bin" --version)" \
		"mfa-sweeper ${VERSION%-*} (plugin ABI 1)" "--version of the installed program"
	# The variables are read as installed; the flags under the root
	# (pkg-config puts the sysroot before -I and before variables).
	pc=(env PKG_CONFIG_PATH="$ROOT/usr/share/pkgconfig" pkg-config)
	pcroot=(env PKG_CONFIG_PATH="$ROOT/usr/share/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$ROOT" pkg-config)
	assert_eq "$("${pc[@]}" --modversion mfa-sweeper-plugin)" "${VERSION%-*}" "the pc file's version"
	assert_eq "$("${pc[@]}" --variable=abi_version mfa-sweeper-plugin)" 1 "the pc file's abi_version"
	plugdir=$("${pc[@]}" --variable=plugindir mfa-sweeper-plugin)
	assert_eq "$plugdir" /usr/lib/mfa-sweeper/plugins "the pc file's plugindir"
	examples=$("${pc[@]}" --variable=examplesdir mfa-sweeper-plugin)
	assert_eq "$examples" /usr/share/doc/mfa-sweeper-dev/examples "the pc file's examplesdir"
	mkdir "$T_DIR/team"
	cp "$ROOT$examples/password_reset_tokens.c" "$T_DIR/team/rule.c" ||
		die "no example plugin in the installed examplesdir"
	(
		cd "$T_DIR/team" || exit 1
		cc -shared -fPIC $("${pcroot[@]}" --cflags mfa-sweeper-plugin) -o rule.so rule.c
	) >"$T_DIR/cc.log" 2>&1 || die "the installed example does not build: $(cat "$T_DIR/cc.log")"
	assert_eq "$(cat "$T_DIR/cc.log")" "" "compiler output of the one-line build"
	install -m 0644 "$T_DIR/team/rule.so" "$ROOT$plugdir/password_reset_tokens.so"
	# The plugin loader wants plugin_dir's ancestors closed to others.
	chmod 0755 "$T_DIR"
	CFG=$T_DIR/sweeper.ini
	cfg_write <<EOF
[database]
dsn = host=$T_DIR/no-server dbname=nothing connect_timeout=1

[sweeper]
plugin_dir = $ROOT$plugdir
rules = used_backup_codes, password_reset_tokens
EOF
	SWEEPER_BIN=$bin sweep -c "$CFG" --print-plan
	assert_exit 0 "--print-plan of the installed program, connecting to nothing"
	assert_contains "$OUT" "'604800000 milliseconds'" "the example plugin's max_age in its plan"
	assert_contains "$OUT" "accounts_backupcode" "the packaged used_backup_codes rule's plan"
}

t_deb_packages() { # slow
	local before
	before=$(machine_state)
	deb_build
	check_contents
	check_metadata
	check_lintian
	install_root
	run_installed
	assert_eq "$(machine_state)" "$before" "the machine's dpkg database and /usr"
}

run_tests "$@"
