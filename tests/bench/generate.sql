-- generate.sql: benchmark data for mfa-sweeper on the reference schema.
--
--   psql -v users=N -f generate.sql
--
-- N users, each with 10 backup codes and one TOTP device, and one user in
-- ten with a second, unconfirmed device: 10 N codes, about 1.1 N devices.
-- Deterministic: setseed() fixes random(), and nothing here runs in
-- parallel, so every run draws the same numbers.  Times are relative to
-- now() (the transaction start), because the rules are.
--
-- One data set serves every scenario of bench.sh; the scenarios differ by
-- the rule and its max_age:
--
--   * 40% of the codes are used, their used_at spread evenly over the last
--     2000 days, so used_backup_codes with max_age = 500d finds 30% of all
--     codes eligible (backlog), 1750d finds 5% (medium) and 1985d finds
--     0.3% (nightly).  Eligible codes are spread evenly over the key.
--   * 20% of the users disabled MFA 1..300 days ago (user_disabled finds
--     their codes and devices); one in ten of them re-enrolled since and
--     has two codes newer than the disable, which must stay.
--
-- Every time is a whole number of days plus 12 hours away from now(), and
-- every threshold a whole number of days, so a row stays on the same side
-- of each threshold for 12 hours after generation: all methods of a run
-- delete exactly the same rows, however long the run takes.

\set ON_ERROR_STOP on

SET client_min_messages = warning;
-- The rows are consistent by construction: skip the foreign-key triggers,
-- which would double the load time.
SET session_replication_role = replica;

BEGIN;

SELECT setseed(0.20261125) \gset

CREATE TEMP TABLE plan AS
SELECT id, disabled, r2, r3,
       CASE WHEN disabled
            THEN now() - (1 + floor(r1 * 300) + 0.5) * interval '1 day'
       END AS disabled_at
FROM (
	SELECT g AS id, random() < 0.20 AS disabled,
	       random() AS r1, random() AS r2, random() AS r3
	FROM generate_series(1, :users) AS g
	OFFSET 0
) AS d;

INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
SELECT id, format('user%s@example.com', id), NOT disabled, disabled_at
FROM plan;

SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), :users) \gset

-- Codes were created 2100.5 days ago, before every used_at and every
-- disable, except the two fresh codes of a re-enrolled user.  The plan is
-- read in id order and each user's rows are made together, so the tables
-- come out in user order, as an application fills them, with no sort.
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
SELECT user_id, code_hash, u < 0.4,
       CASE WHEN u < 0.4
            THEN now() - (floor(u / 0.4 * 2000) + 0.5) * interval '1 day' END,
       CASE WHEN fresh THEN disabled_at + interval '12 hours'
            ELSE now() - interval '2100 days 12 hours' END
FROM (
	SELECT p.id AS user_id, random() AS u,
	       'pbkdf2_sha256$600000$' || md5(random()::text) AS code_hash,
	       p.disabled AND p.r2 < 0.1 AND i > 8 AS fresh,
	       p.disabled_at
	FROM plan AS p
	CROSS JOIN generate_series(1, 10) AS i
	-- a fence: u is read twice above and must be one draw
	OFFSET 0
) AS c;

-- A confirmed device each, created with the codes (NULL for one in five:
-- rows older than django-otp's created_at migration), and one user in ten
-- with an unconfirmed device from an abandoned enrolment 2..100 days ago.
INSERT INTO otp_totp_totpdevice
       (user_id, name, confirmed, key, created_at, last_used_at)
SELECT p.id, d.name, d.confirmed,
       left(md5(random()::text) || md5(random()::text), 40), d.at,
       CASE WHEN d.confirmed THEN now() - interval '3 days 12 hours' END
FROM plan AS p
CROSS JOIN LATERAL (VALUES
	(1, 'Authenticator', true,
	 CASE WHEN p.r3 >= 0.2 THEN now() - interval '2100 days 12 hours' END),
	(2, 'New phone', false,
	 CASE WHEN p.r3 < 0.1
	      THEN coalesce(p.disabled_at, now())
	           - (2 + floor(p.r2 * 98) + 0.5) * interval '1 day' END)
) AS d (slot, name, confirmed, at)
WHERE d.slot = 1 OR d.at IS NOT NULL;

COMMIT;
