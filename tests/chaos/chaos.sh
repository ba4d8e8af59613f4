#!/bin/bash
# chaos.sh: fault trials.  `make chaos TRIALS=N` runs N trials; `make check`
# runs a few of each kind (tests/integration/test_chaos.sh).
#
#   BUILD=build bash tests/chaos/chaos.sh [TRIALS]
#
# Each trial puts the rows of tests/chaos/fixture.sql back (rows that must
# go beside rows that must stay), with a BEFORE DELETE trigger pacing the
# deletes so that a run lasts about half a second, runs the sweeper on
# them with all three built-in rules and the audit ledger enabled, and
# meanwhile injects one fault:
#
#   kill9          SIGKILL at a random moment of the run (connect included)
#   restart        pg_ctl restart -m fast, a random moment after the first
#                  batch committed
#   terminate      pg_terminate_backend() of the sweeper's server backend(s),
#                  likewise
#   sigterm        SIGTERM, likewise
#   lock           another session holds ACCESS EXCLUSIVE on
#                  otp_totp_totpdevice from before the run to its end
#   stmt_timeout   every batch takes longer than statement_timeout
#   sigterm_early  SIGTERM within 50 ms of the moment the process catches
#                  it: while it connects, plans or runs its first batches
#
# directly against the server (pooler = none) or through a PgBouncer in
# transaction pooling mode (pooler = transaction, the lease).  After the
# run it checks what tests/chaos/expect.sh lists (exit code, what may be
# deleted, the run lock) and what always holds (rows that must stay, the
# ledger against the rows gone, the summary, a following normal run), and
# ends with the table: fault, pooler, trials, passed, missed (faults due
# after the run had ended, which then must have finished normally), the
# exit codes the faulted runs ended with, and every failure with its
# reason.  Exits 0 when every trial passed.
#
# The trials have a PostgreSQL server of their own (tests/lib/pg.sh), since
# one fault restarts it, and a PgBouncer in front of it
# (tests/lib/pgbouncer.sh); nothing is shared with other tests.
#
# Environment: BUILD (default build), TRIALS (default 200; the argument
# wins), FAULTS (default "kill9 restart terminate sigterm sigterm_early lock
# stmt_timeout"), POOLERS (default "direct pgbouncer"), SEED (of the random
# moments; printed), CHAOS_KEEP (1: keep the logs of passed trials too;
# 0: keep no logs; unset: keep and name the logs of failed trials),
# SWEEPER_BIN (default $BUILD/mfa-sweeper), SWEEPER_REFERENCE_SCHEMA.
# Trials go round the FAULTS x POOLERS kinds in turn, so every kind gets
# TRIALS / kinds of them.

set -u -o pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 2
BUILD=${BUILD:-build}
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
BIN=${SWEEPER_BIN:-$BUILD/mfa-sweeper}
TRIALS=${1:-${TRIALS:-200}}
FAULTS=${FAULTS:-kill9 restart terminate sigterm sigterm_early lock stmt_timeout}
POOLERS=${POOLERS:-direct pgbouncer}
SEED=${SEED:-$(($(date +%s) % 32768))}
RANDOM=$SEED
SCHEMA=${SWEEPER_REFERENCE_SCHEMA:-$ROOT/../shared/reference-schema.sql}
[ -r "$SCHEMA" ] || [ -n "${SWEEPER_REFERENCE_SCHEMA:-}" ] || SCHEMA=$ROOT/tests/demo/reference-schema.sql

# The run lease's life in the trials: a lease left by a killed run expires
# quickly, so the following run need not wait long.
LEASE_TTL_MS=1000
# A run longer than this is hung.
RUN_LIMIT_S=60
# kill9 lands uniformly within this many ms of the start.
KILL_WINDOW_MS=700
# restart, terminate and sigterm land within this many ms after the first
# batch committed.
MID_WINDOW_MS=250

. "$ROOT/tests/lib/pg.sh"
. "$ROOT/tests/lib/pgbouncer.sh"
. "$ROOT/tests/chaos/expect.sh"

die() {
	echo "chaos.sh: $*" >&2
	exit 2
}

[ -x "$BIN" ] || die "no sweeper binary at $BIN; run make"
[ -r "$SCHEMA" ] || die "reference schema not found at $SCHEMA (set SWEEPER_REFERENCE_SCHEMA)"
[[ $TRIALS =~ ^[0-9]+$ ]] && [ "$TRIALS" -ge 1 ] || die "TRIALS must be a number of 1 or more, not '$TRIALS'"
command -v jq >/dev/null || die "jq is missing; run make deps"
for f in $FAULTS; do
	[ -n "$(chaos_expect "$f" direct exits)" ] ||
		die "unknown fault '$f'; expect.sh lists: $(printf '%s\n' "$CHAOS_EXPECT" | awk '!/^#/ && NF >= 6 { print $1 }' | sort -u | tr '\n' ' ')"
done
for p in $POOLERS; do
	case $p in direct | pgbouncer) ;; *) die "unknown pooler '$p'; use direct or pgbouncer" ;; esac
done

WORK=$(mktemp -d /tmp/mfa-sweeper-chaos.XXXXXX) || exit 2
chmod 0755 "$WORK"
FAILED=0
cleanup() {
	pgb_stop
	pg_stop
	if [ "${CHAOS_KEEP:-}" = 1 ] || { [ "$FAILED" != 0 ] && [ "${CHAOS_KEEP:-}" != 0 ]; }; then
		echo "logs: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== fault trials: $TRIALS, faults: $FAULTS, poolers: $POOLERS, seed $SEED"
pg_start >/dev/null || die "cannot start PostgreSQL"
# pg_start put its own pg_stop there; cleanup() calls it, after pgb_stop.
trap cleanup EXIT
SERVER=$PGHOST
if [[ " $POOLERS " == *" pgbouncer "* ]]; then
	pgb_start transaction 4 || die "cannot start PgBouncer"
fi

# cq DB SQL: a query on the server itself (never through the pooler).
cq() {
	psql -XAtq -h "$SERVER" -d "$1" -c "$2" 2>>"$WORK/psql.err"
}

# wait_handlers PID: until PID catches SIGTERM (bit 15 of SigCgt in
# /proc/PID/status), or is gone; at most a second.
wait_handlers() {
	local i mask
	for i in $(seq 1 200); do
		mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 0
		[ -n "$mask" ] || return 0
		(( (16#$mask >> 14) & 1 )) && return 0
		sleep 0.005
	done
}

ms_now() {
	echo $(($(date +%s%N) / 1000000))
}

sleep_ms() {
	sleep "$(awk -v ms="$1" 'BEGIN { printf "%.3f", ms / 1000 }')"
}

# ------------------------------------------------------------------ setup

# One database for the trials of each pooler (chaos_direct,
# chaos_pgbouncer: the server sessions a pool keeps are then no direct
# run's), put back as the fixture made it before each trial
# (chaos_reset): the same PgBouncer pool serves run after run, as it would
# night after night.
DB=chaos_direct
psql -XAtq -v ON_ERROR_STOP=1 -h "$SERVER" -d postgres -c "CREATE DATABASE $DB" >/dev/null &&
	psql -XAtq -v ON_ERROR_STOP=1 -h "$SERVER" -d "$DB" -f "$SCHEMA" >/dev/null &&
	psql -XAtq -v ON_ERROR_STOP=1 -h "$SERVER" -d "$DB" -f "$ROOT/tests/chaos/fixture.sql" >/dev/null &&
	psql -XAtq -v ON_ERROR_STOP=1 -h "$SERVER" -d "$DB" -c "CREATE TABLE chaos_codes AS
		SELECT * FROM accounts_backupcode; CREATE TABLE chaos_devices AS
		SELECT * FROM otp_totp_totpdevice" >/dev/null ||
	die "cannot make the database of the trials"
# chaos_wait(QUERY, MS): poll QUERY (one boolean) on the server until it is
# true (returns true) or MS have passed (false), so that a wait costs one
# client round trip, not one per poll.  Each poll sees the latest commits
# and the latest pg_stat_activity; now() stands still for the whole wait,
# so a QUERY about time uses clock_timestamp().
psql -XAtq -v ON_ERROR_STOP=1 -h "$SERVER" -d "$DB" >/dev/null <<'EOF' || die "cannot make the wait function"
CREATE FUNCTION chaos_wait(query text, ms int) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  ok boolean;
  deadline timestamptz := clock_timestamp() + ms * interval '1 millisecond';
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    EXECUTE query INTO ok;
    IF ok THEN
      RETURN true;
    END IF;
    IF clock_timestamp() > deadline THEN
      RETURN false;
    END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
EOF
MUST_GO=$(cq "$DB" "SELECT count(*) FROM chaos_snap WHERE marker LIKE 'must-go-%'")

# chaos_cfg FILE DB POOLER STATEMENT_TIMEOUT BATCHING [PAUSE]: the
# sweeper's config; BATCHING is fixed (batch_size = 50) or adaptive (on
# two workers, workers = 2).
chaos_cfg() {
	local file=$1 db=$2 pooler=$3 stmt=$4 batching=$5 pause=${6:-0ms} dsn mode
	if [ "$pooler" = pgbouncer ]; then
		dsn="host=$PGB_HOST port=$PGB_PORT dbname=$db"
		mode=transaction
	else
		dsn="host=$SERVER dbname=$db"
		mode=none
	fi
	{
		printf '[database]\ndsn = %s\npooler = %s\nlease_ttl = %sms\n' "$dsn" "$mode" "$LEASE_TTL_MS"
		printf 'lock_timeout = 300ms\nstatement_timeout = %s\n\n' "$stmt"
		printf '[sweeper]\nplugin_dir = %s\n' "$BUILD/plugins"
		printf 'rules = user_disabled, stale_devices, used_backup_codes\n'
		if [ "$batching" = fixed ]; then
			printf 'batch_size = 50\n'
		else
			# Adaptive batches run on two workers (doc/workers.md):
			# a fixed batch_size stays serial, so half the trials
			# sweep with workers, half without.
			printf 'batch_min = 20\nbatch_max = 200\nbatch_target = 100ms\n'
			printf 'workers = 2\n'
		fi
		printf 'retries = 1\nretry_backoff = 50ms\nstop_timeout = 2s\npause = %s\n\n' "$pause"
		printf '[rule.user_disabled]\ngrace = 1d\n\n'
		printf '[ledger]\nenabled = true\n'
	} >"$file"
}

# The ledger's tables and the lease table.
chaos_cfg "$WORK/init.ini" "$DB" direct 5s fixed
"$BIN" -c "$WORK/init.ini" --init-ledger >/dev/null 2>"$WORK/init.err" ||
	die "--init-ledger failed: $(cat "$WORK/init.err")"
cq postgres "CREATE DATABASE chaos_pgbouncer TEMPLATE $DB" >/dev/null ||
	die "cannot copy the database of the trials"

# chaos_reset PACE DB: the fixture's rows back in DB, the ledger and the lease
# empty, deleting a backup code pacing at PACE seconds.  TRUNCATE fires no
# row trigger, and keeps the ids chaos_snap knows.
chaos_reset() {
	psql -XAtq -v ON_ERROR_STOP=1 -h "$SERVER" -d "$2" >/dev/null 2>>"$WORK/psql.err" <<EOF
SET lock_timeout = '5s';
BEGIN;
TRUNCATE accounts_backupcode, otp_totp_totpdevice, mfa_sweeper.deletions,
  mfa_sweeper.runs, mfa_sweeper.run_lease;
INSERT INTO accounts_backupcode SELECT * FROM chaos_codes;
INSERT INTO otp_totp_totpdevice SELECT * FROM chaos_devices;
CREATE OR REPLACE FUNCTION chaos_pace() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM pg_sleep($1);
  RETURN OLD;
END \$\$;
DROP TRIGGER IF EXISTS chaos_pace ON accounts_backupcode;
CREATE TRIGGER chaos_pace BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION chaos_pace();
COMMIT;
ANALYZE accounts_backupcode, otp_totp_totpdevice;
EOF
}

# ------------------------------------------------------------------ checks

# Everything a trial checks in the database, in one query, '|'-separated:
# must-stay rows gone, must-go rows left, rows gone, (table, user) pairs
# where rows gone and ledger deletions differ, ledger total, devices gone,
# advisory locks held, the status of run RUN_ID's finished ledger row (""
# when none), and the lease rows as "holder:finished:bounded" (finished:
# the holder's ledger row shows a run that ended; bounded: it expires
# within lease_ttl from now, so nothing renewed it since).
chaos_state() {
	cq "$1" "WITH now_rows AS (
	    SELECT 'accounts_backupcode' AS tbl, id::text AS key FROM accounts_backupcode
	    UNION ALL SELECT 'otp_totp_totpdevice', id::text FROM otp_totp_totpdevice),
	  gone AS (SELECT s.* FROM chaos_snap s WHERE NOT EXISTS
	    (SELECT 1 FROM now_rows r WHERE r.tbl = s.tbl AND r.key = s.key)),
	  g AS (SELECT tbl, uid, count(*) AS n FROM gone GROUP BY tbl, uid),
	  rec AS (SELECT table_name AS tbl, user_id AS uid, sum(rows_deleted) AS n
	    FROM mfa_sweeper.deletions GROUP BY table_name, user_id)
	  SELECT (SELECT count(*) FROM gone WHERE marker LIKE 'must-stay-%')
	    || '|' || (SELECT count(*) FROM chaos_snap WHERE marker LIKE 'must-go-%')
	              - (SELECT count(*) FROM gone WHERE marker LIKE 'must-go-%')
	    || '|' || (SELECT count(*) FROM gone)
	    || '|' || (SELECT count(*) FROM g FULL JOIN rec ON rec.tbl = g.tbl
	               AND rec.uid IS NOT DISTINCT FROM g.uid
	               WHERE coalesce(g.n, 0) <> coalesce(rec.n, 0))
	    || '|' || (SELECT coalesce(sum(rows_deleted), 0) FROM mfa_sweeper.deletions)
	    || '|' || (SELECT count(*) FROM gone WHERE tbl = 'otp_totp_totpdevice')
	    || '|' || (SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
	               WHERE l.locktype = 'advisory' AND l.granted
	               AND d.datname = current_database())
	    || '|' || coalesce((SELECT status FROM mfa_sweeper.runs
	               WHERE run_id::text = '${2:-}' AND finished_at IS NOT NULL), '')
	    || '|' || coalesce((SELECT string_agg(l.holder || ':'
	               || EXISTS (SELECT 1 FROM mfa_sweeper.runs r WHERE r.run_id = l.holder
	                          AND r.status <> 'running')
	               || ':' || (l.expires_at <= now() + interval '$LEASE_TTL_MS milliseconds'), ',')
	               FROM mfa_sweeper.run_lease l), '')"
}

# read_state DB [RUN_ID]: chaos_state into the variables of the same names
# (the caller's locals); STATE_OK is 0 when the database could not be read.
read_state() {
	local row
	row=$(chaos_state "$@")
	STATE_OK=1
	[ -n "$row" ] || STATE_OK=0
	IFS='|' read -r kept_gone left gone mism total devgone advisory run_status leases \
		<<<"$row"
}

# chaos_wait DB QUERY MS: wait on the server for QUERY to be true.
chaos_wait() {
	[ "$(cq "$1" "SELECT chaos_wait(\$q\$$2\$q\$, $3)")" = t ]
}

REASONS=()
reason() {
	REASONS+=("$*")
}

# in_list CODE "a,b,c"
in_list() {
	[[ ",$2," == *",$1,"* ]]
}

# ------------------------------------------------------------------ faults

LOCK_PID=
# lock_start DB: another session takes ACCESS EXCLUSIVE on the devices
# table and keeps it until lock_end.
lock_start() {
	local db=$1 i
	PGAPPNAME=chaos-lock psql -XAtq -h "$SERVER" -d "$db" -c \
		"BEGIN; LOCK TABLE otp_totp_totpdevice IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($RUN_LIMIT_S)" \
		>/dev/null 2>&1 &
	LOCK_PID=$!
	chaos_wait "$db" "SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'chaos-lock'
	     AND datname = current_database() AND wait_event = 'PgSleep'" 10000 && return 0
	reason "setup: the locking session did not take its lock"
	return 1
}

lock_end() {
	local db=$1
	[ -n "$LOCK_PID" ] || return 0
	cq "$db" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	          WHERE application_name = 'chaos-lock'" >/dev/null
	kill "$LOCK_PID" 2>/dev/null
	wait "$LOCK_PID" 2>/dev/null
	LOCK_PID=
}

# wait_first_batch DB PID: until the run's first batch committed (the
# ledger has its deletions); 1 when it did not within 10 s or the run has
# ended.
wait_first_batch() {
	chaos_wait "$1" "SELECT count(*) > 0 FROM mfa_sweeper.deletions" 10000 &&
		kill -0 "$2" 2>/dev/null
}

# inject FAULT DB PID START_MS: deliver the fault; sets LANDED (1, or 0
# when the run had ended before it was due).
inject() {
	local fault=$1 db=$2 pid=$3 start=$4 at
	LANDED=1
	case $fault in
	kill9 | sigterm_early)
		if [ "$fault" = kill9 ]; then
			at=$((start + RANDOM % KILL_WINDOW_MS))
		else
			# From the moment main() has its handlers: before that
			# the dynamic loader is still mapping libraries, and no
			# program can catch a signal there.
			wait_handlers "$pid"
			at=$(($(ms_now) + RANDOM % 50))
		fi
		while [ "$(ms_now)" -lt "$at" ] && kill -0 "$pid" 2>/dev/null; do
			sleep 0.005
		done
		if [ "$fault" = kill9 ]; then
			kill -KILL "$pid" 2>/dev/null || LANDED=0
		else
			kill -TERM "$pid" 2>/dev/null || LANDED=0
		fi
		;;
	restart | terminate | sigterm)
		if ! wait_first_batch "$db" "$pid"; then
			LANDED=0
			return
		fi
		sleep_ms $((RANDOM % MID_WINDOW_MS))
		if ! kill -0 "$pid" 2>/dev/null; then
			LANDED=0
			return
		fi
		case $fault in
		sigterm) kill -TERM "$pid" 2>/dev/null || LANDED=0 ;;
		terminate)
			[ "$(cq "$db" "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			     WHERE datname = current_database() AND application_name = 'mfa-sweeper'")" -gt 0 ] ||
				LANDED=0
			;;
		restart)
			pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
				-m fast -w -t 60 restart >/dev/null 2>&1 ||
				reason "setup: the server did not restart"
			;;
		esac
		;;
	esac
}

# ------------------------------------------------------------------ one trial

# trial N FAULT POOLER VARIANT: run it, fill REASONS (empty = passed),
# MISSED and FAULT_RC.  VARIANT 0 to 3 picks fixed or adaptive batches
# (the latter on two workers),
# with or without a pause between them (in which a fault lands between two
# transactions rather than inside one).
trial() {
	local n=$1 fault=$2 pooler=$3 db=chaos_$3 batching=fixed stmt=5s pause=0ms
	local cfg=$WORK/trial-$n.ini out=$WORK/trial-$n.out err=$WORK/trial-$n.err
	local pid start rc exits deletes lease summary i run_id l pace=0.001
	local kept_gone left gone mism total devgone advisory run_status leases
	REASONS=()
	MISSED=0
	FAULT_RC=-
	[ $(($4 % 2)) = 0 ] || batching=adaptive
	[ $(($4 / 2 % 2)) = 0 ] || pause=30ms
	if [ "$fault" = stmt_timeout ]; then
		# 20 ms a row: every batch (20 rows or more) outlasts 300 ms.
		stmt=300ms
		pace=0.02
	fi
	chaos_reset "$pace" "$db" ||
		{ reason "setup: cannot put the rows back: $(tail -n 2 "$WORK/psql.err")"; return; }
	chaos_cfg "$cfg" "$db" "$pooler" "$stmt" "$batching" "$pause"
	[ "$fault" != lock ] || lock_start "$db" || return

	# The shell's own stderr goes aside while the run lives: it would
	# report the job's death by SIGKILL.
	exec 3>&2 2>>"$WORK/shell.err"
	start=$(ms_now)
	"$BIN" -c "$cfg" --json >"$out" 2>"$err" </dev/null &
	pid=$!
	inject "$fault" "$db" "$pid" "$start"
	for i in $(seq $((RUN_LIMIT_S * 50))); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		reason "the run hung for ${RUN_LIMIT_S}s and was killed"
	fi
	wait "$pid"
	rc=$?
	FAULT_RC=$rc
	exec 2>&3 3>&-
	[ "$fault" = lock ] && lock_end "$db"
	[ "$LANDED" = 1 ] || MISSED=1

	# The run's own sessions end before the lock is judged.
	if [ "$pooler" = direct ] && ! chaos_wait "$db" "SELECT count(*) = 0 FROM pg_stat_activity
	     WHERE datname = current_database() AND application_name = 'mfa-sweeper'" 5000; then
		reason "the run's server session is still there 5 s after it exited"
	fi
	# Through PgBouncer a transaction the run left open lives on a pooled
	# server connection until PgBouncer, seeing its client gone, closes
	# that connection, and holds its transaction's advisory locks (a
	# worker's shared one under the lease) that long; a session's lock
	# would stay for good, which the judgement below still catches.
	[ "$pooler" = direct ] || chaos_wait "$db" "SELECT count(*) = 0 FROM pg_locks AS l
	     JOIN pg_database AS d ON d.oid = l.database WHERE l.locktype = 'advisory'
	     AND l.granted AND d.datname = current_database()" 5000 || true
	run_id=
	if jq -se 'length == 1 and (.[0] | type == "object")' "$out" >/dev/null 2>&1; then
		run_id=$(jq -r .run_id "$out" | tr -cd '0-9a-f-')
	fi
	read_state "$db" "$run_id"
	[ "$STATE_OK" = 1 ] ||
		{ reason "cannot read the database after the run: $(tail -n 2 "$WORK/psql.err")"; return; }

	# The exit code, and what the run may have deleted.
	if [ "$MISSED" = 1 ]; then
		exits=0
	else
		exits=$(chaos_expect "$fault" "$pooler" exits)
	fi
	deletes=$(chaos_expect "$fault" "$pooler" deletes)
	lease=$(chaos_expect "$fault" "$pooler" lease)
	summary=$(chaos_expect "$fault" "$pooler" summary)
	in_list "$rc" "$exits" || reason "exit $rc, expected ${exits//,/ or }"
	[ "$rc" != 0 ] || [ "$left" = 0 ] || reason "exit 0 with $left rows left that a rule must delete"
	[ "$kept_gone" = 0 ] || reason "$kept_gone rows that must stay are gone"
	[ "$mism" = 0 ] || reason "rows gone and ledger deletions differ for $mism (table, user) pairs"
	[ "$total" = "$gone" ] || reason "the ledger records $total deletions, $gone rows are gone"
	case $deletes in
	none) [ "$gone" = 0 ] || reason "$gone rows deleted, expected none" ;;
	unlocked) [ "$devgone" = 0 ] || reason "$devgone rows deleted from the locked table" ;;
	esac

	# The summary, where the run lived to print one.
	if [ "$rc" = 0 ] || [ "$rc" = 1 ] || [ "$rc" = 75 ]; then
		if [ -z "$run_id" ]; then
			[ "$summary" = no ] || reason "exit $rc without a JSON summary"
		else
			[ "$(jq -r .deleted_total "$out")" = "$gone" ] ||
				reason "the summary says $(jq -r .deleted_total "$out") deleted, $gone rows are gone"
			# A run stopped before it had a connection cannot
			# record itself: it does not connect after a stop.
			if [ -z "$run_status" ] &&
				grep -q 'stopped by a signal while connecting' "$err"; then
				:
			elif [ "$run_status" != "$(jq -r .status "$out")" ]; then
				reason "the ledger's run row says '$run_status', the summary '$(jq -r .status "$out")'"
			fi
		fi
	fi

	# The run lock: no advisory lock; no lease, unless its run died
	# before it could release it and it is left to expire.
	[ "$advisory" = 0 ] || reason "an advisory lock is left held"
	for l in ${leases//,/ }; do
		if [ "$lease" != yes ]; then
			reason "the run lease is left held (holder ${l%%:*})"
		elif [[ $l != *:false:true ]]; then
			reason "a lease is left by run ${l%%:*}, which finished or renewed it after the fault"
		fi
	done

	# A following normal run finishes the work (once a lease left behind
	# has expired).
	cq "$db" "DROP TRIGGER chaos_pace ON accounts_backupcode" >/dev/null
	[ -z "$leases" ] || chaos_wait "$db" "SELECT NOT EXISTS (SELECT 1 FROM mfa_sweeper.run_lease
	     WHERE expires_at > clock_timestamp())" $((LEASE_TTL_MS + 2000)) >/dev/null
	chaos_cfg "$cfg" "$db" "$pooler" 5s "$batching"
	"$BIN" -c "$cfg" --json >"$out.next" 2>"$err.next" </dev/null
	rc=$?
	[ "$rc" = 0 ] || reason "the following run exited $rc: $(grep -m1 'error' "$err.next")"
	read_state "$db"
	[ "$left" = 0 ] || reason "after the following run $left rows that must go are left"
	[ "$kept_gone" = 0 ] || reason "after the following run $kept_gone rows that must stay are gone"
	[ "$mism" = 0 ] && [ "$total" = "$MUST_GO" ] ||
		reason "after the following run the ledger records $total deletions for $MUST_GO rows gone"
	[ "$advisory" = 0 ] || reason "an advisory lock is left after the following run"
	[ -z "$leases" ] || reason "the run lease is left after the following run"
}

# ------------------------------------------------------------------ the series

KINDS=()
for f in $FAULTS; do
	for p in $POOLERS; do
		KINDS+=("$f $p")
	done
done
declare -A T_TRIALS T_PASSED T_MISSED T_EXITS
FAILURES=()
T0=$(date +%s)
for n in $(seq "$TRIALS"); do
	kind=${KINDS[$(((n - 1) % ${#KINDS[@]}))]}
	fault=${kind% *}
	pooler=${kind#* }
	# The kinds of one round take different variants, and each kind the
	# next variant in the next round.
	trial "$n" "$fault" "$pooler" $((((n - 1) + (n - 1) / ${#KINDS[@]}) % 4))
	T_TRIALS[$kind]=$((${T_TRIALS[$kind]:-0} + 1))
	T_MISSED[$kind]=$((${T_MISSED[$kind]:-0} + MISSED))
	T_EXITS[$kind]="${T_EXITS[$kind]:-} $FAULT_RC"
	if [ ${#REASONS[@]} -eq 0 ]; then
		T_PASSED[$kind]=$((${T_PASSED[$kind]:-0} + 1))
		[ "${CHAOS_KEEP:-0}" = 1 ] || rm -f "$WORK/trial-$n".*
	else
		FAILED=$((FAILED + 1))
		FAILURES+=("trial $n ($fault, $pooler): $(printf '%s; ' "${REASONS[@]}" | sed 's/; $//') [logs: $WORK/trial-$n.err]")
	fi
	if [ -t 1 ]; then
		printf '\r%d/%d trials, %d failed' "$n" "$TRIALS" "$FAILED"
	fi
done
[ -t 1 ] && printf '\n'

# "69 x12, 0 x8": how often each exit code came, most frequent first.
exit_counts() {
	printf '%s\n' $1 | sort | uniq -c | sort -k1,1nr -k2,2n |
		awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }'
}

printf '\n%-14s %-10s %7s %7s %7s  %s\n' fault pooler trials passed missed "exit codes"
for kind in "${KINDS[@]}"; do
	[ -n "${T_TRIALS[$kind]:-}" ] || continue
	printf '%-14s %-10s %7d %7d %7d  %s\n' "${kind% *}" "${kind#* }" "${T_TRIALS[$kind]}" \
		"${T_PASSED[$kind]:-0}" "${T_MISSED[$kind]:-0}" "$(exit_counts "${T_EXITS[$kind]}")"
done
printf '%-14s %-10s %7d %7d\n' total "" "$TRIALS" $((TRIALS - FAILED))
echo "== $TRIALS trials in $(($(date +%s) - T0))s, seed $SEED"
if [ "$FAILED" -gt 0 ]; then
	echo "failures:"
	printf '  %s\n' "${FAILURES[@]}"
	exit 1
fi
exit 0
