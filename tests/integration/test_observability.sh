#!/bin/bash
# Observability: log formats (text, the systemd journal's priority
# prefixes, JSON lines), progress (a live line on a terminal, periodic log
# lines elsewhere) and the Prometheus metrics file.
. "$(dirname "$0")/../lib/assert.sh"

# N eligible used codes (must-go-bulk-*) plus one that stays.
codes_db() {
	fresh_db
	fx_many_used_codes "$1"
	sql <<'EOF2'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (301, 'must-stay-u301-unused', false, NULL, now() - interval '400 days');
ANALYZE accounts_backupcode;
EOF2
}

# ------------------------------------------------------------ journal

# stderr is the journal when $JOURNAL_STREAM names its device and inode
# (decimal st_dev, as systemd writes it): each line starts with the
# syslog priority instead of "mfa-sweeper: LEVEL: ".
t_journal_stream_gives_priority_prefixes() {
	codes_db 12
	cfg_std used_backup_codes "batch_size = 5"
	# sweep() truncates this very file for stderr: same device and inode.
	: >"$T_DIR/stderr"
	export JOURNAL_STREAM
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T_DIR/stderr")
	sweep -c "$CFG" -v
	unset JOURNAL_STREAM
	assert_exit 0
	assert_eq "$(printf '%s\n' "$ERR" | grep . | grep -vcE '^<[3467]>')" 0 \
		"every stderr line starts with a syslog priority"
	assert_match "$ERR" "^<6>rule 'used_backup_codes': ok, 12 rows deleted" \
		"the rule's result line is info, <6>"
	assert_match "$ERR" "^<7>rule 'used_backup_codes': accounts_backupcode: batch 1: 5 rows deleted" \
		"a batch line is debug, <7>"
	assert_not_contains "$ERR" "mfa-sweeper: info:" "no level word in journal lines"

	# An error is <3>.
	: >"$T_DIR/stderr"
	export JOURNAL_STREAM
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T_DIR/stderr")
	sweep -c "$CFG" --rule no_such_rule
	unset JOURNAL_STREAM
	assert_exit 64
	assert_match "$ERR" "^<3>--rule 'no_such_rule' is not enabled" "an error is <3>"
}

# A JOURNAL_STREAM that names another file (stderr was redirected by a
# wrapper) or is malformed leaves the normal format.
t_journal_stream_mismatch_keeps_text() {
	codes_db 3
	cfg_std used_backup_codes
	local other
	: >"$T_DIR/other"
	for other in "$(stat -c '%d:%i' "$T_DIR/other")" "garbage" "$(stat -c '%d' "$T_DIR/other"):"; do
		export JOURNAL_STREAM=$other
		sweep -c "$CFG"
		unset JOURNAL_STREAM
		assert_exit 0
		assert_eq "$(printf '%s\n' "$ERR" | grep . | grep -vcE '^mfa-sweeper: (error|warn|info|debug): ')" 0 \
			"JOURNAL_STREAM=$other: every line is 'mfa-sweeper: <level>: <message>'"
		assert_contains "$ERR" "mfa-sweeper: info: rule 'used_backup_codes': ok" \
			"JOURNAL_STREAM=$other: the rule's line"
	done
}

# ------------------------------------------------------------ json logs

# every_line_json FILE: each non-empty line of FILE is one JSON object with
# ts (ISO-8601 UTC, milliseconds), level and msg.
every_line_json() {
	local bad
	bad=$(grep . "$1" | while IFS= read -r line; do
		printf '%s' "$line" | jq -e 'type == "object" and
			(.ts | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z$")) and
			(.level | IN("error", "warn", "info", "debug")) and
			(.msg | type == "string")' >/dev/null 2>&1 || printf '%s\n' "$line"
	done)
	if [ -n "$bad" ]; then
		fail "stderr lines that are not JSON log objects: $(printf '%s' "$bad" | head -c 600)"
		return 1
	fi
}

t_log_format_json() {
	codes_db 12
	fx_user_disabled
	cfg_std "user_disabled, used_backup_codes" "batch_size = 5"
	sweep -c "$CFG" --json --log-format json -v --now
	assert_exit 0
	assert_json_doc
	every_line_json "$T_DIR/stderr"
	local run_id line
	run_id=$(j .run_id)
	line=$(grep '"rule":"used_backup_codes"' "$T_DIR/stderr" | grep '"status"' | head -n1)
	[ -n "$line" ] || fail "no per-rule JSON line for used_backup_codes"
	assert_eq "$(printf '%s' "$line" | jq -r .deleted)" "$(rule_json used_backup_codes .deleted)" \
		"per-rule line: deleted equals the summary's"
	assert_eq "$(printf '%s' "$line" | jq -r .batches)" "$(rule_json used_backup_codes .batches)" \
		"per-rule line: batches equals the summary's"
	assert_eq "$(printf '%s' "$line" | jq -r .run_id)" "$run_id" \
		"per-rule line: run_id equals the summary's"
	assert_eq "$(printf '%s' "$line" | jq -r .status)" ok "per-rule line: status"
	assert_eq "$(printf '%s' "$line" | jq -r .level)" info "per-rule line: level"
	# The per-batch lines carry the table.
	assert_eq "$(jq -r 'select(.table == "accounts_backupcode" and .rule == "used_backup_codes" and .level == "debug") | .deleted' "$T_DIR/stderr" | head -n1)" 5 \
		"a per-batch line has rule, table and its rows"
	# The run's result line.
	assert_eq "$(jq -r 'select(.rule == null and .status != null) | "\(.status) \(.deleted) \(.run_id)"' "$T_DIR/stderr")" \
		"ok $(j .deleted_total) $run_id" "the run's result line"
	# A plugin's own line (--now over a grace) carries its rule.
	assert_eq "$(jq -r 'select(.msg | test("ignoring grace")) | .rule' "$T_DIR/stderr")" user_disabled \
		"a plugin's line carries its rule"
}

# In json mode the journal gets the JSON lines as they are, with no
# priority prefix.
t_log_format_json_to_journal() {
	codes_db 3
	cfg_std used_backup_codes
	: >"$T_DIR/stderr"
	export JOURNAL_STREAM
	JOURNAL_STREAM=$(stat -c '%d:%i' "$T_DIR/stderr")
	sweep -c "$CFG" --log-format json
	unset JOURNAL_STREAM
	assert_exit 0
	every_line_json "$T_DIR/stderr"
}

t_log_format_dry_run_names_would_delete() {
	codes_db 7
	cfg_std used_backup_codes
	sweep -c "$CFG" --log-format json --dry-run
	assert_exit 0
	every_line_json "$T_DIR/stderr"
	assert_eq "$(jq -r 'select(.rule == "used_backup_codes" and .status) | "\(.would_delete) \(.deleted)"' "$T_DIR/stderr")" \
		"7 null" "a dry run's rule line says would_delete"
}

t_log_format_bad_value() {
	codes_db 0
	cfg_std used_backup_codes
	sweep -c "$CFG" --log-format xml
	assert_exit 64 "exit code of --log-format xml"
	assert_contains "$ERR" "--log-format 'xml' is not a log format; write text or json" "the message"
	sweep -c "$CFG" --log-format
	assert_exit 64 "exit code of --log-format without a value"
	sweep -c "$CFG" --log-format text
	assert_exit 0 "--log-format text is the default format"
	assert_contains "$ERR" "mfa-sweeper: info: rule 'used_backup_codes'" "text lines"
}

# ------------------------------------------------------------ progress

# run_on_tty ARGS...: run the sweeper with stderr on a pseudo-terminal
# (script(1)); stdout goes to $T_DIR/tty.stdout, everything the terminal
# showed to $T_DIR/tty.out.  Sets RC, OUT (stdout) and TTY.
run_on_tty() {
	local cmd arg
	# A pty of script(1) with no terminal on stdin has no width: give
	# it one wide enough for the whole line, or TTY_COLS.
	cmd="stty cols ${TTY_COLS:-200} 2>/dev/null; exec '$SWEEPER_BIN'"
	for arg in "$@"; do
		cmd+=" '$arg'"
	done
	cmd+=" >'$T_DIR/tty.stdout'"
	timeout -k 5 "$T_SWEEP_TIMEOUT" script -qfec "$cmd" /dev/null \
		</dev/null >"$T_DIR/tty.out" 2>&1
	RC=$?
	OUT=$(cat "$T_DIR/tty.stdout")
	TTY=$(cat "$T_DIR/tty.out")
	ERR=$TTY
	SWEEP_CMD="(on a terminal) mfa-sweeper $*"
	_check_crash
}

t_progress_on_terminal() {
	codes_db 1500
	fx_slow_deletes
	cfg_std used_backup_codes "batch_size = 100"
	run_on_tty -c "$CFG" --json
	assert_exit 0
	assert_json_doc
	assert_json .deleted_total 1500 "deleted_total"
	# Lines rewritten in place: carriage returns, then the line, what
	# is left first.
	assert_match "$TTY" $'\r(ETA [0-9hms]+, )?~[0-9]+ left \\| used_backup_codes accounts_backupcode: [0-9]+ rows deleted, [0-9]+ rows/s, elapsed [0-9.]+s' \
		"a live progress line with rows and rows/s"
	assert_match "$TTY" '[1-9][0-9]* rows deleted, [1-9][0-9]* rows/s' \
		"the line shows rows deleted as they go"
	assert_match "$TTY" '~[0-9]+ left \|' "the planner's estimate of rows left, marked with ~"
	assert_match "$TTY" $'\rETA [0-9]+[hms]([0-9]+[ms])?, ~[0-9]+ left' "an ETA"
	assert_not_contains "$TTY" "~-" "the estimate is never negative"
	assert_not_contains "$OUT" "rows/s" "progress never goes to stdout"
	# The line is cleared when the step ends: the log line follows a clear.
	assert_contains "$TTY" $'\r\033[Kmfa-sweeper: info: rule \'used_backup_codes\': ok' \
		"the progress line is erased before the next log line"
}

# tty_lines: each state of the progress line the terminal showed, one a
# line (the text between carriage returns, without the erase sequence).
tty_lines() {
	printf '%s' "$TTY" | tr '\r' '\n' | sed -e $'s/\033\\[K//g' |
		grep -aE '(^| )left \| |^used_backup_codes accounts_backupcode: ' | grep -av '^mfa-sweeper: '
}

# On an 80-column terminal, and on one that does not say its width (80 is
# assumed), every state of the line fits in 79 columns and starts with
# the ETA, which is what the operator waits for.
t_progress_fits_the_terminal() {
	local cols longest
	for cols in 80 0; do
		codes_db 1500
		fx_slow_deletes
		cfg_std used_backup_codes "batch_size = 100"
		TTY_COLS=$cols run_on_tty -c "$CFG" --json
		assert_exit 0 "a run on a terminal of $cols columns"
		assert_json .deleted_total 1500 "deleted_total ($cols columns)"
		[ -n "$(tty_lines)" ] || fail "no progress line on a terminal of $cols columns"
		longest=$(tty_lines | awk '{ if (length($0) > m) m = length($0) } END { print m + 0 }')
		assert_int_cmp "$longest" -le 79 "the longest progress line ($cols columns)"
		assert_eq "$(tty_lines | grep -vcE '^(ETA [0-9hms]+, )?~[0-9]+ left \| ')" 0 \
			"progress lines that do not start with the ETA or rows left ($cols columns)"
		assert_match "$(tty_lines)" '^ETA [0-9]+[hms]([0-9]+[ms])?, ~[0-9]+ left \| used_backup_codes accounts_backupco' \
			"the ETA survives $cols columns"
	done
}

# The rows left that progress shows come from an estimate within a sane
# factor of what the run then deletes, on data where the planner's own
# is off by 3x: only a used code has a used_at, and the planner takes
# "used" and "used_at < ..." as independent.  A table of more than 2048
# blocks is counted in a sample of them; a small one exactly.
t_progress_estimate_near_the_real_count() { # slow
	local est real planner left
	fresh_db
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled)
  SELECT i, 'u' || i || '@example.com', true FROM generate_series(1, 2000) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 1 + i % 2000, CASE WHEN i % 10 < 3 AND i % 200 >= 90 THEN 'must-go-' ELSE 'must-stay-' END || i,
         i % 10 < 3,
         CASE WHEN i % 10 < 3 THEN now() - ((i % 200) || ' days')::interval END,
         now() - interval '300 days'
  FROM generate_series(1, 300000) AS i;
ANALYZE accounts_backupcode;
EOF
	assert_int_cmp "$(q "SELECT pg_relation_size('accounts_backupcode') / 8192")" -gt 2048 \
		"blocks of the table (more than a sample reads)"
	snap
	# Off a terminal, progress logs the planner's estimate: no sample
	# is read on runs nobody watches (a timer's).  This run deletes one.
	cfg_std used_backup_codes "max_rows = 1"
	sweep -c "$CFG" --json -v
	assert_exit 0
	assert_json .deleted_total 1 "the run off a terminal"
	assert_contains "$ERR" "walked by blocks" "the run off a terminal planned"
	assert_not_contains "$ERR" "of its blocks" "no sampled count off a terminal"
	cfg_std used_backup_codes
	run_on_tty -c "$CFG" --json -v
	assert_exit 0
	ERR=$(tr '\r' '\n' <<<"$TTY" | sed 's/^\x1b\[K//')
	check_rows '^must-go-'
	real=$(j .deleted_total)
	assert_eq "$real" 49499 "rows deleted"
	est=$(sed -n "s/^mfa-sweeper: debug: rule 'used_backup_codes': accounts_backupcode: about \([0-9]*\) matching rows (.*/\1/p" <<<"$ERR")
	planner=$(sed -n "s/.* matching rows (.*the planner expected \([0-9]*\)).*$/\1/p" <<<"$ERR")
	[ -n "$est" ] || die "no estimate in the -v log: $(head -c 600 <<<"$ERR")"
	note "deleted $real, estimated $est, the planner alone $planner"
	assert_int_cmp "$((est * 4))" -ge "$((real * 3))" "the estimate ($est) against the rows deleted ($real), from below"
	assert_int_cmp "$((est * 3))" -le "$((real * 4))" "the estimate ($est) against the rows deleted ($real), from above"
	# What progress shows is that estimate: deleted + left.
	left=$(sed -n "s/^\(ETA [0-9hms]*, \)\{0,1\}~\([0-9]*\) left | used_backup_codes accounts_backupcode: \([0-9]*\) rows deleted.*/\3 \2/p" <<<"$ERR" | head -n1)
	[ -n "$left" ] || die "no progress line with rows left: $(head -c 600 <<<"$ERR")"
	assert_eq "$(( ${left% *} + ${left#* } ))" "$est" "rows deleted + rows left on the first progress line"

	# A table of at most 2048 blocks is counted whole: exact.
	codes_db 1500
	cfg_std used_backup_codes
	run_on_tty -c "$CFG" --json -v
	assert_exit 0
	assert_contains "$ERR" "accounts_backupcode: about 1500 matching rows (1500 in 100.00% of its blocks;" \
		"a small table's count"
}

t_progress_quiet_and_dry_run_show_nothing() {
	codes_db 600
	fx_slow_deletes
	cfg_std used_backup_codes "batch_size = 100"
	run_on_tty -c "$CFG" --json -q
	assert_exit 0
	assert_json_doc
	assert_not_contains "$TTY" "rows/s" "-q: no progress"
	run_on_tty -c "$CFG" --json --dry-run
	assert_exit 0
	assert_not_contains "$TTY" "rows/s" "dry run: no progress"
}

# Off a terminal: an info line per interval of each running step.  The
# interval is 10 s; MFA_SWEEPER_PROGRESS_INTERVAL shortens it for tests.
t_progress_log_lines_off_terminal() { # slow
	codes_db 1500
	fx_slow_deletes
	cfg_std used_backup_codes "batch_size = 100"
	MFA_SWEEPER_PROGRESS_INTERVAL=1s sweep -c "$CFG" --json
	assert_exit 0
	assert_json_doc
	assert_json .deleted_total 1500 "deleted_total"
	assert_match "$ERR" "^mfa-sweeper: info: rule 'used_backup_codes': accounts_backupcode: [1-9][0-9]* rows deleted, [0-9]+ rows/s, elapsed [0-9.]+s, ~[0-9]+ left" \
		"a progress info line with rows, rows/s and the estimate"
	assert_not_contains "$ERR" $'\r' "no carriage returns off a terminal"
	assert_not_contains "$OUT" "rows/s" "progress never goes to stdout"
	# json logs carry it as fields.
	codes_db 1500
	fx_slow_deletes
	cfg_std used_backup_codes "batch_size = 100"
	MFA_SWEEPER_PROGRESS_INTERVAL=1s sweep -c "$CFG" --log-format json
	assert_exit 0
	every_line_json "$T_DIR/stderr"
	assert_match "$(jq -r 'select(.msg | test("rows/s")) | "\(.rule) \(.table) \(.deleted)"' "$T_DIR/stderr" | head -n1)" \
		'^used_backup_codes accounts_backupcode [1-9][0-9]*$' "a json progress line has rule, table and deleted"
}

# ------------------------------------------------------------ metrics

# prom_check FILE: the file is valid text exposition as far as this tool
# writes it: every line a comment or `name{labels} value`, every metric's
# HELP and TYPE lines before its samples, no name described twice.
prom_check() {
	local out
	out=$(awk '
		/^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { if ($3 in help) { print NR ": HELP twice"; bad = 1 } help[$3] = 1; next }
		/^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (gauge|counter)$/ { if (!($3 in help)) { print NR ": TYPE before HELP"; bad = 1 } type[$3] = 1; next }
		/^#/ { print NR ": bad comment: " $0; bad = 1; next }
		/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9]+(\.[0-9]+)?$/ {
			name = $0; sub(/[{ ].*/, "", name)
			if (!(name in help) || !(name in type)) { print NR ": sample before HELP/TYPE: " name; bad = 1 }
			next
		}
		{ print NR ": not a sample: " $0; bad = 1 }
		END { exit bad }' "$1") || fail "$1 is not valid exposition text: $out"
}

# metric FILE NAME_WITH_LABELS: the value of one sample.
metric() {
	awk -v k="$2" 'index($0, k " ") == 1 { print substr($0, length(k) + 2) }' "$1"
}

t_metrics_file_after_a_run() {
	fresh_db
	fx_user_disabled
	fx_used_codes
	fx_stale_devices
	local dir=$T_DIR/textfile m now rule table rows
	mkdir -p "$dir"
	m=$dir/mfa_sweeper.prom
	cfg_std "user_disabled, stale_devices, used_backup_codes" "metrics_file = $m"
	sweep -c "$CFG" --json
	assert_exit 0
	[ -f "$m" ] || die "no metrics file at $m: $ERR"
	prom_check "$m"
	assert_eq "$(stat -c %a "$m")" 644 "the file's mode"
	assert_eq "$(ls -A "$dir")" mfa_sweeper.prom "no temporary file left behind"
	now=$(date +%s)
	assert_int_cmp "$(metric "$m" mfa_sweeper_last_run_timestamp_seconds | cut -d. -f1)" -ge $((now - 30)) "last run is now"
	assert_int_cmp "$(metric "$m" mfa_sweeper_last_run_timestamp_seconds | cut -d. -f1)" -le "$now" "last run is not in the future"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" \
		"$(metric "$m" mfa_sweeper_last_run_timestamp_seconds)" "an ok run is the last success"
	assert_match "$(metric "$m" mfa_sweeper_run_duration_seconds)" '^[0-9]+\.[0-9]{3}$' "duration"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="ok"}')" 1 "status ok = 1"
	for s in partial failed skipped interrupted; do
		assert_eq "$(metric "$m" "mfa_sweeper_run_status{status=\"$s\"}")" 0 "status $s = 0"
	done
	# Rows per rule and table equal the summary's.
	local n=0
	while IFS=$'\t' read -r rule table rows; do
		n=$((n + 1))
		assert_eq "$(metric "$m" "mfa_sweeper_rows_deleted{rule=\"$rule\",table=\"$table\"}")" "$rows" \
			"rows_deleted of $rule on $table"
	done < <(j '.rules[] | .name as $r | .steps | group_by(.table)[] | [$r, .[0].table, (map(.deleted) | add)] | @tsv')
	assert_int_cmp "$n" -ge 4 "the summary has the steps of three rules"
	assert_eq "$(grep -c '^mfa_sweeper_rows_deleted{' "$m")" "$n" "one rows_deleted sample per rule and table"
	assert_int_cmp "$(metric "$m" 'mfa_sweeper_rows_deleted{rule="used_backup_codes",table="accounts_backupcode"}')" -gt 0 \
		"rows were deleted"
}

# A run that does not succeed keeps the last success time of the file it
# replaces: an alert on "no success for 2 days" keeps working.
t_metrics_last_success_carries_over() {
	codes_db 5
	local m=$T_DIR/mfa_sweeper.prom ok_at ino
	cfg_std used_backup_codes "metrics_file = $m"
	sweep -c "$CFG"
	assert_exit 0
	ok_at=$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)
	assert_match "$ok_at" '^[0-9]+\.[0-9]{3}$' "the first run's success time"
	ino=$(stat -c %i "$m")
	sleep 1.1

	# Skipped: another session holds the run lock.
	bg_session lock "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	sweep -c "$CFG" --json
	bg_end lock
	assert_exit 75
	prom_check "$m"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="skipped"}')" 1 "status skipped = 1"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="ok"}')" 0 "status ok = 0"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" "$ok_at" \
		"skipped run: the last success is carried over"
	assert_int_cmp "$(metric "$m" mfa_sweeper_last_run_timestamp_seconds | cut -d. -f1)" -gt "${ok_at%.*}" \
		"the last run is the skipped one"
	assert_eq "$(grep -c '^# TYPE mfa_sweeper_last_run_timestamp_seconds ' "$m")" 1 "the file was replaced, not appended to"
	assert_ne "$(stat -c %i "$m")" "$ino" "the file was renamed over, not rewritten in place"
	assert_eq "$(ls -A "$T_DIR" | grep -c 'mfa_sweeper.prom.tmp')" 0 "no temporary file left behind"

	# Failed: a row refuses to go.
	sql <<'EOF2'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
SELECT 301, 'boom', true, now() - interval '100 days', now() - interval '200 days';
EOF2
	fx_boom_trigger
	sweep -c "$CFG" --json
	assert_exit 1
	prom_check "$m"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="failed"}')" 1 "status failed = 1"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" "$ok_at" \
		"failed run: the last success is carried over"
}

# No file yet and no success: the last success is 0 ("never").
t_metrics_never_succeeded() {
	codes_db 1
	local m=$T_DIR/mfa_sweeper.prom
	cfg_std used_backup_codes "metrics_file = $m"
	bg_session lock "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	sweep -c "$CFG"
	bg_end lock
	assert_exit 75
	prom_check "$m"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" 0 "never succeeded: 0"
}

# An interrupted run writes its metrics too, with the rows it did delete.
t_metrics_interrupted_run() {
	codes_db 30
	local m=$T_DIR/mfa_sweeper.prom child left
	cfg_std used_backup_codes "batch_size = 1" "pause = 200ms" "metrics_file = $m"
	sweep_bg -c "$CFG" --json
	wait_until 10 '[ "$(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE '"'"'must-go%'"'"'")" -lt 28 ]' ||
		die "the run deleted nothing within 10 s"
	child=$(bg_sweeper_pid)
	[ -n "$child" ] || die "cannot find the sweeper process"
	kill -TERM "$child"
	sweep_bg_wait
	assert_exit 75
	assert_json .status interrupted "status"
	prom_check "$m"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="interrupted"}')" 1 "status interrupted = 1"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="ok"}')" 0 "status ok = 0"
	left=$(q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE 'must-go%'")
	assert_eq "$(metric "$m" 'mfa_sweeper_rows_deleted{rule="used_backup_codes",table="accounts_backupcode"}')" \
		$((30 - left)) "rows_deleted against rows actually gone"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" 0 "never succeeded"
}

# A run that stops before its rules run (here: the database is down) is a
# failed run to monitoring, and must show as one: the nightly alert on
# "failed" must not stay quiet because no rule got to run.
t_metrics_database_unavailable() {
	codes_db 4
	local m=$T_DIR/mfa_sweeper.prom
	cfg_std used_backup_codes "metrics_file = $m"
	sweep -c "$CFG"
	assert_exit 0 "a first run that succeeds"
	local success
	success=$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)
	sed -i "s|^dsn = .*|dsn = host=$T_DIR/no-server dbname=$DB|" "$CFG"
	sweep -c "$CFG"
	assert_exit 69 "exit code with the database down"
	prom_check "$m"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="failed"}')" 1 "status failed = 1"
	assert_eq "$(metric "$m" 'mfa_sweeper_run_status{status="ok"}')" 0 "status ok = 0"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" "$success" \
		"the last success carries over a run that could not connect"
}

t_metrics_unwritable_directory() {
	codes_db 4
	local m=$T_DIR/no-such-dir/mfa_sweeper.prom
	cfg_std used_backup_codes "metrics_file = $m"
	sweep -c "$CFG" --json
	assert_exit 0 "a metrics file that cannot be written does not change the exit code"
	assert_json .deleted_total 4 "the run did its work"
	assert_contains "$ERR" "mfa-sweeper: error: cannot write the metrics file '$m'" "the error names the path"
	assert_contains "$ERR" "No such file or directory" "the error gives the reason"
	# --check-config finds it before a run.
	sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config with a metrics directory that does not exist"
	assert_contains "$ERR" "metrics_file '$m': cannot use the directory '$T_DIR/no-such-dir'" "--check-config names the directory"
	# A directory where the file should be: the rename fails, nothing is left.
	m=$T_DIR/target
	mkdir -p "$m/sub"
	cfg_std used_backup_codes "metrics_file = $m"
	sweep -c "$CFG"
	assert_exit 0 "a directory at the path does not change the exit code"
	assert_contains "$ERR" "cannot write the metrics file '$m': '$m' is a directory, not a regular file" \
		"the error names what is in the way"
	[ -d "$m/sub" ] || fail "the directory was touched"
	assert_eq "$(ls -A "$T_DIR" | grep -c 'target.tmp')" 0 "no temporary file left behind after a failure"
}

# expect_metrics_refused M WHAT: the last run did its work and exited 0,
# quickly, with one error naming the metrics file M and WHAT is there.
expect_metrics_refused() {
	assert_exit 0 "a bad metrics file does not change the exit code"
	assert_json .status ok "the run's status"
	assert_json .deleted_total 4 "the run did its work"
	assert_int_cmp "$ELAPSED_MS" -lt 5000 "ms the run took"
	assert_eq "$(printf '%s\n' "$ERR" | grep -c 'error:')" 1 "error lines"
	assert_contains "$ERR" "error: cannot write the metrics file '$1': '$1' $2" "the error names the file and what it is"
	assert_contains "$ERR" "it is left as it is: remove it, or set metrics_file to a file of its own" "the fix"
}

# A FIFO at the metrics path once hung the run before the webhook post:
# it is opened without blocking, refused, and left alone.  The timeout
# makes a hang a failure rather than a stuck test.
t_metrics_fifo_does_not_hang() {
	codes_db 4
	local m=$T_DIR/mfa_sweeper.prom
	mkfifo "$m"
	cfg_std used_backup_codes "metrics_file = $m"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json
	expect_metrics_refused "$m" "is a FIFO, not a regular file"
	[ -p "$m" ] || fail "the FIFO was replaced"
	# --check-config says so before a run.
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config with a FIFO at the metrics path"
	assert_contains "$ERR" "metrics_file '$m': '$m' is a FIFO, not a regular file; remove it" "--check-config names it"
}

# A link to /dev/zero once kept the run reading forever: links are not
# followed, devices are not read.
t_metrics_link_or_device_refused() {
	codes_db 4
	local m=$T_DIR/mfa_sweeper.prom
	ln -s /dev/zero "$m"
	cfg_std used_backup_codes "metrics_file = $m"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json
	expect_metrics_refused "$m" "is a symbolic link, which is not followed here"
	assert_eq "$(readlink "$m")" /dev/zero "the link is left as it is"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --check-config
	assert_exit 78 "--check-config with a link at the metrics path"
	assert_contains "$ERR" "metrics_file '$m': '$m' is a symbolic link" "--check-config names it"

	# A link to a regular file is no better: it is not this file.
	rm "$m"
	printf 'mfa_sweeper_last_success_timestamp_seconds 12.000\n' >"$T_DIR/real.prom"
	ln -s "$T_DIR/real.prom" "$m"
	codes_db 4
	cfg_std used_backup_codes "metrics_file = $m"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json
	expect_metrics_refused "$m" "is a symbolic link"
	assert_eq "$(cat "$T_DIR/real.prom")" "mfa_sweeper_last_success_timestamp_seconds 12.000" "the link's target is untouched"
}

# What is read back is capped: a huge file there is not a metrics file.
t_metrics_huge_file_refused() {
	codes_db 4
	local m=$T_DIR/mfa_sweeper.prom
	head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' '#' >"$m"
	cfg_std used_backup_codes "metrics_file = $m"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json
	expect_metrics_refused "$m" "is larger than 1048576 bytes"
	assert_eq "$(stat -c %s "$m")" $((1024 * 1024 + 1)) "the file is left as it is"
	# 1 MiB is still read, and its last success carried over.
	{
		printf 'mfa_sweeper_last_success_timestamp_seconds 1234.500\n'
		head -c $((1024 * 1024 - 52)) /dev/zero | tr '\0' '#'
	} >"$m"
	assert_eq "$(stat -c %s "$m")" $((1024 * 1024)) "the file's size"
	bg_session lock "SELECT pg_advisory_lock(hashtextextended('mfa-sweeper', 0))"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG"
	bg_end lock
	assert_exit 75
	prom_check "$m"
	assert_eq "$(metric "$m" mfa_sweeper_last_success_timestamp_seconds)" 1234.500 \
		"the last success read from a file of 1 MiB"
}

t_metrics_dry_run_leaves_the_file() {
	codes_db 4
	local m=$T_DIR/mfa_sweeper.prom
	cfg_std used_backup_codes "metrics_file = $m"
	sweep -c "$CFG" --dry-run
	assert_exit 0
	[ ! -e "$m" ] || fail "a dry run wrote the metrics file"
	sweep -c "$CFG" --check-config
	assert_exit 0
	[ ! -e "$m" ] || fail "--check-config wrote the metrics file"
}

t_metrics_file_config_errors() {
	codes_db 0
	local v
	for v in "relative/m.prom" "$T_DIR/dir/" "~/m.prom" "'$T_DIR/m.prom'"; do
		cfg_std used_backup_codes "metrics_file = $v"
		sweep -c "$CFG"
		assert_exit 78 "metrics_file = $v"
		assert_match "$ERR" "$CFG:$(line_of "metrics_file ="): \\[sweeper\\] metrics_file: " \
			"metrics_file = $v: the error names file, line, section and key"
	done
}

run_tests "$@"
