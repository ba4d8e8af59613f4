#!/bin/bash
# The run summary webhook ([webhook], doc/monitoring.md "Webhook"): the Standard Webhooks
# json message and its signature, the slack format, secret and
# secret_file, retries, timeouts and max_time, `required`, and that every
# kind of run posts (skipped, failed early, interrupted, dry).  The
# receiver is tests/tools/httpd.c, a real HTTP server on 127.0.0.1 that
# records each request and answers as the test scripts it.
. "$(dirname "$0")/../lib/assert.sh"

HTTPD=$SWEEPER_BUILD/tests/tools/httpd

# The receiver is on 127.0.0.1: a proxy from the environment must not get
# in between.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
unset CREDENTIALS_DIRECTORY

# httpd_start [-r] RESPONSE...: start the receiver (see tests/tools/httpd.c
# for RESPONSE); sets HOOK_URL and REQ, the directory of recorded requests.
httpd_start() {
	REQ=$T_DIR/req
	mkdir -p "$REQ"
	rm -f "$T_DIR/port"
	[ -x "$HTTPD" ] || die "no $HTTPD; run make test-progs"
	"$HTTPD" -p "$T_DIR/port" -d "$REQ" -t 60 "$@" 2>"$T_DIR/httpd.err" &
	T_BG_PIDS+=("$!")
	wait_until 5 '[ -s "$T_DIR/port" ]' || die "httpd did not start: $(cat "$T_DIR/httpd.err")"
	HOOK_URL="http://127.0.0.1:$(cat "$T_DIR/port")/hook"
}

# nreq: the number of requests the receiver got.
nreq() {
	find "$REQ" -name '*.body' | wc -l
}

# hdr N NAME: the value of header NAME (any case) of request N.
hdr() {
	grep -i "^$2:" "$REQ/$1.headers" | head -n1 | cut -d: -f2- | sed 's/^ //'
}

# body N FILTER: jq -r FILTER on the body of request N.
body() {
	jq -r "$2" "$REQ/$1.body" 2>/dev/null
}

# N eligible used codes (must-go-bulk-*) plus one that stays.
codes_db() {
	fresh_db
	fx_many_used_codes "$1"
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (301, 'must-stay-u301-unused', false, NULL, now() - interval '400 days');
EOF
}

# cfg_hook [LINE...]: a used_backup_codes config posting to $HOOK_URL with
# small backoffs, then LINEs in [webhook].
cfg_hook() {
	cfg_std used_backup_codes "" "[webhook]" "url = $HOOK_URL" \
		"backoff = 10ms" "$@"
}

# error_lines: the number of error lines in stderr of the last run.
error_lines() {
	printf '%s\n' "$ERR" | grep -c 'mfa-sweeper: error:'
}

# verify_signature N KEY_B64: recompute the signature of request N as a
# receiver does (HMAC-SHA256 over "id.timestamp.body" with the decoded
# key, openssl) and compare it with the webhook-signature header.
verify_signature() {
	local n=$1 key=$2 id ts sig hexkey want
	id=$(hdr "$n" webhook-id)
	ts=$(hdr "$n" webhook-timestamp)
	sig=$(hdr "$n" webhook-signature)
	hexkey=$(printf '%s' "$key" | base64 -d | od -An -v -tx1 | tr -d ' \n')
	want="v1,$({ printf '%s.%s.' "$id" "$ts"; cat "$REQ/$n.body"; } |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$hexkey" -binary | base64 -w0)"
	[ -n "$sig" ] || { fail "request $n has no webhook-signature header"; return 1; }
	assert_eq "$sig" "$want" "webhook-signature of request $n recomputed with openssl"
}

new_key() {
	head -c 32 /dev/urandom | base64 -w0
}

# ------------------------------------------------------------ json format

t_json_success() {
	codes_db 5
	httpd_start 200
	cfg_hook
	local t0
	t0=$(date +%s)
	sweep -c "$CFG" --json
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests"
	assert_eq "$(cat "$REQ/1.line")" "POST /hook HTTP/1.1" "request line"
	assert_eq "$(hdr 1 content-type)" "application/json" "content-type"
	assert_eq "$(hdr 1 webhook-id)" "$(j .run_id)" "webhook-id is the run id"
	assert_match "$(hdr 1 webhook-timestamp)" '^[0-9]+$' "webhook-timestamp is unix seconds"
	assert_int_cmp "$(hdr 1 webhook-timestamp)" -ge "$t0" "webhook-timestamp not before the run"
	assert_int_cmp "$(hdr 1 webhook-timestamp)" -le "$(date +%s)" "webhook-timestamp not after the run"
	assert_eq "$(hdr 1 webhook-signature)" "" "no signature without a secret"
	assert_match "$(hdr 1 user-agent)" '^mfa-sweeper/[0-9]' "user-agent"
	assert_eq "$(body 1 .type)" sweep.completed "type"
	assert_match "$(body 1 .timestamp)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "timestamp is ISO-8601 UTC"
	assert_eq "$(body 1 .timestamp)" "$(j .finished_at)" "timestamp is the run's finished_at"
	assert_eq "$(body 1 'keys_unsorted | join(",")')" "type,timestamp,data" "top-level keys"
	assert_eq "$(jq -S .data "$REQ/1.body")" "$(printf '%s' "$OUT" | jq -S .)" \
		"data is the document --json printed"
	assert_eq "$(body 1 .data.deleted_total)" 5 "data.deleted_total"
	assert_eq "$(body 1 .data.error)" null "data.error of a run that got going"
	assert_contains "$ERR" "webhook: run summary posted to 127.0.0.1" "the log says it was posted"
	assert_eq "$(error_lines)" 0 "error lines"
}

t_dry_run_posts() {
	codes_db 4
	httpd_start 200
	cfg_hook
	sweep -c "$CFG" -n
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests"
	assert_eq "$(body 1 .data.dry_run)" true "data.dry_run"
	assert_eq "$(body 1 .data.would_delete_total)" 4 "data.would_delete_total"
	assert_eq "$(rows_left must-go)" 4 "a dry run deletes nothing"
}

t_no_post_for_check_config_list_rules_explain() {
	codes_db 2
	httpd_start 200
	cfg_hook
	sweep -c "$CFG" --check-config
	assert_exit 0 "--check-config"
	sweep -c "$CFG" --list-rules
	assert_exit 0 "--list-rules"
	sweep -c "$CFG" --explain
	assert_exit 0 "--explain"
	sweep -c "$CFG" -V
	assert_exit 0 "-V"
	assert_eq "$(nreq)" 0 "requests"
	assert_not_contains "$ERR" "does not post" "no stale warning about webhooks"
}

# ------------------------------------------------------------ retries

t_retry_500_then_200() {
	codes_db 3
	httpd_start "500|body=busy" 200
	cfg_hook
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 2 "requests"
	assert_eq "$(hdr 2 webhook-id)" "$(hdr 1 webhook-id)" "a retry keeps the webhook-id"
	assert_eq "$(cmp -s "$REQ/1.body" "$REQ/2.body" && echo same)" same "a retry sends the same body"
	assert_contains "$ERR" "attempt 1 failed: HTTP 500, answer: 'busy'; retrying" "the retry is logged"
	assert_eq "$(error_lines)" 0 "error lines"
}

t_retry_after_429() {
	codes_db 3
	httpd_start "429|Retry-After: 1|body=slow down" 200
	cfg_hook
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 2 "requests"
	local gap
	gap=$(($(cat "$REQ/2.ms") - $(cat "$REQ/1.ms")))
	# backoff alone would wait at most 10 ms.
	assert_int_cmp "$gap" -ge 900 "ms between the attempts (Retry-After: 1)"
	assert_contains "$ERR" "retrying in 1.000s" "the wait is logged"
}

# A Retry-After far beyond any wait the sweeper takes is capped, and the
# deadline arithmetic does not overflow into a wait: with max_time = 2s
# there is no time for the capped wait, so the run ends at once.
t_retry_after_huge_is_capped() {
	codes_db 3
	httpd_start "503|Retry-After: 99999999999999" 200
	cfg_hook "max_time = 2s" "retries = 5"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_json .deleted_total 3 "the run did its work"
	assert_eq "$(nreq)" 1 "requests: no time within max_time for the capped wait"
	assert_contains "$ERR" "no time left for another within max_time" "why there is no retry"
	assert_int_cmp "$ELAPSED_MS" -lt 2000 "ms the run took"
}

# The longest durations config takes do not overflow the deadline of the
# post: it goes out, and a retry comes after the server's Retry-After.
t_longest_durations_post() {
	codes_db 3
	httpd_start "429|Retry-After: 1" 200
	cfg_hook "timeout = 36500d" "max_time = 36500d" "retries = 1"
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 2 "requests"
	assert_contains "$ERR" "retrying in 1.000s" "the wait is the server's"
	assert_contains "$ERR" "run summary posted" "the post went out"
	assert_eq "$(error_lines)" 0 "error lines"
}

# The post goes out before the metrics file is written, so nothing at the
# metrics path can delay or lose it; a FIFO there once hung the run
# before the post.
t_posted_before_metrics() {
	codes_db 3
	local m=$T_DIR/mfa_sweeper.prom posted written
	# The receiver answers 300 ms after the request arrives: a file
	# written after the answer is at least that much younger.
	httpd_start "200|delay=300"
	cfg_std used_backup_codes "metrics_file = $m" "[webhook]" "url = $HOOK_URL"
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests"
	[ -f "$m" ] || die "no metrics file: $ERR"
	posted=$(cat "$REQ/1.ms")
	written=$(stat -c %.3Y "$m" | tr -d .)
	assert_int_cmp $((written - posted)) -ge 250 \
		"ms from the post's arrival to the metrics file's write"

	rm "$m"
	mkfifo "$m"
	httpd_start 200
	cfg_std used_backup_codes "metrics_file = $m" "[webhook]" "url = $HOOK_URL"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 1 "the post with a FIFO at the metrics path"
	assert_eq "$(body 1 .data.status)" ok "the posted status"
	assert_contains "$ERR" "cannot write the metrics file '$m': '$m' is a FIFO" "the metrics error"
}

t_never_answers() {
	codes_db 3
	httpd_start hang
	cfg_hook "timeout = 300ms" "retries = 2"
	sweep -c "$CFG" --json
	assert_exit 0 "a failed post does not change the exit code"
	assert_json .status ok "status"
	assert_eq "$(rows_left must-go)" 0 "the run did its work"
	assert_eq "$(nreq)" 3 "requests (1 + retries)"
	assert_eq "$(error_lines)" 1 "error lines"
	assert_contains "$ERR" "error: webhook: cannot post the run summary to 127.0.0.1 after 3 attempts" "error line"
	assert_icontains "$ERR" "timed out" "error line names the timeout"
}

t_max_time_bounds_attempts() {
	codes_db 3
	httpd_start hang
	cfg_hook "timeout = 400ms" "retries = 20" "max_time = 1s"
	sweep -c "$CFG"
	assert_exit 0
	assert_int_cmp "$(nreq)" -le 3 "requests within max_time = 1s of 400 ms attempts"
	assert_int_cmp "$(nreq)" -ge 2 "requests"
	assert_eq "$(error_lines)" 1 "error lines"
}

t_connection_refused() {
	codes_db 3
	httpd_start -r
	cfg_hook "retries = 2"
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(error_lines)" 1 "error lines"
	assert_contains "$ERR" "after 3 attempts" "retried, then failed"
	assert_contains "$ERR" "(curl error 7)" "error names the connection failure"
	assert_eq "$(grep -c 'retrying in' <<<"$ERR")" 2 "retries logged"
}

# The audit ledger's row of a run says whether its summary got out, and
# why not: an auditor reading the ledger sees the failed post too.
t_ledger_records_webhook_outcome() {
	codes_db 3
	httpd_start '200' '400|body=no such hook'
	cfg_hook "[ledger]" "enabled = true"
	sweep -c "$CFG" --init-ledger
	assert_exit 0 "--init-ledger"
	sweep -c "$CFG" --json
	assert_exit 0
	local first
	first=$(j .run_id)
	assert_q "SELECT webhook_status || '/' || coalesce(webhook_error, 'none') FROM mfa_sweeper.runs WHERE run_id = '$first'" \
		"delivered/none" "ledger: the delivered post"
	sweep -c "$CFG" --json
	assert_exit 0
	assert_q "SELECT webhook_status FROM mfa_sweeper.runs WHERE run_id = '$(j .run_id)'" \
		failed "ledger: the failed post"
	assert_match "$(q "SELECT webhook_error FROM mfa_sweeper.runs WHERE run_id = '$(j .run_id)'")" \
		"HTTP 400" "ledger: the failed post's error names the status"
}

t_400_not_retried() {
	codes_db 3
	httpd_start '400|body=bad\nrequest\x01 here'
	cfg_hook
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests"
	assert_eq "$(error_lines)" 1 "error lines"
	assert_contains "$ERR" "after 1 attempt: HTTP 400, answer: 'bad request? here'" \
		"status and sanitised excerpt"
}

t_answer_excerpt_is_bounded() {
	codes_db 1
	local long
	long=$(printf 'x%.0s' $(seq 500))
	httpd_start "404|body=$long"
	cfg_hook
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests"
	assert_contains "$ERR" "HTTP 404, answer: '$(printf 'x%.0s' $(seq 200))...'" "200-byte excerpt"
	assert_not_contains "$ERR" "$(printf 'x%.0s' $(seq 201))" "no more than 200 bytes"
}

t_redirect_not_followed() {
	codes_db 1
	httpd_start "302|Location: http://127.0.0.1:1/elsewhere" 200
	cfg_hook
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests: the redirect is neither followed nor retried"
	assert_contains "$ERR" "HTTP 302" "error line"
}

t_required_turns_failure_into_exit_1() {
	codes_db 3
	httpd_start 400 200
	cfg_hook "required = true"
	sweep -c "$CFG"
	assert_exit 1 "required = true and the post failed"
	assert_eq "$(rows_left must-go)" 0 "the run did its work"
	sweep -c "$CFG"
	assert_exit 0 "required = true and the post worked"
	assert_eq "$(nreq)" 2 "requests"
}

# ------------------------------------------------------------ signing

t_signature_verified() {
	codes_db 3
	httpd_start "500" 200
	local key
	key=$(new_key)
	cfg_hook "secret = whsec_$key"
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 2 "requests"
	verify_signature 1 "$key"
	verify_signature 2 "$key"
	assert_not_contains "$ERR" "$key" "the secret is never logged"
	# A receiver with another key rejects it: the check can fail.
	local other sig
	other=$(new_key)
	sig=$(hdr 1 webhook-signature)
	assert_ne "$sig" "v1,$({ printf '%s.%s.' "$(hdr 1 webhook-id)" "$(hdr 1 webhook-timestamp)"; cat "$REQ/1.body"; } |
		openssl dgst -sha256 -mac HMAC -macopt "hexkey:$(printf '%s' "$other" | base64 -d | od -An -v -tx1 | tr -d ' \n')" -binary | base64 -w0)" \
		"signature with another key"
}

t_secret_file_good() {
	codes_db 3
	httpd_start 200
	local key
	key=$(new_key)
	(umask 077 && printf 'whsec_%s\n' "$key" >"$T_DIR/webhook.key")
	# Relative: to the config file's directory.
	cfg_hook "secret_file = webhook.key"
	sweep -c "$CFG"
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests"
	verify_signature 1 "$key"
}

t_secret_file_in_credentials_directory() {
	codes_db 3
	httpd_start 200
	local key
	key=$(new_key)
	mkdir -p "$T_DIR/creds"
	(umask 077 && printf 'whsec_%s\n' "$key" >"$T_DIR/creds/hook.key")
	cfg_hook "secret_file = hook.key"
	export CREDENTIALS_DIRECTORY=$T_DIR/creds
	sweep -c "$CFG"
	unset CREDENTIALS_DIRECTORY
	assert_exit 0
	assert_eq "$(nreq)" 1 "requests"
	verify_signature 1 "$key"
	# Without it, hook.key is looked for next to the config, and missing.
	sweep -c "$CFG"
	assert_exit 78 "without CREDENTIALS_DIRECTORY"
	assert_contains "$ERR" "'$T_DIR/hook.key'" "the path tried"
}

t_secret_file_mode_0644_refused() {
	codes_db 3
	httpd_start 200
	local key
	key=$(new_key)
	printf 'whsec_%s\n' "$key" >"$T_DIR/webhook.key"
	chmod 0644 "$T_DIR/webhook.key"
	cfg_hook "secret_file = webhook.key"
	snap
	sweep -c "$CFG" --json
	assert_exit 78
	check_nothing_deleted
	assert_eq "$(nreq)" 0 "requests"
	assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "one line"
	assert_contains "$ERR" "$CFG:$(line_of "secret_file ="): [webhook] secret_file:" "file, line, section, key"
	assert_contains "$ERR" "chmod 600 '$T_DIR/webhook.key'" "the fix"
	assert_not_contains "$ERR" "$key" "the secret is not shown"
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config finds it too"
	chmod 0600 "$T_DIR/webhook.key"
	sweep -c "$CFG"
	assert_exit 0 "after chmod 600"
}

t_secret_file_missing_or_empty_refused() {
	codes_db 3
	httpd_start 200
	cfg_hook "secret_file = $T_DIR/nope.key"
	snap
	sweep -c "$CFG"
	assert_exit 78 "missing file"
	assert_contains "$ERR" "cannot open the secret file '$T_DIR/nope.key': No such file" "missing file"
	: >"$T_DIR/empty.key"
	chmod 0600 "$T_DIR/empty.key"
	cfg_hook "secret_file = $T_DIR/empty.key"
	sweep -c "$CFG"
	assert_exit 78 "empty file"
	assert_contains "$ERR" "the secret file '$T_DIR/empty.key' is empty" "empty file"
	(umask 077 && echo 'not-a-secret' >"$T_DIR/bad.key")
	cfg_hook "secret_file = $T_DIR/bad.key"
	sweep -c "$CFG"
	assert_exit 78 "a file without whsec_"
	assert_contains "$ERR" "does not start with \"whsec_\"" "bad content"
	assert_not_contains "$ERR" "not-a-secret" "the content is not shown"
	check_nothing_deleted
	assert_eq "$(nreq)" 0 "requests"
}

t_bad_whsec_secret_refused() {
	codes_db 3
	httpd_start 200
	snap
	cfg_hook "secret = TOPSECRETTOPSECRETTOPSECRET"
	sweep -c "$CFG"
	assert_exit 78 "no whsec_ prefix"
	assert_contains "$ERR" "$CFG:$(line_of 'secret ='): [webhook] secret:" "file, line, section, key"
	assert_contains "$ERR" "does not start with \"whsec_\"" "the problem"
	assert_contains "$ERR" "openssl rand -base64 32" "the fix"
	assert_not_contains "$ERR" "TOPSECRET" "the secret is not shown"
	cfg_hook "secret = whsec_TOPSECRET!TOPSECRETTOPSECRET"
	sweep -c "$CFG"
	assert_exit 78 "bad base64"
	assert_contains "$ERR" "is not base64" "the problem"
	assert_not_contains "$ERR" "TOPSECRET" "the secret is not shown"
	check_nothing_deleted
	assert_eq "$(nreq)" 0 "requests"
}

# ------------------------------------------------------------ slack

t_slack_format() {
	codes_db 5
	httpd_start 200 200
	cfg_hook "format = slack"
	sweep -c "$CFG" --json
	assert_exit 0
	local host
	host=$(j .host)
	assert_eq "$(body 1 '.text')" "mfa-sweeper on $host: ok, 5 rows deleted in $(body 1 '.text' | grep -oE '[0-9]+\.[0-9]{2}s$')" "text"
	assert_match "$(body 1 '.text')" ' in [0-9]+\.[0-9]{2}s$' "text ends with the duration"
	assert_eq "$(body 1 '.blocks | length')" 3 "blocks"
	assert_eq "$(body 1 '.blocks[0].type')" section "first block"
	assert_contains "$(body 1 '.blocks[0].text.text')" "*ok*" "header block has the status"
	assert_eq "$(body 1 '.blocks[1].text.text')" "• \`used_backup_codes\`: ok, 5 deleted" "rules block"
	assert_contains "$(body 1 '.blocks[2].elements[0].text')" "$(j .run_id)" "context block has the run id"
	sweep -c "$CFG" -n
	assert_exit 0
	assert_contains "$(body 2 '.text')" "0 rows would be deleted (dry run)" "dry-run text"
	assert_eq "$(body 2 '.blocks[1].text.text')" "• \`used_backup_codes\`: ok, 0 would delete" "dry-run rules block"
}

# ------------------------------------------------------------ every run posts

t_skipped_run_posts_skipped() {
	codes_db 3
	httpd_start 200
	cfg_hook "required = true"
	bg_session holder "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	sweep -c "$CFG"
	assert_exit 75 "the exit code of a skipped run stays"
	assert_eq "$(nreq)" 1 "requests"
	assert_eq "$(body 1 .data.status)" skipped "data.status"
	assert_eq "$(body 1 '.data.rules[0].status')" skipped "rule status"
}

t_database_unavailable_posts_failed() {
	fresh_db
	httpd_start 200
	cfg_hook
	sed -i "s/^dsn = .*/dsn = dbname=no_such_db_$$/" "$CFG"
	sweep -c "$CFG"
	assert_exit 69
	assert_eq "$(nreq)" 1 "requests"
	assert_eq "$(body 1 .data.status)" failed "data.status"
	assert_contains "$(body 1 .data.error)" "no_such_db_$$" "data.error says why"
	assert_eq "$(body 1 '.data.rules[0].name')" used_backup_codes "the rule is listed"
	assert_eq "$(body 1 '.data.rules[0].status')" failed "rule status"
	assert_eq "$(body 1 '.data.rules[0].error')" "not run" "rule error"
	assert_eq "$(body 1 '.data | has("run_id") and has("started_at") and has("deleted_total")')" true "the usual keys"
}

t_plugin_error_posts_failed() {
	fresh_db
	fx_used_codes
	local pdir
	pdir=$(plugin_copy_dir)
	cp "$TEST_PLUGIN_DIR/plan_fail.so" "$pdir"/ && chmod 0644 "$pdir/plan_fail.so"
	httpd_start 200
	CFG_PLUGIN_DIR=$pdir cfg_std "used_backup_codes, plan_fail" "" "[webhook]" "url = $HOOK_URL"
	snap
	sweep -c "$CFG"
	assert_exit 78
	check_nothing_deleted
	assert_eq "$(nreq)" 1 "requests"
	assert_eq "$(body 1 .data.status)" failed "data.status"
	assert_contains "$(body 1 .data.error)" "the ticket queue is closed" "data.error"
	assert_eq "$(body 1 '[.data.rules[].name] | join(",")')" "used_backup_codes,plan_fail" "rules"
}

t_interrupted_run_posts_interrupted() {
	codes_db 30
	httpd_start 200
	cfg_std used_backup_codes "batch_size = 1" "pause = 200ms" "[webhook]" "url = $HOOK_URL"
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(rows_left must-go)" -lt 28 ]' ||
		die "the run deleted nothing within 10 s"
	local child
	child=$(bg_sweeper_pid)
	[ -n "$child" ] || die "cannot find the sweeper process"
	kill -TERM "$child"
	sweep_bg_wait
	assert_exit 75 "exit code after SIGTERM"
	assert_eq "$(nreq)" 1 "requests"
	assert_eq "$(body 1 .data.status)" interrupted "data.status"
	assert_eq "$(jq -S .data "$REQ/1.body")" "$(printf '%s' "$OUT" | jq -S .)" \
		"data is the document --json printed"
}

run_tests "$@"
