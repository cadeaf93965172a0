#!/usr/bin/env bash
# API latency benchmark on loopback: starts an http-only Parley node on PostgreSQL, then loads
# /healthz, /auth/login, /meetings (list) and a 50 MB upload with wrk and prints p50/p99.
# Usage: scripts/bench-api.sh [duration-seconds]   (needs wrk, curl, jq; PostgreSQL on 127.0.0.1:5432)
# JAVA_OPTS adds JVM options to the node; BENCH_ONLY=regex runs only the matching lines; BENCH_DATA
# puts the node's data directory (file blob store) elsewhere. wrk runs one thread (-t1), so it takes
# at most one of the cores. "saturated" runs drive as many requests as the node answers (closed loop: p50 is mostly
# queueing); "paced" runs have every connection wait 20 ms after each response, a steady load well
# below saturation, which is the latency a client sees. Uploads run back to back on 2 connections
# (about 250 MB/s of writes: a disk throughput test) and one at a time, 1 s apart.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-15}
JAR=node/target/parley.jar
[ -f "$JAR" ] || mvn -q -B -ntp package -DskipTests
command -v wrk >/dev/null || { echo "wrk is required (apt-get install wrk)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/parley-bench.XXXXXX)
DB="bench_$(date +%s)"
psql -q -h 127.0.0.1 -U postgres -d test -c "CREATE DATABASE $DB" >/dev/null
PORT=18080
cleanup() {
  [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -d test -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PARLEY_ROLES=http PARLEY_HTTP_PORT=$PORT PARLEY_CLUSTER_PORT=25590 PARLEY_DATA_DIR=${BENCH_DATA:-$WORK/data} \
PARLEY_DB_URL=jdbc:postgresql://127.0.0.1:5432/$DB PARLEY_DB_USER=postgres PARLEY_JWT_SECRET=bench-secret-0123456789abcdef \
  java -Xmx1g ${JAVA_OPTS:-} -jar "$JAR" >"$WORK/node.log" 2>&1 &
PID=$!
for _ in $(seq 1 60); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 1; done
curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || { cat "$WORK/node.log"; exit 1; }

BASE=http://127.0.0.1:$PORT
curl -sf -X POST "$BASE/auth/register" -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench-password"}' >/dev/null
TOKEN=$(curl -sf -X POST "$BASE/auth/login" -H 'Content-Type: application/json' -d '{"email":"bench@example.com","password":"bench-password"}' | jq -r .token)
# a list worth paging through: 100 small meetings
head -c 32000 /dev/zero > "$WORK/small.raw"
for i in $(seq 1 100); do
  curl -sf -X POST "$BASE/meetings?title=m$i" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: audio/wav' --data-binary @"$WORK/small.raw" >/dev/null
done
head -c 52428800 /dev/urandom > "$WORK/upload50.bin"

cat > "$WORK/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"email":"bench@example.com","password":"bench-password"}'
LUA
cat > "$WORK/upload.lua" <<LUA
local f = io.open("$WORK/upload50.bin", "rb")
wrk.method = "POST"
wrk.path = "/meetings?title=bench"
wrk.headers["Content-Type"] = "audio/wav"
wrk.headers["Authorization"] = "Bearer $TOKEN"
wrk.body = f:read("*all")
f:close()
LUA

run() { # name, wrk args... (a 5 s warm-up run first, so the JIT has compiled the path)
  local name=$1; shift
  [[ "$name" =~ ${BENCH_ONLY:-.} ]] || return 0
  wrk -d5s "$@" >/dev/null 2>&1 || true
  local out; out=$(wrk --latency "$@")
  local p50 p99 rps
  p50=$(echo "$out" | awk '$1=="50%"{print $2}')
  p99=$(echo "$out" | awk '$1=="99%"{print $2}')
  rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
  local errs; errs=$(echo "$out" | grep -E 'Non-2xx|Socket errors' || true)
  printf '%-30s p50 %-9s p99 %-9s req/s %-9s %s\n' "$name" "$p50" "$p99" "$rps" "$errs"
}
echo "# $(date -u +%F) $(nproc) cores, $(uname -m), $(java -version 2>&1 | head -1)"
printf 'function delay()\n  return 20\nend\n' > "$WORK/pace.lua"
run "healthz saturated (64 conns)" -t1 -c64 -d"${DUR}s" "$BASE/healthz"
run "healthz paced (64 conns)"     -t1 -c64 -d"${DUR}s" -s "$WORK/pace.lua" "$BASE/healthz"
run "login (1 conn)"               -t1 -c1 -d"${DUR}s" -s "$WORK/login.lua" "$BASE/auth/login"
run "login (2 conns)"              -t1 -c2 -d"${DUR}s" -s "$WORK/login.lua" "$BASE/auth/login"
run "login (16 conns)"             -t1 -c16 -d"${DUR}s" -s "$WORK/login.lua" "$BASE/auth/login"
run "list saturated (64 conns)"    -t1 -c64 -d"${DUR}s" -H "Authorization: Bearer $TOKEN" "$BASE/meetings?limit=20"
run "list paced (64 conns)"        -t1 -c64 -d"${DUR}s" -s "$WORK/pace.lua" -H "Authorization: Bearer $TOKEN" "$BASE/meetings?limit=20"
run "upload 50 MB (2 conns)"       -t1 -c2 -d"${DUR}s" --timeout 30s -s "$WORK/upload.lua" "$BASE/meetings"
{ cat "$WORK/upload.lua"; printf 'function delay()\n  return 1000\nend\n'; } > "$WORK/upload-paced.lua"
run "upload 50 MB paced (1 conn)"  -t1 -c1 -d"$((DUR * 2))s" --timeout 30s -s "$WORK/upload-paced.lua" "$BASE/meetings"
# the same with a new Idempotency-Key per upload: what naming an upload costs
{ cat "$WORK/upload-paced.lua"; cat <<'LUA'; } > "$WORK/upload-keyed.lua"
n = 0
function request()
  n = n + 1
  local h = {}
  for k, v in pairs(wrk.headers) do h[k] = v end
  h["Idempotency-Key"] = "bench-" .. os.time() .. "-" .. n
  return wrk.format(nil, nil, h, nil)
end
LUA
run "upload 50 MB keyed (1 conn)"  -t1 -c1 -d"$((DUR * 2))s" --timeout 30s -s "$WORK/upload-keyed.lua" "$BASE/meetings"
