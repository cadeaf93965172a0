#!/usr/bin/env bash
# Process-level end-to-end test: an http node and gpu nodes as separate JVMs on loopback over
# PostgreSQL (a fresh database), driven through the REST API with curl and jq.
#   1. register, log in, upload ../shared/data/ami-dev/trn05.wav, poll until done, check segments
#   2. the gpu process exits by itself (code 0) after its idle timeout
#   3. an upload with no gpu node stays queued; a new gpu process joins and completes it
#   4. a gpu process is killed with SIGKILL mid-job; a new one on the same port completes the job,
#      and the history holds exactly one completion
# Prints timings (gpu cold start to first job, idle-to-exit, crash recovery).
# Needs: java 17, curl, jq, psql, PostgreSQL on 127.0.0.1:5432 (trust auth, database test).
# Environment: E2E_GPU_IDLE (default 20s), E2E_PG_HOST/PORT/USER, E2E_KEEP=1 keeps the work dir,
# E2E_EXTRA_CLASSPATH (a folder or jar put before parley.jar, e.g. with models/parley-embed/ weights).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
JAR=$ROOT/node/target/parley.jar
SHARED=${PARLEY_SHARED:-$ROOT/../shared}
AUDIO=$SHARED/data/ami-dev/trn05.wav
PG_HOST=${E2E_PG_HOST:-127.0.0.1}
PG_PORT=${E2E_PG_PORT:-5432}
PG_USER=${E2E_PG_USER:-postgres}
GPU_IDLE=${E2E_GPU_IDLE:-20s}

log() { printf '[e2e %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { printf '[e2e %s] FAIL: %s\n' "$(date +%H:%M:%S)" "$*" >&2; dump_logs; exit 1; }
now_ms() { date +%s%3N; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f", ms / 1000 }'; }

for tool in java curl jq psql; do
  command -v "$tool" >/dev/null || { echo "e2e: '$tool' is required (jq: apt-get install -y jq)" >&2; exit 2; }
done
[ -f "$AUDIO" ] || { echo "e2e: $AUDIO is missing (../shared beside the checkout, or PARLEY_SHARED)" >&2; exit 2; }
if [ ! -f "$JAR" ]; then
  log "building $JAR"
  mvn -q -B -ntp package -DskipTests
fi

if [ -n "${E2E_EXTRA_CLASSPATH:-}" ]; then
  PARLEY=(java -cp "$E2E_EXTRA_CLASSPATH:$JAR" dev.parley.node.Main)
else
  PARLEY=(java -jar "$JAR")
fi

WORK=$(mktemp -d /tmp/parley-e2e.XXXXXX)
DB="parley_e2e_$(date +%s)_$$"
PIDS=()
psql_q() { psql -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d test -c "$1" >/dev/null; }

dump_logs() {
  for f in "$WORK"/*.log; do
    [ -f "$f" ] || continue
    echo "----- last lines of $(basename "$f") -----" >&2
    tail -n 40 "$f" >&2
  done
}

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then kill "$pid" 2>/dev/null || true; fi
  done
  for pid in "${PIDS[@]}"; do
    # give a node 15 s to leave, then stop it hard
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
  done
  psql_q "DROP DATABASE IF EXISTS $DB" 2>/dev/null || true
  if [ "${E2E_KEEP:-0}" = 1 ] || [ $rc -ne 0 ]; then echo "e2e: logs kept in $WORK" >&2; else rm -rf "$WORK"; fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_q "CREATE DATABASE $DB" || { echo "e2e: cannot create database $DB on $PG_HOST:$PG_PORT" >&2; exit 2; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 200); do
    p=$((20000 + RANDOM % 20000))
    if port_free "$p"; then echo "$p"; return; fi
  done
  echo "e2e: no free port" >&2; exit 1
}

HTTP_PORT=$(free_port)
HTTP_CLUSTER_PORT=$(free_port)
BASE=http://127.0.0.1:$HTTP_PORT
COMMON=(
  PARLEY_HOST=127.0.0.1
  PARLEY_DB_URL="jdbc:postgresql://$PG_HOST:$PG_PORT/$DB"
  PARLEY_DB_USER="$PG_USER"
  PARLEY_BLOB_STORE=postgres
  PARLEY_JWT_SECRET=e2e-secret-0123456789abcdef0123456789abcdef
  # a crashed gpu node is downed within ~3 s (the http node's GpuReaper); a silent attempt is re-dispatched after 15 s
  PARLEY_SBR_STABLE_AFTER=5s
  PARLEY_HEARTBEAT_TIMEOUT=15s
)

# The http node is named and bound as in config/deploy's Kubernetes and Compose files: the others dial it by
# a host name, and its remoting listens on the wildcard address (PARLEY_CLUSTER_BIND).
start_http() {
  env "${COMMON[@]}" PARLEY_ROLES=http PARLEY_HTTP_PORT="$HTTP_PORT" PARLEY_CLUSTER_PORT="$HTTP_CLUSTER_PORT" \
    PARLEY_HOST=localhost PARLEY_CLUSTER_BIND=0.0.0.0 PARLEY_SEED_NODES= PARLEY_DATA_DIR="$WORK/http-data" \
    "${PARLEY[0]}" -Xmx1g "${PARLEY[@]:1}" >"$WORK/http.log" 2>&1 &
  HTTP_PID=$!
  PIDS+=("$HTTP_PID")
}

# start_gpu NAME [CLUSTER_PORT]: starts a gpu-only node; sets GPU_PID, GPU_PORT and GPU_STARTED_MS
start_gpu() {
  local name=$1 port=${2:-}
  [ -n "$port" ] || port=$(free_port)
  GPU_PORT=$port
  GPU_HEALTH_PORT=$(free_port)
  GPU_STARTED_MS=$(now_ms)
  env "${COMMON[@]}" PARLEY_ROLES=gpu PARLEY_CLUSTER_PORT="$port" PARLEY_HTTP_PORT="$GPU_HEALTH_PORT" PARLEY_SEED_NODES="localhost:$HTTP_CLUSTER_PORT" \
    PARLEY_GPU_IDLE_TIMEOUT="$GPU_IDLE" PARLEY_DATA_DIR="$WORK/$name-data" \
    "${PARLEY[0]}" -Xmx2g "${PARLEY[@]:1}" >"$WORK/$name.log" 2>&1 &
  GPU_PID=$!
  PIDS+=("$GPU_PID")
  log "started gpu node $name (pid $GPU_PID, cluster port $port)"
}

api() { # api METHOD PATH [curl args...] -> body on stdout, fails on HTTP >= 400
  local method=$1 path=$2
  shift 2
  curl -sS -f -X "$method" "$BASE$path" -H "Authorization: Bearer ${TOKEN:-none}" "$@"
}

status_of() { api GET "/meetings/$1" | jq -r .status; }

# wait_status ID STATUS TIMEOUT_S: polls every 0.2 s; fails on 'failed' or timeout
wait_status() {
  local id=$1 want=$2 timeout=$3 deadline s
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    s=$(status_of "$id")
    [ "$s" = "$want" ] && return 0
    if [ "$s" = failed ] && [ "$want" != failed ]; then fail "meeting $id failed: $(api GET "/meetings/$id")"; fi
    [ "$(date +%s)" -ge "$deadline" ] && fail "meeting $id not $want within ${timeout}s (status $s)"
    sleep 0.2
  done
}

# wait_started ID TIMEOUT_S: until the meeting is processing (or already done); prints the status
wait_started() {
  local id=$1 timeout=$2 deadline s
  deadline=$(( $(date +%s) + timeout ))
  while :; do
    s=$(status_of "$id")
    case "$s" in processing|done) echo "$s"; return 0 ;; failed) fail "meeting $id failed: $(api GET "/meetings/$id")" ;; esac
    [ "$(date +%s)" -ge "$deadline" ] && fail "meeting $id did not start within ${timeout}s (status $s)"
    sleep 0.2
  done
}

upload() { # upload FILE TITLE -> meeting id
  api POST "/meetings" -F "file=@$1;type=audio/wav" -F "title=$2" | jq -er .id
}

completions() { api GET "/meetings/$1/history" | jq '[(.events? // .)[] | select((.type | ascii_downcase) == "completed")] | length'; }
dispatches() { api GET "/meetings/$1/history" | jq '[(.events? // .)[] | select((.type | ascii_downcase) == "dispatched")] | length'; }

# a longer recording for the crash step (several ami-dev files joined), so the kill lands mid-job
make_long_wav() {
  local out=$1 first=$SHARED/data/ami-dev/trn00.wav hdr total=0 f
  # the ami-dev files are 32-bit float WAVs with a 58-byte header (fmt 18 bytes, fact, data)
  if [ "$(dd if="$first" bs=1 skip=50 count=4 2>/dev/null)" != data ] ||
     [ "$(dd if="$first" bs=1 skip=38 count=4 2>/dev/null)" != fact ]; then
    cp "$AUDIO" "$out"; return
  fi
  for f in "$SHARED"/data/ami-dev/trn0[0-9].wav; do
    total=$(( total + $(stat -c %s "$f") - 58 ))
  done
  le32() { printf "\\x$(printf %02x $(( $1 & 255 )))\\x$(printf %02x $(( ($1 >> 8) & 255 )))\\x$(printf %02x $(( ($1 >> 16) & 255 )))\\x$(printf %02x $(( ($1 >> 24) & 255 )))"; }
  {
    printf 'RIFF'; le32 $(( total + 50 ))
    dd if="$first" bs=1 skip=8 count=38 2>/dev/null
    le32 $(( total / 4 ))
    printf 'data'; le32 "$total"
    for f in "$SHARED"/data/ami-dev/trn0[0-9].wav; do tail -c +59 "$f"; done
  } >"$out"
}

# ---------------------------------------------------------------------------------------------
log "database $DB; http node on :$HTTP_PORT (cluster :$HTTP_CLUSTER_PORT); gpu idle timeout $GPU_IDLE"
start_http
for _ in $(seq 1 120); do
  curl -sf "$BASE/healthz" >/dev/null && break
  kill -0 "$HTTP_PID" 2>/dev/null || fail "http node exited during start-up"
  sleep 0.5
done
curl -sf "$BASE/healthz" >/dev/null || fail "http node not healthy within 60 s"
log "http node healthy"

curl -sf -X POST "$BASE/auth/register" -H 'Content-Type: application/json' \
  -d '{"email":"e2e@example.com","password":"e2e-password-1"}' >/dev/null || fail "register"
TOKEN=$(curl -sf -X POST "$BASE/auth/login" -H 'Content-Type: application/json' \
  -d '{"email":"e2e@example.com","password":"e2e-password-1"}' | jq -er .token) || fail "login"
log "registered and logged in"

# 1. first job: the gpu node starts cold while the meeting waits
start_gpu gpu1
GPU1_PID=$GPU_PID
ID1=$(upload "$AUDIO" trn05)
log "uploaded trn05.wav as meeting $ID1 (status $(status_of "$ID1"))"
wait_started "$ID1" 180 >/dev/null
COLD_MS=$(( $(now_ms) - GPU_STARTED_MS ))
log "gpu cold start to first job (process start -> processing): $(secs $COLD_MS) s"
wait_status "$ID1" done 600
DONE1_MS=$(now_ms)
NSEG=$(api GET "/meetings/$ID1" | jq '.segments | length')
NSPK=$(api GET "/meetings/$ID1" | jq '.speakers | length')
[ "$NSEG" -gt 0 ] || fail "meeting $ID1 is done without segments"
log "meeting $ID1 done: $NSEG segments, $NSPK speakers ($(secs $(( DONE1_MS - GPU_STARTED_MS ))) s after gpu start)"
curl -sf "http://127.0.0.1:$GPU_HEALTH_PORT/healthz" | grep -q '"up"' || fail "gpu1 /healthz is not ok while it is up"
curl -sf "$BASE/cluster" | jq -e --arg a "pekko://parley@localhost:$HTTP_CLUSTER_PORT" \
  '[.members[] | select(.address == $a and (.roles | index("http")))] | length == 1' >/dev/null \
  || fail "the http node is not a member under its host name: $(curl -s "$BASE/cluster")"
api GET "/meetings/$ID1/rttm" | head -n 3

# 2. the idle gpu node leaves the cluster and its process exits 0 by itself
log "waiting for gpu1 to exit after its idle timeout"
# twice the idle timeout and a minute for leaving, in half seconds (E2E_GPU_IDLE as 20s, 2m or 1h)
IDLE_S=$(awk -v d="$GPU_IDLE" 'BEGIN { n = d + 0; u = substr(d, length(n "") + 1);
  print int(n * (u == "m" ? 60 : u == "h" ? 3600 : u == "ms" ? 0.001 : 1)) }')
IDLE_WAIT_S=$(( 2 * IDLE_S + 60 ))
for _ in $(seq 1 $(( 2 * IDLE_WAIT_S ))); do kill -0 "$GPU1_PID" 2>/dev/null || break; sleep 0.5; done
kill -0 "$GPU1_PID" 2>/dev/null && fail "gpu1 still running $IDLE_WAIT_S s after its last job"
set +e; wait "$GPU1_PID"; RC=$?; set -e
IDLE_EXIT_MS=$(( $(now_ms) - DONE1_MS ))
[ "$RC" -eq 0 ] || fail "gpu1 exited with code $RC, expected 0"
log "gpu1 exited with code 0, $(secs $IDLE_EXIT_MS) s after its job finished (idle timeout $GPU_IDLE)"
curl -sf "$BASE/healthz" >/dev/null || fail "http node unhealthy after the gpu node left"

# 3. with no gpu node a meeting stays queued; a new gpu node picks it up
ID2=$(upload "$AUDIO" trn05-queued)
sleep 5
S2=$(status_of "$ID2")
[ "$S2" = queued ] || fail "meeting $ID2 is '$S2' with no gpu node, expected queued"
log "meeting $ID2 stays queued with no gpu node"
start_gpu gpu2
GPU2_PID=$GPU_PID
wait_started "$ID2" 180 >/dev/null
COLD2_MS=$(( $(now_ms) - GPU_STARTED_MS ))
wait_status "$ID2" done 600
log "meeting $ID2 done; gpu2 cold start to first job: $(secs $COLD2_MS) s"

# 4. SIGKILL a gpu process mid-job; a new one finishes the job; exactly one completion
LONG=$WORK/long.wav
make_long_wav "$LONG"
GPU2_PORT=$GPU_PORT
ID3=$(upload "$LONG" crash)
S3=$(wait_started "$ID3" 120) || exit 1 # wait_started said why
[ "$S3" = processing ] || fail "meeting $ID3 finished before the kill; the crash step needs a longer job"
kill -9 "$GPU2_PID"
KILL_MS=$(now_ms)
set +e; wait "$GPU2_PID" 2>/dev/null; set -e
log "killed gpu2 (SIGKILL) while meeting $ID3 was processing"
# on gpu2's address, as systemd restarts a unit: a new incarnation of a member that is still Up
start_gpu gpu3 "$GPU2_PORT"
wait_status "$ID3" done 600
RECOVER_MS=$(( $(now_ms) - KILL_MS ))
C3=$(completions "$ID3")
D3=$(dispatches "$ID3")
[ "$C3" -eq 1 ] || fail "meeting $ID3 has $C3 completions in its history, expected exactly 1"
[ "$D3" -ge 2 ] || fail "meeting $ID3 was dispatched $D3 times, expected a re-dispatch"
log "meeting $ID3 done after the crash: $D3 dispatches, 1 completion, $(secs $RECOVER_MS) s after the kill"
[ "$(completions "$ID1")" -eq 1 ] || fail "meeting $ID1 has more than one completion"
[ "$(completions "$ID2")" -eq 1 ] || fail "meeting $ID2 has more than one completion"

echo
echo "e2e timings:"
echo "  gpu cold start to first job (process start -> processing): $(secs $COLD_MS) s (first), $(secs $COLD2_MS) s (second)"
echo "  idle-to-exit (job done -> process exit 0, idle timeout $GPU_IDLE): $(secs $IDLE_EXIT_MS) s"
echo "  SIGKILL mid-job -> job done on a new gpu node: $(secs $RECOVER_MS) s"
log "PASS"
