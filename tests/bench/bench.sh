#!/usr/bin/env bash
# bench.sh: what `make bench` runs.
#
#   BUILD=build SCALES="S M L" bash tests/bench/bench.sh
#
# Starts a throwaway PostgreSQL (tests/lib/pg.sh), generates reference-
# schema data at each scale (tests/bench/generate.sql, and for the bulk-
# disable scenarios tests/bench/generate_bulk.sql), and measures the
# sweeper side by side with the baseline each target of doc/benchmarks.md
# compares it to, every run on a fresh copy of the
# same data (CREATE DATABASE ... TEMPLATE):
#
#   backlog, medium, nightly, nightly_idx, users
#            the sweeper (example config, one worker) against one
#            DELETE ... WHERE <predicate> per table, and a naive loop of
#            DELETE ... WHERE id IN (SELECT ... LIMIT 5000)
#   workers  the backlog with [sweeper] workers = $WORKERS (when WORKERS
#            is 2 or more) against the same single DELETE, beside two
#            plain DELETEs over the two halves of the table's blocks, run
#            at once
#   bulk     user_disabled --now after a bulk disable (generate_bulk.sql)
#            against one set-based DELETE ... USING accounts_user per table
#   scoped   the same run scoped with --users-file - to the disabled users,
#            against the unscoped run; and one-user scoped runs
#   idle     runs that find nothing to delete, the predicates' columns
#            indexed, at every scale
#   fleet    FLEET_TENANTS tenant schemas (default 300) of FLEET_ROWS
#            backup codes each (default 3000, half of them eligible),
#            swept by one run over a tenants_query target with [sweeper]
#            jobs = 1, 2 and 4, against a shell loop that runs the
#            sweeper once per tenant (once, whatever SCALES says;
#            doc/fleet.md)
#
# Every method is checked to leave exactly the rows the rule keeps (count
# and hash of the remaining ids, against the same figures taken on the
# template with the predicate written here from doc/design.md "Rule semantics").
# Then the application-impact runs: a pgbench script that reads and
# updates random users' codes and devices, alone, during the sweeper (one
# worker, and WORKERS when 2 or more) and during the single DELETE, its
# p99 beside the p99 of the application alone; and a sweep while the
# application holds one eligible row locked.  Every run records the
# 1-minute load average when it ends: the machine may be shared.
#
# Output: the side-by-side table of targets (PASS/MISS), the runs and the
# rest on stdout, and in $BENCH_OUT (default $BUILD/bench): results.md,
# results.json (every figure and every single run), rows_per_s.png (when
# gnuplot is installed) and the logs.  The results, with the date, the
# machine, its load and the server's version, also replace what stands
# between the markers of $BENCH_DOC (doc/benchmarks.md).
#
# Environment:
#   BUILD         build directory (default build)
#   SCALES        scales to run: S (0.5M codes), M (2M), L (8M), or a
#                 number of backup codes (default "S M L"); the bulk-disable
#                 data has one user per 40 codes (200,000 users at L)
#   SCENARIOS     subset of "backlog medium nightly nightly_idx users
#                 workers bulk scoped idle" (default: all)
#   RUNS          runs of each compared method, the median reported
#                 (default 3); the naive loops run once
#   WORKERS       [sweeper] workers of the "workers" scenario and of the
#                 application's run beside it (default 1: off; the key
#                 exists only in builds with parallel workers, and a build
#                 that refuses it stops the benchmark before it starts)
#   NAIVE=0       skip the naive loops
#   IMPACT=0      skip the application-impact runs
#   PROFILE=0     skip the profiling runs (the sweeper once more at the
#                 largest scale, with every statement's duration logged)
#   RUN_TIMEOUT_S stop a sweeper run after this many seconds (default 300)
#                 with SIGTERM; it is reported as "timed out" with the rows
#                 per second it reached, and not repeated
#   PROFILE_TIMEOUT_S  the same for a profiling run (default 30)
#   NAIVE_MAX_S   stop a naive loop after this many seconds (default 120),
#                 reported as "(stopped)" with the rows it deleted
#   BENCH_OUT     output directory
#   BENCH_DOC     the file whose marked section the results replace
#                 (default doc/benchmarks.md; empty: none)
# Exit status: 0 when every run completed (or timed out) and every method
# that finished deleted exactly the expected rows; targets missed do not
# fail the run.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=$ROOT/tests/bench
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
SWEEPER=$BUILD/mfa-sweeper
ALL_SCENARIOS="backlog medium nightly nightly_idx users workers bulk scoped idle fleet"
SCALES=${SCALES:-S M L}
SCENARIOS=${SCENARIOS:-$ALL_SCENARIOS}
RUNS=${RUNS:-3}
WORKERS=${WORKERS:-1}
BENCH_DOC=${BENCH_DOC-$ROOT/doc/benchmarks.md}
NAIVE=${NAIVE:-1}
IMPACT=${IMPACT:-1}
PROFILE=${PROFILE:-1}
RUN_TIMEOUT_S=${RUN_TIMEOUT_S:-300}
PROFILE_TIMEOUT_S=${PROFILE_TIMEOUT_S:-30}
NAIVE_MAX_S=${NAIVE_MAX_S:-120}
OUT=${BENCH_OUT:-$BUILD/bench}
BATCH=5000
# A run still going this long after its SIGTERM is killed: the sweeper's
# own stop_timeout (10s) cancels a batch long before.
KILL_AFTER_S=30

# Application load of the impact runs: pgbench clients and their rate.
APP_CLIENTS=4
APP_RATE=200
APP_BASELINE_S=10
# How long the application holds an eligible row in the locked-row run.
LOCK_HOLD_S=10

# The indexes the idle runs are measured with: one for each rule's
# predicate, besides the user_id indexes of the reference schema.  This is
# the advice doc/benchmarks.md gives for a frequent timer; the bench prints it.
# The timer's config also sets [rule.user_disabled] lookback = IDLE_LOOKBACK
# (doc/operations.md "A frequent timer"); the nightly run without it is
# measured beside it (idle_full), for the record.
IDLE_INDEXES=(
	"CREATE INDEX accounts_user_mfa_disabled_at ON accounts_user (mfa_disabled_at) WHERE NOT mfa_enrolled"
	"CREATE INDEX accounts_backupcode_used_at ON accounts_backupcode (used_at)"
	"CREATE INDEX otp_totp_totpdevice_unconfirmed_created_at ON otp_totp_totpdevice (created_at) WHERE NOT confirmed"
)
IDLE_LOOKBACK=1h

FAILED=0
WORKERS_SUPPORTED=
WORKERS_WHY=

die() {
	echo "bench: $*" >&2
	exit 1
}

log() {
	printf '%s  %s\n' "$(date -u +%H:%M:%S)" "$*" >&2
}

ms_now() {
	date +%s%3N
}

us_now() {
	date +%s%6N
}

q() {
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -q -v ON_ERROR_STOP=1 "$@"
}

q1() {
	q -At "$@"
}

# percentile P FILE: the P-th percentile (nearest rank) of the numbers in
# FILE, one a line; empty when there are none.
percentile() {
	sort -g "$2" | awk -v p="$1" '
		{ v[NR] = $1 }
		END {
			if (NR == 0) exit
			r = int(p / 100 * NR + 0.999999)
			if (r < 1) r = 1
			if (r > NR) r = NR
			print v[r]
		}'
}

max_of() {
	sort -g "$1" | tail -n 1
}

selected() {
	case " $SCENARIOS " in
	*" $1 "*) return 0 ;;
	esac
	return 1
}

# ------------------------------------------------------------- the setup

scale_codes() {
	case $1 in
	S) echo 500000 ;;
	M) echo 2000000 ;;
	L) echo 8000000 ;;
	*[!0-9]* | '') die "unknown scale '$1' (S, M, L or a number of codes)" ;;
	*) echo "$1" ;;
	esac
}

find_schema() {
	local shared=$ROOT/../shared/reference-schema.sql
	if [ -n "${SWEEPER_REFERENCE_SCHEMA:-}" ]; then
		echo "$SWEEPER_REFERENCE_SCHEMA"
	elif [ -r "$shared" ]; then
		echo "$shared"
	elif [ -r "$ROOT/tests/demo/reference-schema.sql" ]; then
		echo "$ROOT/tests/demo/reference-schema.sql"
	else
		die "no reference-schema.sql in $ROOT/../shared or tests/demo"
	fi
}

# make_template DB GENERATOR USERS: the data, frozen and analysed, so
# every copy starts with hint bits and statistics set.
make_template() {
	local db=$1 gen=$2 users=$3 t0
	t0=$(ms_now)
	q -c "CREATE DATABASE $db"
	q -d "$db" -f "$SCHEMA"
	q -d "$db" -v users="$users" -f "$BENCH_DIR/$gen" >/dev/null
	mark_all_visible "$db"
	log "generated $db in $(($(ms_now) - t0)) ms:" \
		"$(q1 -d "$db" -c "SELECT (SELECT count(*) FROM accounts_user) || ' users, ' ||
			(SELECT count(*) FROM otp_totp_totpdevice) || ' devices, ' ||
			(SELECT count(*) FROM accounts_backupcode) || ' codes'")"
}

# With synchronous_commit off, VACUUM cannot mark pages all-visible until
# the loading transaction's commit record is flushed and the rows are
# hinted: without the CHECKPOINT and the second VACUUM, every index-only
# scan (the sweeper's key windows) would read the heap, as on no
# production table that autovacuum looks after.
mark_all_visible() {
	local db=$1
	q -d "$db" -c 'CHECKPOINT'
	q -d "$db" -c 'VACUUM (FREEZE, ANALYZE)'
	q -d "$db" -c 'VACUUM'
	[ "$(q1 -d "$db" -c "SELECT bool_and(relallvisible = relpages) FROM pg_class
		WHERE relname IN ('accounts_user', 'accounts_backupcode', 'otp_totp_totpdevice')")" = t ] ||
		die "$db: VACUUM left pages not all-visible"
}

# copy_db TEMPLATE DB: a fresh copy.  FILE_COPY copies the files after a
# checkpoint instead of writing the whole database to the WAL.
copy_db() {
	q -c "DROP DATABASE IF EXISTS $2 WITH (FORCE)"
	q -c "CREATE DATABASE $2 TEMPLATE $1 STRATEGY FILE_COPY"
}

drop_db() {
	q -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)"
}

# ------------------------------------------------------- the scenarios

# The predicates, written here from doc/design.md "Rule semantics" (not taken from
# the sweeper), over a table aliased t.
codes_used_pred() {
	echo "t.used AND t.used_at < now() - interval '$1'"
}

# disabled_pred GRACE
disabled_pred() {
	echo "EXISTS (SELECT 1 FROM accounts_user AS u WHERE u.id = t.user_id
		AND NOT u.mfa_enrolled AND u.mfa_disabled_at IS NOT NULL
		AND u.mfa_disabled_at <= now() - interval '$1'
		AND (t.created_at IS NULL OR t.created_at <= u.mfa_disabled_at))"
}

# The set-based form of the same, as a DBA writes it: DELETE ... USING.
disabled_using_sql() {
	echo "DELETE FROM $1 AS t USING accounts_user AS u WHERE u.id = t.user_id
		AND NOT u.mfa_enrolled AND u.mfa_disabled_at IS NOT NULL
		AND u.mfa_disabled_at <= now() - interval '$2'
		AND (t.created_at IS NULL OR t.created_at <= u.mfa_disabled_at)"
}

stale_devices_pred() {
	echo "NOT t.confirmed AND t.created_at < now() - interval '$1'"
}

# scenario NAME: sets, for the scenario's data, DATA (main: generate.sql,
# bulk: generate_bulk.sql), RULE, MAX_AGE (used_backup_codes only),
# SWEEPER_ARGS, TABLES, and per table PRED_<table> (what must go) and
# SINGLE_<table> (the baseline's statement); INDEX=1 when it wants an
# index on used_at.
scenario() {
	local t
	INDEX=0
	MAX_AGE=
	DATA=main
	SWEEPER_ARGS=()
	case $1 in
	backlog | workers) MAX_AGE=500d ;;
	medium) MAX_AGE=1750d ;;
	nightly) MAX_AGE=1985d ;;
	nightly_idx) MAX_AGE=1985d INDEX=1 ;;
	users) ;;
	bulk | scoped) DATA=bulk SWEEPER_ARGS=(--now) ;;
	*) die "unknown scenario '$1' (one of: $ALL_SCENARIOS)" ;;
	esac
	if [ -n "$MAX_AGE" ]; then
		RULE=used_backup_codes
		TABLES="accounts_backupcode"
		PRED_accounts_backupcode=$(codes_used_pred "${MAX_AGE%d} days")
	elif [ "$DATA" = main ]; then
		RULE=user_disabled
		TABLES="accounts_backupcode otp_totp_totpdevice"
		PRED_accounts_backupcode=$(disabled_pred '5 minutes')
		PRED_otp_totp_totpdevice=$(disabled_pred '5 minutes')
	else
		# --now: the grace period is ignored.
		RULE=user_disabled
		TABLES="accounts_backupcode otp_totp_totpdevice"
		PRED_accounts_backupcode=$(disabled_pred '0 minutes')
		PRED_otp_totp_totpdevice=$(disabled_pred '0 minutes')
	fi
	for t in $TABLES; do
		if [ "$DATA" = bulk ]; then
			printf -v "SINGLE_$t" '%s' "$(disabled_using_sql "$t" '0 minutes')"
		else
			printf -v "SINGLE_$t" '%s' "DELETE FROM $t AS t WHERE $(pred_of "$t")"
		fi
	done
}

pred_of() {
	local v=PRED_$1
	echo "${!v}"
}

single_of() {
	local v=SINGLE_$1
	echo "${!v}"
}

# What is left of TABLE: "count:hash" of its ids, in any order.
fingerprint_sql() {
	echo "SELECT count(*) || ':' || coalesce(sum(hashint8extended(t.id::bigint, 7)), 0)
		FROM $1 AS t${2:+ WHERE $2}"
}

# fingerprint DB: the fingerprint of every table of the scenario.
fingerprint() {
	local db=$1 t out=
	for t in $TABLES; do
		out="$out$t=$(q1 -d "$db" -c "$(fingerprint_sql "$t")") "
	done
	echo "${out% }"
}

# expected DB [EXTRA]: what the rule must leave, and the number of rows it
# must delete, computed on the template; EXTRA narrows the predicate (the
# users of a scoped run).
expected() {
	local db=$1 extra=${2:-} t out='' n=0 pred
	for t in $TABLES; do
		pred="($(pred_of "$t"))${extra:+ AND $extra}"
		out="$out$t=$(q1 -d "$db" -c "$(fingerprint_sql "$t" "NOT coalesce(($pred), false)")") "
		n=$((n + $(q1 -d "$db" -c "SELECT count(*) FROM $t AS t WHERE $pred")))
	done
	EXPECT_FP=${out% }
	EXPECT_ROWS=$n
}

# write_config FILE [WORKERS]: the example config with its defaults, this
# build's plugins and the scenario's max_age; with WORKERS, a
# [sweeper] workers line.
write_config() {
	local cfg=$1 workers=${2:-}
	sed -e "s|^plugin_dir = .*|plugin_dir = $BUILD/plugins|" \
		-e "s|^max_age = 90d|max_age = ${MAX_AGE:-90d}|" \
		"$ROOT/config/mfa-sweeper.ini" >"$cfg"
	grep -q "^plugin_dir = $BUILD/plugins\$" "$cfg" || die "no plugin_dir line in the example config"
	grep -q "^max_age = ${MAX_AGE:-90d}\$" "$cfg" || die "no used_backup_codes max_age line in the example config"
	if [ -n "$workers" ]; then
		# An example config that has the key already sets it: never twice.
		if grep -q '^workers = ' "$cfg"; then
			sed -i "s/^workers = .*/workers = $workers/" "$cfg"
		else
			sed -i "/^\[sweeper\]\$/a workers = $workers" "$cfg"
		fi
		grep -q "^workers = $workers\$" "$cfg" || die "no [sweeper] section in the example config"
	fi
}

# probe_workers DB: with WORKERS of 2 or more, does this build accept
# [sweeper] workers = WORKERS?  Asked with --check-config, which reads the
# config as a run does; a build without the key refuses it (exit 78), and
# the benchmark stops there, before any run, rather than report figures
# it was not asked for.  With WORKERS=1 the runs that need workers are
# reported as not run.
probe_workers() {
	local db=$1 dir=$OUT/logs rc=0
	[ -z "$WORKERS_SUPPORTED" ] || return 0
	MAX_AGE=
	write_config "$dir/check.ini"
	PGDATABASE=$db "$SWEEPER" -c "$dir/check.ini" --check-config \
		>"$dir/check.out" 2>&1 || die "--check-config fails on the example config: $(cat "$dir/check.out")"
	if [ "$WORKERS" -lt 2 ]; then
		WORKERS_SUPPORTED=0
		WORKERS_WHY="not run (WORKERS=$WORKERS; make bench WORKERS=2 runs them)"
		return 0
	fi
	write_config "$dir/check-workers.ini" "$WORKERS"
	PGDATABASE=$db "$SWEEPER" -c "$dir/check-workers.ini" --check-config \
		>"$dir/check-workers.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || die "WORKERS=$WORKERS: this build refuses [sweeper] workers" \
		"(--check-config exit $rc: $(grep -m 1 . "$dir/check-workers.out" || true));" \
		"run without WORKERS, or with a build that has parallel workers"
	WORKERS_SUPPORTED=1
	log "workers = $WORKERS: accepted by this build"
}

# Results: one JSON object a line in $RESULTS, assembled at the end.
record() {
	jq -cn "$@" >>"$RESULTS"
}

# lat_stats FILE: sets P50, P99, PMAX (ms) from FILE ("null" when empty).
lat_stats() {
	P50=$(percentile 50 "$1")
	P99=$(percentile 99 "$1")
	PMAX=$(max_of "$1" || true)
	P50=${P50:-null} P99=${P99:-null} PMAX=${PMAX:-null}
}

# same_rows DB: true when the database holds exactly the expected rows.
same_rows() {
	local got
	got=$(fingerprint "$1")
	if [ "$got" = "$EXPECT_FP" ]; then
		echo true
	else
		log "$1 does not hold the expected rows: expected $EXPECT_FP, got $got"
		echo false
	fi
}

# ---------------------------------------------------------- the methods
#
# Each run_METHOD DB DIR REP runs once on DB, a fresh copy, and calls
# result.  LABEL names the method in the report.

run_single() {
	local db=$1 dir=$2 rep=$3 t t0 t1 deleted args=()
	for t in $TABLES; do
		args+=(-c "$(single_of "$t")")
	done
	t0=$(ms_now)
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -1 -v ON_ERROR_STOP=1 -d "$db" "${args[@]}" >"$dir/single.$rep.out" 2>&1 ||
		die "the single DELETE failed on $db: $(cat "$dir/single.$rep.out")"
	t1=$(ms_now)
	deleted=$(awk '/^DELETE [0-9]+$/ { n += $2 } END { print n + 0 }' "$dir/single.$rep.out")
	: >"$dir/single.$rep.lat"
	if [ "$DATA" = bulk ]; then
		LABEL="DELETE ... USING accounts_user, per table"
	else
		LABEL="single DELETE"
	fi
	result single "$db" "$deleted" $((t1 - t0)) "$dir/single.$rep.lat" null false "$rep"
}

# Two plain DELETEs over the two halves of the table's heap blocks
# (ctid ranges: TID range scans), each its own transaction, run at once:
# what two connections can do where PostgreSQL never runs one DELETE in
# parallel.  The time is until both have committed.
run_split2() {
	local db=$1 dir=$2 rep=$3 t=accounts_backupcode half t0 t1 pa pb deleted pred
	[ "$TABLES" = "$t" ] || die "split2 runs on one table"
	pred=$(pred_of "$t")
	half=$(q1 -d "$db" -c "SELECT pg_relation_size('$t') / current_setting('block_size')::int / 2")
	t0=$(ms_now)
	PGOPTIONS='-c client_min_messages=warning' psql -X -v ON_ERROR_STOP=1 -d "$db" \
		-c "DELETE FROM $t AS t WHERE ($pred) AND t.ctid < '($half,0)'" \
		>"$dir/split2.$rep.a.out" 2>&1 &
	pa=$!
	PGOPTIONS='-c client_min_messages=warning' psql -X -v ON_ERROR_STOP=1 -d "$db" \
		-c "DELETE FROM $t AS t WHERE ($pred) AND t.ctid >= '($half,0)'" \
		>"$dir/split2.$rep.b.out" 2>&1 &
	pb=$!
	wait "$pa" || die "the first half's DELETE failed on $db: $(cat "$dir/split2.$rep.a.out")"
	wait "$pb" || die "the second half's DELETE failed on $db: $(cat "$dir/split2.$rep.b.out")"
	t1=$(ms_now)
	deleted=$(cat "$dir/split2.$rep.a.out" "$dir/split2.$rep.b.out" |
		awk '/^DELETE [0-9]+$/ { n += $2 } END { print n + 0 }')
	: >"$dir/split2.$rep.lat"
	LABEL="two DELETEs over the halves of the blocks, at once"
	result split2 "$db" "$deleted" $((t1 - t0)) "$dir/split2.$rep.lat" null false "$rep"
}

# The naive loop runs server-side in a DO block (COMMIT after each batch
# makes each its own transaction), timing each statement with its COMMIT.
run_naive() {
	local db=$1 dir=$2 rep=$3 t t0 t1 deleted timed_out
	: >"$dir/naive.log"
	t0=$(ms_now)
	for t in $TABLES; do
		PGOPTIONS='-c client_min_messages=notice' \
			psql -X -q -v ON_ERROR_STOP=1 -d "$db" >>"$dir/naive.log" 2>&1 <<EOF
DO \$naive\$
DECLARE
	n bigint;
	t0 timestamptz;
	started timestamptz := clock_timestamp();
BEGIN
	LOOP
		t0 := clock_timestamp();
		DELETE FROM $t WHERE id IN (
			SELECT t.id FROM $t AS t WHERE $(pred_of "$t") LIMIT $BATCH);
		GET DIAGNOSTICS n = ROW_COUNT;
		COMMIT;
		EXIT WHEN n = 0;
		RAISE NOTICE 'naive batch: % rows in % ms', n,
			round(extract(epoch FROM clock_timestamp() - t0) * 1000, 1);
		IF clock_timestamp() - started > interval '$NAIVE_MAX_S seconds' THEN
			RAISE NOTICE 'naive loop stopped after $NAIVE_MAX_S s';
			EXIT;
		END IF;
	END LOOP;
END
\$naive\$;
EOF
	done
	t1=$(ms_now)
	sed -n 's/.*naive batch: [0-9]* rows in \([0-9.]*\) ms.*/\1/p' "$dir/naive.log" >"$dir/naive.lat"
	deleted=$(sed -n 's/.*naive batch: \([0-9]*\) rows.*/\1/p' "$dir/naive.log" |
		awk '{ n += $1 } END { print n + 0 }')
	timed_out=false
	! grep -q 'naive loop stopped' "$dir/naive.log" || timed_out=true
	LABEL="naive LIMIT $BATCH loop"
	result naive "$db" "$deleted" $((t1 - t0)) "$dir/naive.lat" null "$timed_out" "$rep"
}

# sweep DB PREFIX TIMEOUT_S ARGS...: the sweeper with config PREFIX.ini,
# -v --json, stdin from SWEEP_STDIN (default /dev/null), under
# /usr/bin/time (peak RSS) and timeout (SIGTERM: the sweeper stops at the
# next batch boundary and still prints its summary).  Sets SW_MS, SW_RC,
# SW_TIMED_OUT, SW_DELETED and SW_RSS; dies on any other failure.
sweep() {
	local db=$1 prefix=$2 limit=$3 t0 t1
	shift 3
	SW_RC=0
	t0=$(ms_now)
	PGDATABASE=$db /usr/bin/time -v -o "$prefix.time" \
		timeout -s TERM -k "$KILL_AFTER_S" "$limit" \
		"$SWEEPER" -c "$prefix.ini" "$@" -v --json \
		<"${SWEEP_STDIN:-/dev/null}" >"$prefix.json" 2>"$prefix.log" || SW_RC=$?
	t1=$(ms_now)
	SW_MS=$((t1 - t0))
	SW_TIMED_OUT=false
	case $SW_RC in
	0) ;;
	124 | 137) SW_TIMED_OUT=true ;;
	*)
		tail -n 20 "$prefix.log" >&2
		die "the sweeper failed with exit status $SW_RC on $db (see $prefix.log)"
		;;
	esac
	# A run killed after its SIGTERM printed no summary: count its batches.
	SW_DELETED=$(jq -e .deleted_total "$prefix.json" 2>/dev/null) ||
		SW_DELETED=$(sed -n 's/.*batch [0-9]*: \([0-9]*\) rows deleted in.*/\1/p' "$prefix.log" |
			awk '{ n += $1 } END { print n + 0 }')
	SW_RSS=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$prefix.time")
	SW_RSS=${SW_RSS:-null}
	if [ "$SW_TIMED_OUT" = true ]; then
		log "the sweeper on $db timed out after $limit s, $SW_DELETED rows deleted"
	fi
}

batch_latencies() {
	sed -n 's/.*batch [0-9]*: [0-9]* rows deleted in \([0-9]*\) ms.*/\1/p' "$1.log" >"$1.lat"
}

# run_sweeper_as METHOD WORKERS DB DIR REP ARGS...
run_sweeper_as() {
	local method=$1 workers=$2 db=$3 dir=$4 rep=$5 prefix
	shift 5
	prefix=$dir/$method.$rep
	write_config "$prefix.ini" "$workers"
	# The first batch's statement and plan, for whoever reads the figures.
	if [ "$rep" = 1 ]; then
		PGDATABASE=$db "$SWEEPER" -c "$prefix.ini" -r "$RULE" "${SWEEPER_ARGS[@]}" "$@" \
			--explain <"${SWEEP_STDIN:-/dev/null}" >"$dir/$method.explain" 2>&1 || true
	fi
	sweep "$db" "$prefix" "$RUN_TIMEOUT_S" -r "$RULE" "${SWEEPER_ARGS[@]}" "$@"
	batch_latencies "$prefix"
	result "$method" "$db" "$SW_DELETED" "$SW_MS" "$prefix.lat" "$SW_RSS" "$SW_TIMED_OUT" "$rep"
}

run_sweeper() {
	if [ "$DATA" = bulk ]; then
		LABEL="sweeper -r user_disabled --now"
	else
		LABEL="sweeper, 1 worker"
	fi
	run_sweeper_as sweeper "" "$@"
}

run_sweeper_workers() {
	LABEL="sweeper, workers = $WORKERS"
	run_sweeper_as sweeper_workers "$WORKERS" "$@"
}

# The scoped run of doc/operations.md "After a bulk MFA disable": the disabled
# users' ids on stdin, as psql -At prints them.
run_scoped() {
	local n
	n=$(wc -l <"$SCOPE_IDS")
	LABEL="sweeper --now --users-file - ($n users)"
	SWEEP_STDIN=$SCOPE_IDS run_sweeper_as scoped "" "$@" --users-file -
}

# result METHOD DB DELETED MS LATFILE RSS_KB TIMED_OUT REP: check the rows
# and record one run.  Sets LAST_TIMED_OUT.
result() {
	local method=$1 db=$2 deleted=$3 ms=$4 lat=$5 rss=$6 timed_out=$7 rep=$8 same
	lat_stats "$lat"
	same=$(same_rows "$db")
	if [ "$deleted" != "$EXPECT_ROWS" ]; then
		log "$method on $db deleted $deleted rows, expected $EXPECT_ROWS"
		same=false
	fi
	# A run stopped by its time limit is reported as such, not as wrong.
	if [ "$same" != true ] && [ "$timed_out" != true ]; then
		FAILED=$((FAILED + 1))
	fi
	LAST_TIMED_OUT=$timed_out
	record --arg scale "$SCALE" --argjson codes "$CODES" --arg scenario "$REC_SCN" \
		--arg method "$method" --arg lbl "$LABEL" --argjson rep "$rep" \
		--argjson rows "$deleted" --argjson expected "$EXPECT_ROWS" --argjson ms "$ms" \
		--argjson batches "$(wc -l <"$lat")" --argjson p50 "$P50" \
		--argjson p99 "$P99" --argjson max "$PMAX" --argjson rss_kb "$rss" \
		--argjson same "$same" --argjson timed_out "${timed_out}" \
		--argjson load1 "$(cut -d' ' -f1 /proc/loadavg)" \
		'{kind: "run", scale: $scale, codes: $codes, scenario: $scenario,
		  method: $method, "label": $lbl, rep: $rep, rows: $rows,
		  expected_rows: $expected, ms: $ms,
		  rows_per_s: (if $ms > 0 then ($rows * 1000 / $ms | floor) else null end),
		  batches: (if $method == "single" then 1
		            elif $method == "split2" then 2 else $batches end),
		  batch_ms_p50: $p50, batch_ms_p99: $p99, batch_ms_max: $max,
		  peak_rss_kb: $rss_kb, same_rows: $same, timed_out: $timed_out,
		  load1: $load1}'
	log "$SCALE $REC_SCN $method #$rep: $deleted rows in $ms ms" \
		"(batches p50/p99/max $P50/$P99/$PMAX ms${rss:+, rss $rss kB})," \
		"rows ok: $same$([ "$timed_out" != true ] || echo ', timed out')"
}

# run_turns "METHOD..." SRC DIR N: N rounds in which each METHOD runs once,
# in turn, each on a fresh copy of SRC; a method whose run timed out is
# not repeated.  A figure and its baseline take turns, so that a change
# of the machine's speed during the scenario (this VM's runs of the same
# batches swung between about 30 and 55 ms for minutes at a time) falls
# on both, where runs in blocks would put it on one.
run_turns() {
	local methods=$1 src=$2 dir=$3 n=$4 rep method stopped=' '
	for rep in $(seq 1 "$n"); do
		for method in $methods; do
			case $stopped in *" $method "*) continue ;; esac
			copy_db "$src" bench_run
			"run_$method" bench_run "$dir" "$rep"
			drop_db bench_run
			if [ "$LAST_TIMED_OUT" = true ] && [ "$rep" -lt "$n" ]; then
				log "$SCALE $REC_SCN $method: timed out, not repeated"
				stopped="$stopped$method "
			fi
		done
	done
}

# profile_sweeper DB DIR [ARGS...]: the sweeper once more, on its own copy,
# with the server logging every statement's duration, summed by kind:
# where the time of a run goes.  At most PROFILE_TIMEOUT_S seconds.
profile_sweeper() {
	local db=$1 dir=$2 log=$PG_TMP/server.log start prefix
	shift 2
	prefix=$dir/profile-$PROFILE_METHOD
	write_config "$prefix.ini"
	start=$(($(stat -c %s "$log") + 1))
	PGOPTIONS='-c log_min_duration_statement=0' \
		sweep "$db" "$prefix" "$PROFILE_TIMEOUT_S" -r "$RULE" "${SWEEPER_ARGS[@]}" "$@"
	tail -c +"$start" "$log" >"$prefix.server.log"
	# "duration: X ms  statement|parse|bind|execute ...: SQL"
	awk '
		/ duration: [0-9.]+ ms  / {
			ms = $0; sub(/.* duration: /, "", ms); sub(/ ms .*/, "", ms)
			sql = $0; sub(/.* ms  (statement|parse|bind|execute)[^:]*: /, "", sql)
			if (sql ~ /^EXPLAIN/) k = "preflight and walk choice (EXPLAIN)"
			else if (sql ~ /^BEGIN/) k = "BEGIN, SET LOCAL"
			else if (sql ~ /OFFSET [0-9]+ LIMIT 1$/) k = "key window (OFFSET)"
			else if (sql ~ /::text = ANY\(/ && sql ~ /^WITH victims/) k = "scoped batch (ids as text, SKIP LOCKED)"
			else if (sql ~ /::text = ANY\(/) k = "scope lookup (ids as text)"
			else if (sql ~ /^WITH gone/ || sql ~ /^DELETE /) k = "window DELETE (plain)"
			else if (sql ~ /^WITH victims/ && sql ~ /SKIP LOCKED/) k = "capped DELETE (SKIP LOCKED)"
			else if (sql ~ /^WITH victims/) k = "capped DELETE (unlocked)"
			else if (sql ~ /^COMMIT/) k = "COMMIT"
			else k = "other"
			tot[k] += ms
			if ($0 ~ / ms  (statement|execute)/) {
				n[k]++
				if (ms + 0 > mx[k]) mx[k] = ms + 0
			}
		}
		END { for (k in tot) printf "%s\t%d\t%.1f\t%.1f\n", k, n[k], tot[k], mx[k] }
	' "$prefix.server.log" | sort -t "$(printf '\t')" -k3,3gr >"$prefix.tsv"
	jq -R -s --arg scale "$SCALE" --arg scenario "$REC_SCN" --arg method "$PROFILE_METHOD" \
		--argjson ms "$SW_MS" --argjson rows "$SW_DELETED" --argjson timed_out "$SW_TIMED_OUT" '
		{kind: "profile", scale: $scale, scenario: $scenario, method: $method,
		 sweeper_ms: $ms, rows: $rows, timed_out: $timed_out,
		 statements: [split("\n")[] | select(length > 0) | split("\t")
		   | {what: .[0], count: (.[1] | tonumber), total_ms: (.[2] | tonumber),
		      max_ms: (.[3] | tonumber)}]}' "$prefix.tsv" >>"$RESULTS"
	log "$SCALE $REC_SCN $PROFILE_METHOD profile: $(awk -F'\t' '{ printf "%s%s %d x, %s ms", sep, $1, $2, $3; sep = "; " }' "$prefix.tsv")"
}

profiling() {
	[ "$PROFILE" = 1 ] && [ "$SCALE" = "${SCALES##* }" ]
}

# The classic scenarios: the sweeper against one DELETE and a naive loop
# on the data of generate.sql; with "workers" selected, the backlog also
# runs with two workers beside two DELETEs over the halves of the blocks.
run_classic() {
	local tpl=$1 src dir methods
	scenario "$SCN"
	REC_SCN=$SCN
	[ "$SCN" != workers ] || REC_SCN=backlog
	src=$tpl
	if [ "$INDEX" = 1 ]; then
		src=${tpl}_idx
		copy_db "$tpl" "$src"
		q -d "$src" -c 'CREATE INDEX accounts_backupcode_used_at ON accounts_backupcode (used_at)'
		q -d "$src" -c 'VACUUM ANALYZE accounts_backupcode'
	fi
	expected "$src"
	log "$SCALE $REC_SCN: $EXPECT_ROWS rows to delete"
	dir=$OUT/logs/$SCALE-$REC_SCN
	mkdir -p "$dir"
	methods=single
	# "workers" alone (without "backlog") compares with the single DELETE
	# only.
	[ "$SCN" = workers ] || methods="$methods sweeper"
	if [ "$SCN" = workers ] || { [ "$SCN" = backlog ] && selected workers; }; then
		if [ "$WORKERS_SUPPORTED" = 1 ]; then
			methods="$methods sweeper_workers"
		fi
		methods="$methods split2"
	fi
	run_turns "$methods" "$src" "$dir" "$RUNS"
	if [ "$SCN" != workers ] && [ "$NAIVE" = 1 ]; then
		run_turns naive "$src" "$dir" 1
	fi
	if profiling && [ "$SCN" != workers ]; then
		copy_db "$src" bench_prof
		PROFILE_METHOD=sweeper profile_sweeper bench_prof "$dir"
		drop_db bench_prof
	fi
	[ "$src" = "$tpl" ] || drop_db "$src"
}

# scope_ids TPL: the disabled users of TPL into $SCOPE_IDS, one id a line,
# for the scoped runs.
scope_ids() {
	q1 -d "$1" -c "SELECT id FROM accounts_user
		WHERE NOT mfa_enrolled AND mfa_disabled_at IS NOT NULL ORDER BY id" >"$SCOPE_IDS"
}

# The bulk-disable scenarios on the data of generate_bulk.sql: the
# sweeper's user_disabled --now against DELETE ... USING per table, then
# scoped to the disabled users against the unscoped run.
run_bulk() {
	local tpl=$1 dir
	scenario "$SCN"
	REC_SCN=bulk
	expected "$tpl"
	log "$SCALE bulk ($SCN): $EXPECT_ROWS rows to delete"
	dir=$OUT/logs/$SCALE-bulk
	mkdir -p "$dir"
	SCOPE_IDS=$dir/disabled-users.txt
	if [ "$SCN" = bulk ]; then
		# With scoped selected too, its runs take turns with these: the
		# scoped run is compared with this unscoped one.
		if selected scoped; then
			scope_ids "$tpl"
			run_turns "single sweeper scoped" "$tpl" "$dir" "$RUNS"
		else
			run_turns "single sweeper" "$tpl" "$dir" "$RUNS"
		fi
		if profiling; then
			copy_db "$tpl" bench_prof
			PROFILE_METHOD=sweeper profile_sweeper bench_prof "$dir"
			drop_db bench_prof
		fi
		return 0
	fi
	# scoped: its runs and the unscoped ones they are compared with, in
	# turns, unless bulk ran them.
	if ! selected bulk; then
		scope_ids "$tpl"
		run_turns "sweeper scoped" "$tpl" "$dir" "$RUNS"
	fi
	scoped_one "$tpl" "$dir"
	if profiling; then
		copy_db "$tpl" bench_prof
		SWEEP_STDIN=$SCOPE_IDS PROFILE_METHOD=scoped \
			profile_sweeper bench_prof "$dir" --users-file -
		drop_db bench_prof
	fi
}

# One-user scoped runs, RUNS of them on one copy, each for another
# disabled user (spread over the ids): what an operator's "clean up this
# user now" costs.  Each must delete exactly that user's rows.
scoped_one() {
	local tpl=$1 dir=$2 db=bench_one rep=0 uid done_ids='' prefix before=0
	copy_db "$tpl" "$db"
	LABEL="sweeper --now --users-file - (1 user)"
	for uid in $(q1 -d "$db" -c "SELECT id FROM (
			SELECT id, row_number() OVER (ORDER BY id) - 1 AS i,
			       greatest(count(*) OVER () / $RUNS, 1) AS step
			FROM accounts_user WHERE NOT mfa_enrolled AND mfa_disabled_at IS NOT NULL
		) AS d WHERE i % step = step / 2 ORDER BY id LIMIT $RUNS"); do
		rep=$((rep + 1))
		done_ids=${done_ids:+$done_ids,}$uid
		# What must be left after this run; what this run must delete:
		# this user's rows only.
		expected "$tpl" "t.user_id IN ($done_ids)"
		EXPECT_ROWS=$((EXPECT_ROWS - before))
		before=$((before + EXPECT_ROWS))
		prefix=$dir/scoped_one.$rep
		echo "$uid" >"$prefix.ids"
		write_config "$prefix.ini"
		SWEEP_STDIN=$prefix.ids sweep "$db" "$prefix" "$RUN_TIMEOUT_S" \
			-r "$RULE" "${SWEEPER_ARGS[@]}" --users-file -
		batch_latencies "$prefix"
		result scoped_one "$db" "$SW_DELETED" "$SW_MS" "$prefix.lat" "$SW_RSS" \
			"$SW_TIMED_OUT" "$rep"
	done
	drop_db "$db"
}

# The idle runs: the scale's data after every rule has run (what a
# frequent timer finds), the predicates' columns indexed (IDLE_INDEXES),
# the sweeper once with user_disabled (the 5-minute timer) and once with
# every rule, RUNS times each on the same copy: none may delete a row.
run_idle() {
	local tpl=$1 db=bench_idle dir ddl rep t0 prefix what
	REC_SCN=idle
	dir=$OUT/logs/$SCALE-idle
	mkdir -p "$dir"
	MAX_AGE=''
	DATA=main
	SWEEPER_ARGS=()
	TABLES="accounts_backupcode otp_totp_totpdevice"
	copy_db "$tpl" "$db"
	t0=$(ms_now)
	q -d "$db" -c "DELETE FROM accounts_backupcode AS t WHERE $(disabled_pred '5 minutes')" \
		-c "DELETE FROM otp_totp_totpdevice AS t WHERE $(disabled_pred '5 minutes')" \
		-c "DELETE FROM otp_totp_totpdevice AS t WHERE $(stale_devices_pred '24 hours')" \
		-c "DELETE FROM accounts_backupcode AS t WHERE $(codes_used_pred '90 days')"
	for ddl in "${IDLE_INDEXES[@]}"; do
		q -d "$db" -c "$ddl"
	done
	mark_all_visible "$db"
	log "$SCALE idle: data swept and indexed in $(($(ms_now) - t0)) ms"
	EXPECT_FP=$(fingerprint "$db")
	EXPECT_ROWS=0
	for what in user_disabled all full; do
		for rep in $(seq 1 "$RUNS"); do
			prefix=$dir/idle-$what.$rep
			write_config "$prefix.ini"
			if [ "$what" != full ]; then
				# The example config shows the key with its default.
				sed -i "s/^lookback = .*/lookback = $IDLE_LOOKBACK/" "$prefix.ini"
				grep -q "^lookback = $IDLE_LOOKBACK\$" "$prefix.ini" ||
					die "no lookback line in the example config's [rule.user_disabled]"
			fi
			if [ "$what" = full ]; then
				LABEL="sweeper -r user_disabled, no lookback (nothing to delete)"
				sweep "$db" "$prefix" "$RUN_TIMEOUT_S" -r user_disabled
			elif [ "$what" = all ]; then
				LABEL="sweeper, every rule, lookback = $IDLE_LOOKBACK (nothing to delete)"
				[ "$rep" != 1 ] || PGDATABASE=$db "$SWEEPER" -c "$prefix.ini" --explain \
					>"$dir/idle-all.explain" 2>&1 || true
				sweep "$db" "$prefix" "$RUN_TIMEOUT_S"
			else
				LABEL="sweeper -r user_disabled, lookback = $IDLE_LOOKBACK (nothing to delete)"
				[ "$rep" != 1 ] || PGDATABASE=$db "$SWEEPER" -c "$prefix.ini" --explain \
					-r user_disabled >"$dir/idle-user_disabled.explain" 2>&1 || true
				sweep "$db" "$prefix" "$RUN_TIMEOUT_S" -r user_disabled
			fi
			batch_latencies "$prefix"
			result "idle_$what" "$db" "$SW_DELETED" "$SW_MS" "$prefix.lat" "$SW_RSS" \
				"$SW_TIMED_OUT" "$rep"
		done
	done
	drop_db "$db"
}

# ------------------------------------------------------------ the impact

# The application: a user logs in, reads their codes and device, and the
# login rehashes their codes (as Django rehashes on a hasher upgrade) and
# stamps the device.  It touches eligible rows, as a real application does.
write_app_script() {
	cat >"$1" <<'EOF'
\set uid random(1, :nusers)
BEGIN;
SELECT id, code_hash FROM accounts_backupcode WHERE user_id = :uid AND NOT used;
SELECT id, key, last_t FROM otp_totp_totpdevice WHERE user_id = :uid AND confirmed;
UPDATE accounts_backupcode SET code_hash = code_hash WHERE user_id = :uid;
UPDATE otp_totp_totpdevice SET last_used_at = now(), last_t = last_t + 1
	WHERE user_id = :uid AND confirmed;
END;
EOF
}

# app_start DB SECONDS PREFIX: pgbench in the background, per-transaction
# log under PREFIX.
app_start() {
	"$PG_BINDIR/pgbench" -n -f "$IMPACT_DIR/app.sql" -D nusers="$USERS" \
		-c "$APP_CLIENTS" -j 1 -R "$APP_RATE" -T "$2" --log \
		--log-prefix="$3.tx" "$1" >"$3.out" 2>&1 &
	APP_PID=$!
}

# app_latency PREFIX FROM_US TO_US: p50 and p99 (ms) of the application's
# transactions that overlapped [FROM, TO]; sets APP_P50, APP_P99, APP_N.
# A log line is: client, transaction, latency us (from its scheduled
# start), script, end time s, end time us, schedule lag us.
app_latency() {
	local prefix=$1 from=$2 to=$3
	cat "$prefix".tx.* | awk -v from="$from" -v to="$to" '
		{ end_us = $5 * 1000000 + $6; start_us = end_us - $3
		  if (start_us <= to && end_us >= from) printf "%.3f\n", $3 / 1000 }' \
		>"$prefix.lat"
	APP_N=$(wc -l <"$prefix.lat")
	APP_P50=$(percentile 50 "$prefix.lat")
	APP_P99=$(percentile 99 "$prefix.lat")
	APP_P50=${APP_P50:-null} APP_P99=${APP_P99:-null}
}

record_impact() {
	record --arg scale "$SCALE" --arg scenario "$REC_SCN" --arg during "$1" \
		--argjson ms "$2" --argjson n "$APP_N" --argjson p50 "$APP_P50" \
		--argjson p99 "$APP_P99" --argjson rows "$3" \
		'{kind: "impact", scale: $scale, scenario: $scenario, during: $during,
		  window_ms: $ms, rows: $rows, app_transactions: $n,
		  app_ms_p50: $p50, app_ms_p99: $p99}'
	log "impact $SCALE $REC_SCN during $1 (${2} ms): app p50 $APP_P50 ms, p99 $APP_P99 ms over $APP_N transactions"
}

# impact_during METHOD TEMPLATE: the application runs from 2 s before the
# method starts until after it ends; only the overlapping transactions
# count.
impact_during() {
	local method=$1 tpl=$2 db=bench_impact from to secs prefix
	copy_db "$tpl" "$db"
	prefix=$IMPACT_DIR/app-$method
	secs=$(((EST_MS * 2 + 999) / 1000 + 4))
	app_start "$db" "$secs" "$prefix"
	sleep 2
	from=$(us_now)
	case $method in
	sweeper | sweeper_workers)
		write_config "$IMPACT_DIR/$method.ini" "$([ "$method" = sweeper ] || echo "$WORKERS")"
		PGDATABASE=$db "$SWEEPER" -c "$IMPACT_DIR/$method.ini" -r "$RULE" -v \
			--json >"$IMPACT_DIR/$method.json" 2>"$IMPACT_DIR/$method.log" ||
			die "the sweeper ($method) failed during the impact run"
		;;
	single)
		q -d "$db" -c "DELETE FROM accounts_backupcode AS t WHERE $(pred_of accounts_backupcode)"
		;;
	esac
	to=$(us_now)
	wait "$APP_PID" || log "pgbench failed (an aborted client?): see $prefix.out"
	app_latency "$prefix" "$from" "$to"
	record_impact "$method" $(((to - from) / 1000)) \
		"$(($(q1 -d "$tpl" -c "SELECT count(*) FROM accounts_backupcode") -
			$(q1 -d "$db" -c "SELECT count(*) FROM accounts_backupcode")))"
	drop_db "$db"
}

impact_baseline() {
	local tpl=$1 db=bench_impact prefix=$IMPACT_DIR/app-none
	copy_db "$tpl" "$db"
	app_start "$db" "$APP_BASELINE_S" "$prefix"
	wait "$APP_PID" || log "pgbench failed (an aborted client?): see $prefix.out"
	app_latency "$prefix" 0 99999999999999999
	record_impact none $((APP_BASELINE_S * 1000)) 0
	drop_db "$db"
}

# The application holds one eligible row (the middle one) for
# LOCK_HOLD_S seconds: the sweeper must pass it over, not wait for it.
impact_locked_row() {
	local tpl=$1 db=bench_locked id pid t0 t1 rc=0 holder_alive left survived
	local pred
	SCN=medium
	scenario "$SCN"
	pred=$(pred_of accounts_backupcode)
	copy_db "$tpl" "$db"
	id=$(q1 -d "$db" -c "SELECT id FROM accounts_backupcode AS t WHERE $pred ORDER BY id
		OFFSET (SELECT count(*) / 2 FROM accounts_backupcode AS t WHERE $pred) LIMIT 1")
	q -d "$db" -c "BEGIN; SELECT id FROM accounts_backupcode WHERE id = $id FOR UPDATE;
		SELECT pg_sleep($LOCK_HOLD_S); COMMIT;" >/dev/null &
	pid=$!
	# Wait until the lock is held.
	while [ "$(q1 -d "$db" -c "SELECT count(*) FROM pg_stat_activity
		WHERE datname = '$db' AND query LIKE '%pg_sleep($LOCK_HOLD_S)%'
		AND wait_event = 'PgSleep'")" = 0 ]; do
		sleep 0.05
	done
	write_config "$IMPACT_DIR/locked.ini"
	t0=$(ms_now)
	PGDATABASE=$db "$SWEEPER" -c "$IMPACT_DIR/locked.ini" -r "$RULE" -v --json \
		>"$IMPACT_DIR/locked.json" 2>"$IMPACT_DIR/locked.log" || rc=$?
	t1=$(ms_now)
	holder_alive=false
	! kill -0 "$pid" 2>/dev/null || holder_alive=true
	wait "$pid" || die "the session holding the row lock failed"
	survived=$(q1 -d "$db" -c "SELECT count(*) = 1 FROM accounts_backupcode WHERE id = $id")
	left=$(q1 -d "$db" -c "SELECT count(*) FROM accounts_backupcode AS t WHERE $pred")
	[ "$survived" = t ] && survived=true || survived=false
	record --arg scale "$SCALE" --argjson ms $((t1 - t0)) --argjson rc "$rc" \
		--argjson id "$id" --argjson survived "$survived" --argjson left "$left" \
		--argjson holder_alive "$holder_alive" --argjson hold_s "$LOCK_HOLD_S" \
		--argjson deleted "$(jq .deleted_total "$IMPACT_DIR/locked.json")" \
		'{kind: "locked_row", scale: $scale, scenario: "medium", lock_held_s: $hold_s,
		  sweeper_ms: $ms, sweeper_exit: $rc, deleted: $deleted, locked_id: $id,
		  locked_row_survived: $survived, eligible_left: $left,
		  finished_while_locked: $holder_alive,
		  ok: ($rc == 0 and $survived and $left == 1 and $holder_alive)}'
	log "locked row $id: sweeper exit $rc in $((t1 - t0)) ms, row survived: $survived," \
		"eligible rows left: $left, lock still held at the end: $holder_alive"
	drop_db "$db"
}

run_impact() {
	local tpl=$1
	IMPACT_DIR=$OUT/logs/impact
	mkdir -p "$IMPACT_DIR"
	write_app_script "$IMPACT_DIR/app.sql"
	SCN=backlog
	REC_SCN=backlog
	scenario "$SCN"
	# How long the application must run: twice the slowest method here.
	EST_MS=$(jq -s --arg s "$SCALE" '[.[] | select(.kind == "run" and .scale == $s
		and .scenario == "backlog" and .method != "naive") | .ms] | max // 10000' "$RESULTS")
	impact_baseline "$tpl"
	impact_during sweeper "$tpl"
	if [ "$WORKERS_SUPPORTED" = 1 ]; then
		impact_during sweeper_workers "$tpl"
	fi
	impact_during single "$tpl"
	impact_locked_row "$tpl"
}

# ------------------------------------------------------------ the report

machine_json() {
	jq -n --argjson nproc "$(nproc)" \
		--argjson mem_kb "$(awk '/^MemTotal/ { print $2 }' /proc/meminfo)" \
		--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
		--arg pg "$(q1 -c 'SHOW server_version')" \
		--arg fsync "$(q1 -c 'SHOW fsync')" \
		--arg sync_commit "$(q1 -c 'SHOW synchronous_commit')" \
		--arg shared_buffers "$(q1 -c 'SHOW shared_buffers')" \
		--arg autovacuum "$(q1 -c 'SHOW autovacuum')" \
		--arg load_start "$LOAD_START" --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
		--arg commit "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
		--arg started "$STARTED" --argjson total_s "$1" \
		--arg command "make bench SCALES=\"$SCALES\"$([ "$SCENARIOS" = "$ALL_SCENARIOS" ] || echo " SCENARIOS=\"$SCENARIOS\"")$([ "$WORKERS" = 1 ] || echo " WORKERS=$WORKERS")$([ "$NAIVE" = 1 ] || echo " NAIVE=$NAIVE")$([ "$IMPACT" = 1 ] || echo " IMPACT=$IMPACT")$([ "$PROFILE" = 1 ] || echo " PROFILE=$PROFILE")" \
		--argjson runs "$RUNS" --argjson run_timeout_s "$RUN_TIMEOUT_S" \
		--argjson workers "$WORKERS" \
		'{nproc: $nproc, mem_kb: $mem_kb, cpu: $cpu, postgresql: $pg, fsync: $fsync,
		  synchronous_commit: $sync_commit, shared_buffers: $shared_buffers,
		  autovacuum: $autovacuum, loadavg_start: $load_start, loadavg_end: $load_end,
		  commit: $commit, started_at: $started, total_s: $total_s, command: $command,
		  runs: $runs, workers: $workers, run_timeout_s: $run_timeout_s}'
}

# The p99 batch latency limit of issue 5, in ms: twice batch_target when
# the batch size adapts (the example config's batch_size is empty), 250 ms
# when batch_size fixes it.
p99_limit() {
	local cfg=$ROOT/config/mfa-sweeper.ini size target
	size=$(sed -n 's/^batch_size = *\([0-9][0-9]*\).*/\1/p' "$cfg")
	if [ -n "$size" ]; then
		echo 250
		return
	fi
	target=$(sed -n 's/^batch_target = *\([0-9][0-9]*[a-z]*\).*/\1/p' "$cfg")
	case $target in
	*ms) echo $((${target%ms} * 2)) ;;
	*s) echo $((${target%s} * 2000)) ;;
	*) die "cannot read batch_target from $cfg" ;;
	esac
}

# The medians: one group per scale, scenario and method, from the
# median run (the middle one of RUNS by wall time).
groups_json() {
	jq -s '
	def med_index: (length - 1) / 2 | floor;
	def order($list): . as $x | ($list | index($x)) // 99;
	[.[] | select(.kind == "run")]
	| group_by([.codes, .scenario, .method])
	| map(sort_by(.ms) as $s | $s[$s | med_index] + {
		runs_ms: map(.ms), n: length, timed_out: any(.[]; .timed_out),
		same_rows: all(.[]; .same_rows or .timed_out),
		load1_min: (map(.load1 // empty) | min), load1_max: (map(.load1 // empty) | max),
		peak_rss_kb: (map(.peak_rss_kb | select(. != null)) | max)})
	| sort_by([.codes,
		(.scenario | order(["backlog", "medium", "nightly", "nightly_idx", "users", "bulk", "idle"])),
		(.method | order(["single", "sweeper", "sweeper_workers", "split2", "scoped", "scoped_one",
		                  "idle_user_disabled", "idle_all", "idle_full", "naive"]))])' "$RESULTS"
}

# The targets of doc/benchmarks.md (issue 11, items 5
# and 6), each figure beside its baseline: a list of rows.
targets_json() {
	local groups=$1
	jq -n --argjson g "$groups" --argjson plim "$(p99_limit)" \
		--argjson w "${WORKERS_SUPPORTED:-null}" --arg wwhy "$WORKERS_WHY" \
		--argjson nw "$WORKERS" \
		--argjson timeout "$RUN_TIMEOUT_S" --arg scales "$SCALES" \
		--arg scenarios "$SCENARIOS" \
		--slurpfile all "$RESULTS" '
	def r2: . * 100 | round / 100;
	def has_scn($s): ($scenarios | split(" ") | index($s)) != null;
	def grp($scale; $scn; $m):
		first($g[] | select(.scale == $scale and .scenario == $scn and .method == $m)) // null;
	def verdict($v; $lim): if $v == null then "not measured"
		elif $v <= $lim then "PASS" else "MISS" end;
	# A row comparing group $a with group $b by wall time.
	def vs($a; $b; $lim; $target; $what):
		(if $a.timed_out then null else ($a.ms / ([$b.ms, 1] | max) | r2) end) as $ratio
		| {target: $what, scale: $a.scale, scenario: $a.scenario,
		   figure: $a.label, unit: "ms", figure_value: $a.ms, figure_runs: $a.runs_ms,
		   baseline: $b.label, baseline_value: $b.ms, baseline_runs: $b.runs_ms,
		   load: [$a.load1_min, $a.load1_max, $b.load1_min, $b.load1_max],
		   ratio: $ratio, value: $ratio, limit: $lim, target_text: $target,
		   timed_out: $a.timed_out, rows: $a.rows, expected_rows: $a.expected_rows,
		   rows_per_s: $a.rows_per_s,
		   ratio_at_least: (if $a.timed_out then ($a.ms / ([$b.ms, 1] | max) | r2) else null end),
		   note: (if $a.timed_out then "timed out after \($timeout) s at \($a.rows_per_s) rows/s (\($a.rows) of \($a.expected_rows) rows)" else null end),
		   result: (if $lim == null then "-"
		            elif $a.timed_out then "MISS (timed out)"
		            else verdict($ratio; $lim) end)};
	def absent($scale; $scn; $what; $figure; $target; $why):
		{target: $what, scale: $scale, scenario: $scn, figure: $figure,
		 target_text: $target, value: null, limit: null, note: $why,
		 result: "n/a"};
	($g | map(.scale) | unique) as $scale_list
	| ($scales | split(" ") | map(select(length > 0))) as $order
	| [
	  # 1. One worker against one DELETE of the same rows.
	  ($order[] as $s | ("backlog", "medium", "nightly", "nightly_idx", "users") as $scn
	   | grp($s; $scn; "sweeper") as $a | grp($s; $scn; "single") as $b
	   | select($a != null and $b != null)
	   | (if $scn == "backlog" or $scn == "medium" then 1.1
	      elif $scn == "users" then null else 1.25 end) as $lim
	   | vs($a; $b; $lim; (if $lim then "<= \($lim)x" else "none" end);
	        "sweeper time <= \($lim // "-")x single DELETE")),
	  # 2. Two workers, and the two-DELETE reference.
	  ($order[] as $s | select(has_scn("workers"))
	   | grp($s; "backlog"; "single") as $b | select($b != null)
	   | (if $w == 1 then
	        (grp($s; "backlog"; "sweeper_workers") as $a | select($a != null)
	         | vs($a; $b; 0.85; "<= 0.85x"; "workers = \($nw) time <= 0.85x single DELETE"))
	      else
	        absent($s; "backlog"; "workers = 2 time <= 0.85x single DELETE";
	               "sweeper, workers = 2"; "<= 0.85x"; $wwhy)
	        + {baseline: $b.label, unit: "ms", baseline_value: $b.ms,
	           baseline_runs: $b.runs_ms, detail: $wwhy}
	      end),
	     (grp($s; "backlog"; "split2") as $a | select($a != null)
	      | vs($a; $b; null; "reference (0.82x in issue 11)"; "two DELETEs at once, reference"))),
	  # The application while two workers sweep, against one worker.
	  ([$all[] | select(.kind == "impact")] as $imp
	   | select(($imp | length) > 0 and has_scn("workers"))
	   | ($imp | map(select(.during == "sweeper")) | .[0]) as $one
	   | ($imp | map(select(.during == "sweeper_workers")) | .[0]) as $two
	   | if $w != 1 then
	       absent($one.scale; "backlog"; "app p99 with workers = 2 <= 2x with 1 worker";
	              "app p99 during the sweep, workers = 2"; "<= 2x"; $wwhy)
	       + {baseline: "app p99 during the sweep, 1 worker", unit: "ms",
	          baseline_value: $one.app_ms_p99, detail: $wwhy}
	     else
	       (($two.app_ms_p99 / ([$one.app_ms_p99, 0.001] | max)) | r2) as $x
	       | {target: "app p99 with workers = \($nw) <= 2x with 1 worker", scale: $two.scale,
	          scenario: "backlog", figure: "app p99 during the sweep, workers = \($nw)",
	          unit: "ms", figure_value: $two.app_ms_p99,
	          baseline: "app p99 during the sweep, 1 worker",
	          baseline_value: $one.app_ms_p99, ratio: $x, value: $x, limit: 2,
	          target_text: "<= 2x", result: verdict($x; 2)}
	     end),
	  # The application during each sweep, against the application alone:
	  # what a sweep costs the requests beside it (no limit of its own).
	  ([$all[] | select(.kind == "impact")] as $imp
	   | ($imp | map(select(.during == "none")) | .[0]) as $alone
	   | select($alone != null)
	   | $imp[] | select(.during == "sweeper" or .during == "sweeper_workers")
	   | (.app_ms_p99 / ([$alone.app_ms_p99, 0.001] | max) | r2) as $x
	   | {target: "app p99 during the sweep, beside the app alone", scale: .scale,
	      scenario: "backlog",
	      figure: "app p99 during the sweep, \(if .during == "sweeper" then "1 worker" else "workers = \($nw)" end)",
	      unit: "ms", figure_value: .app_ms_p99,
	      baseline: "app p99 alone (no sweep)", baseline_value: $alone.app_ms_p99,
	      ratio: $x, value: $x, limit: null, target_text: "-", result: "-"}),
	  # 3. user_disabled --now after a bulk disable against DELETE ... USING.
	  ($order[] as $s | grp($s; "bulk"; "sweeper") as $a | grp($s; "bulk"; "single") as $b
	   | select($a != null and $b != null)
	   | vs($a; $b; 1.1; "<= 1.1x"; "user_disabled --now time <= 1.1x DELETE ... USING")),
	  # 5. Scoped against unscoped, and one user.
	  ($order[] as $s | grp($s; "bulk"; "scoped") as $a | grp($s; "bulk"; "sweeper") as $b
	   | select($a != null and $b != null)
	   | vs($a; $b; 1.25; "<= 1.25x"; "scoped time <= 1.25x unscoped")),
	  ($order[] as $s | grp($s; "bulk"; "scoped_one") as $a | select($a != null)
	   | {target: "one-user scoped run < 100 ms", scale: $s, scenario: "bulk",
	      figure: $a.label, unit: "ms", figure_value: $a.ms, figure_runs: $a.runs_ms,
	      value: $a.ms, limit: 100, target_text: "< 100 ms",
	      load: [$a.load1_min, $a.load1_max],
	      timed_out: $a.timed_out,
	      result: (if $a.timed_out then "MISS (timed out)"
	               elif $a.ms < 100 then "PASS" else "MISS" end)}),
	  # 4. Idle runs: flat across scales.
	  (("idle_user_disabled", "idle_all") as $m
	   | [$order[] as $s | grp($s; "idle"; $m) | select(. != null)] as $rows
	   | select(($rows | length) > 0)
	   | $rows[0] as $first
	   | $rows[]
	   | . as $a
	   | if $a.scale == $first.scale then
	       {target: "idle run flat across scales", scale: $a.scale, scenario: "idle",
	        figure: $a.label, unit: "ms", figure_value: $a.ms, figure_runs: $a.runs_ms,
	        load: [$a.load1_min, $a.load1_max],
	        value: null, limit: null, target_text: "-", result: "-"}
	     else
	       vs($a; $first; (if $a.scale == $rows[-1].scale then 1.25 else null end);
	          (if $a.scale == $rows[-1].scale then "<= 1.25x" else "-" end);
	          "idle run at \($a.scale) <= 1.25x at \($first.scale)")
	       | .baseline = "the same at \($first.scale)"
	     end),
	  # 6. Per-row cost and peak RSS flat from the smallest to the largest
	  # scale.
	  ($order[0] as $lo | $order[-1] as $hi | select($lo != $hi)
	   | ("backlog", "medium", "nightly", "nightly_idx", "users", "bulk") as $scn
	   | grp($lo; $scn; "sweeper") as $a | grp($hi; $scn; "sweeper") as $b
	   | select($a != null and $b != null and $a.rows > 0 and $b.rows > 0)
	   | (($b.ms / $b.rows) / ($a.ms / $a.rows)) as $x
	   | {target: "per-row cost at \($hi) <= 1.25x at \($lo)", scale: "\($hi)/\($lo)",
	      scenario: $scn, figure: "sweeper ms per 1000 rows at \($hi)", unit: "ms",
	      figure_value: ($b.ms * 1000 / $b.rows | r2),
	      baseline: "the same at \($lo)", baseline_value: ($a.ms * 1000 / $a.rows | r2),
	      load: [$a.load1_min, $a.load1_max, $b.load1_min, $b.load1_max],
	      ratio: ($x | r2), value: ($x | r2), limit: 1.25, target_text: "<= 1.25x",
	      result: verdict($x; 1.25)}),
	  # Unscoped runs: a scoped run holds its list of users, which grows
	  # with the list, not with the tables (its RSS is in the next rows).
	  ([$g[] | select((.method | startswith("sweeper")) or (.method | startswith("idle")))
	        | select(.peak_rss_kb != null)] as $sw
	   | select(($sw | map(.scale) | unique | length) > 1)
	   | ($sw | max_by(.peak_rss_kb)) as $mx | ($sw | min_by(.peak_rss_kb)) as $mn
	   | ($mx.peak_rss_kb / $mn.peak_rss_kb) as $x
	   | {target: "peak RSS flat across scales (max/min <= 1.25)", scale: "all",
	      scenario: "unscoped", figure: "largest peak RSS (\($mx.scale) \($mx.scenario) \($mx.method))",
	      unit: "MB", figure_value: ($mx.peak_rss_kb / 1024 | r2),
	      baseline: "smallest (\($mn.scale) \($mn.scenario) \($mn.method))",
	      baseline_value: ($mn.peak_rss_kb / 1024 | r2),
	      ratio: ($x | r2), value: ($x | r2), limit: 1.25, target_text: "<= 1.25x",
	      result: verdict($x; 1.25)}),
	  # As before: the largest p99 batch latency and peak RSS of each scale.
	  ($order[] as $s
	   | [$g[] | select(.scale == $s and .batch_ms_p99 != null and (.method | startswith("sweeper")))] as $sw
	   | select(($sw | length) > 0)
	   | ($sw | max_by(.batch_ms_p99)) as $a
	   | {target: "p99 batch latency <= \($plim) ms", scale: $s, scenario: $a.scenario,
	      figure: "largest p99 batch latency (\($a.scenario), \($a.label))", unit: "ms",
	      figure_value: $a.batch_ms_p99, value: $a.batch_ms_p99, limit: $plim,
	      target_text: "<= \($plim) ms", result: verdict($a.batch_ms_p99; $plim)}),
	  ($order[] as $s
	   | [$g[] | select(.scale == $s and .peak_rss_kb != null)] as $sw
	   | select(($sw | length) > 0)
	   | ($sw | max_by(.peak_rss_kb)) as $a
	   | {target: "peak RSS < 16 MB", scale: $s, scenario: $a.scenario,
	      figure: "largest peak RSS (\($a.scenario), \($a.label))", unit: "MB",
	      figure_value: ($a.peak_rss_kb / 1024 | r2), value: ($a.peak_rss_kb / 1024 | r2),
	      limit: 16, target_text: "< 16 MB",
	      result: (if $a.peak_rss_kb < 16384 then "PASS" else "MISS" end)})
	  ]
	  # Targets that need what this run did not do.
	  + (if ($order | length) < 2 then
	      [absent("L/S"; "all"; "per-row cost and peak RSS flat across scales"; "-";
	              "<= 1.25x"; "not measured (needs two scales or more)")]
	     else [] end)
	  | map(. + {met: (if .result == "PASS" then true
	                   elif (.result | startswith("MISS")) then false else null end)})'
}

markdown() {
	local json=$1
	jq -r '
	def fmt(d): if . == null then "-" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
	def val($v; $unit; $runs):
		if $v == null then "-"
		else "\($v | fmt(1)) \($unit)"
		     + (if ($runs // [] | length) > 1 then " (\($runs | map(tostring) | join(", ")))" else "" end)
		end;
	# The 1-minute load averages the runs of a figure ended at, "lo-hi".
	def load_range: map(select(. != null)) as $l
		| if ($l | length) == 0 then "-"
		  elif ($l | min) == ($l | max) then "\($l | min | fmt(1))"
		  else "\($l | min | fmt(1))-\($l | max | fmt(1))" end;
	"Targets (issue 11, items 5 and 6): each figure beside its baseline; times are medians of \(.machine.runs) runs (the single runs in brackets), wall clock including the start of the process (the server'"'"'s own psql binary, not Debian'"'"'s Perl wrapper, or the sweeper) and connecting; \"load\" is the 1-minute load average at the end of the figure'"'"'s and the baseline'"'"'s runs, on \(.machine.nproc) CPUs.",
	"",
	"| scale | scenario | figure | value | baseline | value | ratio | target | result | load |",
	"|---|---|---|--:|---|--:|--:|---|---|---|",
	(.targets[]
	 | (if .figure_value != null then
	      val(.figure_value; .unit; .figure_runs) + (if .timed_out then ", **timed out**" else "" end)
	    else (.note // "-") end) as $value
	 | (if .ratio_at_least != null then ">= \(.ratio_at_least)" else (.ratio | fmt(2)) end) as $ratio
	 | "| \(.scale) | \(.scenario) | \(.figure // "-") | \($value) | \(.baseline // "-") | \(val(.baseline_value; .unit; .baseline_runs)) | \($ratio) | \(.target_text) | \(if .result == "PASS" or .result == "-" or .result == "n/a" then .result else "**\(.result)**" end) | \(.load // [] | load_range) |"),
	"",
	(.targets[] | select(.note != null and .figure_value != null) | "- \(.scale) \(.scenario), \(.figure): \(.note)"),
	(if .workers.supported == false then "- `workers`: \(.workers.why)" else empty end),
	"",
	"Every run (the median of each; \"x single\" is the wall time over the scenario'"'"'s single DELETE'"'"'s median; \"batches\" counts those that deleted rows):",
	"",
	"| scale | scenario | method | rows deleted | wall s | runs s | rows/s | x single | batches | batch p50 ms | batch p99 ms | batch max ms | peak RSS MB | same rows | load |",
	"|---|---|---|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|---|---|",
	(.groups as $gs | .groups[]
	 | . as $r
	 | (first($gs[] | select(.method == "single" and .scale == $r.scale
	                          and .scenario == $r.scenario) | .ms) // null) as $single
	 | "| \(.scale) | \(.scenario) | \(.label)\(if .timed_out and .method == "naive" then " (stopped)" elif .timed_out then " (**timed out**)" else "" end) | \(.rows) | \(.ms / 1000 | fmt(2)) | \(if .n > 1 then (.runs_ms | map(. / 1000 | fmt(2)) | join(", ")) else "-" end) | \(.rows_per_s // "-") | \(if $single then (.ms / ([$single, 1] | max) | fmt(2)) else "-" end) | \(.batches) | \(.batch_ms_p50 | fmt(1)) | \(.batch_ms_p99 | fmt(1)) | \(.batch_ms_max | fmt(1)) | \(if .peak_rss_kb then (.peak_rss_kb / 1024 | fmt(1)) else "-" end) | \(if .timed_out and (.same_rows | not) then "(timed out)" elif .same_rows then "yes" else "**NO**" end) | \([.load1_min, .load1_max] | load_range) |"),
	"",
	(if any(.groups[]; .scenario == "idle") then
	  "The idle runs find the data after every rule has run, with these indexes (besides the reference schema'"'"'s indexes on the user_id columns):",
	  "",
	  "```sql",
	  (.idle_indexes[] | "\(.);"),
	  "```",
	  "",
	  "The timer'"'"'s runs (the targets) set `[rule.user_disabled] lookback = \(.idle_lookback)`; the nightly run without it is measured beside them.",
	  ""
	 else empty end),
	(if (.impact | length) > 0 then
	  "Application (pgbench, \(.app.clients) clients at \(.app.rate) tx/s) while the \(.impact[0].scale) backlog is deleted:",
	  "",
	  "| during | window s | rows deleted | app transactions | app p50 ms | app p99 ms |",
	  "|---|--:|--:|--:|--:|--:|",
	  (.impact[] | "| \(.during) | \(.window_ms / 1000 | fmt(2)) | \(.rows) | \(.app_transactions) | \(.app_ms_p50 | fmt(2)) | \(.app_ms_p99 | fmt(2)) |"),
	  ""
	 else empty end),
	(.locked_row[]? | "Locked row (\(.scale), medium): the application holds code \(.locked_id) for \(.lock_held_s) s; the sweeper finished in \(.sweeper_ms / 1000 | fmt(2)) s (exit \(.sweeper_exit)) while it was still held, deleted \(.deleted) rows, the locked row survived: \(.locked_row_survived), eligible rows left: \(.eligible_left) -> \(if .ok then "ok" else "**NOT ok**" end).", ""),
	(if (.profile | length) > 0 then
	  "Where the sweeper spends its time at \(.profile[0].scale), server side (a separate run with every statement logged, at most \(.machine.profile_timeout_s) s; total ms, statements):",
	  "",
	  (.profile[] | "- \(.scenario)\(if .method != "sweeper" then " (\(.method))" else "" end) (\(.sweeper_ms) ms wall, \(.rows) rows\(if .timed_out then ", stopped at the time limit" else "" end)): \([.statements[] | "\(.what) \(.total_ms) ms (\(.count) x, max \(.max_ms))"] | join(", "))"),
	  ""
	 else empty end),
	"Machine: \(.machine.nproc) CPUs (\(.machine.cpu)), \(.machine.mem_kb / 1048576 | fmt(1)) GiB RAM, PostgreSQL \(.machine.postgresql), fsync=\(.machine.fsync), synchronous_commit=\(.machine.synchronous_commit), shared_buffers=\(.machine.shared_buffers), autovacuum=\(.machine.autovacuum); load average \(.machine.loadavg_start) at the start, \(.machine.loadavg_end) at the end; commit \(.machine.commit); `\(.machine.command)` took \(.machine.total_s) s."
	' "$json"
}

chart() {
	local json=$1 png=$2 dat=$OUT/rows_per_s.dat
	if ! command -v gnuplot >/dev/null; then
		log "gnuplot not installed: no chart (make bench installs gnuplot-nox)"
		return 0
	fi
	local methods="single sweeper sweeper_workers split2 scoped naive" plot='' col=2 m title
	# One line per scale and scenario, in the report's order; one column
	# per method.
	jq -r --arg methods "$methods" '
	def rps($m): (map(select(.method == $m))[0].rows_per_s) // "NaN";
	[.groups[] | select(.rows > 0)] as $g
	| reduce $g[] as $x ([]; if any(.[]; . == [$x.scale, $x.scenario]) then .
	                         else . + [[$x.scale, $x.scenario]] end)
	| .[] as [$s, $c]
	| [$g[] | select(.scale == $s and .scenario == $c)]
	| . as $rows
	| "\"\($s) \($c)\" \([$methods | split(" ")[] | . as $m | $rows | rps($m) | tostring] | join(" "))"' \
		"$json" >"$dat"
	for m in $methods; do
		# awk splits the quoted label "S backlog" in two: one field more.
		if awk -v c=$((col + 1)) '$c != "NaN" { found = 1 } END { exit !found }' "$dat"; then
			case $m in
			single) title='single DELETE (bulk: DELETE ... USING)' ;;
			sweeper) title='mfa-sweeper, 1 worker' ;;
			sweeper_workers) title="mfa-sweeper, workers = $WORKERS" ;;
			split2) title='two DELETEs at once (block halves)' ;;
			scoped) title='mfa-sweeper, scoped (--users-file)' ;;
			naive) title='naive LIMIT batches' ;;
			esac
			if [ -z "$plot" ]; then
				plot="'$dat' using $col:xtic(1) title '$title'"
			else
				plot="$plot, '' using $col title '$title'"
			fi
		fi
		col=$((col + 1))
	done
	[ -n "$plot" ] || return 0
	gnuplot <<EOF
set terminal pngcairo size 1400,600 noenhanced
set output '$png'
set title 'Rows deleted per second (median run), by scale and scenario (log scale)'
set datafile missing 'NaN'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set logscale y
set yrange [10:*]
set ylabel 'rows/s'
set grid ytics
set xtics rotate by -35
set key top right
plot $plot
EOF
}

assemble() {
	local total_s=$1 groups
	groups=$(groups_json)
	jq -s --argjson machine "$(machine_json "$total_s")" \
		--argjson targets "$(targets_json "$groups")" \
		--argjson groups "$groups" \
		--argjson clients "$APP_CLIENTS" --argjson rate "$APP_RATE" \
		--argjson wsup "$([ "$WORKERS_SUPPORTED" = 1 ] && echo true || { [ "$WORKERS_SUPPORTED" = 0 ] && echo false; } || echo null)" \
		--arg wwhy "$WORKERS_WHY" --argjson ptimeout "$PROFILE_TIMEOUT_S" \
		--argjson idx "$(printf '%s\n' "${IDLE_INDEXES[@]}" | jq -R . | jq -s .)" \
		--arg lookback "$IDLE_LOOKBACK" \
		'{machine: ($machine + {profile_timeout_s: $ptimeout}), batch_size: 5000,
		  app: {clients: $clients, rate: $rate},
		  workers: {supported: $wsup, why: (if $wwhy == "" then null else $wwhy end)},
		  idle_indexes: $idx, idle_lookback: $lookback,
		  targets: $targets,
		  groups: $groups,
		  runs: map(select(.kind == "run")),
		  impact: map(select(.kind == "impact")),
		  locked_row: map(select(.kind == "locked_row")),
		  profile: map(select(.kind == "profile"))}' "$RESULTS" >"$OUT/results.json"
	markdown "$OUT/results.json" >"$OUT/results.md"
}

# The results in BENCH_DOC: what stands between its two marker lines is
# replaced by the date, the machine (CPUs, load, server) and results.md.
# A file without the markers is left alone, with a warning.
DOC_BEGIN='<!-- bench-results:begin (make bench rewrites what follows, up to the end marker) -->'
DOC_END='<!-- bench-results:end -->'

write_doc() {
	local doc=$BENCH_DOC block=$OUT/results.doc.md
	[ -n "$doc" ] || return 0
	if [ ! -f "$doc" ] || ! grep -qxF "$DOC_BEGIN" "$doc" || ! grep -qxF "$DOC_END" "$doc"; then
		log "$doc: no bench-results markers, not rewritten"
		return 0
	fi
	{
		jq -r '.machine
		| "Measured \(.started_at | sub("T"; " ") | sub(":[0-9]+Z$"; " UTC")) with `\(.command)`, RUNS=\(.runs), WORKERS=\(.workers), at commit \(.commit); it took \(.total_s) s.",
		  "",
		  "Machine: \(.nproc) CPUs (\(.cpu)), \(.mem_kb / 1048576 * 10 | round / 10) GiB RAM, shared with whatever else ran: load average (1, 5, 15 min) \(.loadavg_start) at the start, \(.loadavg_end) at the end, and per figure in the tables.  PostgreSQL \(.postgresql), fsync=\(.fsync), synchronous_commit=\(.synchronous_commit), shared_buffers=\(.shared_buffers), autovacuum=\(.autovacuum).",
		  ""' "$OUT/results.json"
		cat "$OUT/results.md"
	} >"$block"
	awk -v begin="$DOC_BEGIN" -v end="$DOC_END" -v block="$block" '
		$0 == begin { print; print ""; while ((getline l < block) > 0) print l; print ""; skip = 1; next }
		$0 == end { skip = 0 }
		!skip { print }' "$doc" >"$doc.tmp"
	mv "$doc.tmp" "$doc"
	log "results written into $doc"
}

# ---------------------------------------------------------------- main

# ------------------------------------------------------- the fleet scenario

FLEET_TENANTS=${FLEET_TENANTS:-300}
FLEET_ROWS=${FLEET_ROWS:-3000}

# fleet_template DB: FLEET_TENANTS schemas t1.. with the reference tables,
# 20 users each and FLEET_ROWS codes, the odd ones used 100 days ago
# (used_backup_codes with max_age = 30d deletes them), the even ones
# unused (kept); public.customers_client lists the tenants.
fleet_template() {
	local db=$1 t0
	t0=$(ms_now)
	q -c "CREATE DATABASE $db"
	q -d "$db" -f "$SCHEMA"
	q -d "$db" >/dev/null <<SQL
CREATE TABLE public.customers_client (schema_name text PRIMARY KEY);
DO \$\$
DECLARE i int;
BEGIN
  FOR i IN 1..$FLEET_TENANTS LOOP
    EXECUTE format('CREATE SCHEMA t%1\$s;
      CREATE TABLE t%1\$s.accounts_user (LIKE public.accounts_user INCLUDING ALL);
      CREATE TABLE t%1\$s.otp_totp_totpdevice (LIKE public.otp_totp_totpdevice INCLUDING ALL);
      CREATE TABLE t%1\$s.accounts_backupcode (LIKE public.accounts_backupcode INCLUDING ALL);
      INSERT INTO t%1\$s.accounts_user (id, email, mfa_enrolled)
        SELECT u, ''u'' || u || ''@example.com'', true FROM generate_series(1, 20) u;
      INSERT INTO t%1\$s.accounts_backupcode (user_id, code_hash, used, used_at, created_at)
        SELECT 1 + c %% 20, ''c'' || c, c %% 2 = 1,
               CASE WHEN c %% 2 = 1 THEN now() - interval ''100 days'' END,
               now() - interval ''400 days''
        FROM generate_series(1, $FLEET_ROWS) c', i);
    INSERT INTO public.customers_client VALUES ('t' || i);
  END LOOP;
END
\$\$;
SQL
	q -d "$db" -c 'CHECKPOINT' >/dev/null
	q -d "$db" -c 'VACUUM (FREEZE, ANALYZE)' >/dev/null
	log "generated $db in $(($(ms_now) - t0)) ms: $FLEET_TENANTS tenants of $FLEET_ROWS codes"
}

# fleet_config FILE [SCHEMA]: used_backup_codes (max_age = 30d) on the
# fleet database; with SCHEMA, the [schema] tables inside it (the loop's
# config, one per tenant), else a tenants_query target with FLEET_JOBS.
fleet_config() {
	local cfg=$1 schema=${2:-}
	{
		printf '[database]\ndsn = dbname=%s\n\n' "$FLEET_DB"
		printf '[sweeper]\nplugin_dir = %s\nrules = used_backup_codes\n' "$BUILD/plugins"
		[ -n "$schema" ] || printf 'jobs = %s\n' "${FLEET_JOBS:-1}"
		printf '\n[rule.used_backup_codes]\nmax_age = 30d\n\n'
		if [ -n "$schema" ]; then
			printf '[schema]\nusers_table = %s.accounts_user\n' "$schema"
			printf 'devices_table = %s.otp_totp_totpdevice\n' "$schema"
			printf 'codes_table = %s.accounts_backupcode\n' "$schema"
		else
			printf '[target.tenants]\ntenants_query = SELECT schema_name FROM public.customers_client ORDER BY 1\n'
		fi
	} >"$cfg"
}

# fleet_count DB USED: the codes with used = USED over every tenant.
fleet_count() {
	q1 -d "$1" -c "SELECT sum((xpath('/row/n/text()',
		query_to_xml(format('SELECT count(*) AS n FROM %I.accounts_backupcode WHERE used = $2',
		schema_name), false, true, '')))[1]::text::bigint) FROM public.customers_client"
}

# fleet_check DB: every used code gone from every tenant, every unused
# one kept; counts a failure otherwise.
fleet_check() {
	local left kept want=$((FLEET_TENANTS * (FLEET_ROWS / 2)))
	left=$(fleet_count "$1" true)
	kept=$(fleet_count "$1" false)
	if [ "$left" != 0 ] || [ "$kept" != "$want" ]; then
		log "fleet: $1: $left eligible rows left, $kept kept (want 0 and $want)"
		FAILED=$((FAILED + 1))
	fi
}

# run_fleet: the fleet scenario (see the top of the file).
run_fleet() {
	local tpl=bench_fleet_tpl dir=$OUT/logs/fleet i ms loop_ms jobs rc
	mkdir -p "$dir"
	fleet_template "$tpl"
	FLEET_DB=bench_fleet
	{
		echo "## Fleet: $FLEET_TENANTS tenants of $FLEET_ROWS codes ($((FLEET_TENANTS * FLEET_ROWS / 2)) to delete)"
		echo
		echo "| method | wall time | vs the loop |"
		echo "|---|---:|---:|"
	} >"$OUT/fleet.md"

	# The baseline: a shell loop, one sweeper process per tenant.
	copy_db "$tpl" "$FLEET_DB"
	for i in $(seq 1 "$FLEET_TENANTS"); do
		fleet_config "$dir/loop-t$i.ini" "t$i"
	done
	ms=$(ms_now)
	for i in $(seq 1 "$FLEET_TENANTS"); do
		"$SWEEPER" -c "$dir/loop-t$i.ini" -q >>"$dir/loop.log" 2>&1 ||
			die "fleet: the loop's run of t$i failed (see $dir/loop.log)"
	done
	loop_ms=$(($(ms_now) - ms))
	fleet_check "$FLEET_DB"
	log "fleet: shell loop over $FLEET_TENANTS tenants: $loop_ms ms"
	echo "| shell loop, one run per tenant | $loop_ms ms | 1.0x |" >>"$OUT/fleet.md"
	rm -f "$dir"/loop-t*.ini

	for jobs in 1 2 4; do
		copy_db "$tpl" "$FLEET_DB"
		FLEET_JOBS=$jobs fleet_config "$dir/jobs$jobs.ini"
		rc=0
		ms=$(ms_now)
		"$SWEEPER" -c "$dir/jobs$jobs.ini" -q --json >"$dir/jobs$jobs.json" 2>"$dir/jobs$jobs.log" || rc=$?
		ms=$(($(ms_now) - ms))
		[ "$rc" = 0 ] || die "fleet: jobs = $jobs failed with $rc (see $dir/jobs$jobs.log)"
		fleet_check "$FLEET_DB"
		log "fleet: jobs = $jobs: $ms ms"
		echo "| one run, jobs = $jobs | $ms ms | $(awk -v a="$loop_ms" -v b="$ms" 'BEGIN { printf "%.1fx", a / b }') |" >>"$OUT/fleet.md"
	done
	{
		echo
		echo "$(nproc) cores; load average at the start of the bench: $LOAD_START"
	} >>"$OUT/fleet.md"
	drop_db "$FLEET_DB"
	drop_db "$tpl"
}

needs_main() {
	local s
	for s in backlog medium nightly nightly_idx users workers idle; do
		! selected "$s" || return 0
	done
	return 1
}

# The impact runs go with the backlog (and the locked row with medium's
# data), at the largest scale.
needs_impact() {
	[ "$IMPACT" = 1 ] && { selected backlog || selected workers; }
}

needs_bulk() {
	selected bulk || selected scoped
}

main() {
	local t_start scale last_tpl= tpl btpl s
	t_start=$(ms_now)
	STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	[ -x "$SWEEPER" ] || die "$SWEEPER not built; run 'make all' (or 'make bench')"
	[ -x /usr/bin/time ] || die "/usr/bin/time missing; run 'make bench' (installs the time package)"
	command -v jq >/dev/null || die "jq missing; run 'make bench'"
	SCHEMA=$(find_schema)
	for scale in $SCALES; do scale_codes "$scale" >/dev/null; done
	for s in $SCENARIOS; do
		case " $ALL_SCENARIOS " in
		*" $s "*) ;;
		*) die "unknown scenario '$s' in SCENARIOS (one of: $ALL_SCENARIOS)" ;;
		esac
	done
	case $RUNS in
	'' | *[!0-9]* | 0) die "RUNS must be a number of runs, 1 or more" ;;
	esac
	case $WORKERS in
	'' | *[!0-9]* | 0) die "WORKERS must be a number of workers, 1 (off) or more" ;;
	esac

	rm -rf "$OUT"
	mkdir -p "$OUT/logs"
	RESULTS=$OUT/results.jsonl
	: >"$RESULTS"

	# shellcheck source=../lib/pg.sh
	. "$ROOT/tests/lib/pg.sh"
	# Large checkpoints and no autovacuum: every copy of the data starts
	# alike, and no background worker runs during one method only.
	# shared_buffers holds the largest scale's tables and indexes, as a
	# production server's would.
	pg_start autovacuum=off max_wal_size=20GB checkpoint_timeout=1h shared_buffers=2GB \
		work_mem=16MB maintenance_work_mem=512MB
	# The baselines run the server's own psql: Debian's /usr/bin/psql is
	# pg_wrapper, a Perl script that took 24 ms more per run than the
	# binary here (31 against 7 ms for a SELECT 1), and the baseline
	# would carry that start-up where the sweeper's own is counted.
	PATH=$PG_BINDIR:$PATH
	log "server: $("$PG_BINDIR/postgres" --version), socket in $PGHOST"
	log "schema: $SCHEMA; output: $OUT; scales: $SCALES; scenarios: $SCENARIOS; runs: $RUNS"

	for scale in $SCALES; do
		SCALE=$scale
		CODES=$(scale_codes "$scale")
		USERS=$((CODES / 10))
		tpl=bench_tpl_$(echo "$scale" | tr 'A-Z' 'a-z')
		btpl=${tpl}_bulk
		if needs_main; then
			make_template "$tpl" generate.sql "$USERS"
			probe_workers "$tpl"
		fi
		if needs_bulk; then
			make_template "$btpl" generate_bulk.sql $((CODES / 40))
			probe_workers "$btpl"
		fi
		for SCN in $SCENARIOS; do
			case $SCN in
			bulk | scoped) run_bulk "$btpl" ;;
			idle) run_idle "$tpl" ;;
			fleet) ;;
			workers)
				# With backlog selected, its runs hold these.
				selected backlog || run_classic "$tpl"
				;;
			*) run_classic "$tpl" ;;
			esac
		done
		! needs_bulk || drop_db "$btpl"
		if needs_main; then
			[ -z "$last_tpl" ] || drop_db "$last_tpl"
			last_tpl=$tpl
		fi
	done
	! selected fleet || run_fleet
	# The impact runs on the largest scale.
	if needs_impact; then
		run_impact "$last_tpl"
	fi
	[ -z "$last_tpl" ] || drop_db "$last_tpl"

	assemble $((($(ms_now) - t_start) / 1000))
	chart "$OUT/results.json" "$OUT/rows_per_s.png"
	write_doc
	echo
	cat "$OUT/results.md"
	[ ! -f "$OUT/fleet.md" ] || { echo; cat "$OUT/fleet.md"; }
	echo
	echo "bench: results in $OUT (results.md, results.json$([ ! -f "$OUT/rows_per_s.png" ] || echo ', rows_per_s.png'), logs/)"
	if [ "$FAILED" -gt 0 ]; then
		echo "bench: $FAILED run(s) did not delete exactly the expected rows" >&2
		exit 1
	fi
}

main "$@"
