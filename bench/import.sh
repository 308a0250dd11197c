#!/usr/bin/env bash
# Bulk-import benchmark (issue 3): 100 000 users into one tenant through the
# real server and the real CLI, end to end (CSV upload, parse, validation,
# one SQLite transaction with fsync, the in-memory view), then a restart
# that reloads them.
#
#   bench/import.sh [USERS]        (default 100000; needs only cargo, bash)
#
# Prints one line per measured step; copy them into BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
USERS="${1:-100000}"

cargo build --release --quiet --bin coexist
BIN="$PWD/target/release/coexist"
WORK="$(mktemp -d)"
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

start() {
  "$BIN" serve --data-dir "$WORK/data" --http 127.0.0.1:0 --sip 127.0.0.1:0 \
    >"$WORK/out" 2>"$WORK/err" &
  SERVER=$!
  for _ in $(seq 1 600); do
    grep -q '^coexist listening' "$WORK/out" 2>/dev/null && break
    sleep 0.05
  done
  URL="http://$(grep -o 'http=[^ ]*' "$WORK/out" | cut -d= -f2)"
  export COEXIST_URL="$URL" COEXIST_DATA_DIR="$WORK/data"
}
now() { date +%s.%N; }
elapsed() { echo "$1 $2" | awk '{printf "%.2f", $2 - $1}'; }

# Files: directory rows only, and the same rows with a password column.
awk -v n="$USERS" 'BEGIN {
  print "upn,display_name,sfb_homing,teams_enabled,sfb_enabled,voice,phone_number,policy"
  split("Islands,SfBOnly,SfBWithTeamsCollab,UpgradeToTeams,", p, ",")
  for (i = 0; i < n; i++) {
    printf "user%06d@bench.test,User %d,online,true,true,online,+1425%07d,%s\n", i, i, i, p[i % 5 + 1]
  }
}' >"$WORK/plain.csv"
awk -v n="$USERS" 'BEGIN {
  print "upn,display_name,password,sfb_homing,voice"
  for (i = 0; i < n; i++) printf "pw%06d@bench2.test,User %d,Secret-%08d!,online,none\n", i, i, i
}' >"$WORK/passwords.csv"

start
"$BIN" admin new-tenant --name bench --domain bench.test --topology hybrid >/dev/null
"$BIN" admin new-tenant --name bench2 --domain bench2.test >/dev/null

t0=$(now); "$BIN" admin --json import-users "$WORK/plain.csv" --tenant bench --dry-run >"$WORK/dry.json"; t1=$(now)
echo "dry run, $USERS users, no passwords:      $(elapsed "$t0" "$t1") s  ($(grep -o '"valid": [0-9]*' "$WORK/dry.json"))"
t0=$(now); "$BIN" admin import-users "$WORK/plain.csv" --tenant bench >/dev/null; t1=$(now)
echo "import,  $USERS users, no passwords:      $(elapsed "$t0" "$t1") s"
t0=$(now); "$BIN" admin import-users "$WORK/passwords.csv" --tenant bench2 >/dev/null; t1=$(now)
echo "import,  $USERS users, with passwords:    $(elapsed "$t0" "$t1") s  (SIP HA1 MD5+SHA-256; argon2 at first log-in)"
# One user at a time through POST …/users: argon2id (19 MiB, t=2) per password.
t0=$(now)
for i in $(seq 1 20); do
  "$BIN" admin new-user --tenant bench2 --identity "one$i@bench2.test" --password "Secret-one-$i" >/dev/null
done
t1=$(now)
echo "20 single creates with argon2id password: $(elapsed "$t0" "$t1") s"
t0=$(now)
for i in $(seq 1 20); do
  "$BIN" admin new-user --tenant bench2 --identity "nopw$i@bench2.test" >/dev/null
done
t1=$(now)
echo "20 single creates without password:       $(elapsed "$t0" "$t1") s"
t0=$(now); "$BIN" admin lint --tenant bench >/dev/null; t1=$(now)
echo "lint over $USERS users:                   $(elapsed "$t0" "$t1") s"

kill -TERM "$SERVER"; wait "$SERVER" || true
t0=$(now); start; t1=$(now)
echo "restart, load $((2 * USERS)) users to listening: $(elapsed "$t0" "$t1") s"
"$BIN" admin get-tenant bench >/dev/null
echo "database: $(du -sh "$WORK/data" | cut -f1)"
