#!/bin/bash
# [sweeper] workers and max_rate (doc/workers.md): one step swept by
# several connections over disjoint parts of its walk, each batch one
# transaction; the run's limits, the run lock and signals across them;
# the summary exact; and max_rate capping the rows per second of the
# whole run.
. "$(dirname "$0")/../lib/assert.sh"

# N eligible used codes of user 301 (must-go-bulk-1..N, in key order),
# with codes that must stay beside them: unused ones of the same user,
# spread through the table, and the other rules' rows.
codes_db() {
	fresh_db
	sql <<EOF2
INSERT INTO accounts_user (id, email, mfa_enrolled, mfa_disabled_at)
  VALUES (301, 'u301@example.com', true, NULL);
INSERT INTO accounts_backupcode (user_id, code_hash, used, used_at, created_at)
  SELECT 301, CASE WHEN i % 7 = 0 THEN 'must-stay-unused-' || i ELSE 'must-go-bulk-' || i END,
         i % 7 <> 0, CASE WHEN i % 7 <> 0 THEN now() - interval '100 days' END,
         now() - interval '200 days'
  FROM generate_series(1, $1) AS i;
EOF2
	fx_used_code_keepers
	fx_stale_devices
	sql <<<"ANALYZE"
}

# The number of worker lines ("N workers, ... walk split") in $ERR.
workers_used() {
	printf '%s\n' "$ERR" | sed -nE 's/.*: ([0-9]+) workers, .* walk split at .*/\1/p' | head -n1
}

# --------------------------------------------------------------- the walks

t_blocks_walk_with_two_and_three_workers() {
	local n
	for n in 2 3; do
		codes_db 21000
		snap
		cfg_std used_backup_codes "workers = $n"
		sweep -c "$CFG" --json -v
		assert_exit 0 "workers = $n: exit code"
		assert_json .status ok "workers = $n: status"
		assert_eq "$(workers_used)" "$n" "workers = $n: the step ran on $n workers"
		assert_contains "$ERR" "blocks walk split" "workers = $n: split by blocks"
		check_rows '^must-go-bulk-' "workers = $n"
		assert_json .deleted_total 18000 "workers = $n: deleted_total counts every row once"
		assert_json '.rules[0].steps[0].deleted' 18000 "workers = $n: the step's rows"
		assert_json '.rules[0].batches' \
			"$(printf '%s\n' "$ERR" | grep -c 'accounts_backupcode: batch [0-9]*: ')" \
			"workers = $n: every batch counted once"
	done
}

run_tests "$@"
