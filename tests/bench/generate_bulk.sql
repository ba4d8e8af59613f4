-- generate_bulk.sql: the bulk-disable data of mfa-sweeper's benchmark.
--
--   psql -v users=N -f generate_bulk.sql
--
-- The on-demand run after a bulk MFA disable (doc/operations.md "After a
-- bulk MFA disable") works on data unlike the nightly backlog of generate.sql:
-- every user has 10 backup codes and 3 TOTP devices, and exactly one user
-- in five (N / 5, drawn at random) had MFA turned off in one statement a
-- minute before the data was made.  Those users are still inside the
-- user_disabled grace period (5 minutes), so only a run with --now finds
-- them, as the operator's run right after the disable does.  Their codes
-- and devices, all made long before, must go; the other users' rows,
-- interleaved with them, must stay.  At N = 200,000 (scale L of bench.sh)
-- that is 40,000 disabled users and 520,000 rows to delete out of
-- 2,600,000.
--
-- Deterministic: setseed() fixes random(), and nothing here runs in
-- parallel.  Times are whole days (plus 12 hours) or one minute away from
-- now(), and the benchmark compares with now() - 0 (--now), so a row stays
-- on its side of the predicate however long after generation a run starts.

\set ON_ERROR_STOP on

SET client_min_messages = warning;
-- Consistent by construction: skip the foreign-key triggers.
SET session_replication_role = replica;

BEGIN;

SELECT setseed(0.20261201) \gset

-- Exactly N / 5 users disabled: the first fifth of a random order.
CREATE TEMP TABLE plan AS
SELECT id, rank <= :users / 5 AS disabled, r1
FROM (
	SELECT id, r1, row_number() OVER (ORDER BY r0, id) AS rank
	FROM (
		SELECT g AS id, random() AS r0, random() AS r1
		FROM generate_series(1, :users) AS g
		OFFSET 0
	) AS d
) AS p
ORDER BY id;

INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
SELECT id, format('user%s@example.com', id), NOT disabled,
       CASE WHEN disabled THEN now() - interval '1 minute' END
FROM plan
ORDER BY id;

SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), :users) \gset

-- Codes made with the account, 400.5 days ago; 4 in 10 used since.  The
-- rows come out in user order, as an application fills the table.
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
SELECT user_id, code_hash, u < 0.4,
       CASE WHEN u < 0.4
            THEN now() - (floor(u / 0.4 * 400) + 0.5) * interval '1 day' END,
       now() - interval '400 days 12 hours'
FROM (
	SELECT p.id AS user_id, random() AS u,
	       'pbkdf2_sha256$600000$' || md5(random()::text) AS code_hash
	FROM plan AS p
	CROSS JOIN generate_series(1, 10) AS i
	ORDER BY p.id, i
	-- a fence: u is read twice above and must be one draw
	OFFSET 0
) AS c;

-- Three devices each: two confirmed (the first with a NULL created_at
-- for one user in five: rows older than django-otp's created_at
-- migration) and one unconfirmed, all made before the disable.
INSERT INTO otp_totp_totpdevice
       (user_id, name, confirmed, key, created_at, last_used_at)
SELECT p.id, d.name, d.confirmed,
       left(md5(random()::text) || md5(random()::text), 40), d.at,
       CASE WHEN d.confirmed THEN now() - interval '3 days 12 hours' END
FROM plan AS p
CROSS JOIN LATERAL (VALUES
	(1, 'Authenticator', true,
	 CASE WHEN p.r1 >= 0.2 THEN now() - interval '400 days 12 hours' END),
	(2, 'Backup phone', true, now() - interval '200 days 12 hours'),
	(3, 'New phone', false, now() - interval '30 days 12 hours')
) AS d (slot, name, confirmed, at)
ORDER BY p.id, d.slot;

COMMIT;
