#!/bin/bash
# run.sh: the test runner `make check` calls.
#
#   BUILD=build bash tests/run.sh [REGEX]
#
# Starts one throwaway PostgreSQL server (tests/lib/pg.sh), creates the
# template database the integration tests clone, runs every unit-test
# binary $BUILD/tests/unit/test_*, replays every fuzz corpus
# (tests/fuzz/corpus/NAME/ through $BUILD/tests/fuzz/replay_NAME) and runs
# every tests/integration/test_*.sh, and ends with one line "N passed, M
# failed".  Exits non-zero when a test failed or crashed.
#
# REGEX (or $T_ONLY) restricts the run to integration tests whose
# "file/t_name" matches (e.g. "engine/" or "t_dry_run"); unit tests and
# corpus replays are skipped when it is given, unless $T_UNIT=1.
#
# Environment: BUILD (default build), SANITIZE (informational), T_JOBS
# (integration tests run at once, default 4),
# SWEEPER_REFERENCE_SCHEMA (default ../shared/reference-schema.sql next to
# the repository, else tests/demo/reference-schema.sql), T_TEST_TIMEOUT (per test, default 120 s),
# T_SWEEP_TIMEOUT (per sweeper invocation, default 60 s),
# T_UNIT_TIMEOUT (per unit binary, default 180 s).

set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
export SWEEPER_BUILD=$BUILD
export SWEEPER_BIN=$BUILD/mfa-sweeper
export SWEEPER_TEMPLATE_DB=sweeper_template
export T_TEST_TIMEOUT=${T_TEST_TIMEOUT:-120}
export T_SWEEP_TIMEOUT=${T_SWEEP_TIMEOUT:-60}
T_UNIT_TIMEOUT=${T_UNIT_TIMEOUT:-180}
export T_ONLY=${1:-${T_ONLY:-}}
SCHEMA=${SWEEPER_REFERENCE_SCHEMA:-$ROOT/../shared/reference-schema.sql}
# A clone without ../shared uses the copy the demo keeps.
[ -r "$SCHEMA" ] || [ -n "${SWEEPER_REFERENCE_SCHEMA:-}" ] || SCHEMA=$ROOT/tests/demo/reference-schema.sql

# Sanitizer runtimes exit with codes of their own (see tests/lib/assert.sh).
export ASAN_OPTIONS=${ASAN_OPTIONS:-exitcode=86:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-exitcode=87:print_stacktrace=1:halt_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=86}

passed=0
failed=0
crashed=0
skipped=0
START=$(date +%s)

bail() {
	echo "run.sh: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

if [ ! -x "$SWEEPER_BIN" ]; then
	bail "no sweeper binary at $SWEEPER_BIN; run make first"
fi
[ -r "$SCHEMA" ] || bail "reference schema not found at $SCHEMA (set SWEEPER_REFERENCE_SCHEMA)"
command -v jq >/dev/null || bail "jq is missing; run make deps"

# shellcheck source=lib/pg.sh
. "$ROOT/tests/lib/pg.sh"
echo "== starting PostgreSQL"
pg_start || bail "cannot start PostgreSQL"
RESULTS=$(mktemp /tmp/mfa-sweeper-results.XXXXXX)
export T_RESULTS=$RESULTS
trap 'rm -f "$RESULTS"; pg_stop' EXIT
trap 'exit 130' INT TERM

psql -XAtq -v ON_ERROR_STOP=1 -d postgres \
	-c "CREATE DATABASE $SWEEPER_TEMPLATE_DB" >/dev/null ||
	bail "cannot create the template database"
psql -XAtq -v ON_ERROR_STOP=1 -d "$SWEEPER_TEMPLATE_DB" -f "$SCHEMA" >/dev/null ||
	bail "cannot load $SCHEMA into the template database"
export SWEEPER_SERVER_READY=1

# ------------------------------------------------------------ unit tests

run_unit() {
	local bin=$1 name out rc ok nok skip
	name=$(basename "$bin")
	out=$(mktemp /tmp/mfa-sweeper-unit.XXXXXX)
	SWEEPER_BUILD=$BUILD CMOCKA_MESSAGE_OUTPUT=TAP \
		timeout -k 10 "$T_UNIT_TIMEOUT" "$bin" >"$out" 2>&1 </dev/null
	rc=$?
	ok=$(grep -cE '^ok [0-9]+' "$out")
	skip=$(grep -cE '^not ok [0-9]+.*# SKIP' "$out")
	nok=$(($(grep -cE '^not ok [0-9]+' "$out") - skip))
	passed=$((passed + ok))
	failed=$((failed + nok))
	skipped=$((skipped + skip))
	if [ "$nok" -gt 0 ]; then
		printf 'FAIL  unit/%s: %d of %d failed\n' "$name" "$nok" $((ok + nok))
		# The failed tests and the message lines after each.
		awk '/^not ok [0-9]+/ && !/# SKIP/ { p = 1; print "  - " $0; next }
		     /^(ok|not ok) [0-9]+/ { p = 0 }
		     p && /^#/ { print "      " $0 }' "$out" | head -n 60
	fi
	if [ "$rc" != 0 ] && [ "$nok" = 0 ]; then
		# Exited badly with no failed test to show for it: a crash, a
		# hang, a sanitizer report or a binary that is not cmocka.
		failed=$((failed + 1))
		crashed=$((crashed + 1))
		case $rc in
		124 | 137) why="timed out after ${T_UNIT_TIMEOUT}s" ;;
		86 | 87) why="sanitizer report" ;;
		*) if [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))"; else why="exit code $rc"; fi ;;
		esac
		printf 'FAIL  unit/%s: crashed (%s)\n' "$name" "$why"
		tail -n 30 "$out" | sed 's/^/      /'
	elif [ "$rc" -ge 124 ]; then
		crashed=$((crashed + 1))
		printf 'FAIL  unit/%s: crashed (exit %d) after the failures above\n' "$name" "$rc"
		tail -n 30 "$out" | sed 's/^/      /'
	elif [ "$ok" = 0 ] && [ "$nok" = 0 ]; then
		printf 'note  unit/%s: ran no test\n' "$name"
	else
		printf 'ok    unit/%s: %d passed%s\n' "$name" "$ok" \
			"$([ "$skip" = 0 ] || echo ", $skip skipped")"
	fi
	rm -f "$out"
}

if [ -z "$T_ONLY" ] || [ "${T_UNIT:-0}" = 1 ]; then
	echo "== unit tests"
	shopt -s nullglob
	units=("$BUILD"/tests/unit/test_*)
	shopt -u nullglob
	if [ ${#units[@]} -eq 0 ]; then
		echo "note  no unit-test binaries in $BUILD/tests/unit (make test-progs builds them)"
	fi
	for bin in "${units[@]}"; do
		case $bin in *.d | *.o) continue ;; esac
		[ -x "$bin" ] || continue
		run_unit "$bin"
	done
	# A unit test whose binary is missing or older than its source did
	# not build: that is a failure, not a skip.
	for src in "$ROOT"/tests/unit/test_*.c; do
		[ -f "$src" ] || continue
		bin=$BUILD/tests/unit/$(basename "$src" .c)
		if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
			printf 'FAIL  unit/%s: not built from %s (make test-progs)\n' \
				"$(basename "$bin")" "tests/unit/$(basename "$src")"
			failed=$((failed + 1))
		fi
	done
fi

# ------------------------------------------------- fuzz corpus replays

# Every fuzz target (tests/fuzz/fuzz_NAME.c) is built with the replay
# driver as $BUILD/tests/fuzz/replay_NAME and fed its whole corpus
# (tests/fuzz/corpus/NAME/) and the files tests/fuzz/live-seeds names for
# it: one test each, failed by a broken check, a crash, a sanitizer report
# or a leak.  They run with the unit tests.
run_replay() {
	local name=$1 bin=$BUILD/tests/fuzz/replay_$1 out rc live=()
	# With the files that seed it where they live (tests/fuzz/live-seeds).
	while read -r target path; do
		[ "$target" = "$name" ] && live+=("$ROOT/$path")
	done < <(grep -v '^#' "$ROOT/tests/fuzz/live-seeds")
	out=$(mktemp /tmp/mfa-sweeper-replay.XXXXXX)
	timeout -k 10 "$T_UNIT_TIMEOUT" "$bin" "$ROOT/tests/fuzz/corpus/$name" \
		"${live[@]}" >"$out" 2>&1 </dev/null
	rc=$?
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
		printf 'ok    fuzz/%s: %s\n' "$name" "$(tail -n 1 "$out")"
	else
		failed=$((failed + 1))
		case $rc in
		124 | 137) why="timed out after ${T_UNIT_TIMEOUT}s" ;;
		86 | 87) why="sanitizer report" ;;
		*) if [ "$rc" -ge 128 ]; then why="killed by signal $((rc - 128))"; else why="exit code $rc"; fi ;;
		esac
		# The last "replay: FILE" line names the input that failed.
		printf 'FAIL  fuzz/%s: %s; rerun: %s %s\n' "$name" "$why" "$bin" \
			"$(sed -n 's/^replay: //p' "$out" | tail -n 1)"
		grep -v '^replay: ' "$out" | tail -n 30 | sed 's/^/      /'
	fi
	rm -f "$out"
}

if [ -z "$T_ONLY" ] || [ "${T_UNIT:-0}" = 1 ]; then
	echo "== fuzz corpus replays"
	for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
		[ -f "$src" ] || continue
		name=$(basename "$src" .c)
		name=${name#fuzz_}
		bin=$BUILD/tests/fuzz/replay_$name
		if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
			printf 'FAIL  fuzz/%s: not built from %s (make test-progs)\n' \
				"$name" "tests/fuzz/$(basename "$src")"
			failed=$((failed + 1))
			continue
		fi
		run_replay "$name"
	done
fi

# ------------------------------------------------------- integration tests

echo "== integration tests"
# Tests run T_JOBS at a time (default 4), each in its own process with a
# database of its own: most of their time is spent waiting (on sleeps,
# timeouts and the server), not computing.  The tests of every file go into
# one queue, those marked slow first (a `# slow` comment on the line of the
# function, e.g. `t_kill_9_many_times() { # slow`), so that no long test
# starts last; each test's output is shown whole as it ends.
T_JOBS=${T_JOBS:-4}
FILE_DIR=$(mktemp -d /tmp/mfa-sweeper-files.XXXXXX)
trap 'rm -f "$RESULTS"; rm -rf "$FILE_DIR"; pg_stop' EXIT
slow=()
rest=()
for file in "$ROOT"/tests/integration/test_*.sh; do
	[ -f "$file" ] || continue
	base=$(basename "$file" .sh)
	base=${base#test_}
	names=$(grep -oE '^t_[A-Za-z0-9_]+[[:space:]]*\(\)' "$file" | sed 's/[[:space:]]*()//')
	if [ -z "$names" ] && [ -z "$T_ONLY" ]; then
		printf 'FAIL  %s: ran no test\n' "$(basename "$file")"
		echo "fail $(basename "$file")" >>"$RESULTS"
		continue
	fi
	for n in $names; do
		if [ -n "$T_ONLY" ] && ! printf '%s/%s' "$base" "$n" | grep -qE -- "$T_ONLY"; then
			continue
		fi
		if grep -qE "^$n[[:space:]]*\(\)[[:space:]]*\{[[:space:]]*#[[:space:]]*slow" "$file"; then
			slow+=("$file $n")
		else
			rest+=("$file $n")
		fi
	done
done
run_test() {
	local file=$1 name=$2 out=$3 res=$4 rc
	T_RESULTS=$res bash "$file" --recorded "$name" >"$out" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		printf 'FAIL  %s: the test file itself exited with %d\n' "$(basename "$file")/$name" "$rc" >>"$out"
		echo "fail $(basename "$file")/$name" >>"$res"
		echo "crash $(basename "$file")/$name" >>"$res"
	fi
}
# Show the output of every test that has ended, and collect its results.
flush_done() {
	local f
	for f in "$FILE_DIR"/*.done; do
		[ -e "$f" ] || continue
		cat "${f%.done}.out"
		cat "${f%.done}.res" >>"$RESULTS"
		rm -f "$f" "${f%.done}.out" "${f%.done}.res"
	done
}
i=0
for t in ${slow[@]+"${slow[@]}"} ${rest[@]+"${rest[@]}"}; do
	while [ "$(jobs -rp | wc -l)" -ge "$T_JOBS" ]; do
		wait -n
		flush_done
	done
	: >"$FILE_DIR/$i.res"
	# shellcheck disable=SC2086 # "file name"
	( run_test ${t} "$FILE_DIR/$i.out" "$FILE_DIR/$i.res"; : >"$FILE_DIR/$i.done" ) &
	i=$((i + 1))
	flush_done
done
wait
flush_done

passed=$((passed + $(grep -c '^pass ' "$RESULTS")))
failed=$((failed + $(grep -c '^fail ' "$RESULTS")))
crashed=$((crashed + $(grep -c '^crash ' "$RESULTS")))

echo "== done in $(($(date +%s) - START))s${SANITIZE:+ (SANITIZE=$SANITIZE)}"
if [ "$skipped" -gt 0 ]; then
	echo "note  $skipped unit test(s) skipped"
fi
if [ "$crashed" -gt 0 ]; then
	echo "note  $crashed crash(es), hang(s) or sanitizer report(s)"
fi
if [ "$failed" -gt 0 ]; then
	grep '^fail ' "$RESULTS" | sed 's/^fail /failed: /'
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$crashed" -eq 0 ]
