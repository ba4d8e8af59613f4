# servers.sh: PostgreSQL servers of one test's own, beside the shared one
# tests/run.sh starts: a private primary and streaming standbys of it.
# A test that needs a standby makes it of a private primary, never of the
# shared server: a standby that lags (or a replication slot) on the shared
# server would hold up every other test running meanwhile with
# max_replica_lag.  Each server listens only on a unix socket directory
# of its own under $T_DIR (port 5432 there), and is stopped when the test
# ends, however it ends (on_exit).  Source it after assert.sh.

. "$T_LIB_DIR/pg.sh"

# _srv_ctl DIR ARGS...: pg_ctl for the server whose directory is DIR.
_srv_ctl() {
	local dir=$1
	shift
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" "$@"
}

# _srv_dir NAME: make $T_DIR/NAME, owned by the servers' owner.
_srv_dir() {
	mkdir -p "$T_DIR/$1" || die "cannot make $T_DIR/$1"
	chmod 0755 "$T_DIR/$1"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$T_DIR/$1"
}

# _srv_start DIR: start the server in DIR/data on socket directory DIR.
_srv_start() {
	local dir=$1
	on_exit "_srv_ctl '$dir' -m immediate -w stop >/dev/null 2>&1"
	local opts="-k $dir -c listen_addresses='' -c port=5432 -c fsync=off"
	opts="$opts -c shared_buffers=16MB -c max_connections=20"
	opts="$opts -c wal_retrieve_retry_interval=100ms"
	_srv_ctl "$dir" -o "$opts" -w -t 60 start >/dev/null 2>&1 ||
		die "the server in $dir did not start: $(tail -n 20 "$dir/server.log")"
}

# primary_start NAME: a new server (initdb) in $T_DIR/NAME with the
# template database of the shared server ($SWEEPER_TEMPLATE_DB, schema
# only).  Sets SRV_HOST to its host (the socket directory), for PGHOST or
# a dsn's host.  (Not in $(...): the server must be stopped by this
# shell's on_exit.)
primary_start() {
	local dir=$T_DIR/$1
	[ -n "${PG_BINDIR:-}" ] || PG_BINDIR=$(pg_bindir) || die "no PostgreSQL binaries"
	_srv_dir "$1"
	pg_as_owner "$PG_BINDIR/initdb" -D "$dir/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 ||
		die "initdb failed: $(cat "$dir/initdb.log")"
	_srv_start "$dir"
	PGHOST=$dir q "CREATE DATABASE $SWEEPER_TEMPLATE_DB" postgres >/dev/null ||
		die "no template database on $dir"
	pg_dump -s -d "$SWEEPER_TEMPLATE_DB" | PGHOST=$dir sql "$SWEEPER_TEMPLATE_DB" >/dev/null
	SRV_HOST=$dir
}

# standby_start PRIMARY NAME: a streaming standby of the server at host
# PRIMARY (from primary_start), in $T_DIR/NAME, from pg_basebackup -R
# with a replication slot of its own, so that the primary keeps the WAL
# it has not received.  Sets SRV_HOST to its host.  Returns once the
# primary sees it streaming.
standby_start() {
	local primary=$1 dir=$T_DIR/$2
	_srv_dir "$2"
	pg_as_owner "$PG_BINDIR/pg_basebackup" -h "$primary" -p 5432 -U postgres \
		-D "$dir/data" -R -X stream -C -S "$2" -c fast >"$dir/basebackup.log" 2>&1 ||
		die "pg_basebackup failed: $(cat "$dir/basebackup.log")"
	_srv_start "$dir"
	wait_until 30 '[ "$(PGHOST=$primary q "SELECT count(*) FROM pg_stat_replication WHERE state = '"'streaming'"'" postgres)" -ge 1 ]' ||
		die "standby $2 does not stream: $(tail -n 15 "$dir/server.log")"
	SRV_HOST=$dir
}

# standby_caught_up PRIMARY: wait until every standby of PRIMARY has
# replayed all it has flushed; returns 1 when they do not within 30 s.
standby_caught_up() {
	local primary=$1
	wait_until 30 '[ "$(PGHOST=$primary q "SELECT count(*) FROM pg_stat_replication WHERE replay_lsn < pg_current_wal_flush_lsn()" postgres)" = 0 ]'
}

# standby_lag PRIMARY STANDBY MS: pause the standby's replay and write
# WAL on the primary until it sees the standby's replay_lag past MS ms.
# The primary updates replay_lag only as the standby's replies come in,
# so a fixed amount of writing is not enough on a busy machine.
standby_lag() {
	local primary=$1 standby=$2 ms=$3 i
	PGHOST=$standby q "SELECT pg_wal_replay_pause()" postgres >/dev/null ||
		die "cannot pause replay on $standby"
	PGHOST=$primary q "CREATE TABLE IF NOT EXISTS lag_maker (i int)" postgres >/dev/null
	for i in $(seq 100); do
		PGHOST=$primary q "INSERT INTO lag_maker VALUES ($i)" postgres >/dev/null
		[ "$(PGHOST=$primary q "SELECT count(*) FROM pg_stat_replication
			WHERE replay_lag > interval '$ms milliseconds'" postgres)" -ge 1 ] && return 0
		sleep 0.05
	done
	die "the paused standby's replay_lag never passed $ms ms"
}

# standby_resume STANDBY: replay again.
standby_resume() {
	PGHOST=$1 q "SELECT pg_wal_replay_resume()" postgres >/dev/null
}
