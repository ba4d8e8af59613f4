#!/bin/bash
# run.sh: what `make fuzz` runs: each libFuzzer target for FUZZ_SECONDS,
# one after another, then one line per target with its executions, its
# coverage and what it found.
#
#   FUZZ_BUILD=build-fuzz FUZZ_SECONDS=60 bash tests/fuzz/run.sh [TARGET...]
#
# TARGET is a name of tests/fuzz/fuzz_NAME.c (default: every one).  Each
# target starts from its committed corpus (tests/fuzz/corpus/NAME/, only
# read), the files tests/fuzz/live-seeds names for it, and what earlier
# runs found ($FUZZ_BUILD/corpus/NAME/, where new inputs go), with the
# dictionary tests/fuzz/NAME.dict when there is one.  A crash, leak,
# timeout or failed check stops that target and is saved under
# $FUZZ_BUILD/findings/NAME/; the log of each run is
# $FUZZ_BUILD/logs/NAME.log.  Exits 1 when any target found something.
#
# FUZZ_FLAGS adds libFuzzer options (e.g. "-jobs=2 -workers=2").

set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_FLAGS=${FUZZ_FLAGS:-}

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for src in tests/fuzz/fuzz_*.c; do
		name=${src#tests/fuzz/fuzz_}
		targets+=("${name%.c}")
	done
fi

# Leaks are findings too; a report names the input that caused it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

summary=()
found=0
for t in "${targets[@]}"; do
	bin=$FUZZ_BUILD/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "run.sh: no target $bin; run make fuzz-progs" >&2
		exit 2
	fi
	work=$FUZZ_BUILD/corpus/$t
	findings=$FUZZ_BUILD/findings/$t
	log=$FUZZ_BUILD/logs/$t.log
	mkdir -p "$work" "$findings" "$(dirname "$log")"
	# libFuzzer reads directories: the live seeds go in with what earlier
	# runs found, copied afresh each time.
	grep -v '^#' tests/fuzz/live-seeds | while read -r target path; do
		[ "$target" = "$t" ] && cp "$path" "$work/live-$(basename "$path")"
	done
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
	echo "== fuzz $t for ${FUZZ_SECONDS}s (log: $log)"
	before=$(find "$findings" -type f | wc -l)
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
		-timeout=10 -rss_limit_mb=2048 -max_len=8192 \
		-artifact_prefix="$findings/" "${dict[@]}" $FUZZ_FLAGS \
		"$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	# The last status line: "#N  DONE  cov: C ft: F corp: ...".
	cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 |
		sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*/cov \1 ft \2/p')
	after=$(find "$findings" -type f | wc -l)
	if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
		found=1
		what=$(grep -m 1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|fuzz check failed' "$log")
		file=$(sed -n 's/.*Test unit written to \(.*\)/\1/p' "$log" | tail -n 1)
		line="$t: ${execs:-?} executions, ${cov:-no coverage line}; FOUND: ${what:-exit $rc} (${file:-see $log})"
	else
		line="$t: ${execs:-?} executions, ${cov:-no coverage line}; nothing found"
	fi
	echo "$line"
	summary+=("$line")
done

echo "== fuzz summary (${FUZZ_SECONDS}s per target)"
printf '%s\n' "${summary[@]}"
if [ "$found" -ne 0 ]; then
	echo "a target found something: reproduce with $FUZZ_BUILD/fuzz_NAME FILE, fix it, and add FILE to tests/fuzz/corpus/NAME/"
	exit 1
fi
