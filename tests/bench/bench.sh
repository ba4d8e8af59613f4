#!/usr/bin/env bash
# bench.sh: what `make bench` runs.
#
#   BUILD=build SCALES="S M L" bash tests/bench/bench.sh
#
# Starts a throwaway PostgreSQL (tests/lib/pg.sh), generates reference-
# schema data (tests/bench/generate.sql) at each scale, and for every
# scenario deletes the same rows three ways, each on a fresh copy of the
# same data (CREATE DATABASE ... TEMPLATE):
#
#   sweeper  mfa-sweeper with the example config's defaults (adaptive
#            batches, batch_target 200ms), -v
#   single   one DELETE ... WHERE <predicate> per table, in one transaction
#   naive    DELETE ... WHERE id IN (SELECT id ... LIMIT 5000), each batch
#            its own transaction, looped until a batch deletes nothing
#
# and checks that every method leaves exactly the rows the rule keeps
# (count and hash of the remaining ids, against the same figures taken on
# the template with the predicate written here from DESIGN.md section 3).
# Then the application-impact runs: a pgbench script that reads and
# updates random users' codes and devices, alone, during the sweeper and
# during the single DELETE; and a sweep while the application holds one
# eligible row locked.
#
# Output: a markdown table and the targets met or not on stdout, and in
# $BENCH_OUT (default $BUILD/bench): results.md, results.json (every
# figure), rows_per_s.png (when gnuplot is installed) and the logs.
#
# Environment:
#   BUILD         build directory (default build)
#   SCALES        scales to run: S (0.5M codes), M (2M), L (8M), or a
#                 number of backup codes (default "S M L")
#   SCENARIOS     subset of "backlog medium nightly nightly_idx users"
#   IMPACT=0      skip the application-impact runs
#   PROFILE=0     skip the profiling runs (the sweeper once more at the
#                 largest scale, with every statement's duration logged)
#   NAIVE_MAX_S   stop a naive loop after this many seconds (default 120),
#                 reported as "(stopped)" with the rows it deleted
#   BENCH_OUT     output directory
# Exit status: 0 when every run completed and every method deleted
# exactly the expected rows; targets missed do not fail the run.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=$ROOT/tests/bench
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
SWEEPER=$BUILD/mfa-sweeper
SCALES=${SCALES:-S M L}
SCENARIOS=${SCENARIOS:-backlog medium nightly nightly_idx users}
IMPACT=${IMPACT:-1}
PROFILE=${PROFILE:-1}
NAIVE_MAX_S=${NAIVE_MAX_S:-120}
OUT=${BENCH_OUT:-$BUILD/bench}
BATCH=5000

# Application load of the impact runs: pgbench clients and their rate.
APP_CLIENTS=4
APP_RATE=200
APP_BASELINE_S=10
# How long the application holds an eligible row in the locked-row run.
LOCK_HOLD_S=10

FAILED=0

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

# make_template DB USERS: the scale's data, frozen and analysed, so every
# copy starts with hint bits and statistics set.
make_template() {
	local db=$1 users=$2 t0
	t0=$(ms_now)
	q -c "CREATE DATABASE $db"
	q -d "$db" -f "$SCHEMA"
	q -d "$db" -v users="$users" -f "$BENCH_DIR/generate.sql" >/dev/null
	# With synchronous_commit off, VACUUM cannot mark pages all-visible
	# until the loading transaction's commit record is flushed and the
	# rows are hinted: without the CHECKPOINT and the second VACUUM,
	# every index-only scan (the sweeper's key windows) would read the
	# heap, as on no production table that autovacuum looks after.
	q -d "$db" -c 'CHECKPOINT'
	q -d "$db" -c 'VACUUM (FREEZE, ANALYZE)'
	q -d "$db" -c 'VACUUM'
	[ "$(q1 -d "$db" -c "SELECT bool_and(relallvisible = relpages) FROM pg_class
		WHERE relname IN ('accounts_user', 'accounts_backupcode', 'otp_totp_totpdevice')")" = t ] ||
		die "$db: VACUUM left pages not all-visible"
	log "generated $db in $(($(ms_now) - t0)) ms:" \
		"$(q1 -d "$db" -c "SELECT (SELECT count(*) FROM accounts_user) || ' users, ' ||
			(SELECT count(*) FROM otp_totp_totpdevice) || ' devices, ' ||
			(SELECT count(*) FROM accounts_backupcode) || ' codes'")"
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

# The predicates, written here from DESIGN.md section 3 (not taken from
# the sweeper), over a table aliased t.
codes_used_pred() {
	echo "t.used AND t.used_at < now() - interval '$1'"
}

disabled_pred() {
	echo "EXISTS (SELECT 1 FROM accounts_user AS u WHERE u.id = t.user_id
		AND NOT u.mfa_enrolled AND u.mfa_disabled_at IS NOT NULL
		AND u.mfa_disabled_at <= now() - interval '5 minutes'
		AND (t.created_at IS NULL OR t.created_at <= u.mfa_disabled_at))"
}

# scenario NAME: sets RULE, MAX_AGE (used_backup_codes only), TABLES and
# PRED_<table> for the scenario, and INDEX=1 when it wants an index on
# used_at.
scenario() {
	INDEX=0
	MAX_AGE=
	case $1 in
	backlog) MAX_AGE=500d ;;
	medium) MAX_AGE=1750d ;;
	nightly) MAX_AGE=1985d ;;
	nightly_idx) MAX_AGE=1985d INDEX=1 ;;
	users) ;;
	*) die "unknown scenario '$1'" ;;
	esac
	if [ -n "$MAX_AGE" ]; then
		RULE=used_backup_codes
		TABLES="accounts_backupcode"
		PRED_accounts_backupcode=$(codes_used_pred "${MAX_AGE%d} days")
	else
		RULE=user_disabled
		TABLES="accounts_backupcode otp_totp_totpdevice"
		PRED_accounts_backupcode=$(disabled_pred)
		PRED_otp_totp_totpdevice=$(disabled_pred)
	fi
}

pred_of() {
	local v=PRED_$1
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

# expected DB: what the rule must leave, and the number of rows it must
# delete, computed on the template.
expected() {
	local db=$1 t out= n=0 pred
	for t in $TABLES; do
		pred=$(pred_of "$t")
		out="$out$t=$(q1 -d "$db" -c "$(fingerprint_sql "$t" "NOT coalesce(($pred), false)")") "
		n=$((n + $(q1 -d "$db" -c "SELECT count(*) FROM $t AS t WHERE $pred")))
	done
	EXPECT_FP=${out% }
	EXPECT_ROWS=$n
}

# The sweeper's config: the example config with its defaults, this
# build's plugins and the scenario's max_age.
write_config() {
	local cfg=$1
	sed -e "s|^plugin_dir = .*|plugin_dir = $BUILD/plugins|" \
		-e "s|^max_age = 90d|max_age = ${MAX_AGE:-90d}|" \
		"$ROOT/config/mfa-sweeper.ini" >"$cfg"
	grep -q "^plugin_dir = $BUILD/plugins\$" "$cfg" || die "no plugin_dir line in the example config"
	grep -q "^max_age = ${MAX_AGE:-90d}\$" "$cfg" || die "no used_backup_codes max_age line in the example config"
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

run_single() {
	local db=$1 dir=$2 t t0 t1 deleted args=()
	for t in $TABLES; do
		args+=(-c "DELETE FROM $t AS t WHERE $(pred_of "$t")")
	done
	t0=$(ms_now)
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -1 -v ON_ERROR_STOP=1 -d "$db" "${args[@]}" >"$dir/single.out" 2>&1
	t1=$(ms_now)
	deleted=$(awk '/^DELETE [0-9]+$/ { n += $2 } END { print n + 0 }' "$dir/single.out")
	: >"$dir/single.lat"
	result single "$db" "$deleted" $((t1 - t0)) "$dir/single.lat" null null
}

# The naive loop runs server-side in a DO block (COMMIT after each batch
# makes each its own transaction), timing each statement with its COMMIT.
run_naive() {
	local db=$1 dir=$2 t t0 t1 deleted timed_out
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
	result naive "$db" "$deleted" $((t1 - t0)) "$dir/naive.lat" null "$timed_out"
}

run_sweeper() {
	local db=$1 dir=$2 t0 t1 rc=0 deleted rss
	write_config "$dir/sweeper.ini"
	# The first batch's statement and plan, for whoever reads the figures.
	PGDATABASE=$db "$SWEEPER" -c "$dir/sweeper.ini" -r "$RULE" --explain \
		>"$dir/sweeper.explain" 2>&1 || true
	t0=$(ms_now)
	PGDATABASE=$db /usr/bin/time -v -o "$dir/sweeper.time" \
		"$SWEEPER" -c "$dir/sweeper.ini" -r "$RULE" -v --json \
		>"$dir/sweeper.json" 2>"$dir/sweeper.log" || rc=$?
	t1=$(ms_now)
	if [ "$rc" -ne 0 ]; then
		cat "$dir/sweeper.log" >&2
		die "the sweeper failed with exit status $rc on $db"
	fi
	sed -n 's/.*batch [0-9]*: [0-9]* rows deleted in \([0-9]*\) ms.*/\1/p' \
		"$dir/sweeper.log" >"$dir/sweeper.lat"
	deleted=$(jq .deleted_total "$dir/sweeper.json")
	rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$dir/sweeper.time")
	result sweeper "$db" "$deleted" $((t1 - t0)) "$dir/sweeper.lat" "${rss:-null}" null
}

# result METHOD DB DELETED MS LATFILE RSS_KB TIMED_OUT: check the rows and
# record one run.
result() {
	local method=$1 db=$2 deleted=$3 ms=$4 lat=$5 rss=$6 timed_out=$7 same
	lat_stats "$lat"
	same=$(same_rows "$db")
	if [ "$deleted" != "$EXPECT_ROWS" ]; then
		log "$method on $db deleted $deleted rows, expected $EXPECT_ROWS"
		same=false
	fi
	# A naive loop stopped by NAIVE_MAX_S is reported as such, not as
	# wrong.
	if [ "$same" != true ] && [ "$timed_out" != true ]; then
		FAILED=$((FAILED + 1))
	fi
	record --arg scale "$SCALE" --argjson codes "$CODES" --arg scenario "$SCN" \
		--arg method "$method" --argjson rows "$deleted" --argjson ms "$ms" \
		--argjson batches "$(wc -l <"$lat")" --argjson p50 "$P50" \
		--argjson p99 "$P99" --argjson max "$PMAX" --argjson rss_kb "$rss" \
		--argjson same "$same" --argjson timed_out "${timed_out}" \
		'{kind: "run", scale: $scale, codes: $codes, scenario: $scenario,
		  method: $method, rows: $rows, ms: $ms,
		  rows_per_s: (if $ms > 0 then ($rows * 1000 / $ms | floor) else null end),
		  batches: (if $method == "single" then 1 else $batches end),
		  batch_ms_p50: $p50, batch_ms_p99: $p99, batch_ms_max: $max,
		  peak_rss_kb: $rss_kb, same_rows: $same, timed_out: $timed_out}'
	log "$SCALE $SCN $method: $deleted rows in $ms ms" \
		"(batches p50/p99/max $P50/$P99/$PMAX ms${rss:+, rss $rss kB}), rows ok: $same"
}

# profile_sweeper DB DIR: the sweeper once more, on its own copy, with
# the server logging every statement's duration, summed by kind: where
# the time of a run goes.
profile_sweeper() {
	local db=$1 dir=$2 log=$PG_TMP/server.log start t0 t1
	write_config "$dir/profile.ini"
	start=$(($(stat -c %s "$log") + 1))
	t0=$(ms_now)
	PGDATABASE=$db PGOPTIONS='-c log_min_duration_statement=0' \
		"$SWEEPER" -c "$dir/profile.ini" -r "$RULE" >/dev/null 2>"$dir/profile.err" ||
		die "the sweeper failed in the profiling run on $db"
	t1=$(ms_now)
	tail -c +"$start" "$log" >"$dir/profile.log"
	# "duration: X ms  statement|parse|bind|execute ...: SQL"
	awk '
		/ duration: [0-9.]+ ms  / {
			ms = $0; sub(/.* duration: /, "", ms); sub(/ ms .*/, "", ms)
			sql = $0; sub(/.* ms  (statement|parse|bind|execute)[^:]*: /, "", sql)
			if (sql ~ /^EXPLAIN/) k = "preflight and walk choice (EXPLAIN)"
			else if (sql ~ /^BEGIN/) k = "BEGIN, SET LOCAL"
			else if (sql ~ /OFFSET [0-9]+ LIMIT 1$/) k = "key window (OFFSET)"
			else if (sql ~ /^WITH gone/) k = "window DELETE (plain)"
			else if (sql ~ /^WITH victims/) k = "capped DELETE (SKIP LOCKED)"
			else if (sql ~ /^COMMIT/) k = "COMMIT"
			else k = "other"
			tot[k] += ms
			if ($0 ~ / ms  (statement|execute)/) {
				n[k]++
				if (ms + 0 > mx[k]) mx[k] = ms + 0
			}
		}
		END { for (k in tot) printf "%s\t%d\t%.1f\t%.1f\n", k, n[k], tot[k], mx[k] }
	' "$dir/profile.log" | sort -t "$(printf '\t')" -k3,3gr >"$dir/profile.tsv"
	jq -R -s --arg scale "$SCALE" --arg scenario "$SCN" --argjson ms $((t1 - t0)) '
		{kind: "profile", scale: $scale, scenario: $scenario, sweeper_ms: $ms,
		 statements: [split("\n")[] | select(length > 0) | split("\t")
		   | {what: .[0], count: (.[1] | tonumber), total_ms: (.[2] | tonumber),
		      max_ms: (.[3] | tonumber)}]}' "$dir/profile.tsv" >>"$RESULTS"
	log "$SCALE $SCN profile: $(awk -F'\t' '{ printf "%s%s %d x, %s ms", sep, $1, $2, $3; sep = "; " }' "$dir/profile.tsv")"
}

run_scenario() {
	local tpl=$1 src dir method db
	scenario "$SCN"
	src=$tpl
	if [ "$INDEX" = 1 ]; then
		src=${tpl}_idx
		copy_db "$tpl" "$src"
		q -d "$src" -c 'CREATE INDEX accounts_backupcode_used_at ON accounts_backupcode (used_at)'
		q -d "$src" -c 'VACUUM ANALYZE accounts_backupcode'
	fi
	expected "$src"
	log "$SCALE $SCN: $EXPECT_ROWS rows to delete"
	dir=$OUT/logs/$SCALE-$SCN
	mkdir -p "$dir"
	for method in single sweeper naive; do
		db=bench_run
		copy_db "$src" "$db"
		"run_$method" "$db" "$dir"
		drop_db "$db"
	done
	if [ "$PROFILE" = 1 ] && [ "$SCALE" = "${SCALES##* }" ]; then
		copy_db "$src" bench_prof
		profile_sweeper bench_prof "$dir"
		drop_db bench_prof
	fi
	[ "$src" = "$tpl" ] || drop_db "$src"
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
	record --arg scale "$SCALE" --arg scenario "$SCN" --arg during "$1" \
		--argjson ms "$2" --argjson n "$APP_N" --argjson p50 "$APP_P50" \
		--argjson p99 "$APP_P99" --argjson rows "$3" \
		'{kind: "impact", scale: $scale, scenario: $scenario, during: $during,
		  window_ms: $ms, rows: $rows, app_transactions: $n,
		  app_ms_p50: $p50, app_ms_p99: $p99}'
	log "impact $SCALE $SCN during $1 (${2} ms): app p50 $APP_P50 ms, p99 $APP_P99 ms over $APP_N transactions"
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
	sweeper)
		write_config "$IMPACT_DIR/sweeper.ini"
		PGDATABASE=$db "$SWEEPER" -c "$IMPACT_DIR/sweeper.ini" -r "$RULE" -v \
			--json >"$IMPACT_DIR/sweeper.json" 2>"$IMPACT_DIR/sweeper.log" ||
			die "the sweeper failed during the impact run"
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
	scenario "$SCN"
	# How long the application must run: twice the slowest method here.
	EST_MS=$(jq -s --arg s "$SCALE" '[.[] | select(.kind == "run" and .scale == $s
		and .scenario == "backlog" and .method != "naive") | .ms] | max // 10000' "$RESULTS")
	impact_baseline "$tpl"
	impact_during sweeper "$tpl"
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
		--arg command "make bench SCALES=\"$SCALES\"" \
		'{nproc: $nproc, mem_kb: $mem_kb, cpu: $cpu, postgresql: $pg, fsync: $fsync,
		  synchronous_commit: $sync_commit, shared_buffers: $shared_buffers,
		  autovacuum: $autovacuum, loadavg_start: $load_start, loadavg_end: $load_end,
		  commit: $commit, started_at: $started, total_s: $total_s, command: $command}'
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

# The targets of issue 5, from the recorded runs.
targets_json() {
	jq -s --argjson plim "$(p99_limit)" '
	def r2: . * 100 | round / 100;
	[.[] | select(.kind == "run")] as $runs
	| ($runs | map(select(.method == "sweeper"))) as $sw
	| [ ($sw[] as $s
	     | ($runs[] | select(.method == "single" and .scale == $s.scale
	                         and .scenario == $s.scenario)) as $d
	     | (if ($s.scenario | startswith("nightly")) then 2
	        elif ($s.scenario == "backlog" or $s.scenario == "medium") then 1.5
	        else null end) as $lim
	     | select($lim != null)
	     | ($s.ms / ([$d.ms, 1] | max)) as $ratio
	     | {target: "sweeper time <= \($lim)x single DELETE",
	        scale: $s.scale, scenario: $s.scenario,
	        value: ($ratio | r2), limit: $lim, met: ($ratio <= $lim)}),
	    ( ($sw | map(select(.scale == "S"))) as $S
	     | ($sw | map(select(.scale == "L"))) as $L
	     | $S[] as $a
	     | ($L[] | select(.scenario == $a.scenario)) as $b
	     | (($b.ms / $b.rows) / ($a.ms / $a.rows)) as $x
	     | {target: "per-row cost at L <= 1.25x at S", scale: "L/S",
	        scenario: $a.scenario, value: ($x | r2), limit: 1.25,
	        met: ($x <= 1.25)}),
	    ($sw[] | {target: "p99 batch latency <= \($plim) ms", scale, scenario,
	              value: .batch_ms_p99, limit: $plim,
	              met: (.batch_ms_p99 != null and .batch_ms_p99 <= $plim)}),
	    ($sw[] | {target: "peak RSS < 16 MB", scale, scenario,
	              value: ((.peak_rss_kb / 1024) | r2), limit: 16,
	              met: (.peak_rss_kb < 16384)}),
	    ( ($sw | map(.peak_rss_kb)) as $rss
	     | select(($sw | map(.scale) | unique | length) > 1)
	     | (($rss | max) / ($rss | min)) as $x
	     | {target: "peak RSS flat across scales (max/min <= 1.25)",
	        scale: "all", scenario: "all", value: ($x | r2), limit: 1.25,
	        met: ($x <= 1.25)})
	  ]' "$RESULTS"
}

markdown() {
	local json=$1
	jq -r '
	def fmt(d): if . == null then "-" else (. * pow(10; d) | round / pow(10; d) | tostring) end;
	"| scale | scenario | rows deleted | method | wall s | rows/s | x single | batches | batch p50 ms | batch p99 ms | batch max ms | peak RSS MB | same rows |",
	"|---|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
	(.runs as $runs | .runs[]
	 | . as $r
	 | ($runs[] | select(.method == "single" and .scale == $r.scale
	                     and .scenario == $r.scenario) | .ms) as $single
	 | "| \(.scale) | \(.scenario) | \(.rows) | \(.method)\(if .timed_out then " (stopped)" else "" end) | \(.ms / 1000 | fmt(2)) | \(.rows_per_s // "-") | \(.ms / ([$single, 1] | max) | fmt(2)) | \(.batches) | \(.batch_ms_p50 | fmt(1)) | \(.batch_ms_p99 | fmt(1)) | \(.batch_ms_max | fmt(1)) | \(if .peak_rss_kb then (.peak_rss_kb / 1024 | fmt(1)) else "-" end) | \(if .same_rows then "yes" else "**NO**" end) |"),
	"",
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
	  "Where the sweeper spends its time at \(.profile[0].scale), server side (a separate run with every statement logged; total ms, statements):",
	  "",
	  (.profile[] | "- \(.scenario) (\(.sweeper_ms) ms wall): \([.statements[] | "\(.what) \(.total_ms) ms (\(.count) x, max \(.max_ms))"] | join(", "))"),
	  ""
	 else empty end),
	"Targets:",
	"",
	(.targets[] | "- target \(.target) [\(.scale) \(.scenario)]: \(.value) (limit \(.limit)): \(if .met then "met" else "**NOT met**" end)"),
	(if any(.targets[]; .target | startswith("per-row")) then empty
	 else "- target per-row cost at L <= 1.25x at S: not measured (needs SCALES with S and L)" end),
	(if any(.targets[]; .target | startswith("peak RSS flat")) then empty
	 else "- target peak RSS flat across scales: not measured (needs two scales or more)" end),
	"",
	"Machine: \(.machine.nproc) CPUs (\(.machine.cpu)), \(.machine.mem_kb / 1048576 | fmt(1)) GiB RAM, PostgreSQL \(.machine.postgresql), fsync=\(.machine.fsync), synchronous_commit=\(.machine.synchronous_commit), shared_buffers=\(.machine.shared_buffers), autovacuum=\(.machine.autovacuum); load average \(.machine.loadavg_start) at the start, \(.machine.loadavg_end) at the end; commit \(.machine.commit); `\(.machine.command)` took \(.machine.total_s) s."
	' "$json"
}

chart() {
	local json=$1 png=$2 dat=$OUT/rows_per_s.dat
	if ! command -v gnuplot >/dev/null; then
		log "gnuplot not installed: no chart (make bench installs gnuplot-nox)"
		return 0
	fi
	jq -r '.runs | group_by(.scale + " " + .scenario) | sort_by(.[0].codes, .[0].scenario)[]
		| "\"\(.[0].scale) \(.[0].scenario)\" \((map(select(.method == "single"))[0].rows_per_s) // 0) \((map(select(.method == "sweeper"))[0].rows_per_s) // 0) \((map(select(.method == "naive"))[0].rows_per_s) // 0)"' \
		"$json" >"$dat"
	gnuplot <<EOF
set terminal pngcairo size 1200,600 noenhanced
set output '$png'
set title 'Rows deleted per second, by scale and scenario (log scale)'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.9 border -1
set logscale y
set ylabel 'rows/s'
set grid ytics
set xtics rotate by -35
set key top right
plot '$dat' using 2:xtic(1) title 'single DELETE', \
	'' using 3 title 'mfa-sweeper', \
	'' using 4 title 'naive LIMIT batches'
EOF
}

assemble() {
	local total_s=$1
	jq -s --argjson machine "$(machine_json "$total_s")" \
		--argjson targets "$(targets_json)" \
		--argjson clients "$APP_CLIENTS" --argjson rate "$APP_RATE" \
		'{machine: $machine, batch_size: 5000,
		  app: {clients: $clients, rate: $rate},
		  runs: map(select(.kind == "run")),
		  impact: map(select(.kind == "impact")),
		  locked_row: map(select(.kind == "locked_row")),
		  profile: map(select(.kind == "profile")),
		  targets: $targets}' "$RESULTS" >"$OUT/results.json"
	markdown "$OUT/results.json" >"$OUT/results.md"
}

# ---------------------------------------------------------------- main

main() {
	local t_start scale last_tpl=
	t_start=$(ms_now)
	STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	[ -x "$SWEEPER" ] || die "$SWEEPER not built; run 'make all' (or 'make bench')"
	[ -x /usr/bin/time ] || die "/usr/bin/time missing; run 'make bench' (installs the time package)"
	command -v jq >/dev/null || die "jq missing; run 'make bench'"
	SCHEMA=$(find_schema)
	for scale in $SCALES; do scale_codes "$scale" >/dev/null; done

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
	log "server: $("$PG_BINDIR/postgres" --version), socket in $PGHOST"
	log "schema: $SCHEMA; output: $OUT; scales: $SCALES"

	for scale in $SCALES; do
		SCALE=$scale
		CODES=$(scale_codes "$scale")
		USERS=$((CODES / 10))
		tpl=bench_tpl_$(echo "$scale" | tr 'A-Z' 'a-z')
		make_template "$tpl" "$USERS"
		for SCN in $SCENARIOS; do
			run_scenario "$tpl"
		done
		[ -z "$last_tpl" ] || drop_db "$last_tpl"
		last_tpl=$tpl
	done
	# The impact runs on the largest scale.
	if [ "$IMPACT" = 1 ]; then
		run_impact "$last_tpl"
	fi
	drop_db "$last_tpl"

	assemble $((($(ms_now) - t_start) / 1000))
	chart "$OUT/results.json" "$OUT/rows_per_s.png"
	echo
	cat "$OUT/results.md"
	echo
	echo "bench: results in $OUT (results.md, results.json$([ ! -f "$OUT/rows_per_s.png" ] || echo ', rows_per_s.png'), logs/)"
	if [ "$FAILED" -gt 0 ]; then
		echo "bench: $FAILED run(s) did not delete exactly the expected rows" >&2
		exit 1
	fi
}

main "$@"
