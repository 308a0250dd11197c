#!/usr/bin/env bash
# SIP benchmark (issue 5): coexist's SIP edge against Kamailio 5.6, side by
# side in one run, with the same sipp scenarios (bench/sipp/*.xml) on the
# same machine. Kamailio is an in-memory registrar (usrloc db_mode 0) with
# digest auth and a stateful relay (bench/kamailio/kamailio.cfg).
#
#   bench/sip-vs-kamailio.sh            (needs cargo, sipp, kamailio)
#   STEP_SECONDS=5 RATES="500 1000 2000" REG_USERS=100000 bench/sip-vs-kamailio.sh
#   SERVER_QUOTA=25 SERVER_CPUS=0 LOAD_CPUS=1 CPU_RATE=250 FLOWS="register message call" \
#     bench/sip-vs-kamailio.sh   (the server, not sipp, as the limit; root needed)
#
# For each flow — REGISTER with digest, MESSAGE relay, INVITE/BYE calls,
# SUBSCRIBE/NOTIFY — it raises the sipp call rate step by step and keeps the
# highest rate at which every call succeeded and the step took no longer than
# planned (the server kept up); a failed step is tried once more, the
# machine being shared. Before that, one step at CPU_RATE measures the CPU
# time each server spends per 1000 calls (all its processes and threads).
# Then it registers REG_USERS distinct users on each server and reports
# the memory (PSS) added per registration. FLOWS=floor adds the REGISTER
# rate of a responder that does no SIP work (the kernel's share). Both
# servers challenge with MD5 here: sipp 3.6 does no SHA-256 digest.
#
# Prints one line per measurement; copy them into BENCHMARKS.md.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
STEP_SECONDS="${STEP_SECONDS:-5}"
RATES="${RATES:-250 500 1000 1500 2000 3000 4000 6000 8000 12000 16000 24000}"
REG_USERS="${REG_USERS:-100000}"
REG_RATE="${REG_RATE:-1000}"
# The rate of the CPU-per-call step (passed by both servers in every flow).
CPU_RATE="${CPU_RATE:-1000}"
# Which measurements to run, and debugging aids (sipp error traces kept in KEEP).
FLOWS="${FLOWS:-register message call subscribe memory}"
KEEP="${KEEP:-}"
SIPP_DIR="$ROOT/bench/sipp"
# Socket buffers for sipp, as large as both servers' (8 MiB, capped by
# net.core.rmem_max): with sipp's default (64 KiB) the load generator
# drops datagrams before either server does.
SIPP_BUFFER="${SIPP_BUFFER:-8388608}"
# CPU pinning (taskset lists, e.g. SERVER_CPUS=0 LOAD_CPUS=1): the server
# under test on some cores and sipp on the others, so that the load
# generator does not take the servers' CPU and the highest passing rate is
# the server's. Unset: everything shares every core.
SERVER_CPUS="${SERVER_CPUS:-}"
LOAD_CPUS="${LOAD_CPUS:-}"
SERVER_PIN=(); [ -n "$SERVER_CPUS" ] && SERVER_PIN=(taskset -c "$SERVER_CPUS")
LOAD_PIN=(); [ -n "$LOAD_CPUS" ] && LOAD_PIN=(taskset -c "$LOAD_CPUS")
# A CPU budget for the server under test, in percent of one core (e.g.
# SERVER_QUOTA=25): both servers run in a cgroup with the same CFS quota
# (10 ms period), so the server, not the load generator, is what runs out
# first and the highest passing rate compares the servers' capacity. Needs
# root and a writable cgroup cpu controller (v1 or v2).
SERVER_QUOTA="${SERVER_QUOTA:-}"

# COEXIST_BIN: a coexist binary to measure instead of this checkout's
# release build (to compare two builds with the same script); NO_KAMAILIO=1
# measures coexist alone.
if [ -n "${COEXIST_BIN:-}" ]; then
  BIN="$COEXIST_BIN"
else
  cargo build --release --quiet --bin coexist || exit 1
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/coexist"
fi
case " $FLOWS " in *" floor "*)
  cargo build --release --quiet -p coexist-sip --example register_floor || exit 1 ;;
esac
FLOOR_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/register_floor"
WORK="$(mktemp -d)"
PIDS=()
CGROUP=""
if [ -n "$SERVER_QUOTA" ]; then
  if [ -f /sys/fs/cgroup/cgroup.controllers ]; then # v2
    CGROUP="/sys/fs/cgroup/coexist-bench-$$"
    echo "+cpu" >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
    mkdir "$CGROUP" && echo "$((SERVER_QUOTA * 100)) 10000" >"$CGROUP/cpu.max"
  else # v1
    CGROUP="/sys/fs/cgroup/cpu/coexist-bench-$$"
    mkdir "$CGROUP" && echo 10000 >"$CGROUP/cpu.cfs_period_us" &&
      echo "$((SERVER_QUOTA * 100))" >"$CGROUP/cpu.cfs_quota_us"
  fi || { echo "SERVER_QUOTA: cannot make a cpu cgroup at $CGROUP (root and a writable cgroup cpu controller needed)" >&2; exit 1; }
  SERVER_PIN=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CGROUP" "${SERVER_PIN[@]}")
fi
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "$CGROUP" ]; then sleep 1; rmdir "$CGROUP" 2>/dev/null; fi
  if [ -n "$KEEP" ]; then cp -r "$WORK" "$KEEP"; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# A port free for both TCP and UDP right now.
free_port() {
  python3 -c '
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); port = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", port)); print(port); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
'
}
now() { date +%s.%N; }

# Users: alice, bob, and REG_USERS numbered ones; password "pw-<user>-1".
{
  echo "upn,display_name,password"
  echo "alice@contoso.test,alice,pw-alice-1"
  echo "bob@contoso.test,bob,pw-bob-1"
  awk -v n="$REG_USERS" 'BEGIN { for (i = 0; i < n; i++) printf "u%06d@contoso.test,u%06d,pw-u%06d-1\n", i, i, i }'
} >"$WORK/users.csv"
inf() { # inf NAME USER TARGET
  printf 'SEQUENTIAL\n%s;contoso.test;[authentication username=%s@contoso.test password=pw-%s-1];%s\n' "$2" "$2" "$2" "$3" >"$WORK/$1.csv"
}
inf alice alice bob
inf bob bob bob
awk -v n=1000 'BEGIN { print "SEQUENTIAL"; for (i = 0; i < n; i++) printf "u%06d;contoso.test;[authentication username=u%06d@contoso.test password=pw-u%06d-1];u\n", i, i, i }' >"$WORK/reg1000.csv"
awk -v n="$REG_USERS" 'BEGIN { print "SEQUENTIAL"; for (i = 0; i < n; i++) printf "u%06d;contoso.test;[authentication username=u%06d@contoso.test password=pw-u%06d-1];u\n", i, i, i }' >"$WORK/regall.csv"

start_coexist() {
  local http sip
  http=$(free_port); sip=$(free_port)
  rm -rf "$WORK/coexist" "$WORK/coexist.out"
  "${SERVER_PIN[@]}" "$BIN" serve --data-dir "$WORK/coexist" --http "127.0.0.1:$http" --sip "127.0.0.1:$sip" >"$WORK/coexist.out" 2>"$WORK/coexist.err" &
  COEXIST_PID=$!; PIDS+=("$COEXIST_PID")
  for _ in $(seq 1 600); do grep -q '^coexist listening' "$WORK/coexist.out" 2>/dev/null && break; sleep 0.05; done
  if ! grep -q '^coexist listening' "$WORK/coexist.out"; then
    echo "coexist did not start:" >&2; tail -5 "$WORK/coexist.err" >&2; exit 1
  fi
  export COEXIST_URL="http://127.0.0.1:$http" COEXIST_DATA_DIR="$WORK/coexist"
  "$BIN" admin new-tenant --name contoso --domain contoso.test >/dev/null
  "$BIN" admin import-users "$WORK/users.csv" --tenant contoso >/dev/null
  COEXIST_SIP="127.0.0.1:$sip"
}

start_kamailio() {
  local port
  port=$(free_port)
  "${SERVER_PIN[@]}" kamailio -f "$ROOT/bench/kamailio/kamailio.cfg" -DD -E -l "udp:127.0.0.1:$port" -m 1024 -M 32 \
    >"$WORK/kamailio.log" 2>&1 &
  KAMAILIO_PID=$!; PIDS+=("$KAMAILIO_PID")
  sleep 2
  KAMAILIO_SIP="127.0.0.1:$port"
}

# pss PID…: proportional set size in kB, summed over the processes.
pss() {
  local total=0 pid kb
  for pid in "$@"; do
    kb=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}
kamailio_pids() { pgrep -f "kamailio -f $ROOT/bench/kamailio/kamailio.cfg" | tr '\n' ' '; }

# sipp_run SERVER SCENARIO INF RATE CALLS PORT [extra args]
sipp_run() {
  local server=$1 scenario=$2 inf=$3 rate=$4 calls=$5 port=$6; shift 6
  # sipp's own -timeout does not always fire (seen: both sides idle-polling
  # for 40 minutes after a failed SUBSCRIBE step); coreutils' timeout does.
  (cd "$WORK" && exec timeout -k 5 "${SIPP_GUARD:-$((STEP_SECONDS * 3 + 30))}" \
    "${LOAD_PIN[@]}" sipp "$server" -sf "$SIPP_DIR/$scenario" -inf "$WORK/$inf.csv" -r "$rate" -m "$calls" \
    -i 127.0.0.1 -p "$port" -mp "$(free_port)" -nostdin -timeout "$((STEP_SECONDS * 3 + 20))s" \
    -max_socket 1000 -buff_size "$SIPP_BUFFER" ${KEEP:+-trace_err} "$@" >/dev/null 2>&1)
}

# step SERVER SCENARIO INF RATE [UAS]: 0 when every call passed in time.
step() {
  local server=$1 scenario=$2 inf=$3 rate=$4 uas=${5:-} calls uas_pid="" uas_port t0 t1 rc
  calls=$((rate * STEP_SECONDS))
  if [ -n "$uas" ]; then
    # One UAS port per server (UAS_PORT, set by `flow`): each step's
    # REGISTER then refreshes the same contact. A new port per step would
    # leave the last steps' contacts registered (3600 s), and coexist, which
    # forks to every contact of the callee, would send each request to them
    # too (Kamailio's lookup takes one contact).
    uas_port=${UAS_PORT:-$(free_port)}
    sipp_run "$server" register.xml bob 1 1 "$uas_port" || return 1
    (cd "$WORK" && exec timeout -k 5 "$((STEP_SECONDS * 3 + 35))" "${LOAD_PIN[@]}" sipp "$server" -sf "$SIPP_DIR/$uas" -m "$calls" -i 127.0.0.1 -p "$uas_port" -mp "$(free_port)" \
      -nostdin -buff_size "$SIPP_BUFFER" -timeout "$((STEP_SECONDS * 3 + 25))s" ${KEEP:+-trace_err} >/dev/null 2>&1) &
    uas_pid=$!
    sleep 0.3
  fi
  t0=$(now)
  sipp_run "$server" "$scenario" "$inf" "$rate" "$calls" "$(free_port)"
  rc=$?
  t1=$(now)
  if [ -n "$uas_pid" ]; then
    for _ in $(seq 1 40); do kill -0 "$uas_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$uas_pid" 2>/dev/null; wait "$uas_pid" 2>/dev/null
  fi
  [ "$rc" -eq 0 ] && awk -v a="$t0" -v b="$t1" -v s="$STEP_SECONDS" 'BEGIN { exit !((b - a) <= s * 1.2 + 1.5) }'
}

# best_of SERVER SCENARIO INF [UAS]: the highest rate that passes.
best_of() {
  local server=$1 scenario=$2 inf=$3 uas=${4:-} best=0 rate
  for rate in $RATES; do
    # The machine is shared: a step that fails is tried once more.
    if step "$server" "$scenario" "$inf" "$rate" "$uas" || step "$server" "$scenario" "$inf" "$rate" "$uas"; then
      best=$rate
    else
      break
    fi
    sleep 1
  done
  echo "$best"
}

echo "# $(date -u +%Y-%m-%d) $(nproc) cores; sipp $(sipp -v 2>&1 | grep -o 'v[0-9.]*' | head -1); $(kamailio -v | head -1)"
echo "# cores: servers ${SERVER_CPUS:-all}${SERVER_QUOTA:+ with a ${SERVER_QUOTA} % CPU quota}, sipp ${LOAD_CPUS:-all}"
echo "# step: $STEP_SECONDS s at each rate of: $RATES (calls/s); fresh servers for each flow"

stop_servers() {
  kill "$COEXIST_PID" "$KAMAILIO_PID" 2>/dev/null
  wait "$COEXIST_PID" "$KAMAILIO_PID" 2>/dev/null
  rm -rf "$WORK/coexist"
}
# cpu_ms PID…: user + system CPU time used so far, in ms, summed.
cpu_ms() {
  local total=0 pid ticks hz
  hz=$(getconf CLK_TCK)
  for pid in "$@"; do
    ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
    total=$((total + ${ticks:-0} * 1000 / hz))
  done
  echo "$total"
}
# cost SERVER SCENARIO INF UAS PIDS…: the server's CPU ms per 1000 calls in
# one step at CPU_RATE, a rate both servers pass. The load generator caps
# the highest passing rate on 2 cores (both servers stop at the same step
# in some flows); what each server spends per call does not depend on it.
cost() {
  local server=$1 scenario=$2 inf=$3 uas=$4 before after; shift 4
  before=$(cpu_ms "$@")
  if ! step "$server" "$scenario" "$inf" "$CPU_RATE" "$uas"; then echo "failed"; return; fi
  after=$(cpu_ms "$@")
  echo $(((after - before) * 1000 / (CPU_RATE * STEP_SECONDS)))
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
flow() { # flow NAME SCENARIO INF COEXIST_UAS KAMAILIO_UAS
  local c k cc kc
  start_coexist
  UAS_PORT=$(free_port)
  cc=$(cost "$COEXIST_SIP" "$2" "$3" "$4" "$COEXIST_PID")
  c=$(best_of "$COEXIST_SIP" "$2" "$3" "$4")
  # One server at a time: an idle one still wakes for its timers (and
  # with SERVER_QUOTA it would share the other's budget).
  kill "$COEXIST_PID" 2>/dev/null; wait "$COEXIST_PID" 2>/dev/null
  k="-"; kc="-"; KAMAILIO_PID=""
  if [ -z "${NO_KAMAILIO:-}" ]; then
    start_kamailio
    UAS_PORT=$(free_port)
    # shellcheck disable=SC2046
    kc=$(cost "$KAMAILIO_SIP" "$2" "$3" "$5" $(kamailio_pids))
    k=$(best_of "$KAMAILIO_SIP" "$2" "$3" "$5")
  fi
  stop_servers
  printf '%-28s coexist %6s/s   kamailio %6s/s   ratio %s\n' "$1" "$c" "$k" "$(ratio "$c" "$k")"
  printf '%-28s coexist %6s ms  kamailio %6s ms  ratio %s (server CPU per 1000 calls at %s/s; kamailio / coexist)\n' \
    "" "$cc" "$kc" "$(ratio "$kc" "$cc")" "$CPU_RATE"
}

wants() { case " $FLOWS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
wants register && flow "REGISTER (digest)" register.xml reg1000 "" ""
wants message && flow "MESSAGE (407 + relay)" message.xml alice message_uas.xml message_uas.xml
wants call && flow "INVITE/BYE (407 + relay)" call.xml alice call_uas.xml call_uas.xml
# coexist is the presence server; Kamailio relays to one (subscribe_uas.xml).
wants subscribe && flow "SUBSCRIBE/NOTIFY" subscribe.xml alice "" subscribe_uas.xml
# The floor: a responder that does no SIP work (crates/coexist-sip/examples/
# register_floor.rs), under the same cores and quota. What it passes bounds
# what any server passes here: the kernel's share of a call is the same.
if wants floor; then
  port=$(free_port)
  "${SERVER_PIN[@]}" "$FLOOR_BIN" "127.0.0.1:$port" >"$WORK/floor.out" 2>&1 &
  FLOOR_PID=$!; PIDS+=("$FLOOR_PID")
  sleep 0.5
  f=$(best_of "127.0.0.1:$port" register.xml reg1000)
  kill "$FLOOR_PID" 2>/dev/null; wait "$FLOOR_PID" 2>/dev/null
  printf '%-28s floor   %6s/s   (answers without SIP work: the kernel share)\n' "REGISTER floor" "$f"
fi
wants memory || exit 0

# Memory per registration: fresh servers, REG_USERS distinct users, one
# contact each; PSS before and after (after the transactions ended).
mem() { # mem NAME SERVER PIDS…
  local name=$1 server=$2 before after rc; shift 2
  before=$(pss "$@")
  SIPP_GUARD=$((REG_USERS / REG_RATE * 3 + 90)) \
    sipp_run "$server" register.xml regall "$REG_RATE" "$REG_USERS" "$(free_port)" -timeout "$((REG_USERS / REG_RATE * 3 + 60))s"
  rc=$?
  sleep 40 # transactions end (Timer J = 32 s); what stays is the registrations
  after=$(pss "$@")
  awk -v n="$REG_USERS" -v a="$before" -v b="$after" -v name="$name" -v rc="$rc" 'BEGIN {
    printf "%-10s %d registrations: PSS %d kB -> %d kB: %.0f bytes per registration%s\n",
      name, n, a, b, (b - a) * 1024 / n, (rc == 0 ? "" : " (some REGISTERs failed)") }'
}
start_coexist
mem coexist "$COEXIST_SIP" "$COEXIST_PID"
start_kamailio
# shellcheck disable=SC2046
mem kamailio "$KAMAILIO_SIP" $(kamailio_pids)
stop_servers
