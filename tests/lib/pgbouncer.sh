# pgbouncer.sh: a throwaway PgBouncer in front of the test server, for the
# connection-pooler tests (tests/integration/test_pooler.sh) and the fault
# trials (tests/chaos/).  Source it after the server is up (pg.sh's
# pg_start, or the test runner's server: PGHOST and PGPORT set), then
#
#     pgb_start MODE [POOL_SIZE] [SETTING...]
#
# starts PgBouncer (Debian's `pgbouncer`, which `make deps` installs) with
# pool_mode MODE (session or transaction), POOL_SIZE server connections per
# database and user (default 4), and any further "key = value" SETTINGs of
# its [pgbouncer] section.  It listens only on a unix socket in a temporary
# directory of its own and sends every database name on to the server.
# Afterwards PGB_HOST and PGB_PORT name it: a client reaches database D
# through it with `host=$PGB_HOST port=$PGB_PORT dbname=D`.  pgb_stop stops
# it (by the pid in its pidfile) and removes the directory; the caller
# arranges for it to run at exit.  Only one PgBouncer per shell.
#
# PgBouncer refuses to run as root: as root it runs as postgres, like the
# server.

PGB_PORT=6432
PGB_DIR=

# Run a command as the server's owner (pg.sh's helper, if not loaded yet).
if ! declare -F pg_as_owner >/dev/null; then
	# shellcheck source=pg.sh
	. "$(dirname "${BASH_SOURCE[0]}")/pg.sh"
fi

pgb_bin() {
	local b
	for b in "$(command -v pgbouncer 2>/dev/null)" /usr/sbin/pgbouncer; do
		if [ -n "$b" ] && [ -x "$b" ]; then
			echo "$b"
			return 0
		fi
	done
	echo "pgbouncer.sh: no pgbouncer binary; run 'make deps'" >&2
	return 1
}

# pgb_start MODE [POOL_SIZE] [SETTING...]
pgb_start() {
	local mode=$1 size=${2:-4} bin i setting
	shift
	[ $# -eq 0 ] || shift
	case $mode in
	session | transaction) ;;
	*)
		echo "pgbouncer.sh: pool mode '$mode' is not session or transaction" >&2
		return 1
		;;
	esac
	bin=$(pgb_bin) || return 1
	PGB_DIR=$(mktemp -d /tmp/mfa-sweeper-pgb.XXXXXX) || return 1
	chmod 0755 "$PGB_DIR"
	{
		printf '[databases]\n* = host=%s port=%s\n\n' "$PGHOST" "${PGPORT:-5432}"
		printf '[pgbouncer]\n'
		printf 'listen_addr =\nlisten_port = %s\nunix_socket_dir = %s\n' "$PGB_PORT" "$PGB_DIR"
		printf 'auth_type = trust\nauth_file = %s/users.txt\n' "$PGB_DIR"
		printf 'pool_mode = %s\ndefault_pool_size = %s\nmax_client_conn = 200\n' "$mode" "$size"
		# A restarted server is tried again after a second, not 15;
		# a client waits at most 10 s for a server connection.
		printf 'server_login_retry = 1\nquery_wait_timeout = 10\n'
		printf 'logfile = %s/pgbouncer.log\npidfile = %s/pgbouncer.pid\n' "$PGB_DIR" "$PGB_DIR"
		printf 'admin_users = postgres\n'
		for setting in "$@"; do
			printf '%s\n' "$setting"
		done
	} >"$PGB_DIR/pgbouncer.ini"
	printf '"%s" ""\n' "${PGUSER:-postgres}" >"$PGB_DIR/users.txt"
	[ "$(id -u)" -ne 0 ] || chown -R postgres: "$PGB_DIR"
	if ! pg_as_owner "$bin" -d -q "$PGB_DIR/pgbouncer.ini" 2>"$PGB_DIR/start.err"; then
		echo "pgbouncer.sh: pgbouncer did not start: $(cat "$PGB_DIR/start.err" "$PGB_DIR/pgbouncer.log" 2>/dev/null)" >&2
		return 1
	fi
	for i in $(seq 100); do
		if psql -XAtq -h "$PGB_DIR" -p "$PGB_PORT" -d pgbouncer -c 'SHOW VERSION' \
			>/dev/null 2>&1; then
			PGB_HOST=$PGB_DIR
			export PGB_HOST PGB_PORT PGB_DIR
			return 0
		fi
		sleep 0.05
	done
	echo "pgbouncer.sh: pgbouncer does not answer: $(cat "$PGB_DIR/pgbouncer.log" 2>/dev/null)" >&2
	return 1
}

# pgb_admin COMMAND: run COMMAND (SHOW POOLS, RECONNECT, ...) on the admin
# console; prints the result unaligned.
pgb_admin() {
	psql -XAtq -h "$PGB_HOST" -p "$PGB_PORT" -d pgbouncer -c "$1"
}

# pgb_psql DB SQL: run SQL through the pooler as a client of DB.
pgb_psql() {
	psql -XAtq -v ON_ERROR_STOP=1 -h "$PGB_HOST" -p "$PGB_PORT" -d "$1" -c "$2"
}

# A throwaway pooler has nothing to flush: SIGKILL spares the second or
# so its orderly shutdown takes; the server sees its connections close.
pgb_stop() {
	local pid i
	[ -n "${PGB_DIR:-}" ] && [ -d "$PGB_DIR" ] || return 0
	pid=$(cat "$PGB_DIR/pgbouncer.pid" 2>/dev/null)
	if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then
		for i in $(seq 100); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.02
		done
	fi
	rm -rf "$PGB_DIR"
	PGB_DIR=
}
