#!/bin/bash
# Every run reports, and a failing rule fails alone (issue 10, item 1).
#
# A table locked by another session (a psql in the background holding
# ACCESS EXCLUSIVE in an open transaction) fails the rules on it, while
# the rule on the table nothing blocks runs and deletes; the summary of
# such a run, and of every run that stops early (database unreachable,
# plugin error, SIGTERM while connecting or during the preflight), is the
# same in the --json document, the webhook's body, the metrics file and
# the ledger.  A usage error reports nothing.  The receiver is
# tests/tools/httpd.c, a real HTTP server on 127.0.0.1.
. "$(dirname "$0")/../lib/assert.sh"

HTTPD=$SWEEPER_BUILD/tests/tools/httpd
LS=mfa_sweeper

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY

# httpd_on NAME RESPONSE...: start a receiver (tests/tools/httpd.c) whose
# requests go to $T_DIR/NAME; sets PORT.
httpd_on() {
	local name=$1
	shift
	mkdir -p "$T_DIR/$name"
	[ -x "$HTTPD" ] || die "no $HTTPD; run make test-progs"
	"$HTTPD" -p "$T_DIR/$name.port" -d "$T_DIR/$name" -t 60 "$@" \
		2>"$T_DIR/$name.err" &
	T_BG_PIDS+=("$!")
	wait_until 5 '[ -s "$T_DIR/'"$name"'.port" ]' ||
		die "httpd $name did not start: $(cat "$T_DIR/$name.err")"
	PORT=$(cat "$T_DIR/$name.port")
}

# nreq: requests the webhook receiver got.
nreq() {
	find "$T_DIR/hook" -name '*.body' 2>/dev/null | wc -l
}

# body FILTER: jq -r FILTER on the webhook's first request.
body() {
	jq -r "$1" "$T_DIR/hook/1.body" 2>/dev/null
}

metric() {
	awk -v k="$1" 'index($0, k " ") == 1 { print substr($0, length(k) + 2) }' "$M"
}

# cfg_report RULES [LINE...]: cfg_std with the metrics file $M, the
# webhook (a receiver answering 200) and the ledger, initialised.
cfg_report() {
	local rules=$1
	shift
	M=$T_DIR/mfa_sweeper.prom
	httpd_on hook 200
	cfg_std "$rules" "metrics_file = $M" "$@" "" "[webhook]" \
		"url = http://127.0.0.1:$PORT/hook" "backoff = 10ms" "" \
		"[ledger]" "enabled = true"
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger" || die "cannot initialise the ledger"
}

# cfg_database KEY VALUE: add KEY = VALUE to [database] of $CFG.
cfg_database() {
	sed -i "/^lock_timeout = /a $1 = $2" "$CFG"
}

# check_report STATUS: the --json document, the webhook's data, the
# metrics file and the ledger's row all say STATUS, and agree.
check_report() {
	assert_json_doc || return 1
	assert_json .status "$1" "run status"
	assert_eq "$(nreq)" 1 "webhook requests"
	assert_eq "$(jq -S .data "$T_DIR/hook/1.body")" "$(printf '%s' "$OUT" | jq -S .)" \
		"the webhook's data is the document --json printed"
	[ -f "$M" ] || fail "no metrics file"
	assert_eq "$(metric "mfa_sweeper_run_status{status=\"$1\"}")" 1 "metrics: status $1"
	assert_q "SELECT status || '|' || deleted_total || '|' || (finished_at IS NOT NULL)
	          || '|' || (summary->>'run_id') FROM $LS.runs WHERE run_id = '$(j .run_id)'" \
		"$1|$(j .deleted_total)|true|$(j .run_id)" "the ledger's row"
}

# The sweeper's backend waits for a lock another session holds.
waits_for_lock() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
		AND application_name = 'mfa-sweeper' AND wait_event_type = 'Lock'")" = 1 ]
}

# established PORT: 1 when a TCP connection to 127.0.0.1:PORT is open.
established() {
	awk -v p="$(printf ':%04X' "$1")" '$2 ~ p"$" && $4 == "01" { n++ }
		END { print n ? 1 : 0 }' /proc/net/tcp
}

# The sweeper's backend is idle: between statements, out of any batch.
sweeper_idle() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE datname = '$DB'
		AND application_name = 'mfa-sweeper' AND state = 'idle'")" = 1 ]
}

ms_since() {
	echo $((($(date +%s%N) - $1) / 1000000))
}

all_fixtures() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
}

# ------------------------------------------------------------ a rule fails alone

# A migration holds the devices table while the nightly run starts: the
# two rules that touch it fail with the lock in their error; the codes
# rule runs and deletes; the run reports everywhere and exits 1.
t_locked_table_fails_its_rules_only() {
	all_fixtures
	CFG_LOCK_TIMEOUT=1s cfg_report "user_disabled, stale_devices, used_backup_codes"
	snap
	bg_session migration "BEGIN; LOCK TABLE otp_totp_totpdevice IN ACCESS EXCLUSIVE MODE"
	sweep -c "$CFG" --json
	assert_exit 1 "a rule failed"
	assert_int_cmp "$ELAPSED_MS" -lt 15000 "run time in ms (lock_timeout 1s)"
	check_report failed
	local r
	for r in user_disabled stale_devices; do
		assert_eq "$(rule_json $r .status)" failed "$r failed"
		assert_contains "$(rule_json $r .error)" \
			"table 'otp_totp_totpdevice' is locked by another session" "$r's error"
		assert_eq "$(rule_json $r .deleted)" 0 "$r deleted nothing"
	done
	assert_eq "$(rule_json used_backup_codes .status)" ok "the unblocked rule ran"
	assert_eq "$(rule_json used_backup_codes .deleted)" 2 "and deleted"
	assert_json .deleted_total 2 "deleted_total"
	assert_json .error null "the run got to its rules"
	assert_match "$ERR" "error: rule 'stale_devices': failed, 0 rows deleted .*locked by another session" \
		"the blocked rule's result line"
	assert_eq "$(body '.data.rules[1].error')" "$(rule_json stale_devices .error)" \
		"the webhook carries the rule's error"
	assert_eq "$(metric 'mfa_sweeper_rows_deleted{rule="used_backup_codes",table="accounts_backupcode"}')" 2 \
		"metrics: the rows deleted"
	assert_q "SELECT string_agg(rule || ':' || rows_deleted, ',') FROM $LS.deletions" \
		"used_backup_codes:2" "the ledger's deletions"
	assert_q "SELECT summary->'rules'->1->>'status' FROM $LS.runs" failed \
		"the ledger's summary"
	assert_q "SELECT webhook_status FROM $LS.runs" delivered "the ledger records the post"
	bg_end migration
	check_rows '^must-go-u101-' "only the unblocked rule's rows are gone"
	assert_eq "$(advisory_lock_held)" 0 "no run lock left behind"
}

# Every rule blocked: nothing deleted, exit 1, and the run, which never
# took the run lock, is still in the ledger.
t_every_rule_blocked_is_recorded() {
	all_fixtures
	CFG_LOCK_TIMEOUT=1s cfg_report "stale_devices"
	snap
	bg_session migration "BEGIN; LOCK TABLE otp_totp_totpdevice IN ACCESS EXCLUSIVE MODE"
	sweep -c "$CFG" --json
	assert_exit 1 "the rule failed"
	check_report failed
	assert_contains "$(rule_json stale_devices .error)" "is locked by another session" "the rule's error"
	bg_end migration
	check_nothing_deleted
}

# A statement timeout while planning (statement_timeout shorter than
# lock_timeout) says so, instead of blaming a lock it cannot see.
t_statement_timeout_in_preflight_says_so() {
	all_fixtures
	CFG_LOCK_TIMEOUT=20s cfg_std "stale_devices, used_backup_codes"
	cfg_database statement_timeout 1s
	snap
	bg_session migration "BEGIN; LOCK TABLE otp_totp_totpdevice IN ACCESS EXCLUSIVE MODE"
	sweep -c "$CFG" --json
	assert_exit 1 "a rule failed"
	assert_int_cmp "$ELAPSED_MS" -lt 10000 "run time in ms (statement_timeout 1s)"
	assert_contains "$(rule_json stale_devices .error)" \
		"planning the step on 'otp_totp_totpdevice' took longer than statement_timeout" \
		"the error names the statement timeout"
	assert_contains "$(rule_json stale_devices .error)" "SQLSTATE 57014" "and its SQLSTATE"
	assert_not_contains "$ERR" "locked by another session" "no lock is blamed"
	assert_eq "$(rule_json used_backup_codes .status)" ok "the other rule ran"
	bg_end migration
	check_rows '^must-go-u101-'
}

# ------------------------------------------------------------ stops early

t_unreachable_database_prints_json() {
	fresh_db
	mkdir -p "$T_DIR/nosrv"
	cfg_std used_backup_codes
	sed -i "s|^dsn = .*|dsn = host=$T_DIR/nosrv dbname=$DB|" "$CFG"
	sweep -c "$CFG" --json
	assert_exit 69
	assert_json_doc
	assert_json .status failed "status"
	assert_contains "$(j .error)" "cannot connect to the database" "error says why"
	assert_contains "$(j .error)" "$T_DIR/nosrv" "and where"
	assert_eq "$(rule_json used_backup_codes .error)" "not run" "the rule is listed"
}

# A plugin that fails plan(): exit 78, nothing deleted, and the failed
# night is in the --json document, the metrics and the ledger.
t_plugin_error_is_recorded() {
	fresh_db
	fx_used_codes
	local pdir
	pdir=$(plugin_copy_dir)
	cp "$TEST_PLUGIN_DIR/plan_fail.so" "$pdir"/ && chmod 0644 "$pdir/plan_fail.so"
	CFG_PLUGIN_DIR=$pdir cfg_report "used_backup_codes, plan_fail"
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	check_nothing_deleted
	check_report failed
	assert_contains "$(j .error)" "the ticket queue is closed" "error"
	assert_q "SELECT summary->>'error' FROM $LS.runs" "$(j .error)" "the ledger has the error"
}

# A mistyped --rule at a terminal: exit 64, and no alert anywhere.
t_mistyped_rule_reports_nothing() {
	fresh_db
	fx_used_codes
	cfg_report used_backup_codes
	sweep -c "$CFG" --json -r used_backup_codez
	assert_exit 64
	assert_contains "$ERR" "--rule 'used_backup_codez' is not enabled" "the message"
	assert_eq "$OUT" "" "nothing on stdout"
	assert_eq "$(nreq)" 0 "no post"
	[ ! -e "$M" ] || fail "the metrics file was written"
	assert_q "SELECT count(*) FROM $LS.runs" 0 "no ledger row"
}

# ------------------------------------------------------------ signals

# SIGTERM while the server accepts the connection but never answers
# (connect_timeout 30 s): the run ends at once, interrupted, and reports.
t_sigterm_while_connecting() {
	fresh_db
	fx_used_codes
	local port t0
	httpd_on silent hang
	port=$PORT
	httpd_on hook 200
	CFG_LOCK_TIMEOUT=1s cfg_std used_backup_codes "metrics_file = $T_DIR/m.prom" \
		"" "[webhook]" "url = http://127.0.0.1:$PORT/hook"
	sed -i "s|^dsn = .*|dsn = host=127.0.0.1 port=$port dbname=$DB connect_timeout=30|" "$CFG"
	M=$T_DIR/m.prom
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(established '"$port"')" = 1 ]' ||
		die "the sweeper never connected to the silent server"
	sleep 0.2
	t0=$(date +%s%N)
	kill -TERM "$(bg_sweeper_pid)"
	sweep_bg_wait
	assert_exit 75 "exit code"
	assert_int_cmp "$(ms_since "$t0")" -lt 3000 "ms from SIGTERM to exit"
	assert_json .status interrupted "status"
	assert_contains "$(j .error)" "stopped by a signal while connecting" "error"
	assert_eq "$(rule_json used_backup_codes .status)" interrupted "the rule"
	assert_contains "$ERR" "warn: stopped by a signal while connecting to the database" "the log says so"
	assert_eq "$(nreq)" 1 "webhook requests"
	assert_eq "$(body .data.status)" interrupted "the webhook's status"
	assert_eq "$(metric 'mfa_sweeper_run_status{status="interrupted"}')" 1 "metrics"
}

# SIGTERM while the preflight waits for a lock (lock_timeout 30 s): the
# waiting statement is cancelled, nothing is deleted, the run reports as
# interrupted everywhere.
t_sigterm_during_preflight() {
	all_fixtures
	CFG_LOCK_TIMEOUT=30s cfg_report "used_backup_codes, stale_devices"
	snap
	bg_session migration "BEGIN; LOCK TABLE otp_totp_totpdevice IN ACCESS EXCLUSIVE MODE"
	sweep_bg -c "$CFG" --json
	wait_until 10 waits_for_lock || die "the preflight never waited for the lock"
	local t0
	t0=$(date +%s%N)
	kill -TERM "$(bg_sweeper_pid)"
	sweep_bg_wait
	assert_exit 75 "exit code"
	assert_int_cmp "$(ms_since "$t0")" -lt 5000 "ms from SIGTERM to exit (lock_timeout 30 s)"
	check_report interrupted
	assert_contains "$(j .error)" "stopped by a signal before the first batch; nothing was deleted" "error"
	assert_eq "$(rule_json used_backup_codes .status)" interrupted "the rule"
	assert_not_contains "$ERR" "locked by another session" "a stop, not a lock"
	bg_end migration
	check_nothing_deleted
	assert_eq "$(advisory_lock_held)" 0 "no run lock left behind"
}

# ------------------------------------------------------------ messages

# The connection dies while the run pauses between batches: no batch was
# open, and the message says so rather than speak of a COMMIT.
t_connection_lost_between_batches() {
	fresh_db
	fx_many_used_codes 30
	cfg_std used_backup_codes "batch_size = 10" "pause = 5s"
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(rows_left must-go-bulk)" = 20 ] && sweeper_idle' ||
		die "the run never paused after its first batch"
	q "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	   WHERE datname = '$DB' AND application_name = 'mfa-sweeper'" >/dev/null
	sweep_bg_wait
	assert_exit 69
	assert_contains "$(rule_json used_backup_codes .error)" "connection lost between batches; no batch was open" \
		"the error says no batch was open"
	assert_not_contains "$ERR" "COMMIT" "no COMMIT is mentioned"
	assert_json .deleted_total 10 "the first batch counts"
	assert_eq "$(rows_left must-go-bulk)" 20 "rows left"
}

run_tests "$@"
