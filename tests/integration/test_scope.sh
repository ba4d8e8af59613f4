#!/bin/bash
# Scoped runs (doc/design.md "Rule semantics"): --user-id, --user-email, --users-file
# FILE and --users-file - restrict every rule to the named users; each rule
# keeps its own predicate; unknown users are reported, not errors.
#
# All three rules run on all three fixtures, so every other user has rows
# some rule would delete in an unscoped run (users 3 and 4 for
# user_disabled, 101 for used_backup_codes, 201 for stale_devices): a
# scoped run must leave them alone.
. "$(dirname "$0")/../lib/assert.sh"

scope_db() {
	fresh_db
	fx_user_disabled
	fx_stale_devices
	fx_used_codes
	cfg_std "user_disabled, stale_devices, used_backup_codes"
}

t_scope_user_id() {
	scope_db
	sweep_check '^(must-go|conf)-u1-' -u 1
	assert_jq '.unknown_users == []' "unknown_users is an empty array"
}

t_scope_user_id_long_option() {
	scope_db
	sweep_check '^(must-go|conf)-u(1|4)-' --user-id 1 --user-id 4
}

t_scope_user_email() {
	scope_db
	sweep_check '^(must-go|conf)-u3-' -e u3@example.com
}

t_scope_user_email_long_option() {
	scope_db
	sweep_check '^(must-go|conf)-u(3|4)-' --user-email u3@example.com --user-email u4@example.com
}

t_scope_other_rules_apply_own_predicate() {
	scope_db
	# Users 101 and 201 are enrolled: user_disabled skips them, but
	# used_backup_codes and stale_devices still delete their eligible
	# rows, and only those.
	sweep_check '^must-go-u(101|201)-' -u 101 -e u201@example.com
	assert_jq '[.rules[] | select(.name == "user_disabled") | .skipped_users[].user] | sort == ["101", "201"]' \
		"user_disabled reports 101 and 201 as skipped"
}

t_scope_users_file() {
	scope_db
	cat >"$T_DIR/users.txt" <<'EOF'
# users to clean after the bulk disable of 2026-11-24

1
u4@example.com
# an id and an email that match nobody
424242
nobody@example.com

EOF
	sweep_check '^(must-go|conf)-u(1|4)-' --users-file "$T_DIR/users.txt"
	assert_jq '(.unknown_users | sort) == ["424242", "nobody@example.com"]' \
		"unknown_users lists exactly the two unknown entries"
}

# A users file annotated as operators annotate: a comment after a blank
# and '#' on any line; a '#' inside a word is part of it (an email's local
# part may hold one).
t_scope_users_file_trailing_comments() {
	scope_db
	cat >"$T_DIR/users.txt" <<'EOF'
1	# ticket 4711, disabled by mistake
  u4@example.com   # asked by mail
 # a whole-line comment, indented
a#b@example.com # an address with a '#', matching nobody
424242#
EOF
	snap
	sweep -c "$CFG" --json --users-file "$T_DIR/users.txt"
	expect_users_refused "$T_DIR/users.txt:5: " \
		"'424242#' is neither a user id ('accounts_user'.'id' is bigint) nor an email address (no '@'); write one id or email per line"
	sed -i '$d' "$T_DIR/users.txt"
	sweep_check '^(must-go|conf)-u(1|4)-' --users-file "$T_DIR/users.txt"
	assert_jq '.unknown_users == ["a#b@example.com"]' "the address with a '#' is looked up whole"
}

# A line that is neither an id nor an email is a usage error (exit 64)
# naming the file and line, before anything is deleted; never an unknown
# user in the summary.
t_scope_users_file_neither_id_nor_email() {
	scope_db
	local f=$T_DIR/users.txt
	printf '1\n# the next is a name, not a user\nAlice\n' >"$f"
	snap
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:3: 'Alice' is neither a user id ('accounts_user'.'id' is bigint) nor an email address (no '@'); write one id or email per line"
	assert_eq "$OUT" "" "no summary"
	# The same on stdin, named so.
	sweep_stdin "$(printf '1\n4\nu7@\n')" -c "$CFG" --json --users-file -
	expect_users_refused "stdin:3: 'u7@' is neither a user id nor an email address; write one id or email per line"
	printf '@example.com\n' >"$f"
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:1: '@example.com' is neither a user id nor an email address"
	# Two users on one line are still two users, not a comment.
	printf '1 4\n' >"$f"
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:1: '1 4' is not one user; write one id or email per line, a comment after a '#'"
	# On the command line, the option is named instead.
	sweep -c "$CFG" --json -u Alice
	assert_exit 64 "exit code of -u Alice"
	assert_contains "$ERR" "user id 'Alice' is not a whole number" "-u Alice"
}

t_scope_users_file_stdin() {
	scope_db
	snap
	sweep_stdin "$(printf '# from a pipe\n3\n\nu1@example.com\n')" \
		-c "$CFG" --json --users-file -
	assert_exit 0
	assert_json .status ok "summary status"
	check_rows '^(must-go|conf)-u(1|3)-'
	assert_json .deleted_total "$GONE_N" "deleted_total"
}

t_scope_mixed_with_unknown_users() {
	scope_db
	printf 'u4@example.com\n999999\n' >"$T_DIR/users.txt"
	sweep_check '^(must-go|conf)-u(1|3|4)-' -u 1 -u 31337 -e u3@example.com \
		-e ghost@example.com --users-file "$T_DIR/users.txt"
	assert_jq '(.unknown_users | sort) == ["31337", "999999", "ghost@example.com"]' \
		"unknown_users lists the three unknown users"
}

t_scope_only_unknown_users() {
	scope_db
	sweep_check 'a^' -u 31337 -e ghost@example.com
	assert_jq '(.unknown_users | sort) == ["31337", "ghost@example.com"]' "unknown_users"
}

t_scope_enrolled_user_named() {
	scope_db
	# User 7 is enrolled and has nothing any rule would delete; user 5
	# re-enabled MFA after a disable 10 days ago and has codes from before
	# it.  Naming them deletes nothing, here or elsewhere.
	sweep_check 'a^' -u 5 -e u7@example.com
	assert_jq '[.rules[] | select(.name == "user_disabled") | .skipped_users[].user] | sort == ["5", "7"]' \
		"user_disabled reports users 5 and 7 as skipped"
	assert_jq '[.rules[] | select(.name == "user_disabled") | .skipped_users[] | (.reason | type == "string")] | all' \
		"skipped users carry a reason"
}

t_scope_grace_still_applies() {
	scope_db
	# User 2 disabled a minute ago: inside the grace period even when
	# named; --now lets the rule act on them.
	sweep_check 'a^' -u 2
	assert_jq '[.rules[] | select(.name == "user_disabled") | .skipped_users[].user] | index("2") != null' \
		"user 2 (inside the grace period) reported as skipped"
	sweep_check '^grace-u2-' -u 2 --now
}

t_scope_dry_run() {
	scope_db
	snap
	# One rule: in a dry run two rules may count the same row.
	sweep -c "$CFG" --json -n -u 1 -r user_disabled
	assert_exit 0
	check_nothing_deleted
	assert_json .would_delete_total "$(grep -cE '^(must-go|conf)-u1-' "$T_DIR/snap")" \
		"would_delete_total counts only user 1's rows"
}

t_scope_bad_user_id() {
	scope_db
	local bad
	for bad in abc 1x "" 1.5 "1 2"; do
		snap
		sweep -c "$CFG" --json -u "$bad"
		assert_exit 64 "exit code for --user-id '$bad'"
		check_nothing_deleted "--user-id '$bad'"
	done
}

t_scope_users_file_missing() {
	scope_db
	snap
	sweep -c "$CFG" --json --users-file "$T_DIR/no-such-file"
	assert_ne "$RC" 0 "exit code with a missing users file"
	assert_contains "$ERR" "no-such-file" "stderr names the file"
	check_nothing_deleted
}

# expect_users_refused WHERE NEEDLE...: the last run exited 64 with one
# line naming WHERE (file:line) and every NEEDLE, no raw control character
# on stderr, and nothing deleted.
expect_users_refused() {
	local where=$1 n
	shift
	assert_exit 64 "exit code"
	assert_contains "$ERR" "$where" "stderr names the file and line"
	for n in "$@"; do
		assert_contains "$ERR" "$n" "stderr"
	done
	assert_eq "$(printf '%s\n' "$ERR" | grep -c .)" 1 "lines on stderr"
	assert_eq "$(printf '%s' "$ERR" | LC_ALL=C grep -c '[[:cntrl:]]')" 0 \
		"control characters on stderr"
	assert_eq "$(printf '%s' "$ERR" | LC_ALL=C grep -c $'\xff')" 0 \
		"bytes that are not UTF-8 on stderr"
	check_nothing_deleted
}

# A users file pasted from a ticket or a spreadsheet: a NUL byte, an
# escape sequence, a stray carriage return and bytes that are not UTF-8
# are refused with the line shown escaped, before anything is deleted.
t_scope_users_file_bad_bytes() { # slow
	scope_db
	local f=$T_DIR/users.txt
	printf '1\n4\0\n' >"$f"
	snap
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:2: line holds a NUL byte"

	printf '# ok\n1\n\033[31mu4@example.com\033[0m\n' >"$f"
	snap
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:3: " "'\\x1b[31mu4@example.com\\x1b[0m' holds a control character or bytes that are not UTF-8"

	printf '1\n\n4\r5\n' >"$f"
	snap
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:3: " "'4\\x0d5'"

	printf '1\ncaf\xe9@example.com\n' >"$f"
	snap
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:2: " "'caf\\xe9@example.com'" "not UTF-8"

	printf '1\n\xff\xfe4\x7f\n' >"$f"
	snap
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:2: " "'\\xff\\xfe4\\x7f'"

	# The same on stdin, named so.
	snap
	sweep_stdin "$(printf '1\n\033]0;owned\007\n')" -c "$CFG" --json \
		--users-file -
	expect_users_refused "stdin:2: " "'\\x1b]0;owned\\x07'"

	# Text is fine: UTF-8 in an address, CRLF line ends, blanks around.
	printf '1\r\n  u4@example.com \t\r\n# \xc3\xbc\r\nj\xc3\xbcrgen@example.com\r\n' >"$f"
	sweep_check '^(must-go|conf)-u(1|4)-' --users-file "$f"
	assert_json '.unknown_users | join(",")' "jürgen@example.com" "the UTF-8 address is looked up as written"
}

# The users file is read bounded: a FIFO, a device or a directory is
# refused at once (the timeout makes a hang a failure), and so is too
# much text, from a file or from stdin.
t_scope_users_file_bounded() {
	scope_db
	local f=$T_DIR/users.txt
	mkfifo "$T_DIR/fifo"
	snap
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json --users-file "$T_DIR/fifo"
	assert_exit 64 "exit code with a FIFO"
	assert_contains "$ERR" "'$T_DIR/fifo' is a FIFO, not a regular file" "a FIFO"
	assert_contains "$ERR" "--users-file - with the users on stdin" "the fix"
	T_SWEEP_TIMEOUT=10 sweep -c "$CFG" --json --users-file /dev/zero
	assert_exit 64 "exit code with /dev/zero"
	assert_contains "$ERR" "'/dev/zero' is a character device" "a device"
	sweep -c "$CFG" --json --users-file "$T_DIR"
	assert_exit 64 "exit code with a directory"
	assert_contains "$ERR" "is a directory" "a directory"

	{ printf '1\n'; head -c 1025 /dev/zero | tr '\0' 9; printf '\n'; } >"$f"
	sweep -c "$CFG" --json --users-file "$f"
	expect_users_refused "$f:2: line too long (over 1024 bytes)"
	{ printf '1\n'; head -c 1024 /dev/zero | tr '\0' 9; printf '\n'; } >"$f"
	sweep -c "$CFG" --json --dry-run --users-file "$f"
	assert_exit 0 "a line of 1024 bytes"

	yes 1 | head -c $((16 * 1024 * 1024 + 2)) >"$f"
	sweep -c "$CFG" --json --users-file "$f"
	assert_exit 64 "exit code with a file over 16 MiB"
	assert_contains "$ERR" "is larger than 16777216 bytes" "the file's size"
	_sweep -c "$CFG" --json --users-file - <"$f"
	assert_exit 64 "exit code with over 16 MiB on stdin"
	assert_contains "$ERR" "the users on stdin are more than 16777216 bytes" "stdin's size"
	{ printf 'u1@example.com\n'; head -c 1500 /dev/zero | tr '\0' 9; } >"$f"
	_sweep -c "$CFG" --json --users-file - <"$f"
	assert_exit 64 "exit code with a long last line on stdin"
	assert_contains "$ERR" "stdin:2: line too long" "stdin's line"
	check_nothing_deleted
}

t_scope_step_without_user_column_skipped() {
	fresh_db
	fx_used_codes
	sql <<'EOF'
CREATE TABLE django_session (
    session_key  varchar(40) PRIMARY KEY,
    session_data text NOT NULL,
    expire_date  timestamptz NOT NULL
);
INSERT INTO django_session VALUES
  ('expired-1', 'x', now() - interval '1 day'),
  ('live-1', 'x', now() + interval '1 day');
EOF
	CFG_PLUGIN_DIR=$(plugin_copy_dir)
	cp "$EXAMPLE_PLUGIN_DIR/django_sessions.so" "$CFG_PLUGIN_DIR"/ && chmod 0644 "$CFG_PLUGIN_DIR"/*.so
	cfg_std "used_backup_codes, django_sessions"
	# Sessions have no user column: a scoped run skips that step, says
	# why, and deletes no session.
	sweep_check '^must-go-u101-' -u 101
	assert_q "SELECT count(*) FROM django_session" 2 "no session deleted by a scoped run"
	assert_jq '[.rules[] | select(.name == "django_sessions") | .steps[] | .skipped | type == "string" and length > 0] | (length == 1 and all)' \
		"the session step carries \"skipped\": reason"
}

# The named users are looked up once, typed as the id column is: an id
# the column's type cannot hold and an id written with leading zeros name
# nobody (unknown, as ever), and the batches walk the named users'
# windows, whose rows the user column's index finds.
t_scope_resolved_once_typed() {
	scope_db
	sweep_check '^(must-go|conf)-u(1|4)-' -v -u 1 -u 99999999999999999999 -u 004 \
		-u -1 -e U4@Example.com
	assert_jq '(.unknown_users | sort) == ["-1", "004", "99999999999999999999"]' \
		"unknown_users: out of range, zero-padded, no such user"
	assert_contains "$ERR" "accounts_backupcode: walked by named users" \
		"the step walks the named users"
	assert_contains "$ERR" "(named users 0-" "its batches name windows of the named users"
	sweep -c "$CFG" --explain -u 1 -r user_disabled
	assert_exit 0 "--explain of a scoped run"
	assert_contains "$OUT" "-- walked by named users" "--explain shows the walk"
	assert_contains "$OUT" "AND t.\"user_id\" IN (SELECT u.\"id\" FROM \"accounts_user\" AS u WHERE u.\"id\" = ANY(\$2) AND (" \
		"the named users joined through the users' id, filtered"
	assert_contains "$OUT" 'DELETE FROM "accounts_backupcode" AS t USING "accounts_user" AS u WHERE u."id" = t."user_id" AND (NOT u."mfa_enrolled"' \
		"the first batch joins the user once, with the rule's joined predicate"
	assert_contains "$OUT" ') AND u."id" = ANY($2) AND (NOT u."mfa_enrolled"' \
		"the window's named users, then the user filter"
	assert_contains "$OUT" '-- $2 = {"1"}' "the window's users as a parameter"
}

run_tests "$@"
