-- generate.sql: demo data for mfa-sweeper on the reference schema.
--
-- 100,000 users in a realistic mix, with their TOTP devices and backup
-- codes.  Deterministic: setseed() fixes random(), and nothing here runs in
-- parallel, so every run draws the same numbers.  Times are relative to
-- now() (the transaction start), because the rules are.
--
--   kind          share  mfa_enrolled  mfa_disabled_at       artifacts
--   enrolled      52.25% true          NULL                  confirmed device, 10 codes
--                                                            (some used, some >90d ago),
--                                                            8% a stale unconfirmed device,
--                                                            4% a fresh unconfirmed one
--   re_enabled     2.75% true          30..330 days ago      same, all created before the
--                                                            disable: must lose nothing
--   disabled      15%    false         1..240 days ago       leftover codes, 70% confirmed
--                                                            device, 20% unconfirmed device,
--                                                            all created before the disable
--   in_grace       2%    false         5..90 seconds ago     confirmed device, 10 codes
--   never         25%    false         NULL                  10% an abandoned unconfirmed
--                                                            device, 1% one being set up now
--   reenrolling    3%    false         7..56 days ago        old leftovers, plus a fresh
--                                                            unconfirmed device and 10 fresh
--                                                            codes (1..20 h old)
--
-- Devices created before django-otp's created_at migration (here 730 days
-- ago) hold NULL created_at, as real upgraded databases do.
--
-- Every time is kept clear of the rules' default thresholds (5m grace, 24h
-- stale, 90d used) by minutes to days, so a demo run a minute later still
-- sees each row on the same side of every threshold.
--
-- demo.user_plan keeps each user's kind for the demo's before/after report;
-- the sweeper never reads the demo schema.

\set ON_ERROR_STOP on
\set users 100000
\set migrated '730 days'

SET client_min_messages = warning;

BEGIN;

SELECT setseed(0.20261124) \gset

CREATE SCHEMA demo;

CREATE TABLE demo.user_plan AS
WITH draws AS (
	-- Volatile, so materialised once: every later reference to r1..r6
	-- sees the same draw.
	SELECT g AS id, random() AS k, random() AS r1, random() AS r2,
	       random() AS r3, random() AS r4, random() AS r5, random() AS r6
	FROM generate_series(1, :users) AS g
), kinds AS (
	SELECT d.*,
	       CASE WHEN k < 0.5225 THEN 'enrolled'
	            WHEN k < 0.55   THEN 're_enabled'
	            WHEN k < 0.70   THEN 'disabled'
	            WHEN k < 0.72   THEN 'in_grace'
	            WHEN k < 0.97   THEN 'never'
	            ELSE 'reenrolling' END AS kind
	FROM draws AS d
), disables AS (
	SELECT kinds.*,
	       CASE kind
	            WHEN 're_enabled'  THEN now() - (30 + r1 * 300) * interval '1 day'
	            WHEN 'disabled'    THEN now() - (1 + r1 * 239) * interval '1 day'
	            WHEN 'in_grace'    THEN now() - (5 + r1 * 85) * interval '1 second'
	            WHEN 'reenrolling' THEN now() - (7 + r1 * 49) * interval '1 day'
	       END AS disabled_at
	FROM kinds
), enrolments AS (
	-- When the user (last) enrolled: the creation time of the confirmed
	-- device and of the first set of codes.
	SELECT disables.*,
	       CASE kind
	            WHEN 'enrolled'    THEN now() - (2 + r2 * 1100) * interval '1 day'
	            WHEN 're_enabled'  THEN disabled_at - (1 + r2 * 400) * interval '1 day'
	            WHEN 'disabled'    THEN disabled_at - (1 + r2 * 700) * interval '1 day'
	            -- recent, so none of their codes was used more than 90 days ago
	            WHEN 'in_grace'    THEN now() - (1 + r2 * 79) * interval '1 day'
	            WHEN 'reenrolling' THEN disabled_at - (1 + r2 * 500) * interval '1 day'
	       END AS enrolled_at
	FROM disables
)
SELECT id, kind,
       kind IN ('enrolled', 're_enabled') AS enrolled,
       disabled_at,
       enrolled_at,
       -- codes and devices are used until the disable, or until now
       CASE WHEN kind IN ('disabled', 'reenrolling') THEN disabled_at
            ELSE now() END AS used_until,
       -- 0..6 used codes, most users few
       CASE WHEN kind = 'never' THEN 0 ELSE floor(r3 * r3 * 7)::int END AS nused,
       -- the confirmed device's creation time, NULL for none
       CASE WHEN kind = 'never' THEN NULL
            WHEN kind = 'disabled' AND r4 >= 0.7 THEN NULL
            ELSE enrolled_at END AS confirmed_at,
       -- an unconfirmed device's creation time, NULL for none
       CASE WHEN kind = 'enrolled' AND r5 < 0.08
                 THEN enrolled_at + r6 * ((now() - interval '25 hours') - enrolled_at)
            WHEN kind = 'enrolled' AND r5 < 0.12
                 THEN now() - (1 + r6 * 19) * interval '1 hour'
            WHEN kind = 'disabled' AND r5 < 0.20
                 THEN enrolled_at + r6 * (disabled_at - enrolled_at)
            WHEN kind = 'never' AND r5 < 0.10
                 THEN now() - interval '25 hours' - r6 * interval '600 days'
            WHEN kind = 'never' AND r5 < 0.11
                 THEN now() - (0.25 + r6 * 19.75) * interval '1 hour'
            WHEN kind = 'reenrolling'
                 THEN now() - (1 + r6 * 19) * interval '1 hour'
       END AS unconfirmed_at,
       kind <> 'never' AS old_codes,
       -- re-enrolment creates the device and the new codes together
       CASE WHEN kind = 'reenrolling'
            THEN now() - (1 + r6 * 19) * interval '1 hour' END AS fresh_codes_at
FROM enrolments;

ALTER TABLE demo.user_plan ADD PRIMARY KEY (id);

INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
SELECT id,
       format('user%s@example.%s', lpad(id::text, 6, '0'),
              (ARRAY['com', 'org', 'net'])[1 + id % 3]),
       enrolled, disabled_at
FROM demo.user_plan;

-- Explicit ids above: move the sequence past them.
SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), :users) \gset

INSERT INTO otp_totp_totpdevice
       (user_id, name, confirmed, key, created_at, last_used_at)
SELECT p.id, d.name, d.confirmed,
       left(md5(random()::text) || md5(random()::text), 40),
       -- rows older than django-otp's created_at migration hold NULL
       CASE WHEN d.at >= now() - :'migrated'::interval THEN d.at END,
       CASE WHEN d.confirmed THEN d.at + random() * (p.used_until - d.at) END
FROM demo.user_plan AS p
CROSS JOIN LATERAL (VALUES
	(1, 'Authenticator', true, p.confirmed_at),
	(2, 'New phone', false, p.unconfirmed_at)
) AS d (slot, name, confirmed, at)
WHERE d.at IS NOT NULL;

INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
SELECT user_id, code_hash, used,
       -- keep used_at clear of the 90-day threshold
       CASE WHEN NOT used THEN NULL
            WHEN used_at BETWEEN now() - interval '92 days'
                             AND now() - interval '88 days'
                 THEN used_at + interval '5 days'
            ELSE used_at END,
       created_at
FROM (
	SELECT p.id AS user_id,
	       'pbkdf2_sha256$600000$' || md5(random()::text) AS code_hash,
	       is_old AND i <= p.nused AS used,
	       p.enrolled_at + random() * (p.used_until - p.enrolled_at) AS used_at,
	       CASE WHEN is_old THEN p.enrolled_at ELSE p.fresh_codes_at END AS created_at
	FROM demo.user_plan AS p
	CROSS JOIN LATERAL generate_series(1,
		CASE WHEN p.old_codes THEN 10 ELSE 0 END +
		CASE WHEN p.fresh_codes_at IS NOT NULL THEN 10 ELSE 0 END) AS i
	CROSS JOIN LATERAL (SELECT p.old_codes AND i <= 10 AS is_old) AS o
	-- a fence: used_at is read twice above and must be one draw
	OFFSET 0
) AS c;

COMMIT;

ANALYZE;
