# pg.sh: start and stop a throwaway PostgreSQL server for tests, the demo
# and the benchmark.  Source it, then call pg_start; the server listens only
# on a unix socket in its own temporary directory and is removed by pg_stop
# (installed as an EXIT trap by pg_start).
#
# After pg_start: PGHOST, PGPORT, PGUSER and PGDATABASE are exported, so
# psql and the sweeper (libpq) reach the server with no further options.

pg_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return 0
		fi
	done
	echo "pg.sh: no PostgreSQL server found under /usr/lib/postgresql; run 'make deps'" >&2
	return 1
}

# Run a command as the server's owner: postgres refuses to run as root.
pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_start [extra postgres -c settings...]
pg_start() {
	local bindir
	bindir=$(pg_bindir) || return 1
	PG_BINDIR=$bindir
	PG_TMP=$(mktemp -d /tmp/mfa-sweeper-pg.XXXXXX) || return 1
	chmod 0755 "$PG_TMP"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$PG_TMP"
	fi
	trap pg_stop EXIT
	if ! pg_as_owner "$bindir/initdb" -D "$PG_TMP/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C >"$PG_TMP/initdb.log" 2>&1; then
		echo "pg.sh: initdb failed:" >&2
		cat "$PG_TMP/initdb.log" >&2
		return 1
	fi
	local opts="-k $PG_TMP -c listen_addresses='' -c port=5432"
	opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
	opts="$opts -c max_connections=50 -c shared_buffers=256MB"
	local extra
	for extra in "$@"; do
		opts="$opts -c $extra"
	done
	if ! pg_as_owner "$bindir/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" \
		-o "$opts" -w -t 60 start >/dev/null; then
		echo "pg.sh: server did not start:" >&2
		cat "$PG_TMP/server.log" >&2
		return 1
	fi
	export PGHOST=$PG_TMP PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
	export PG_TMP PG_BINDIR
}

pg_stop() {
	if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
		pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PG_TMP/data" -m immediate \
			-w stop >/dev/null 2>&1
		rm -rf "$PG_TMP"
	fi
	PG_TMP=
}
