#!/bin/bash
# The hardened build and process: what `make` builds is a PIE with full
# RELRO, immediate binding, stack protector and fortified calls, and the
# plugins are shared objects with full RELRO; the sweeper makes itself
# non-dumpable with RLIMIT_CORE 0 before it reads a secret, still loads
# its plugins through /proc/self/fd as an unprivileged user, and runs on
# when a seccomp filter refuses either step; and a full run makes no
# system call the service unit's SystemCallFilter= refuses.
. "$(dirname "$0")/../lib/assert.sh"

# The sanitizer runtime (in a sanitizer build) sets RLIMIT_CORE itself at
# start and dies when that is refused: leave the limit to the sweeper.
export ASAN_OPTIONS=$ASAN_OPTIONS:disable_coredump=0
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# hardening_problems FILE KIND: what readelf finds missing in FILE, one
# problem a line, nothing when it is hardened.  KIND is "exe" (the
# sweeper: PIE, stack protector and _FORTIFY_SOURCE too), "exe-nofortify"
# (the same but for _FORTIFY_SOURCE, which the sanitizers and -O0 leave
# out) or "lib" (a plugin).
hardening_problems() {
	local file=$1 kind=$2 dyn syms
	dyn=$(readelf -dW "$file")
	syms=$(readelf -sW --dyn-syms "$file")
	grep -q 'GNU_RELRO' <<<"$(readelf -lW "$file")" || echo "no GNU_RELRO segment"
	grep -qE '\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW' <<<"$dyn" ||
		echo "no BIND_NOW (lazy binding, partial RELRO)"
	case $kind in
	exe*)
		grep -q 'Type: *DYN' <<<"$(readelf -hW "$file")" ||
			echo "not position-independent (ELF type is not DYN)"
		grep -qE '\(FLAGS_1\).*PIE' <<<"$dyn" || echo "no PIE in DT_FLAGS_1"
		grep -q '__stack_chk_fail' <<<"$syms" || echo "no stack protector (__stack_chk_fail)"
		;;
	lib)
		grep -q 'Type: *DYN' <<<"$(readelf -hW "$file")" ||
			echo "not a shared object (ELF type is not DYN)"
		;;
	esac
	if [ "$kind" = exe ]; then
		grep -qE '__[a-z]+_chk@' <<<"$syms" ||
			echo "no fortified calls (__*_chk): built without _FORTIFY_SOURCE"
	fi
}

t_build_is_hardened() {
	# The suite's own build, whatever its CFLAGS or sanitizers, has all
	# but _FORTIFY_SOURCE.
	assert_eq "$(hardening_problems "$SWEEPER_BIN" exe-nofortify)" "" \
		"hardening of the suite's sweeper ($SWEEPER_BIN)"
	# What `make` builds with its own flags: the suite's build when it
	# has them all, else (a sanitizer or -O0 build) one of this test's.
	local build=$SWEEPER_BUILD so
	if [ -n "$(hardening_problems "$SWEEPER_BIN" exe)" ]; then
		build=$T_DIR/build
		env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u CFLAGS -u LDFLAGS \
			make -C "$T_ROOT" --no-print-directory -j2 all BUILD="$build" \
			>"$T_DIR/make.log" 2>&1 ||
			die "make failed: $(tail -n 20 "$T_DIR/make.log")"
	fi
	assert_eq "$(hardening_problems "$build/mfa-sweeper" exe)" "" "hardening of $build/mfa-sweeper"
	for so in "$build"/plugins/*.so "$build"/plugins/examples/*.so; do
		assert_eq "$(hardening_problems "$so" lib)" "" "hardening of $so"
	done
	# The check can fail: a program built without any of it.
	printf '#include <stdio.h>\nint main(int c, char **v) { char b[64]; snprintf(b, sizeof(b), "%%s", v[c - 1]); return puts(b) < 0; }\n' \
		>"$T_DIR/weak.c"
	cc -O2 -no-pie -fno-stack-protector -U_FORTIFY_SOURCE -Wl,-z,norelro -Wl,-z,lazy \
		-o "$T_DIR/weak" "$T_DIR/weak.c" || die "cannot build the unhardened program"
	local problems
	problems=$(hardening_problems "$T_DIR/weak" exe)
	for want in "GNU_RELRO" "BIND_NOW" "ELF type is not DYN" "PIE" "__stack_chk_fail" "_FORTIFY_SOURCE"; do
		assert_contains "$problems" "$want" "the check on an unhardened program"
	done
}

# proc_run: a used_backup_codes run with the test plugin proc_state, which
# logs "process: dumpable=D core=SOFT/HARD" from inside the sweeper; the
# config and the plugins are readable by nobody.
proc_run_setup() {
	fresh_db
	fx_used_codes
	PDIR=$(plugin_copy_dir)
	cp "$TEST_PLUGIN_DIR/proc_state.so" "$PDIR"/ || die "no proc_state.so in $TEST_PLUGIN_DIR"
	chmod 0644 "$PDIR/proc_state.so"
	CFG_PLUGIN_DIR=$PDIR cfg_std "proc_state, used_backup_codes"
	chmod 0644 "$CFG"
	# A core limit the sweeper inherits, so that its own shows: 4096
	# blocks of 1 KiB, 4194304 bytes.
	ulimit -c 4096 || die "cannot set a core limit for the test"
}

t_no_core_dumps_as_unprivileged_user() {
	proc_run_setup
	snap
	SWEEPER_BIN=runuser sweep -u nobody -- "$SWEEPER_BIN" -c "$CFG" --json
	assert_exit 0 "a run as nobody"
	assert_contains "$ERR" "process: dumpable=0 core=0/0" \
		"the process is not dumpable and has no core limit once plugins run"
	check_rows '^must-go-'
	assert_json .deleted_total "$GONE_N" "deleted_total"
}

t_refused_hardening_is_not_fatal() {
	proc_run_setup
	local tool=$SWEEPER_BUILD/tests/tools/seccomp_deny
	[ -x "$tool" ] || die "no $tool; run make test-progs"
	# setrlimit refused, as under SystemCallFilter=~@resources if glibc
	# used that call: the run goes on, and is still not dumpable.
	snap
	SWEEPER_BIN=$tool sweep "$SWEEPER_BIN" -c "$CFG" --json
	assert_exit 0 "a run with setrlimit refused"
	assert_contains "$ERR" "process: dumpable=0 core=4194304/4194304" \
		"the limit stays, the process is still not dumpable"
	check_rows '^must-go-'
	# Making the process non-dumpable refused too: the core limit holds.
	fresh_db
	fx_used_codes
	CFG_PLUGIN_DIR=$PDIR cfg_std "proc_state, used_backup_codes"
	snap
	SWEEPER_BIN=$tool sweep -d "$SWEEPER_BIN" -c "$CFG" --json
	assert_exit 0 "a run with setrlimit and PR_SET_DUMPABLE refused"
	assert_contains "$ERR" "process: dumpable=1 core=4194304/4194304" "both steps refused"
	check_rows '^must-go-'
	# The filter does refuse: a plain run sets both.
	fresh_db
	fx_used_codes
	CFG_PLUGIN_DIR=$PDIR cfg_std "proc_state, used_backup_codes"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_contains "$ERR" "process: dumpable=0 core=0/0" "a run without the filter"
}

# expand_syscalls GROUP|NAME...: the system call names, groups expanded
# as `systemd-analyze syscall-filter` lists them (all groups at once: one
# call per group would take seconds), one a line, sorted.
expand_syscalls() {
	systemd-analyze syscall-filter --no-pager 2>/dev/null |
		awk -v want="$*" '
			/^@/ { group = $1; next }
			/^ +[^ #]/ && group != "" { members[group] = members[group] " " $1 }
			/^[^ @]/ { group = "" }
			function expand(name,    n, i, m) {
				if (name !~ /^@/) { print name; return }
				if (seen[name]++) return
				n = split(members[name], m, " ")
				for (i = 1; i <= n; i++) expand(m[i])
			}
			END { n = split(want, w, " "); for (i = 1; i <= n; i++) expand(w[i]) }' |
		LC_ALL=C sort -u
}

# filter_violations USED_FILE UNIT: the system calls in USED_FILE (one a
# line, sorted) that the SystemCallFilter= lines of UNIT refuse.
filter_violations() {
	local used=$1 unit=$2 line allow=() deny=()
	while IFS= read -r line; do
		case $line in
		'~'*) read -ra f <<<"${line#\~}"; deny+=("${f[@]}") ;;
		?*) read -ra f <<<"$line"; allow+=("${f[@]}") ;;
		esac
	done < <(sed -n 's/^SystemCallFilter=//p' "$unit")
	[ "${#allow[@]}" -gt 0 ] && LC_ALL=C comm -23 "$used" <(expand_syscalls "${allow[@]}")
	[ "${#deny[@]}" -gt 0 ] && LC_ALL=C comm -12 "$used" <(expand_syscalls "${deny[@]}")
	return 0
}

t_full_run_passes_the_unit_syscall_filter() {
	command -v strace >/dev/null || die "strace is missing; run make deps"
	command -v systemd-analyze >/dev/null || die "systemd-analyze is missing; run make deps"
	# A run with everything that makes system calls of its own: three
	# rules deleting, plugins through a link, the ledger, a signed webhook
	# and the metrics file.
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	PDIR=$(plugin_copy_dir)
	ln -s "$(basename "$PDIR")" "$T_DIR/current"
	mkdir -p "$T_DIR/req"
	"$SWEEPER_BUILD/tests/tools/httpd" -p "$T_DIR/port" -d "$T_DIR/req" -t 60 200 \
		2>"$T_DIR/httpd.err" &
	T_BG_PIDS+=("$!")
	wait_until 5 '[ -s "$T_DIR/port" ]' || die "httpd did not start: $(cat "$T_DIR/httpd.err")"
	CFG_PLUGIN_DIR=$T_DIR/current cfg_std "user_disabled, stale_devices, used_backup_codes" \
		"metrics_file = $T_DIR/sweeper.prom" "" "[ledger]" "enabled = true" "" \
		"[webhook]" "url = http://127.0.0.1:$(cat "$T_DIR/port")/hook" \
		"secret = whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger"
	snap
	# LeakSanitizer (in a sanitizer build) cannot run under ptrace.
	ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 SWEEPER_BIN=strace \
		sweep -f -qq -c -o "$T_DIR/strace.txt" "$SWEEPER_BIN" -c "$CFG" --json
	assert_exit 0 "the run under strace"
	check_rows '^(must-go|conf)-'
	assert_eq "$(find "$T_DIR/req" -name '*.body' | wc -l)" 1 "webhook posts"
	[ -s "$T_DIR/sweeper.prom" ] || fail "no metrics file written"
	# strace -c: a table whose last column names the call, between two
	# dashed lines.
	awk '/^-+ /{ n++; next } n == 1 && NF { print $NF }' "$T_DIR/strace.txt" |
		LC_ALL=C sort -u >"$T_DIR/used"
	assert_int_cmp "$(wc -l <"$T_DIR/used")" -gt 20 "system calls seen under strace"
	grep -qx openat "$T_DIR/used" || fail "strace's table was not read: $(head -c 500 "$T_DIR/strace.txt")"
	local unit=$T_ROOT/config/mfa-sweeper.service
	assert_eq "$(filter_violations "$T_DIR/used" "$unit" | tr '\n' ' ')" "" \
		"system calls of a full run that the unit's SystemCallFilter= refuses"
	# The check can fail: the same run under a filter without network I/O
	# or without file renames.
	sed 's/^SystemCallFilter=~.*/SystemCallFilter=~@network-io rename renameat renameat2/' \
		"$unit" >"$T_DIR/strict.service"
	local v
	v=$(filter_violations "$T_DIR/used" "$T_DIR/strict.service")
	assert_contains "$v" connect "a filter refusing @network-io"
	assert_match "$v" '^rename' "a filter refusing rename (the metrics file)"
}

run_tests "$@"
