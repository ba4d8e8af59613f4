#!/bin/bash
# The deployment files (config/mfa-sweeper.service, .timer, .cron) as
# `make install` installs them: systemd-analyze accepts the units without
# a single warning, the timer starts the service, the service keeps the
# sandbox issue 4 asks for and the exposure score systemd-analyze security
# gives it, the plugins load under MemoryDenyWriteExecute, and the cron
# example is a valid /etc/cron.d file.
#
# systemd-analyze verify needs no running systemd: it loads the named unit
# files into a private manager of its own and prints what a real one would
# log about them (unknown keys, bad values, a missing ExecStart binary, a
# bad OnCalendar).  Its exit code stays 0 for most of those warnings, so
# the tests fail on any output at all.
. "$(dirname "$0")/../lib/assert.sh"

# deploy_tree: a real `make install` (no DESTDIR) under $T_DIR, so that the
# installed units name files that exist and systemd-analyze checks them
# unchanged.  The build tree is the test's own, so the suite's build/
# keeps its PREFIX.  Sets PFX, UNITDIR, ETC and SVC, TMR (the units).
deploy_tree() {
	PFX=$T_DIR/usr
	ETC=$T_DIR/etc
	UNITDIR=$PFX/lib/systemd/system
	SVC=$UNITDIR/mfa-sweeper.service
	TMR=$UNITDIR/mfa-sweeper.timer
	command -v systemd-analyze >/dev/null ||
		die "systemd-analyze is missing; run make deps (Debian package systemd)"
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE \
		make -C "$T_ROOT" --no-print-directory install \
		BUILD="$T_DIR/build" CFLAGS=-O0 PREFIX="$PFX" SYSCONFDIR="$ETC" \
		DESTDIR= >"$T_DIR/make.log" 2>&1 ||
		die "make install failed: $(tail -n 20 "$T_DIR/make.log")"
	# The plugin loader refuses a plugin_dir whose ancestors others may
	# write to; the temp dir is ours and closed to them.
	chmod 0755 "$T_DIR"
}

# verify UNIT...: run systemd-analyze verify; sets VOUT (stdout and stderr
# together) and VRC.  The log level is pinned to info, so a caller's
# SYSTEMD_LOG_LEVEL cannot hide the warnings.
verify() {
	VOUT=$(SYSTEMD_LOG_LEVEL=info SYSTEMD_LOG_COLOR=0 SYSTEMD_PAGER= \
		systemd-analyze verify "$@" 2>&1)
	VRC=$?
}

# assert_verify_clean WHAT UNIT...
assert_verify_clean() {
	local what=$1
	shift
	verify "$@"
	assert_eq "$VRC" 0 "exit code of systemd-analyze verify ($what)"
	if [ -n "$VOUT" ]; then
		fail "systemd-analyze verify printed something for $what"
		note "$VOUT"
	fi
}

# assert_verify_complains WHAT EXPECTED UNIT...: verify prints a line
# containing EXPECTED.
assert_verify_complains() {
	local what=$1 expected=$2
	shift 2
	verify "$@"
	if [ -z "$VOUT" ]; then
		fail "systemd-analyze verify printed nothing for $what"
		return
	fi
	assert_contains "$VOUT" "$expected" "systemd-analyze verify on $what"
}

# unit_value FILE KEY: the values of KEY= in FILE, one a line.
unit_value() {
	sed -n "s/^$2=//p" "$1"
}

t_units_verify_without_warnings() {
	deploy_tree
	[ -f "$SVC" ] || die "make install did not install $SVC"
	[ -f "$TMR" ] || die "make install did not install $TMR"
	assert_verify_clean "the installed service and timer" "$SVC" "$TMR"
	assert_verify_clean "the installed timer alone" "$TMR"
	# The sources in config/ carry the default paths, which need not
	# exist here; with those made to point at this installation, the
	# sources are clean too, so nothing is fixed up by make install alone.
	mkdir -p "$T_DIR/src-units"
	sed "s|^ExecStart=/usr/local/bin/|ExecStart=$PFX/bin/|" \
		"$T_ROOT/config/mfa-sweeper.service" >"$T_DIR/src-units/mfa-sweeper.service"
	cp "$T_ROOT/config/mfa-sweeper.timer" "$T_DIR/src-units/"
	assert_verify_clean "config/mfa-sweeper.{service,timer}" \
		"$T_DIR/src-units/mfa-sweeper.service" "$T_DIR/src-units/mfa-sweeper.timer"
}

# The check above can fail: each broken copy of the installed units makes
# systemd-analyze print a warning.
t_verify_reports_broken_units() {
	deploy_tree
	mkdir -p "$T_DIR/bad1" "$T_DIR/bad2" "$T_DIR/bad3" "$T_DIR/bad4"
	sed 's/^TimeoutStartSec=/TimeoutStartSecs=/' "$SVC" >"$T_DIR/bad1/mfa-sweeper.service"
	assert_verify_complains "a misspelt directive" \
		"Unknown key 'TimeoutStartSecs' in section [Service]" \
		"$T_DIR/bad1/mfa-sweeper.service"
	sed 's/^SystemCallFilter=.*/SystemCallFilter=@no-such-group/' "$SVC" \
		>"$T_DIR/bad2/mfa-sweeper.service"
	assert_verify_complains "an unknown system call group" "@no-such-group" \
		"$T_DIR/bad2/mfa-sweeper.service"
	sed "s|^ExecStart=$PFX/bin/mfa-sweeper|ExecStart=$PFX/bin/mfa-sweeperx|" "$SVC" \
		>"$T_DIR/bad3/mfa-sweeper.service"
	assert_verify_complains "an ExecStart binary that is not there" \
		"$PFX/bin/mfa-sweeperx" "$T_DIR/bad3/mfa-sweeper.service"
	cp "$SVC" "$T_DIR/bad4/"
	sed 's/^OnCalendar=.*/OnCalendar=*-*-* 25:30:00/' "$TMR" >"$T_DIR/bad4/mfa-sweeper.timer"
	assert_verify_complains "an impossible OnCalendar" "Failed to parse calendar specification" \
		"$T_DIR/bad4/mfa-sweeper.timer"
}

t_timer_starts_the_service() {
	deploy_tree
	# A timer starts the service of its own name unless Unit= says
	# otherwise; systemd-analyze does not notice a missing service.
	assert_eq "$(unit_value "$TMR" Unit)" "" "Unit= in the timer (it starts its namesake)"
	assert_eq "$(basename "$TMR" .timer)" "$(basename "$SVC" .service)" \
		"the timer and the service have the same name"
	assert_eq "$(unit_value "$TMR" WantedBy)" timers.target "WantedBy= of the timer"
	assert_eq "$(unit_value "$TMR" Persistent)" true "Persistent= of the timer"
	assert_ne "$(unit_value "$TMR" RandomizedDelaySec)" "" "RandomizedDelaySec= of the timer"
	# Once a day, as systemd reads it.
	local cal
	cal=$(unit_value "$TMR" OnCalendar)
	assert_eq "$(echo "$cal" | wc -l)" 1 "OnCalendar= lines in the timer"
	assert_contains "$(systemd-analyze calendar "$cal" 2>&1)" \
		"Normalized form: *-*-* 02:30:00" "the timer's OnCalendar"
	# The service has nothing to enable: the timer starts it.
	assert_not_contains "$(cat "$SVC")" "[Install]" "an [Install] section in the service"
}

t_service_keeps_its_sandbox() {
	deploy_tree
	local want
	for want in Type=oneshot DynamicUser=yes ProtectSystem=strict PrivateTmp=yes \
		NoNewPrivileges=yes CapabilityBoundingSet= \
		"RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6" \
		SystemCallFilter=@system-service MemoryDenyWriteExecute=yes \
		"SystemCallFilter=~@privileged @resources" LimitCORE=0 ProcSubset=pid \
		PrivateMounts=yes DevicePolicy=closed \
		KillSignal=SIGTERM SuccessExitStatus=75 \
		"ExecStart=$PFX/bin/mfa-sweeper --config $ETC/mfa-sweeper/mfa-sweeper.ini" \
		"LoadCredential=db-password:$ETC/mfa-sweeper/db-password" \
		"LoadCredential=webhook-secret:$ETC/mfa-sweeper/webhook-secret"; do
		grep -qxF -- "$want" "$SVC" || fail "the installed service lacks the line '$want'"
	done
	# libpq ignores the group-readable copy systemd 254+ makes of a
	# credential: the password goes through password_file instead.
	if grep -q '^Environment=PGPASSFILE' "$SVC"; then
		fail "the installed service points PGPASSFILE at a credential"
	fi
	# A run cap long enough to leave room for max_runtime below it.
	assert_eq "$(unit_value "$SVC" TimeoutStartSec)" 2h "TimeoutStartSec= of the service"
	# systemd's own exposure score of the sandbox, shown from 0.0 (locked
	# down) to 10.0; --threshold counts in tenths of it.  The unit scores
	# 1.2 (it was 1.6 before ~@privileged @resources, ProcSubset=pid,
	# PrivateMounts=yes and DevicePolicy=closed): a threshold of 12 fails
	# on any step back.
	local out score
	out=$(systemd-analyze security --offline=yes --threshold=12 --no-pager "$SVC" 2>&1) ||
		fail "systemd-analyze security rates the service above 1.2: $(echo "$out" | tail -n 1)"
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for mfa-sweeper.service: \([0-9.]*\).*/\1/p')
	assert_eq "$score" 1.2 "the exposure score of the installed service"
	# The check can fail: without one of these lines the score rises
	# (the lines of smaller weight, such as ProcSubset=, move it less than
	# its rounding; the list of lines above holds those).
	local line
	for line in '^SystemCallFilter=~@privileged @resources$' '^PrivateMounts=yes$' \
		'^ProtectClock=yes$' '^DynamicUser=yes$'; do
		sed "/$line/d" "$SVC" >"$T_DIR/weak.service"
		if systemd-analyze security --offline=yes --threshold=12 --no-pager \
			"$T_DIR/weak.service" >/dev/null 2>&1; then
			fail "systemd-analyze security accepts a service without the line $line"
		fi
	done
}

# wx_problem SO: why the shared object SO would not load under
# MemoryDenyWriteExecute=yes (text relocations, an executable stack), or
# nothing.
wx_problem() {
	if readelf -dW "$1" | grep -q 'TEXTREL'; then
		echo "it has text relocations"
	fi
	if ! readelf -lW "$1" | grep -E 'GNU_STACK' | grep -qE ' RW +0x'; then
		echo "it wants an executable stack"
	fi
}

t_plugins_load_under_memory_deny_write_execute() {
	deploy_tree
	local so plugdir=$PFX/lib/mfa-sweeper/plugins tool=$SWEEPER_BUILD/tests/tools/mdwe_exec
	for so in "$plugdir"/*.so; do
		assert_eq "$(wx_problem "$so")" "" "$(basename "$so") under MemoryDenyWriteExecute"
	done
	[ -x "$tool" ] || die "no $tool; run make test-progs"
	CFG=$ETC/mfa-sweeper/mfa-sweeper.ini.example
	SWEEPER_BIN=$tool sweep "$PFX/bin/mfa-sweeper" -c "$CFG" --list-rules
	if [ "$RC" = 77 ]; then
		# Kernels before 6.3 have no PR_SET_MDWE; the ELF checks above
		# are then all there is.
		note "PR_SET_MDWE unavailable ($ERR); checked the ELF headers only"
		return
	fi
	assert_exit 0 "--list-rules under memory-deny-write-execute"
	for so in user_disabled stale_devices used_backup_codes; do
		assert_contains "$OUT" "plugin: $plugdir/$so.so" "$so loaded under memory-deny-write-execute"
	done
	# The check can fail: the same plugin linked for an executable stack
	# loads normally but not under memory-deny-write-execute.
	mkdir -p "$T_DIR/xs"
	cc -shared -fPIC -fvisibility=hidden -Wl,-z,execstack -I"$T_ROOT/include" \
		-I"$T_ROOT/plugins" -o "$T_DIR/xs/used_backup_codes.so" \
		"$T_ROOT/plugins/used_backup_codes.c" 2>"$T_DIR/cc.log" ||
		die "cannot build the execstack plugin: $(cat "$T_DIR/cc.log")"
	printf '[sweeper]\nplugin_dir = %s\nrules = used_backup_codes\n' "$T_DIR/xs" >"$T_DIR/xs.ini"
	SWEEPER_BIN=$PFX/bin/mfa-sweeper sweep -c "$T_DIR/xs.ini" --list-rules
	assert_exit 0 "--list-rules with an execstack plugin, no sandbox"
	SWEEPER_BIN=$tool sweep "$PFX/bin/mfa-sweeper" -c "$T_DIR/xs.ini" --list-rules
	assert_exit 78 "--list-rules with an execstack plugin under memory-deny-write-execute"
	assert_contains "$ERR" "executable stack" "the loader's error"
	assert_eq "$(wx_problem "$T_DIR/xs/used_backup_codes.so")" \
		"it wants an executable stack" "the ELF check on the execstack plugin"
}

t_cron_example_is_valid() {
	deploy_tree
	local cron=$ETC/mfa-sweeper/mfa-sweeper.cron.example line n=0 f
	[ -f "$cron" ] || die "make install did not install $cron"
	if grep -q $'\r' "$cron"; then
		fail "the cron example has CR characters; cron wants plain LF lines"
	fi
	# cron ignores a last line without its newline.
	assert_eq "$(tail -c 1 "$cron" | od -An -c | tr -d ' ')" '\n' "the cron example's last byte"
	while IFS= read -r line; do
		case $line in
		'' | '#'*) continue ;;
		esac
		if [[ $line =~ ^[A-Z_]+= ]]; then
			continue
		fi
		n=$((n + 1))
		read -ra f <<<"$line"
		[ "${#f[@]}" -ge 7 ] || fail "cron line has fewer than 5 time fields, a user and a command: $line"
		local i
		for i in 0 1 2 3 4; do
			[[ ${f[$i]} =~ ^[0-9*/,-]+$ ]] || fail "cron time field $((i + 1)) '${f[$i]}' is not valid"
		done
		[[ ${f[5]} =~ ^[a-z_][a-z0-9_-]*$ ]] || fail "cron user field '${f[5]}' is not a user name"
		assert_contains "$line" "$PFX/bin/mfa-sweeper --config $ETC/mfa-sweeper/mfa-sweeper.ini -q" \
			"the cron command (installed paths, -q)"
		# % is a newline to cron: the command must not have one.
		assert_not_contains "$line" "%" "a % in the cron command"
		sh -n -c "${f[*]:6}" 2>"$T_DIR/sh.log" ||
			fail "the cron command is not valid sh: $(cat "$T_DIR/sh.log")"
	done <"$cron"
	assert_eq "$n" 1 "job lines in the cron example"
	# doc/operations.md shows the job line as the source has it.
	assert_contains "$(cat "$T_ROOT/doc/operations.md")" "$(grep -E '^[0-9*]' "$T_ROOT/config/mfa-sweeper.cron")" \
		"doc/operations.md's copy of the cron job line"
	assert_contains "$(cat "$cron")" "$ETC/mfa-sweeper/db-password" "the password file the cron example names"
	assert_contains "$(cat "$cron")" "MAILTO=" "MAILTO in the cron example"
	# Installed under a name with a dot, cron would not read it even in
	# /etc/cron.d: installing does not schedule anything.
	assert_match "$(basename "$cron")" '\.' "the installed cron example's name has a dot"
}

# bulk_pipeline QUERY: doc/operations.md "After a bulk MFA disable" pipeline, psql's
# ids piped into the sweeper.  Sets OUT, ERR, RC (the sweeper's).
bulk_pipeline() {
	SWEEP_CMD="psql -X -Atc \"$1\" | mfa-sweeper --rule user_disabled --now --users-file -"
	psql -X -Atc "$1" -d "$DB" 2>"$T_DIR/psql.err" |
		timeout -k 5 "$T_SWEEP_TIMEOUT" "$SWEEPER_BIN" -c "$CFG" --json \
			--rule user_disabled --now --users-file - \
			>"$T_DIR/stdout" 2>"$T_DIR/stderr"
	RC=${PIPESTATUS[1]}
	OUT=$(cat "$T_DIR/stdout")
	ERR=$(cat "$T_DIR/stderr")
	_check_crash
}

t_bulk_disable_pipeline() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	cfg_std "user_disabled, stale_devices, used_backup_codes"
	snap
	# The users disabled in the last hour: 1 and 4 (10 minutes ago) and
	# 2 (a minute ago, inside the 5m grace, which --now ignores).  User
	# 3 disabled long ago and is re-enrolling: not in the list, so its
	# old rows stay although an unscoped run would delete them.
	bulk_pipeline "SELECT id FROM accounts_user WHERE NOT mfa_enrolled AND mfa_disabled_at >= now() - interval '1 hour' ORDER BY id"
	assert_exit 0 "the bulk-disable pipeline"
	assert_json .status ok "summary status"
	assert_jq '[.rules[].name] == ["user_disabled"]' "only user_disabled ran"
	check_rows '^(must-go|conf|grace)-u(1|2|4)-'
	assert_json .deleted_total "$GONE_N" "deleted_total"
	# A query that finds nobody scopes the run to nobody: nothing goes.
	snap
	bulk_pipeline "SELECT id FROM accounts_user WHERE false"
	assert_exit 0 "the pipeline with no users"
	assert_json .deleted_total 0 "deleted_total with no users"
	check_rows '^$' "rows after the pipeline with no users"
}

run_tests "$@"
