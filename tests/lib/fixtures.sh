# fixtures.sh: SQL fixtures for the reference schema, shared by the
# integration tests.  Every row carries a unique marker (code_hash of a
# backup code, name of a TOTP device) whose prefix says what must happen to
# it, so check_rows (assert.sh) can compare before and after:
#
#   must-go-...    deleted by the rule(s) under test, in every variant
#   must-stay-...  kept in every variant
#   other prefixes depend on the variant; each fixture documents them.
#
# Every marker also names its user as -uN- so scoped tests can select one
# user's rows with a regex.  All timestamps are relative to the database's
# now().  The three fixtures use disjoint user ids and are consistent with
# each other: loading all three and running all three rules gives the union
# of their expectations.

# fx_user_disabled: users 1..7 for the user_disabled rule.
#
#   user 1  u1@example.com  disabled 10 min ago: everything goes
#   user 2  u2@example.com  disabled 1 min ago (inside the 5m grace):
#           grace-* rows stay by default, go with --now or grace = 0
#   user 3  u3@example.com  disabled 10 days ago, re-enrolling now: rows
#           created at or before the disable go; new-code-* (created
#           after the disable) stay unless code_created_at_column is
#           empty; new-dev-* likewise with device_created_at_column
#   user 4  u4@example.com  disabled 10 min ago, devices with NULL
#           created_at: they go
#   user 5  u5@example.com  re-enabled (mfa_enrolled, mfa_disabled_at
#           10 days ago): keeps everything
#   user 6  u6@example.com  never enrolled, mfa_disabled_at NULL: keeps
#   user 7  u7@example.com  enrolled, never disabled: keeps
#
#   conf-* are confirmed devices that go by default and stay with
#   delete_confirmed_devices = false.
#
# Old unconfirmed devices of users who keep them would be stale_devices'
# business, so those are young (1h), and used codes are used recently:
# the fixture means the same under all three rules.
fx_user_disabled() {
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at) VALUES
  (1, 'u1@example.com', false, now() - interval '10 minutes'),
  (2, 'u2@example.com', false, now() - interval '1 minute'),
  (3, 'u3@example.com', false, date_trunc('second', now()) - interval '10 days'),
  (4, 'u4@example.com', false, now() - interval '10 minutes'),
  (5, 'u5@example.com', true,  now() - interval '10 days'),
  (6, 'u6@example.com', false, NULL),
  (7, 'u7@example.com', true,  NULL);

INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (1, 'must-go-u1-code-unused', false, NULL, now() - interval '20 days'),
  (1, 'must-go-u1-code-unused-2', false, NULL, now() - interval '20 days'),
  (1, 'must-go-u1-code-used', true, now() - interval '1 day', now() - interval '20 days'),
  (2, 'grace-u2-code-unused', false, NULL, now() - interval '20 days'),
  (2, 'grace-u2-code-used', true, now() - interval '1 day', now() - interval '20 days'),
  (3, 'must-go-u3-code-old', false, NULL, now() - interval '20 days'),
  (3, 'must-go-u3-code-old-used', true, now() - interval '12 days', now() - interval '20 days'),
  (3, 'must-go-u3-code-at-disable', false, NULL,
      (SELECT mfa_disabled_at FROM accounts_user WHERE id = 3)),
  (3, 'new-code-u3-1', false, NULL, now() - interval '1 day'),
  (3, 'new-code-u3-2', false, NULL, now() - interval '5 minutes'),
  (4, 'must-go-u4-code', false, NULL, now() - interval '20 days'),
  (5, 'must-stay-u5-code', false, NULL, now() - interval '20 days'),
  (5, 'must-stay-u5-code-used', true, now() - interval '1 day', now() - interval '20 days'),
  (6, 'must-stay-u6-code', false, NULL, now() - interval '20 days'),
  (7, 'must-stay-u7-code', false, NULL, now() - interval '20 days');

INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at) VALUES
  (1, 'must-go-u1-dev-unconfirmed', false, 'k', now() - interval '20 days'),
  (1, 'conf-u1-dev-confirmed', true, 'k', now() - interval '20 days'),
  (2, 'grace-u2-dev-unconfirmed', false, 'k', now() - interval '2 hours'),
  (2, 'grace-u2-dev-confirmed', true, 'k', now() - interval '20 days'),
  (3, 'must-go-u3-dev-old-unconfirmed', false, 'k', now() - interval '20 days'),
  (3, 'conf-u3-dev-old-confirmed', true, 'k', now() - interval '20 days'),
  (3, 'new-dev-u3-unconfirmed', false, 'k', now() - interval '1 hour'),
  (4, 'must-go-u4-dev-null-unconfirmed', false, 'k', NULL),
  (4, 'conf-u4-dev-null-confirmed', true, 'k', NULL),
  (5, 'must-stay-u5-dev-confirmed', true, 'k', now() - interval '20 days'),
  (5, 'must-stay-u5-dev-unconfirmed', false, 'k', now() - interval '1 hour'),
  (6, 'must-stay-u6-dev-unconfirmed', false, 'k', now() - interval '1 hour'),
  (7, 'must-stay-u7-dev-confirmed', true, 'k', now() - interval '20 days');
EOF
}

# fx_stale_devices: user 201 (enrolled) for the stale_devices rule.
#
#   young-*   unconfirmed, 2h and 23h old: stay by default, go with
#             max_age = 1h
#   nullts-*  unconfirmed with NULL created_at: stay unless
#             null_created_at = delete
fx_stale_devices() {
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at) VALUES
  (201, 'u201@example.com', true, NULL);
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at) VALUES
  (201, 'must-go-u201-unconfirmed-25h', false, 'k', now() - interval '25 hours'),
  (201, 'must-go-u201-unconfirmed-30d', false, 'k', now() - interval '30 days'),
  (201, 'young-u201-unconfirmed-23h', false, 'k', now() - interval '23 hours'),
  (201, 'young-u201-unconfirmed-2h', false, 'k', now() - interval '2 hours'),
  (201, 'must-stay-u201-unconfirmed-10m', false, 'k', now() - interval '10 minutes'),
  (201, 'must-stay-u201-confirmed-48h', true, 'k', now() - interval '48 hours'),
  (201, 'must-stay-u201-confirmed-null', true, 'k', NULL),
  (201, 'nullts-u201-unconfirmed-null', false, 'k', NULL);
EOF
}

# fx_used_codes: user 101 (enrolled) for the used_backup_codes rule.
#
#   unusedat-*  used = false but used_at 200 days ago: stays by default,
#               goes when code_used_column is empty (used_at decides)
#   mid-*       used 60 days ago: stays by default, goes with max_age = 30d
#   recent-*    used 89 days ago: stays by default, goes with max_age = 30d
fx_used_codes() {
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at) VALUES
  (101, 'u101@example.com', true, NULL);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (101, 'must-go-u101-used-91d', true, now() - interval '91 days', now() - interval '400 days'),
  (101, 'must-go-u101-used-400d', true, now() - interval '400 days', now() - interval '500 days'),
  (101, 'recent-u101-used-89d', true, now() - interval '89 days', now() - interval '400 days'),
  (101, 'must-stay-u101-used-1h', true, now() - interval '1 hour', now() - interval '400 days'),
  (101, 'must-stay-u101-used-null-used-at', true, NULL, now() - interval '400 days'),
  (101, 'must-stay-u101-unused', false, NULL, now() - interval '400 days'),
  (101, 'unusedat-u101-unused-old-used-at', false, now() - interval '200 days', now() - interval '400 days'),
  (101, 'mid-u101-used-60d', true, now() - interval '60 days', now() - interval '400 days');
EOF
}

# fx_many_used_codes N [PREFIX] [USER]: N used codes, used 100 days ago
# (eligible for used_backup_codes), markers PREFIX-1..N (default
# must-go-bulk).
fx_many_used_codes() {
	local n=$1 prefix=${2:-must-go-bulk} uid=${3:-301}
	sql <<EOF
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  VALUES ($uid, 'u$uid@example.com', true, NULL) ON CONFLICT DO NOTHING;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT $uid, '$prefix-' || i, true, now() - interval '100 days', now() - interval '200 days'
  FROM generate_series(1, $n) AS i;
EOF
}

# fx_used_code_keepers: three backup codes of user 301 (see
# fx_many_used_codes) that used_backup_codes keeps: unused, used a day
# ago, used 89 days ago (must-stay-u301-*).
fx_used_code_keepers() {
	sql <<'EOF'
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at) VALUES
  (301, 'must-stay-u301-unused', false, NULL, now() - interval '400 days'),
  (301, 'must-stay-u301-used-1d', true, now() - interval '1 day', now() - interval '400 days'),
  (301, 'must-stay-u301-used-89d', true, now() - interval '89 days', now() - interval '400 days');
EOF
}

# fx_part_codes: an empty backup codes table partitioned by user,
# part_codes (users 0-99 in part_codes_a, 100-199 in part_codes_b), where
# every partition numbers its rows from ctid (0,1) and the key (id) may
# repeat across partitions.  The caller inserts the rows.
fx_part_codes() {
	sql <<'EOF'
CREATE TABLE part_codes (
    id bigint NOT NULL, user_id bigint NOT NULL, code_hash text NOT NULL,
    used boolean NOT NULL DEFAULT false, used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, user_id)
) PARTITION BY RANGE (user_id);
CREATE TABLE part_codes_a PARTITION OF part_codes FOR VALUES FROM (0) TO (100);
CREATE TABLE part_codes_b PARTITION OF part_codes FOR VALUES FROM (100) TO (200);
EOF
}

# fx_bulk_disabled_users: 5000 more users (ids 1001..6000), every fifth
# disabled 30 days ago, and 50,000 unused codes spread over them, ten per
# user: the disabled users' codes must-go-bulk-*, the others'
# must-stay-bulk-*; analysed, so that the plans are a real table's.
fx_bulk_disabled_users() {
	sql <<'EOF'
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  SELECT 1000 + i, 'bulk' || i || '@example.com', i % 5 <> 0,
         CASE WHEN i % 5 = 0 THEN now() - interval '30 days' END
  FROM generate_series(1, 5000) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 1000 + (i % 5000) + 1,
         CASE WHEN (i % 5000 + 1) % 5 = 0 THEN 'must-go-bulk-' ELSE 'must-stay-bulk-' END || i,
         false, NULL, now() - interval '300 days'
  FROM generate_series(1, 50000) AS i;
ANALYZE;
EOF
}

# fx_boom_trigger: a backup code marked 'boom' refuses to be deleted (a
# BEFORE DELETE trigger raises data_exception, "boom: this row refuses to
# go"); every other row goes as usual.
fx_boom_trigger() {
	sql <<'EOF'
CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.code_hash = 'boom' THEN
    RAISE EXCEPTION 'boom: this row refuses to go'
    USING ERRCODE = 'data_exception';
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER boom BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION boom();
EOF
}

# rows_left PREFIX: the backup codes whose marker starts with PREFIX.
rows_left() {
	q "SELECT count(*) FROM accounts_backupcode WHERE code_hash LIKE '$1%'"
}

# fx_slow_deletes: every deleted backup code takes about 2 ms (a BEFORE
# DELETE trigger sleeps), so a batch of 100 takes about 0.2 s and a signal
# or a kill can be made to land inside one.
fx_slow_deletes() {
	sql <<'EOF'
CREATE FUNCTION slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_sleep(0.002);
  RETURN OLD;
END $$;
CREATE TRIGGER slow_delete BEFORE DELETE ON accounts_backupcode
  FOR EACH ROW EXECUTE FUNCTION slow_delete();
EOF
}

# fx_reset_tokens [TABLE]: the table of the example plugin
# plugins/examples/password_reset_tokens.c (default name
# password_reset_tokens), its rows marked by `token`, and added to the
# marked tables: used tokens go at once, unused ones 7 days (max_age's
# default) after they expired.  Users 101 and 102.
fx_reset_tokens() {
	local table=${1:-password_reset_tokens}
	sql <<EOF
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at) VALUES
  (101, 'u101@example.com', true, NULL), (102, 'u102@example.com', true, NULL)
  ON CONFLICT DO NOTHING;
CREATE TABLE $table (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL,
    token text NOT NULL,
    used_at timestamptz,
    expires_at timestamptz NOT NULL);
INSERT INTO $table (user_id, token, used_at, expires_at) VALUES
  (101, 'must-go-u101-token-used', now() - interval '1 hour', now() + interval '1 hour'),
  (101, 'must-go-u101-token-expired-8d', NULL, now() - interval '8 days'),
  (101, 'must-stay-u101-token-expired-6d', NULL, now() - interval '6 days'),
  (101, 'must-stay-u101-token-live', NULL, now() + interval '1 hour'),
  (102, 'must-go-u102-token-used-long-ago', now() - interval '30 days', now() - interval '29 days'),
  (102, 'must-go-u102-token-expired-30d', NULL, now() - interval '30 days'),
  (102, 'must-stay-u102-token-live', NULL, now() + interval '1 day');
EOF
	MARK_TABLES+=("$table|token")
}

# fx_django_sessions: the table of the example team plugin
# (plugins/examples/django_sessions.c), with 25 expired sessions
# (expired-N, N hours ago) and 7 live ones (live-N, N hours ahead).
fx_django_sessions() {
	sql <<'EOF'
CREATE TABLE django_session (
    session_key  varchar(40) PRIMARY KEY,
    session_data text NOT NULL,
    expire_date  timestamptz NOT NULL
);
INSERT INTO django_session
  SELECT 'expired-' || i, 'data', now() - (i || ' hours')::interval
  FROM generate_series(1, 25) AS i;
INSERT INTO django_session
  SELECT 'live-' || i, 'data', now() + (i || ' hours')::interval
  FROM generate_series(1, 7) AS i;
EOF
}
