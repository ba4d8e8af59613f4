#!/bin/bash
# Secrets never leave the process, credentials work the way systemd hands
# them over, and exposed secrets are warned about (doc/security.md "Secrets and
# credentials").
#
# A sentinel database password (written in the dsn, in a URI, in a
# password_file and in a pgpass file) and a sentinel webhook key (secret
# and secret_file) are planted; every failure the sweeper can be made to
# meet is provoked (a malformed dsn, config errors of several kinds, a
# wrong password, a server that is not there, a rule that fails with the
# password in the server's message and a notice, a connection lost at
# COMMIT, a webhook answering 500); and every channel the sweeper writes
# is searched for them: stderr (text and --log-format json), stdout
# (--json and the table), the requests the webhook receiver recorded, the
# metrics file, the ledger tables, --explain and --history.  A channel
# that should have been written and was not fails the test, so that the
# search cannot pass on nothing.
#
# The runs that log in with a password use a private server whose roles
# mfa_secret (password: the sentinel) and mfa_other (another password)
# must give one (scram-sha-256); the shared server trusts everyone.
. "$(dirname "$0")/../lib/assert.sh"

HTTPD=$SWEEPER_BUILD/tests/tools/httpd

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset CREDENTIALS_DIRECTORY PGPASSWORD PGPASSFILE PGSERVICE

# The sentinels.  The password needs no quoting in a dsn or a URI; the
# key's 32 bytes are printable, so the raw key is searched for as well as
# its base64.
SENT_PW=Qz7SentinelDbPassword4711
SENT_KEY_RAW=SENTINEL-WEBHOOK-KEY-0123456789a
SENT_KEY_B64=$(printf '%s' "$SENT_KEY_RAW" | base64 -w0)
SENT_SECRET=whsec_$SENT_KEY_B64
# What must never show: each sentinel whole, and pieces of each, for a
# message that cuts one.
NEEDLES=("$SENT_PW" "SentinelDbPass" "Password4711" "$SENT_KEY_B64"
	"${SENT_KEY_B64:0:16}" "${SENT_KEY_B64: -16}" "SENTINEL-WEBHOOK")

# ------------------------------------------------------------ helpers

# secret_server: start the private server (see the top of the file) with
# the template database, and point PGHOST at it, so that fresh_db, q and
# sql work on it.  Stopped however the test ends.
secret_server() {
	. "$T_LIB_DIR/pg.sh"
	[ -n "${PG_BINDIR:-}" ] || PG_BINDIR=$(pg_bindir) || die "no PostgreSQL binaries"
	local main_host=$PGHOST
	PRIV_PG=$T_DIR/pg
	mkdir -p "$PRIV_PG"
	chmod 0755 "$PRIV_PG"
	[ "$(id -u)" -ne 0 ] || chown postgres: "$PRIV_PG"
	on_exit 'pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PRIV_PG/data" -m immediate -w stop >/dev/null 2>&1'
	pg_as_owner "$PG_BINDIR/initdb" -D "$PRIV_PG/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C >"$T_DIR/initdb.log" 2>&1 ||
		die "initdb failed: $(cat "$T_DIR/initdb.log")"
	# The first matching line wins: these two roles must give a password.
	{
		echo "local all mfa_secret,mfa_other scram-sha-256"
		cat "$PRIV_PG/data/pg_hba.conf"
	} >"$T_DIR/pg_hba.conf"
	pg_as_owner cp "$T_DIR/pg_hba.conf" "$PRIV_PG/data/pg_hba.conf" || die "cannot write pg_hba.conf"
	pg_as_owner "$PG_BINDIR/pg_ctl" -D "$PRIV_PG/data" -l "$PRIV_PG/server.log" \
		-o "-k $PRIV_PG -c listen_addresses='' -c fsync=off -c shared_buffers=16MB -c max_connections=20" \
		-w -t 60 start >/dev/null 2>&1 || die "the private server did not start: $(cat "$PRIV_PG/server.log")"
	export PGHOST=$PRIV_PG
	q "CREATE DATABASE $SWEEPER_TEMPLATE_DB" postgres >/dev/null || die "no template database"
	PGHOST=$main_host pg_dump -s -d "$SWEEPER_TEMPLATE_DB" | sql "$SWEEPER_TEMPLATE_DB" >/dev/null
	q "CREATE ROLE mfa_secret LOGIN SUPERUSER PASSWORD '$SENT_PW';
	   CREATE ROLE mfa_other LOGIN SUPERUSER PASSWORD 'not-the-sentinel'" postgres >/dev/null ||
		die "cannot create the roles"
	# The check can fail: without the password the role is turned away.
	if psql -XAtq -U mfa_secret -d postgres -c 'SELECT 1' >/dev/null 2>&1 </dev/null; then
		die "the private server lets mfa_secret in without a password"
	fi
}

# httpd_start RESPONSE...: start a webhook receiver (tests/tools/httpd.c)
# recording into a new directory; sets HOOK_URL and REQ.
HOOK_N=0
httpd_start() {
	HOOK_N=$((HOOK_N + 1))
	REQ=$T_DIR/req-$HOOK_N
	mkdir -p "$REQ"
	rm -f "$T_DIR/port"
	[ -x "$HTTPD" ] || die "no $HTTPD; run make test-progs"
	"$HTTPD" -p "$T_DIR/port" -d "$REQ" -t 60 "$@" 2>"$T_DIR/httpd.err" &
	T_BG_PIDS+=("$!")
	wait_until 5 '[ -s "$T_DIR/port" ]' || die "httpd did not start: $(cat "$T_DIR/httpd.err")"
	HOOK_URL="http://127.0.0.1:$(cat "$T_DIR/port")/hook"
}

nreq() {
	find "$REQ" -name '*.body' | wc -l
}

# The dsn of each way of giving the password, for database $DB on the
# private server.  `file` and `pgpass` write the password elsewhere
# (password_file, PGPASSFILE).
dsn_for() {
	case $1 in
	dsn) echo "host=$PRIV_PG dbname=$DB user=mfa_secret password=$SENT_PW" ;;
	uri) echo "postgresql://mfa_secret:$SENT_PW@/$DB?host=$PRIV_PG" ;;
	file | pgpass) echo "host=$PRIV_PG dbname=$DB user=mfa_secret" ;;
	*) die "no such delivery: $1" ;;
	esac
}

# cfg_secret DELIVERY RULES [LINE...]: a config logging in with the
# sentinel password given as DELIVERY (dsn_for), posting signed summaries
# to $HOOK_URL (the key inline for dsn and file, in secret_file for uri
# and pgpass; one retry, or $HOOK_RETRIES), writing metrics and recording
# in the ledger; then LINEs in [ledger].  Sets CFG; exports PGPASSFILE for
# pgpass.
cfg_secret() {
	local how=$1 rules=$2 key_line
	shift 2
	unset PGPASSFILE
	case $how in
	dsn | file) key_line="secret = $SENT_SECRET" ;;
	*)
		(umask 077 && printf '%s\n' "$SENT_SECRET" >"$T_DIR/webhook-secret")
		key_line="secret_file = webhook-secret"
		;;
	esac
	CFG=$T_DIR/sweeper.ini
	{
		echo "[database]"
		echo "dsn = $(dsn_for "$how")"
		[ "$how" != file ] || echo "password_file = db-password"
		echo "[sweeper]"
		echo "plugin_dir = $PLUGIN_DIR"
		echo "rules = $rules"
		echo "metrics_file = $T_DIR/metrics.prom"
		echo "[webhook]"
		echo "url = $HOOK_URL"
		echo "$key_line"
		echo "retries = ${HOOK_RETRIES:-1}"
		echo "backoff = 10ms"
		echo "[ledger]"
		echo "enabled = true"
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$CFG"
	if [ "$how" = file ]; then
		(umask 077 && printf '%s\n' "$SENT_PW" >"$T_DIR/db-password")
	fi
	if [ "$how" = pgpass ]; then
		(umask 077 && printf '*:*:*:mfa_secret:%s\n' "$SENT_PW" >"$T_DIR/pgpass")
		export PGPASSFILE=$T_DIR/pgpass
	fi
}

# keep NAME WHAT: save what the last run wrote (stdout, stderr) as
# channel files $CH/NAME.WHAT.{stdout,stderr}, to be searched at the end.
CH=
keep() {
	CH=$T_DIR/channels
	mkdir -p "$CH"
	printf '%s' "$OUT" >"$CH/$1.$2.stdout"
	printf '%s' "$ERR" >"$CH/$1.$2.stderr"
}

# keep_file NAME FILE: save FILE as a channel; a missing or empty FILE
# fails (the channel should have been written).
keep_file() {
	CH=$T_DIR/channels
	mkdir -p "$CH"
	if [ ! -s "$2" ]; then
		fail "$1: $2 was not written"
		return 1
	fi
	cp "$2" "$CH/$1"
}

# sweep_both NAME EXPECTED ARGS...: run `-c $CFG ARGS` twice, with
# --log-format json (table on stdout) and then with --json (text log);
# both must exit EXPECTED, and unless EXPECTED is 0 the text log must say
# what went wrong.  Every stderr line of the first must be a JSON object.
# Keeps both; OUT, ERR and RC are the second run's.
sweep_both() {
	local name=$1 want=$2
	shift 2
	sweep -c "$CFG" --log-format json "$@"
	assert_exit "$want" "$name, --log-format json"
	keep "$name" json
	[ -n "$ERR" ] || fail "$name: the json log is empty"
	jq -e -s 'all(type == "object" and has("msg"))' <<<"$ERR" >/dev/null 2>&1 ||
		fail "$name: a json log line is not a JSON object: $ERR"
	sweep -c "$CFG" --json "$@"
	assert_exit "$want" "$name, --json"
	keep "$name" text
	if [ "$want" != 0 ]; then
		assert_match "$ERR" 'mfa-sweeper: (error|warn)' "$name: the text log says what went wrong"
	fi
}

# cfg_dsn DSN [LINE...]: a used_backup_codes config with [database] dsn =
# DSN, then LINEs (more [sweeper] keys, then further sections).  Sets CFG.
cfg_dsn() {
	local dsn=$1
	shift
	CFG=$T_DIR/sweeper.ini
	{
		printf '[database]\ndsn = %s\n' "$dsn"
		printf '[sweeper]\nplugin_dir = %s\nrules = used_backup_codes\n' "$PLUGIN_DIR"
		[ $# -eq 0 ] || printf '%s\n' "$@"
	} >"$CFG"
}

# search_channels: no channel file holds any needle.  Needs at least one
# channel file; each hit fails, naming the file and the needle.
search_channels() {
	local dirs=("$T_DIR/channels") d n hits found=0
	for d in "$T_DIR"/req-*; do
		[ -d "$d" ] && dirs+=("$d")
	done
	[ -d "$T_DIR/channels" ] || die "no channel was kept"
	found=$(find "${dirs[@]}" -type f | wc -l)
	assert_int_cmp "$found" -gt 0 "channel files searched"
	for n in "${NEEDLES[@]}"; do
		hits=$(grep -rlF -- "$n" "${dirs[@]}")
		if [ -n "$hits" ]; then
			fail "a secret shows: '$n' in $(echo "$hits" | sed "s|$T_DIR/||" | tr '\n' ' ')"
			note "$(grep -rhF -- "$n" "${dirs[@]}" | head -n 3 | cut -c1-400)"
		fi
	done
	note "searched $found channel files for ${#NEEDLES[@]} needles"
}

# A NOTICE, then an error, each with the password in the server's own
# text, whenever a boom-* backup code is deleted: the rule fails (a
# data_exception; a plain RAISE would leave the row behind instead), and
# what the server says must lose the password on its way out.
fx_boom() {
	sql <<EOF
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  VALUES (101, 'boom-u101', true, now() - interval '100 days', now() - interval '200 days');
CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  IF OLD.code_hash LIKE 'boom-%' THEN
    RAISE NOTICE 'about to fail; the password is %', '$SENT_PW';
    RAISE EXCEPTION 'boom: the password is %', '$SENT_PW' USING ERRCODE = 'data_exception';
  END IF;
  RETURN OLD;
END \$\$;
CREATE TRIGGER boom BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION boom();
EOF
}

# ------------------------------------------------------------ item 2

# The dsn of issue 9: an unclosed IPv6 address in a URI with a password.
# libpq quotes the whole dsn when it cannot parse it; the sweeper checks
# it when it loads the config, exits 78 (not 69, as if the database were
# down) and names the file, line and key, never the value.
t_malformed_dsn_is_a_config_error_that_hides_it() {
	local dsn ok n=0
	httpd_start 200
	for dsn in "postgresql://u:$SENT_PW@[::1/db" \
		"host=localhost password=$SENT_PW extra" \
		"host=localhost password='$SENT_PW" \
		"host=localhost passwrd=$SENT_PW" \
		"postgresql://u:$SENT_PW@host/db?sslmode=require&x" \
		"postgresql://u:$SENT_PW%zz@host/db" \
		"postgresql://u:p@$SENT_PW@localhost/db" \
		"postgresql://u:p/$SENT_PW@localhost/db"; do
		n=$((n + 1))
		cfg_dsn "$dsn" "metrics_file = $T_DIR/metrics.prom" \
			"[webhook]" "url = $HOOK_URL" "secret = $SENT_SECRET"
		sweep_both "malformed-$n" 78
		assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "malformed dsn $n: one line"
		assert_contains "$(cat "$CH/malformed-$n.text.stderr")" "$CFG:2: [database] dsn: " \
			"malformed dsn $n: file, line, section and key"
		assert_contains "$(cat "$CH/malformed-$n.text.stderr")" "password_file" \
			"malformed dsn $n: the fix"
		sweep -c "$CFG" --check-config
		assert_exit 78 "malformed dsn $n: --check-config"
		keep "malformed-$n" check
	done
	assert_eq "$(nreq)" 0 "webhook posts for a config error"
	[ ! -e "$T_DIR/metrics.prom" ] || fail "a config error wrote the metrics file"
	# Encoded, the same passwords load: the check refuses only what
	# libpq cannot read or would misread.
	for ok in "postgresql://u:p%40$SENT_PW@localhost/db" "host=localhost password='a b$SENT_PW'" \
		"mydb" "postgresql:///mydb?host=/tmp" ""; do
		cfg_dsn "$ok"
		chmod 0600 "$CFG"
		sweep -c "$CFG" --list-rules
		assert_exit 0 "dsn '$ok' loads"
		keep "loads-$n" list
		n=$((n + 1))
	done
	search_channels
}

# Config errors of several kinds, each on a line or in a file that holds
# a secret: none of their messages shows it.
t_config_errors_never_show_a_secret() {
	local i body
	local -a bodies=(
		# A line without '=' in [database]: the password alone.
		$'[database]\ndsn = dbname=x\n'"$SENT_PW"
		# The dsn on the section's line.
		$'[database] dsn = postgresql://u:'"$SENT_PW"$'@h/db\n'
		# A header without its ']' before the dsn.
		$'[database dsn = host=h password='"$SENT_PW"$'\n'
		# No key before '='.
		$'[database]\n= '"$SENT_PW"$'\n'
		# An unknown key holding the password, and one holding the key.
		$'[database]\npassword = '"$SENT_PW"$'\n'
		$'[sweeper]\nsecret = '"$SENT_SECRET"$'\n'
		# The dsn in quotes, and set twice.
		$'[database]\ndsn = "host=h password='"$SENT_PW"$'"\n'
		$'[database]\ndsn = password='"$SENT_PW"$'\ndsn = password='"$SENT_PW"$'\n'
		# A key that is not whsec_, one with a bad character, and the
		# key given twice.
		$'[webhook]\nsecret = '"$SENT_KEY_RAW"$'\n'
		$'[webhook]\nsecret = '"$SENT_SECRET"$'!\n'
		$'[webhook]\nsecret = '"$SENT_SECRET"$'\nsecret_file = /x\n'
	)
	for i in "${!bodies[@]}"; do
		body=${bodies[$i]}
		printf '%s\n' "$body" >"$T_DIR/bad-$i.ini"
		CFG=$T_DIR/bad-$i.ini
		sweep_both "config-$i" 78
		assert_contains "$ERR" "$CFG:" "config error $i names the file"
	done
	# password_file and secret_file refused for their mode, and a
	# password_file beside a password in the dsn.
	printf '%s\n' "$SENT_PW" >"$T_DIR/db-password"
	chmod 0644 "$T_DIR/db-password"
	printf '[database]\ndsn = dbname=x\npassword_file = db-password\n[sweeper]\nplugin_dir = %s\n' \
		"$PLUGIN_DIR" >"$T_DIR/pf.ini"
	CFG=$T_DIR/pf.ini
	sweep_both password-file-mode 78
	assert_contains "$ERR" "$CFG:3: [database] password_file: the password file '$T_DIR/db-password' is accessible by group or others (mode 0644); chmod 600" \
		"the password file's mode"
	chmod 0600 "$T_DIR/db-password"
	printf '[database]\ndsn = dbname=x password=%s\npassword_file = db-password\n[sweeper]\nplugin_dir = %s\n' \
		"$SENT_PW" "$PLUGIN_DIR" >"$T_DIR/pf2.ini"
	chmod 0600 "$T_DIR/pf2.ini"
	CFG=$T_DIR/pf2.ini
	sweep_both password-twice 78
	assert_contains "$ERR" "$CFG:3: [database] password_file: the dsn holds a password too; keep only one" \
		"password_file beside a password in the dsn"
	printf '%s\n' "$SENT_SECRET" >"$T_DIR/webhook-secret"
	chmod 0640 "$T_DIR/webhook-secret"
	printf '[webhook]\nurl = http://127.0.0.1:9/\nsecret_file = webhook-secret\n' >"$T_DIR/sf.ini"
	CFG=$T_DIR/sf.ini
	sweep_both secret-file-mode 78
	assert_contains "$ERR" "$CFG:3: [webhook] secret_file: the secret file '$T_DIR/webhook-secret' is accessible by group or others (mode 0640)" \
		"the secret file's mode"
	search_channels
}

# Connecting fails: a wrong password (given each way), no server, and
# settings libpq quotes back (a port, a host, an sslmode) that hold the
# password.  Exit 69; the log, the webhook's summary and the metrics say
# why, and the password is "[redacted]" wherever libpq quoted it.
t_failed_connections_never_show_the_password() { # slow
	secret_server
	fresh_db
	fx_used_codes
	local how
	# One attempt per run: retries are t_runs_never_show_a_secret's.
	HOOK_RETRIES=0
	httpd_start 500
	for how in dsn uri file pgpass; do
		cfg_secret "$how" used_backup_codes
		# The same password, for a role that has another.
		sed -i 's/mfa_secret/mfa_other/g' "$CFG" "$T_DIR/pgpass" 2>/dev/null
		rm -f "$T_DIR/metrics.prom"
		sweep_both "wrong-password-$how" 69
		assert_contains "$ERR" "password authentication failed for user \"mfa_other\"" \
			"wrong password ($how): the server's reason"
		keep_file "wrong-password-$how.metrics" "$T_DIR/metrics.prom"
	done
	local dsn n=0
	for dsn in "host=$T_DIR/no-server dbname=$DB user=mfa_secret password=$SENT_PW" \
		"postgresql://mfa_secret:$SENT_PW@127.0.0.1:1/$DB?connect_timeout=2" \
		"host=$PRIV_PG port=$SENT_PW password=$SENT_PW" \
		"hostaddr=$SENT_PW password=$SENT_PW" \
		"host=$PRIV_PG sslmode=$SENT_PW password=$SENT_PW"; do
		n=$((n + 1))
		cfg_secret dsn used_backup_codes
		awk -v dsn="$dsn" '/^dsn = / { print "dsn = " dsn; next } { print }' "$CFG" >"$CFG.new" &&
			mv "$CFG.new" "$CFG"
		rm -f "$T_DIR/metrics.prom"
		sweep_both "no-server-$n" 69
		keep_file "no-server-$n.metrics" "$T_DIR/metrics.prom"
		if [ "$n" -ge 3 ]; then
			assert_contains "$ERR" '[redacted]' "connect error $n: libpq's quote of the password is redacted"
		fi
	done
	assert_contains "$(cat "$CH/no-server-1.text.stderr")" "No such file or directory" "no server: why"
	assert_contains "$(cat "$CH/no-server-2.text.stderr")" "Connection refused" "nothing listening: why"
	# Every run posted its summary.
	assert_eq "$(nreq)" $(((4 + n) * 2)) "webhook requests"
	assert_eq "$(jq -r .data.status "$REQ/1.body")" failed "the summary posted says failed"
	assert_contains "$(jq -r .data.error "$REQ/1.body")" "cannot connect to the database" \
		"the summary posted says why"
	search_channels
}

# Runs that get in, with the password given each way: a rule fails with
# the password in the server's error and in a NOTICE, another deletes
# (ledger rows), the webhook answers 500 twice; then --explain and
# --history.  And a connection lost at COMMIT, found out on a new
# connection, which needs the password again.
t_runs_never_show_a_secret() { # slow
	secret_server
	fresh_db
	fx_used_codes
	fx_stale_devices
	fx_boom
	local how runs=0
	for how in dsn uri file pgpass; do
		httpd_start 500
		cfg_secret "$how" "used_backup_codes, stale_devices"
		if [ "$how" = dsn ]; then
			sweep -c "$CFG" --init-ledger
			assert_exit 0 "--init-ledger"
			keep "init-$how" text
		fi
		rm -f "$T_DIR/metrics.prom"
		sweep_both "rule-fails-$how" 1
		runs=$((runs + 2))
		assert_json .status failed "rule fails ($how): status"
		assert_eq "$(rule_json used_backup_codes .status)" failed "rule fails ($how): the failing rule"
		assert_contains "$(rule_json used_backup_codes .error)" 'boom: the password is [redacted]' \
			"rule fails ($how): the server's error, redacted"
		assert_eq "$(rule_json stale_devices .status)" ok "rule fails ($how): the other rule"
		assert_contains "$ERR" 'the password is [redacted]' \
			"rule fails ($how): the NOTICE, logged and redacted"
		assert_contains "$(cat "$CH/rule-fails-$how.json.stdout")" "used_backup_codes" \
			"rule fails ($how): the table"
		keep_file "rule-fails-$how.metrics" "$T_DIR/metrics.prom"
		assert_eq "$(nreq)" 4 "rule fails ($how): webhook requests (two runs, two attempts)"
		assert_eq "$(jq -r .data.status "$REQ/1.body")" failed "rule fails ($how): the summary posted"
		sweep -c "$CFG" --explain
		assert_exit 0 "--explain ($how)"
		assert_contains "$OUT" "DELETE" "--explain ($how) shows the plans"
		keep "explain-$how" text
		sweep -c "$CFG" --history
		assert_exit 0 "--history ($how)"
		assert_ne "$OUT" "" "--history ($how)"
		keep "history-$how" text
	done
	# The ledger, whole: every run, and the rows the first one deleted.
	q "SELECT row_to_json(r) FROM mfa_sweeper.runs r;
	   SELECT row_to_json(d) FROM mfa_sweeper.deletions d" >"$T_DIR/ledger"
	assert_eq "$(grep -c '"run_id"' "$T_DIR/ledger")" "$(($(grep -c '"rows_deleted"' "$T_DIR/ledger") + runs))" \
		"ledger rows: the runs, and the deletions"
	assert_contains "$(cat "$T_DIR/ledger")" '"rows_deleted"' "ledger: deletions recorded"
	assert_contains "$(cat "$T_DIR/ledger")" '[redacted]' "ledger: the rule's error, redacted"
	keep_file ledger "$T_DIR/ledger"

	# The connection is lost during COMMIT (the backend ends itself in
	# a deferred trigger); the sweeper logs in again to learn the batch's
	# fate, with the password from password_file.
	sql <<'EOF'
DROP TRIGGER boom ON accounts_backupcode;
CREATE FUNCTION die_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_terminate_backend(pg_backend_pid());
  PERFORM pg_sleep(5);
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER die_at_commit AFTER DELETE ON accounts_backupcode
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION die_at_commit();
EOF
	httpd_start 500
	cfg_secret file used_backup_codes
	rm -f "$T_DIR/metrics.prom"
	sweep_both lost-at-commit 69
	assert_contains "$(rule_json used_backup_codes .error)" "checked on a new connection" \
		"the batch's fate, learnt on a new connection that logged in with the password"
	keep_file lost-at-commit.metrics "$T_DIR/metrics.prom"
	assert_eq "$(nreq)" 4 "lost connection: webhook requests"
	q "SELECT row_to_json(r) FROM mfa_sweeper.runs r" >"$T_DIR/ledger"
	keep_file ledger-after-lost "$T_DIR/ledger"
	search_channels
}

# ------------------------------------------------------------ item 3

# acl_dir: a directory on a file system that takes ACLs, made in $T_DIR,
# or a small tmpfs mounted there when $T_DIR's cannot.  Sets ACL_DIR.  A
# file system without ACLs is a failure, not a reason to skip.
acl_dir() {
	command -v setfacl >/dev/null || die "setfacl is missing; run make deps (Debian package acl)"
	ACL_DIR=$T_DIR/acl
	mkdir -p "$ACL_DIR"
	touch "$ACL_DIR/probe"
	if ! setfacl -m u:nobody:r "$ACL_DIR/probe" 2>/dev/null; then
		rm -f "$ACL_DIR/probe"
		mount -t tmpfs -o size=1m,mode=0755 mfa-sweeper-acl "$ACL_DIR" 2>"$T_DIR/mount.err" ||
			die "$T_DIR takes no ACLs and no tmpfs can be mounted: $(cat "$T_DIR/mount.err")"
		on_exit 'umount "$ACL_DIR"'
		touch "$ACL_DIR/probe"
		setfacl -m u:nobody:r "$ACL_DIR/probe" ||
			die "no file system here takes ACLs, not even a tmpfs"
	fi
	rm -f "$ACL_DIR/probe"
}

# systemd_credential NAME CONTENT USER: a file in the credentials
# directory as systemd 254+ writes one for DynamicUser=yes: owned by root,
# mode 0400, plus an ACL entry that lets USER read it (mode shows 0440).
systemd_credential() {
	printf '%s\n' "$2" >"$CREDS/$1"
	chown root:root "$CREDS/$1"
	chmod 0400 "$CREDS/$1"
	setfacl -m "u:$3:r" "$CREDS/$1" || die "cannot set the ACL of $CREDS/$1"
}

# as_nobody: run the sweeper as the user nobody, as DynamicUser would run
# it as a user of its own.
as_nobody() {
	local bin=$SWEEPER_BIN
	SWEEPER_BIN=setpriv sweep --reuid=nobody --regid=nogroup --clear-groups -- "$bin" "$@"
}

t_systemd_credentials_with_acl_accepted() {
	acl_dir
	CREDS=$ACL_DIR/credentials
	mkdir "$CREDS"
	chmod 0500 "$CREDS"
	setfacl -m u:nobody:rx "$CREDS"
	systemd_credential db-password "$SENT_PW" nobody
	systemd_credential webhook-secret "$SENT_SECRET" nobody
	assert_eq "$(stat -c %a "$CREDS/db-password")" 440 "the mode systemd's credential shows"
	fresh_db
	fx_used_codes
	httpd_start 200
	CFG=$T_DIR/sweeper.ini
	cat >"$CFG" <<EOF
[database]
dsn = dbname=$DB
password_file = db-password
[sweeper]
plugin_dir = $PLUGIN_DIR
rules = used_backup_codes
[webhook]
url = $HOOK_URL
secret_file = webhook-secret
EOF
	chmod 0644 "$CFG"
	snap
	export CREDENTIALS_DIRECTORY=$CREDS
	as_nobody -c "$CFG" --json
	unset CREDENTIALS_DIRECTORY
	assert_exit 0 "a run as nobody with systemd's credentials"
	check_rows '^must-go-'
	assert_eq "$(nreq)" 1 "webhook requests"
	assert_match "$(grep -i '^webhook-signature:' "$REQ/1.headers")" 'v1,' "the post is signed"
	keep acl-accepted text
	# The check can fail: without the credentials directory, the same
	# file is group-readable and refused.
	sed -e "s|= db-password|= $CREDS/db-password|" -e "s|= webhook-secret|= $CREDS/webhook-secret|" \
		"$CFG" >"$T_DIR/abs.ini"
	as_nobody -c "$T_DIR/abs.ini" --json
	assert_exit 78 "the same file, outside \$CREDENTIALS_DIRECTORY"
	assert_contains "$ERR" "only systemd's credentials in \$CREDENTIALS_DIRECTORY may have one" "why"
	keep acl-outside text
	search_channels
}

# Credential files that are refused, for password_file and secret_file
# alike: group-readable without an ACL, an ACL for another user, an ACL
# for a group, readable by others, a FIFO and a device (which must not
# hang the run).  Each exits 78 at once with one line naming the file,
# line and key, and the fix.
t_credential_files_refused() {
	acl_dir
	CREDS=$ACL_DIR/credentials
	mkdir "$CREDS"
	export CREDENTIALS_DIRECTORY=$CREDS
	local key content case f want
	for key in password_file secret_file; do
		if [ "$key" = password_file ]; then content=$SENT_PW; else content=$SENT_SECRET; fi
		for case in group-no-acl other-user named-group others fifo device; do
			f=$CREDS/$key-$case
			rm -f "$f"
			case $case in
			group-no-acl)
				printf '%s\n' "$content" >"$f"
				chmod 0640 "$f"
				want="is accessible by group or others (mode 0640); chmod 600 '$f'"
				;;
			other-user)
				systemd_credential "$key-$case" "$content" daemon
				want="its ACL lets user 1 (daemon) read it, who is not the user this runs as"
				;;
			named-group)
				systemd_credential "$key-$case" "$content" root
				setfacl -m g:daemon:r "$f"
				want="its ACL lets a named group read it"
				;;
			others)
				printf '%s\n' "$content" >"$f"
				chmod 0404 "$f"
				want="is accessible by group or others (mode 0404)"
				;;
			fifo)
				mkfifo -m 0600 "$f"
				want="'$f' is a FIFO, not a regular file"
				;;
			device)
				ln -s /dev/zero "$f"
				want="'$f' is a character device, not a regular file"
				;;
			esac
			if [ "$key" = password_file ]; then
				printf '[database]\ndsn = dbname=x\npassword_file = %s\n[sweeper]\nplugin_dir = %s\nrules = used_backup_codes\n' \
					"$(basename "$f")" "$PLUGIN_DIR" >"$T_DIR/c.ini"
			else
				printf '[sweeper]\nplugin_dir = %s\nrules = used_backup_codes\n[webhook]\nurl = http://127.0.0.1:9/\nsecret_file = %s\n' \
					"$PLUGIN_DIR" "$(basename "$f")" >"$T_DIR/c.ini"
			fi
			CFG=$T_DIR/c.ini
			sweep -c "$CFG" --check-config
			assert_exit 78 "$key, $case"
			assert_int_cmp "$ELAPSED_MS" -lt 5000 "$key, $case: ms taken (no hang)"
			assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "$key, $case: one line"
			assert_contains "$ERR" "$CFG:$(grep -n "^$key" "$CFG" | cut -d: -f1): [" "$key, $case: file and line"
			assert_contains "$ERR" "] $key: " "$key, $case: the key"
			assert_contains "$ERR" "$want" "$key, $case: why"
			keep "refused-$key-$case" text
		done
	done
	unset CREDENTIALS_DIRECTORY
	search_channels
}

# ------------------------------------------------------------ item 5

# A password in the dsn or a webhook key in a config file group or others
# may read, and a signed webhook over http:// to another host, are warned
# about (not refused); a 0600 file, https, this host and an unsigned
# webhook are not.
t_exposed_secrets_warned() {
	CFG=$T_DIR/w.ini
	warn_run() {
		chmod "$1" "$CFG"
		sweep -c "$CFG" --list-rules
		assert_exit 0 "warnings do not fail the run ($2)"
		keep "warn-$2" text
	}
	printf '[database]\ndsn = host=h password=%s\n[sweeper]\nplugin_dir = %s\nrules = used_backup_codes\n' \
		"$SENT_PW" "$PLUGIN_DIR" >"$CFG"
	warn_run 0644 dsn-0644
	assert_contains "$ERR" "warn: $CFG:2: [database] dsn: the dsn holds a password, and group or others may read this file (mode 0644); move the password to password_file" \
		"the dsn's password, file mode 0644"
	warn_run 0640 dsn-0640
	assert_contains "$ERR" "[database] dsn: the dsn holds a password" "the dsn's password, file mode 0640"
	warn_run 0600 dsn-0600
	assert_not_contains "$ERR" "warn" "the dsn's password, file mode 0600"
	sed -i 's/ password=.*//' "$CFG"
	warn_run 0644 dsn-no-password
	assert_not_contains "$ERR" "warn" "a dsn without a password"

	printf '[sweeper]\nplugin_dir = %s\nrules = used_backup_codes\n[webhook]\nurl = https://hooks.example.com/x\nsecret = %s\n' \
		"$PLUGIN_DIR" "$SENT_SECRET" >"$CFG"
	warn_run 0604 secret-0604
	assert_contains "$ERR" "warn: $CFG:6: [webhook] secret: group or others may read this file (mode 0604)" \
		"the webhook key, file mode 0604"
	assert_contains "$ERR" "move the key to secret_file" "the fix"
	warn_run 0600 secret-0600
	assert_not_contains "$ERR" "warn" "the webhook key, file mode 0600"

	local url
	for url in http://hooks.example.com/x http://192.0.2.7:8080/x "http://user@hooks.example.com/x"; do
		sed -i "s|^url = .*|url = $url|" "$CFG"
		warn_run 0600 "http-$url"
		assert_contains "$ERR" "warn: $CFG:5: [webhook] url: signed requests go over plain http://" \
			"signed webhook to $url"
		assert_contains "$ERR" "use an https:// address" "the fix"
		assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "signed webhook to $url: one line"
	done
	for url in http://127.0.0.1:9/x http://localhost/x "http://[::1]:80/x" https://hooks.example.com/x; do
		sed -i "s|^url = .*|url = $url|" "$CFG"
		warn_run 0600 "quiet-$url"
		assert_not_contains "$ERR" "warn" "signed webhook to $url"
	done
	# Unsigned: nothing to warn about.
	sed -i -e 's|^url = .*|url = http://hooks.example.com/x|' -e '/^secret = /d' "$CFG"
	warn_run 0644 unsigned
	assert_not_contains "$ERR" "warn" "unsigned webhook over http://"
	# secret_file signs too.
	printf 'secret_file = /nonexistent\n' >>"$CFG"
	warn_run 0644 secret-file-http
	assert_contains "$ERR" "[webhook] url: signed requests go over plain http://" "secret_file signs too"
	search_channels
}

run_tests "$@"
