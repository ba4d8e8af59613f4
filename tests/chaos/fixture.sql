-- fixture.sql: the data of every fault trial (tests/chaos/chaos.sh), loaded
-- once; each trial puts these rows back before it starts.
--
-- Every row's marker (code_hash, device name) says what must become of
-- it: must-go-* is deleted by one of the three built-in rules, must-stay-*
-- is kept by all of them, beside must-go rows of the same tables.  The
-- times have margins of hours or days (and the trials run with grace =
-- 1d), so the rows mean the same to the last trial of a long series as
-- to the first.  Enough rows go for several batches of every size the
-- trials use.

INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at) VALUES
  (1, 'u1@example.com', false, now() - interval '10 days'),   -- user_disabled: all goes
  (2, 'u2@example.com', false, now() - interval '1 hour'),    -- inside grace = 1d: keeps
  (3, 'u3@example.com', true,  NULL),                         -- enrolled: keeps
  (201, 'u201@example.com', true, NULL),                      -- stale_devices
  (301, 'u301@example.com', true, NULL);                      -- used_backup_codes

INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 1, 'must-go-u1-code-' || i, i % 3 = 0,
         CASE WHEN i % 3 = 0 THEN now() - interval '11 days' END,
         now() - interval '20 days'
  FROM generate_series(1, 60) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 2, 'must-stay-u2-code-' || i, false, NULL, now() - interval '20 days'
  FROM generate_series(1, 10) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 3, 'must-stay-u3-code-' || i, false, NULL, now() - interval '400 days'
  FROM generate_series(1, 10) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, 'must-go-u301-used-' || i, true, now() - interval '100 days',
         now() - interval '200 days'
  FROM generate_series(1, 300) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, 'must-stay-u301-used-recently-' || i, true,
         now() - interval '1 day', now() - interval '200 days'
  FROM generate_series(1, 20) AS i;
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, 'must-stay-u301-unused-' || i, false, NULL,
         now() - interval '200 days'
  FROM generate_series(1, 10) AS i;

INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 1, 'must-go-u1-dev-' || i, i % 2 = 0, 'k', now() - interval '20 days'
  FROM generate_series(1, 20) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 2, 'must-stay-u2-dev-' || i, true, 'k', now() - interval '20 days'
  FROM generate_series(1, 5) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 3, 'must-stay-u3-dev-' || i, true, 'k', now() - interval '20 days'
  FROM generate_series(1, 5) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 201, 'must-go-u201-stale-' || i, false, 'k', now() - interval '30 days'
  FROM generate_series(1, 100) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 201, 'must-stay-u201-young-' || i, false, 'k', now() - interval '1 hour'
  FROM generate_series(1, 10) AS i;
INSERT INTO otp_totp_totpdevice (user_id, name, confirmed, key, created_at)
  SELECT 201, 'must-stay-u201-confirmed-' || i, true, 'k', now() - interval '30 days'
  FROM generate_series(1, 5) AS i;

-- Each trial adds a BEFORE DELETE trigger that makes deleting a backup
-- code take a moment (1 ms: with 360 codes to go, a run lasts about 0.4 s,
-- long enough for a fault to land inside it; 20 ms for the
-- statement-timeout fault), and drops it for the run after the fault.

-- The rows as they were, to compare with after a trial.
CREATE TABLE chaos_snap AS
  SELECT 'accounts_backupcode'::text AS tbl, id::text AS key,
         code_hash AS marker, user_id::text AS uid
  FROM accounts_backupcode
  UNION ALL
  SELECT 'otp_totp_totpdevice', id::text, name, user_id::text
  FROM otp_totp_totpdevice;
