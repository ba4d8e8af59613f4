# assert.sh: helpers for the integration tests of mfa-sweeper.
#
# An integration test file is a bash script named tests/integration/test_*.sh
# that sources this file, defines test functions named t_* and ends with
#
#     run_tests "$@"
#
# tests/run.sh runs the file once without arguments; run_tests then runs
# every t_* function of the file, each in its own bash process
# (`bash FILE t_name`) under a timeout, with its own temp dir ($T_DIR) and,
# after fresh_db, its own database ($DB) cloned from the template database.
#
# Environment (set by tests/run.sh): SWEEPER_BIN, SWEEPER_BUILD (absolute),
# SWEEPER_TEMPLATE_DB, PGHOST/PGPORT/PGUSER/PGDATABASE (from pg.sh),
# T_RESULTS (file the results are appended to), T_ONLY (optional regex of
# test names to run), T_TEST_TIMEOUT, T_SWEEP_TIMEOUT.
#
# Assertions do not stop a test: each failure is recorded and printed, and
# the test fails at the end.  `die` stops the test at once (broken setup).

# Under pipefail, `printf ... | grep -q` fails with 141 when grep exits
# at its first match before printf has written everything: a haystack is
# given to grep on its stdin (<<<), never through a pipe.
set -o pipefail

T_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T_ROOT=$(cd "$T_LIB_DIR/../.." && pwd)
: "${SWEEPER_BUILD:=$T_ROOT/build}"
: "${SWEEPER_BIN:=$SWEEPER_BUILD/mfa-sweeper}"
: "${SWEEPER_TEMPLATE_DB:=sweeper_template}"
: "${T_SWEEP_TIMEOUT:=60}"
: "${T_TEST_TIMEOUT:=120}"
export SWEEPER_BUILD SWEEPER_BIN SWEEPER_TEMPLATE_DB

# Plugin directories of the build, absolute.
PLUGIN_DIR=$SWEEPER_BUILD/plugins
TEST_PLUGIN_DIR=$SWEEPER_BUILD/tests/plugins
EXAMPLE_PLUGIN_DIR=$SWEEPER_BUILD/plugins/examples

# Sanitizer runtimes get exit codes of their own, so that a sanitizer
# report is never mistaken for one of the sweeper's exit codes (1 = a rule
# failed).
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-exitcode=87:print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=86}

T_FAILS=0
T_NAME=
T_DIR=
DB=
CFG=
T_BG_PIDS=()
T_BG_APPS=()

# ---------------------------------------------------------------- reporting

_t_log() {
	printf '%s\n' "$*" >>"${T_LOG:-/dev/stderr}"
}

# fail MESSAGE: record a failed assertion and keep going.
fail() {
	T_FAILS=$((T_FAILS + 1))
	[ -z "$T_DIR" ] || echo x >>"$T_DIR/.fails"
	_t_log "  - $*"
}

# die MESSAGE: record a failure and end the test now.
die() {
	fail "$*"
	exit 1
}

# note MESSAGE: extra context shown only when the test fails.
note() {
	_t_log "    $*"
}

# Show the last sweeper run's output (trimmed) under a failure.
show_run() {
	note "command: ${SWEEP_CMD:-?}"
	note "exit code: ${RC:-?}"
	if [ -n "${OUT:-}" ]; then
		note "stdout: $(printf '%s' "$OUT" | head -c 1500 | sed '2,$s/^/            /')"
	fi
	if [ -n "${ERR:-}" ]; then
		note "stderr: $(printf '%s' "$ERR" | head -c 1500 | sed '2,$s/^/            /')"
	fi
}

# ---------------------------------------------------------------- asserts

# assert_eq ACTUAL EXPECTED WHAT
assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "$3: expected '$2', got '$1'"
		return 1
	fi
}

# assert_ne ACTUAL UNEXPECTED WHAT
assert_ne() {
	if [ "$1" = "$2" ]; then
		fail "$3: got '$1', expected anything else"
		return 1
	fi
}

# The assertions below let grep read all of the haystack (no -q): with
# pipefail, a grep that quit at the first match would fail printf with
# SIGPIPE on a haystack larger than a pipe's buffer (a man page is).

# assert_contains HAYSTACK NEEDLE WHAT  (fixed string)
assert_contains() {
	if ! printf '%s' "$1" | grep -F -- "$2" >/dev/null; then
		fail "$3: does not contain '$2'"
		return 1
	fi
}

# assert_not_contains HAYSTACK NEEDLE WHAT
assert_not_contains() {
	if printf '%s' "$1" | grep -F -- "$2" >/dev/null; then
		fail "$3: unexpectedly contains '$2'"
		return 1
	fi
}

# assert_match HAYSTACK ERE WHAT
assert_match() {
	if ! printf '%s' "$1" | grep -E -- "$2" >/dev/null; then
		fail "$3: does not match /$2/"
		return 1
	fi
}

# assert_icontains HAYSTACK NEEDLE WHAT  (fixed string, any case)
assert_icontains() {
	if ! printf '%s' "$1" | grep -iF -- "$2" >/dev/null; then
		fail "$3: does not contain '$2' (any case)"
		return 1
	fi
}

# assert_int_cmp A OP B WHAT   (OP: -lt -le -gt -ge -eq -ne)
assert_int_cmp() {
	if ! [[ "$1" =~ ^-?[0-9]+$ ]] || ! test "$1" "$2" "$3"; then
		fail "$4: expected $1 $2 $3"
		return 1
	fi
}

# assert_exit EXPECTED [WHAT]: exit code of the last sweep.
assert_exit() {
	if [ "${RC:-}" != "$1" ]; then
		fail "${2:-exit code}: expected $1, got ${RC:-none}"
		show_run
		return 1
	fi
}

# ---------------------------------------------------------------- sweeper

# sweep ARGS...: run the sweeper under a timeout with stdin from /dev/null.
# Sets OUT, ERR, RC, ELAPSED_MS, SWEEP_CMD.  A hang, a signal or a
# sanitizer report is recorded as a failure here, whatever the test
# expects.
sweep() {
	_sweep "$@" </dev/null
}

# sweep_stdin TEXT ARGS...: the same with TEXT on stdin.
sweep_stdin() {
	local text=$1
	shift
	_sweep "$@" <<<"$text"
}

_sweep() {
	local t0 t1
	SWEEP_CMD="mfa-sweeper $*"
	t0=$(date +%s%N)
	timeout -k 5 "$T_SWEEP_TIMEOUT" "$SWEEPER_BIN" "$@" \
		>"$T_DIR/stdout" 2>"$T_DIR/stderr"
	RC=$?
	t1=$(date +%s%N)
	ELAPSED_MS=$(((t1 - t0) / 1000000))
	OUT=$(cat "$T_DIR/stdout")
	ERR=$(cat "$T_DIR/stderr")
	_check_crash
	return 0
}

# Record hangs, signals and sanitizer reports of the last run.
_check_crash() {
	if [ "$RC" = 124 ] || [ "$RC" = 137 ]; then
		fail "CRASH: sweeper hung: killed after ${T_SWEEP_TIMEOUT}s"
		show_run
		echo crash >>"$T_DIR/.crash"
	elif [ "$RC" -ge 128 ]; then
		fail "CRASH: sweeper died of signal $((RC - 128))"
		show_run
		echo crash >>"$T_DIR/.crash"
	elif [ "$RC" = 86 ] || [ "$RC" = 87 ] ||
		printf '%s' "$ERR" | grep -E 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' >/dev/null; then
		fail "CRASH: sanitizer report"
		show_run
		echo crash >>"$T_DIR/.crash"
	fi
}

# sweep_bg ARGS...: start the sweeper in the background (output in
# $T_DIR/bg.stdout, bg.stderr, exit code in bg.rc); sets BG_PID (the pid of
# the `timeout` wrapper, which forwards signals to the sweeper).
sweep_bg() {
	# A second background run in one test must not read the first's
	# pid or exit code.
	rm -f "$T_DIR/bg.rc" "$T_DIR/bg.pid"
	(
		timeout -k 5 "$T_SWEEP_TIMEOUT" "$SWEEPER_BIN" "$@" \
			>"$T_DIR/bg.stdout" 2>"$T_DIR/bg.stderr" </dev/null &
		echo $! >"$T_DIR/bg.pid"
		wait $!
		echo $? >"$T_DIR/bg.rc"
	) &
	T_BG_PIDS+=("$!")
	local i
	for i in $(seq 100); do
		[ -s "$T_DIR/bg.pid" ] && break
		sleep 0.02
	done
	BG_PID=$(cat "$T_DIR/bg.pid")
	BG_CMD="mfa-sweeper $*"
}

# bg_sweeper_pid: the pid of the background sweeper (the child of its
# timeout wrapper, $BG_PID); empty while it has not started.
bg_sweeper_pid() {
	ps -o pid= --ppid "$BG_PID" | tr -d ' ' | head -n1
}

# sweep_bg_wait: wait for the background sweeper; sets OUT, ERR, RC, like
# sweep.
sweep_bg_wait() {
	local i
	for i in $(seq $((T_SWEEP_TIMEOUT * 10 + 100))); do
		[ -s "$T_DIR/bg.rc" ] && break
		sleep 0.1
	done
	RC=$(cat "$T_DIR/bg.rc" 2>/dev/null)
	[ -n "$RC" ] || RC=124
	OUT=$(cat "$T_DIR/bg.stdout")
	ERR=$(cat "$T_DIR/bg.stderr")
	SWEEP_CMD=$BG_CMD
	_check_crash
}

# ---------------------------------------------------------------- JSON

# json_doc_ok: true if stdout of the last run is exactly one JSON object.
json_doc_ok() {
	local n
	n=$(printf '%s' "$OUT" | jq -s 'length' 2>/dev/null) || return 1
	[ "$n" = 1 ] || return 1
	[ "$(printf '%s' "$OUT" | jq -r 'type' 2>/dev/null)" = object ]
}

# assert_json_doc: stdout is exactly one JSON object and nothing else.
assert_json_doc() {
	if ! json_doc_ok; then
		fail "stdout is not exactly one JSON document"
		show_run
		return 1
	fi
}

# j FILTER: jq -r FILTER on stdout of the last run ("" if not JSON).
j() {
	printf '%s' "$OUT" | jq -r "$1" 2>/dev/null
}

# assert_json FILTER EXPECTED [WHAT]: jq -r FILTER equals EXPECTED.
assert_json() {
	local got
	if ! json_doc_ok; then
		fail "${3:-$1}: stdout is not one JSON document"
		show_run
		return 1
	fi
	got=$(j "$1")
	if [ "$got" != "$2" ]; then
		fail "${3:-JSON $1}: expected '$2', got '$got'"
		return 1
	fi
}

# assert_jq BOOLEAN_FILTER WHAT: jq -e FILTER is true.
assert_jq() {
	if ! json_doc_ok; then
		fail "$2: stdout is not one JSON document"
		show_run
		return 1
	fi
	if ! printf '%s' "$OUT" | jq -e "$1" >/dev/null 2>&1; then
		fail "$2 (jq: $1)"
		note "JSON: $(printf '%s' "$OUT" | jq -c . 2>/dev/null | head -c 1500)"
		return 1
	fi
}

# rule_json NAME FILTER: FILTER applied to rule NAME's object.
rule_json() {
	j ".rules[] | select(.name == \"$1\") | $2"
}

# ---------------------------------------------------------------- SQL

# q SQL [DB]: run SQL, print the result unaligned (one value for one
# column, one row).  A SQL error is a test failure (and returns 1).
q() {
	local out
	if ! out=$(timeout -k 5 30 psql -XAtq -v ON_ERROR_STOP=1 \
		-d "${2:-$DB}" -c "$1" 2>&1); then
		fail "psql failed: $out (SQL: $1)"
		return 1
	fi
	printf '%s\n' "$out"
}

# sql [DB] < SCRIPT: run a SQL script (fixtures); an error stops the test.
sql() {
	local out
	if ! out=$(timeout -k 5 60 psql -XAtq -v ON_ERROR_STOP=1 \
		-d "${1:-$DB}" -f - 2>&1); then
		die "fixture SQL failed: $out"
	fi
	[ -z "$out" ] || printf '%s\n' "$out"
}

# assert_q SQL EXPECTED WHAT
assert_q() {
	local got
	got=$(q "$1") || return 1
	assert_eq "$got" "$2" "$3"
}

# fresh_db: a new database cloned from the template; sets DB.
fresh_db() {
	T_DB_SEQ=$((T_DB_SEQ + 1))
	DB="t_$(printf '%s' "$T_NAME" | tr -c 'a-z0-9_' '_' | cut -c1-40)_$$_$T_DB_SEQ"
	q "CREATE DATABASE \"$DB\" TEMPLATE \"$SWEEPER_TEMPLATE_DB\"" postgres \
		>/dev/null || die "cannot create database $DB"
	T_DBS+=("$DB")
}

# other_db: create one more database from the template; prints its name.
other_db() {
	local name="${DB}_$1"
	q "CREATE DATABASE \"$name\" TEMPLATE \"$SWEEPER_TEMPLATE_DB\"" postgres \
		>/dev/null || die "cannot create database $name"
	T_DBS+=("$name")
	printf '%s\n' "$name"
}
T_DBS=()
T_DB_SEQ=0

# tables_present: the reference tables that still exist, sorted.
tables_present() {
	q "SELECT string_agg(relname, ',' ORDER BY relname) FROM pg_class
	   WHERE relkind = 'r' AND relname IN
	   ('accounts_user', 'otp_totp_totpdevice', 'accounts_backupcode')"
}

# ---------------------------------------------------------------- sessions

# bg_session NAME SQL: start psql in the background as application NAME
# (in database $BG_DB, default $DB),
# running SQL then sleeping (holding whatever SQL took) until bg_end NAME.
# Returns once the session is sleeping, i.e. once SQL has completed.
bg_session() {
	local app="mfa-test-$1-$$" stmt=$2 i
	PGAPPNAME=$app timeout -k 5 120 psql -XAtq -v ON_ERROR_STOP=1 -d "${BG_DB:-$DB}" \
		-c "$stmt; SELECT pg_sleep(100)" >"$T_DIR/bg-$1.out" 2>&1 &
	T_BG_PIDS+=("$!")
	T_BG_APPS+=("$app")
	for i in $(seq 200); do
		if [ "$(q "SELECT count(*) FROM pg_stat_activity
			WHERE application_name = '$app' AND wait_event = 'PgSleep'")" = 1 ]; then
			return 0
		fi
		sleep 0.05
	done
	die "background session $1 did not get ready: $(cat "$T_DIR/bg-$1.out")"
}

# bg_end NAME: end the background session NAME (its transaction rolls back
# and its session locks are released).
bg_end() {
	q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	   WHERE application_name = 'mfa-test-$1-$$'" >/dev/null
}

# advisory_lock_held: 1 if some session holds an advisory lock in $DB.
advisory_lock_held() {
	q "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
	   WHERE l.locktype = 'advisory' AND l.granted AND d.datname = '$DB'"
}

# wait_until SECONDS 'CONDITION': evaluate the shell CONDITION every 50 ms
# until it is true (write it in single quotes so that $(...) inside runs
# each time); returns 1 on timeout.
wait_until() {
	local deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while ! eval "$1"; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

# ---------------------------------------------------------------- config

# cfg_write: the config file is stdin; sets CFG.
cfg_write() {
	CFG=$T_DIR/sweeper.ini
	cat >"$CFG"
}

# cfg_std RULES [LINE...]: a config with [database] dsn for $DB and
# [sweeper] plugin_dir = $PLUGIN_DIR and rules = RULES, then LINEs (more
# [sweeper] keys, then any further sections).  Sets CFG.
cfg_std() {
	local rules=$1
	shift
	CFG=$T_DIR/sweeper.ini
	{
		printf '[database]\ndsn = dbname=%s\nlock_timeout = %s\n\n' "$DB" "${CFG_LOCK_TIMEOUT:-2s}"
		printf '[sweeper]\nplugin_dir = %s\nrules = %s\n' "${CFG_PLUGIN_DIR:-$PLUGIN_DIR}" "$rules"
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$CFG"
}

# line_of PATTERN: the line number of the first line of $CFG matching the
# fixed string PATTERN.
line_of() {
	grep -nF -- "$1" "$CFG" | head -n1 | cut -d: -f1
}

# plugin_copy_dir: a fresh, safe (0755, root-owned) plugin dir in $T_DIR
# holding copies (0644) of the built rule plugins; prints its path.
plugin_copy_dir() {
	local d=$T_DIR/plugins
	mkdir -p "$d"
	chmod 0755 "$T_DIR" "$d"
	cp "$PLUGIN_DIR"/*.so "$d"/ || die "no plugins in $PLUGIN_DIR"
	chmod 0644 "$d"/*.so
	printf '%s\n' "$d"
}

# example_plugin_dir: plugin_copy_dir, plus the example team plugins
# (django_sessions.so, password_reset_tokens.so); prints its path.
example_plugin_dir() {
	local d
	d=$(plugin_copy_dir) || return 1
	cp "$EXAMPLE_PLUGIN_DIR/django_sessions.so" \
		"$EXAMPLE_PLUGIN_DIR/password_reset_tokens.so" "$d"/ ||
		die "no example plugins in $EXAMPLE_PLUGIN_DIR"
	chmod 0644 "$d"/*.so
	printf '%s\n' "$d"
}

# ---------------------------------------------------------------- rows

# Marker columns: one "table|column" per entry; the marker column holds a
# unique, descriptive text per row (must-go-..., must-stay-...).
MARK_TABLES=("accounts_backupcode|code_hash" "otp_totp_totpdevice|name")

_marks() {
	local e table col
	for e in "${MARK_TABLES[@]}"; do
		table=${e%%|*}
		col=${e#*|}
		q "SELECT $col || ' ($table)' FROM $table" || return 1
	done | LC_ALL=C sort
}

# snap: remember every marked row before a run.
snap() {
	_marks >"$T_DIR/snap" || die "cannot snapshot rows"
	SNAP_N=$(grep -c . "$T_DIR/snap")
}

# check_rows GONE_ERE [WHAT]: after a run, exactly the rows of the snapshot
# whose marker matches GONE_ERE are gone; every other row is still there.
# Sets GONE_N (number of rows that should be gone).
check_rows() {
	local re=$1 what=${2:-rows} missing extra
	grep -E -- "$re" "$T_DIR/snap" >"$T_DIR/expect.gone"
	grep -vE -- "$re" "$T_DIR/snap" >"$T_DIR/expect.kept"
	GONE_N=$(grep -c . "$T_DIR/expect.gone")
	_marks >"$T_DIR/after" || return 1
	# Rows expected to stay but gone.
	missing=$(LC_ALL=C comm -23 "$T_DIR/expect.kept" "$T_DIR/after" | _list)
	# Rows that should be gone but remain.
	extra=$(LC_ALL=C comm -12 "$T_DIR/expect.gone" "$T_DIR/after" | _list)
	if [ -n "$missing" ]; then
		fail "$what: deleted but must stay: $missing"
	fi
	if [ -n "$extra" ]; then
		fail "$what: still there but must be gone: $extra"
	fi
	if [ -n "$missing$extra" ]; then
		show_run
		return 1
	fi
}

# A list of lines as "a, b, c (+N more)", at most 8 shown.
_list() {
	awk 'NR <= 8 { printf "%s%s", (NR > 1 ? ", " : ""), $0 }
	     END { if (NR > 8) printf " (+%d more)", NR - 8 }'
}

# check_nothing_deleted [WHAT]: every row of the snapshot is still there.
check_nothing_deleted() {
	check_rows 'a^' "${1:-nothing deleted}"
}

# sweep_check GONE_ERE ARGS...: snapshot, run `mfa-sweeper -c $CFG --json
# ARGS`, then expect exit 0, status ok, exactly the GONE_ERE rows gone and
# deleted_total equal to their number.
sweep_check() {
	local re=$1
	shift
	snap
	sweep -c "$CFG" --json "$@"
	assert_exit 0 || return 1
	assert_json .status ok "summary status"
	check_rows "$re"
	assert_json .deleted_total "$GONE_N" "deleted_total"
}

# ---------------------------------------------------------------- runner

# on_exit CMD: run CMD when the test ends, however it ends, before the
# usual cleanup (a server of the test's own to stop, say).
T_ON_EXIT=()
on_exit() {
	if [ ${#T_ON_EXIT[@]} -eq 0 ]; then
		trap 'exit 143' TERM INT
		trap 'T_RC=$?; for c in "${T_ON_EXIT[@]}"; do eval "$c"; done; (exit $T_RC); _t_exit' EXIT
	fi
	T_ON_EXIT+=("$1")
}


_t_cleanup() {
	local p app d
	for app in "${T_BG_APPS[@]}"; do
		psql -XAtq -d postgres -c "SELECT pg_terminate_backend(pid)
			FROM pg_stat_activity WHERE application_name = '$app'" \
			>/dev/null 2>&1
	done
	for p in "${T_BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	[ -s "$T_DIR/bg.pid" ] && kill "$(cat "$T_DIR/bg.pid")" 2>/dev/null
	wait 2>/dev/null
	for d in "${T_DBS[@]}"; do
		timeout 30 psql -XAtq -d postgres \
			-c "DROP DATABASE IF EXISTS \"$d\" WITH (FORCE)" >/dev/null 2>&1
	done
	if [ -n "$T_DIR" ] && [ -d "$T_DIR" ]; then
		chmod -R u+rwX "$T_DIR" 2>/dev/null
		rm -rf "$T_DIR"
	fi
}

# Run one test function in this process (called as `bash FILE t_name`).
_t_run_one() {
	T_NAME=$1
	T_DIR=$(mktemp -d /tmp/mfa-sweeper-test.XXXXXX) || exit 2
	chmod 0755 "$T_DIR"
	trap '_t_exit' EXIT
	cd "$T_DIR" || exit 2
	if ! declare -F "$T_NAME" >/dev/null; then
		fail "no such test"
		exit 1
	fi
	"$T_NAME"
	exit 0
}

# Exit status of a test process: 3 if the sweeper crashed, 1 if any
# assertion failed (in this shell or a subshell), else 0.
_t_exit() {
	local rc=$?
	if [ -s "$T_DIR/.crash" ]; then
		rc=3
	elif [ -s "$T_DIR/.fails" ] && [ "$rc" = 0 ]; then
		rc=1
	fi
	_t_cleanup
	exit "$rc"
}

# A test file run on its own (not from tests/run.sh) starts its own server
# and template database, so `bash tests/integration/test_engine.sh` works.
_t_standalone_server() {
	local schema=${SWEEPER_REFERENCE_SCHEMA:-$T_ROOT/../shared/reference-schema.sql}
	[ -r "$schema" ] || [ -n "${SWEEPER_REFERENCE_SCHEMA:-}" ] || schema=$T_ROOT/tests/demo/reference-schema.sql
	[ -x "$SWEEPER_BIN" ] || { echo "no sweeper binary at $SWEEPER_BIN; run make" >&2; exit 2; }
	[ -r "$schema" ] || { echo "reference schema not found at $schema" >&2; exit 2; }
	. "$T_LIB_DIR/pg.sh"
	pg_start || exit 2
	psql -XAtq -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $SWEEPER_TEMPLATE_DB" >/dev/null &&
		psql -XAtq -v ON_ERROR_STOP=1 -d "$SWEEPER_TEMPLATE_DB" -f "$schema" >/dev/null || exit 2
	export SWEEPER_SERVER_READY=1
}

# _t_run_recorded FILE BASE NAME: run test NAME of FILE in its own bash
# process under a timeout, print "ok  BASE/NAME (Ns)" or "FAIL ..." with
# its log, and append the result to $T_RESULTS.
_t_run_recorded() {
	local file=$1 base=$2 n=$3 rc t0 t1 log secs
	log=$(mktemp /tmp/mfa-sweeper-log.XXXXXX)
	t0=$(date +%s%N)
	T_LOG=$log timeout -k 10 "$T_TEST_TIMEOUT" bash "$file" "$n" >>"$log" 2>&1
	rc=$?
	t1=$(date +%s%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
	if [ "$rc" = 0 ]; then
		printf 'ok    %s/%s (%ss)\n' "$base" "$n" "$secs"
		[ -z "${T_RESULTS:-}" ] || echo "pass $base/$n" >>"$T_RESULTS"
	else
		case $rc in
		124 | 137) echo "  - test timed out after ${T_TEST_TIMEOUT}s" >>"$log" ;;
		1 | 3) ;;
		*) echo "  - test script exited with code $rc" >>"$log" ;;
		esac
		printf 'FAIL  %s/%s (%ss)\n' "$base" "$n" "$secs"
		cat "$log"
		if [ -n "${T_RESULTS:-}" ]; then
			echo "fail $base/$n" >>"$T_RESULTS"
			[ "$rc" != 3 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ] ||
				echo "crash $base/$n" >>"$T_RESULTS"
		fi
	fi
	rm -f "$log"
}

# run_tests [t_name | --recorded t_name]: the last line of every test file.
# With a name, run that test here (the process _t_run_recorded starts);
# with --recorded and a name, run it as _t_run_recorded does (tests/run.sh
# schedules every test of every file this way); without, run every t_* of
# the file, one after the other.  T_ONLY=REGEX selects by "file/t_name".
run_tests() {
	local file base names n
	file=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
	base=$(basename "$file" .sh)
	base=${base#test_}
	if [ "${1:-}" = --recorded ]; then
		_t_run_recorded "$file" "$base" "$2"
		exit 0
	fi
	if [ $# -gt 0 ]; then
		_t_run_one "$1"
	fi
	if [ -z "${SWEEPER_SERVER_READY:-}" ]; then
		_t_standalone_server
	fi
	names=$(grep -oE '^t_[A-Za-z0-9_]+[[:space:]]*\(\)' "$file" | sed 's/[[:space:]]*()//')
	for n in $names; do
		if [ -n "${T_ONLY:-}" ] && ! printf '%s/%s' "$base" "$n" | grep -qE -- "$T_ONLY"; then
			continue
		fi
		_t_run_recorded "$file" "$base" "$n"
	done
	exit 0
}

# The shared SQL fixtures.
. "$T_LIB_DIR/fixtures.sh"
