#!/bin/bash
# How long meetings stay unreachable after PostgreSQL comes back from an outage.
#
#   CUT=100 bash scripts/db-outage.sh LABEL [-Dsetting=value ...]
#
# Starts an http node and a gpu node (separate JVMs, node/target/parley.jar) on a fresh database
# `rec` reached through a TCP proxy on 127.0.0.1:15432, diarizes three meetings, then kills the proxy
# for CUT seconds (default 45; the meetings passivate during the cut, and their shards' remember-
# entities stores fail) and restores it. Prints how many seconds after the restore /healthz, a GET of
# an old meeting and a new upload first succeed. Work files under /tmp/db-outage/LABEL; the -D
# options go to both JVMs. Needs psql, curl, jq, bc and python3; ports 15432, 18080-18081, 25600-25601.
set -u
L=$1; shift; OPTS="$*"
J=$(cd "$(dirname "$0")/.." && pwd)/node/target/parley.jar
W=/tmp/db-outage/$L; rm -rf $W; mkdir -p $W
psql -q -h 127.0.0.1 -U postgres -c 'drop database if exists rec' -c 'create database rec' test >/dev/null
cat > $W/proxy.py <<'PY'
import socket, threading, sys
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d: break
            b.sendall(d)
    except Exception: pass
    finally:
        for s in (a, b):
            try: s.close()
            except Exception: pass
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen(128)
while True:
    c, _ = s.accept()
    try: u = socket.create_connection(('127.0.0.1', 5432))
    except Exception: c.close(); continue
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
PY
px_up(){ nohup python3 $W/proxy.py 15432 >/dev/null 2>&1 & echo $! > $W/proxy.pid; sleep 0.3; }
px_down(){ kill -9 $(cat $W/proxy.pid) 2>/dev/null; wait $(cat $W/proxy.pid) 2>/dev/null; }
px_up
export PARLEY_DB_URL=jdbc:postgresql://127.0.0.1:15432/rec PARLEY_DB_USER=postgres PARLEY_JWT_SECRET=rec-secret-0123456789abcdef PARLEY_SEED_NODES=127.0.0.1:25600 PARLEY_DATA_DIR=$W/data
PARLEY_ROLES=http PARLEY_CLUSTER_PORT=25600 PARLEY_HTTP_PORT=18080 nohup java -Xmx700m $OPTS -jar $J > $W/http.log 2>&1 & echo $! > $W/http.pid
sleep 8
PARLEY_ROLES=gpu PARLEY_CLUSTER_PORT=25601 PARLEY_HTTP_PORT=18081 PARLEY_GPU_IDLE_TIMEOUT=60m nohup java -Xmx1g $OPTS -jar $J > $W/gpu.log 2>&1 & echo $! > $W/gpu.pid
B=http://localhost:18080
for i in $(seq 60); do curl -sf $B/healthz >/dev/null && break; sleep 1; done
curl -s -X POST $B/auth/register -H 'Content-Type: application/json' -d '{"email":"r@example.com","password":"correct horse"}' >/dev/null
T=$(curl -s -X POST $B/auth/login -H 'Content-Type: application/json' -d '{"email":"r@example.com","password":"correct horse"}' | jq -r .token)
ids=()
for k in 1 2 3; do ids+=($(curl -s -X POST "$B/meetings/upload?title=m$k" -H "Authorization: Bearer $T" -H 'Content-Type: audio/wav' --data-binary @/work/shared/data/ami-dev/trn05.wav | jq -r .id)); done
for i in $(seq 120); do n=0; for id in ${ids[@]}; do s=$(curl -s $B/meetings/$id -H "Authorization: Bearer $T" | jq -r .status); [ "$s" = done ] && n=$((n+1)); done; [ $n = 3 ] && break; sleep 1; done
echo "$L: 3 meetings done; cutting the database for ${CUT:-45} s"
px_down; sleep ${CUT:-45}; px_up; t0=$(date +%s.%N)
first(){ # first(NAME, WANT, curl args...): seconds after t0 of the first answer WANT, polled every 0.5 s
  local name=$1 want=$2; shift 2
  for i in $(seq 400); do
    c=$(curl -s -o /dev/null -w '%{http_code}' "$@")
    if [ "$c" = "$want" ]; then echo "$name $(echo "$(date +%s.%N) - $t0" | bc)" >> $W/first; return; fi
    sleep 0.5
  done; echo "$name never" >> $W/first; }
first healthz 200 -m 5 $B/healthz & p1=$!
first get 200 -m 12 $B/meetings/${ids[0]} -H "Authorization: Bearer $T" & p2=$!
first upload 202 -m 12 -X POST "$B/meetings/upload?title=after" -H "Authorization: Bearer $T" -H 'Content-Type: audio/wav' --data-binary @/work/shared/data/ami-dev/trn05.wav & p3=$!
wait $p1 $p2 $p3
hz=$(awk '$1=="healthz"{print $2}' $W/first); g=$(awk '$1=="get"{print $2}' $W/first); u=$(awk '$1=="upload"{print $2}' $W/first)
echo "$L: after the database returned: healthz 200 at ${hz}s, GET old meeting 200 at ${g}s, upload 202 at ${u}s"
grep -c "Circuit Breaker is open\|CircuitBreakerOpen" $W/http.log | sed "s/^/$L: circuit-breaker lines: /"
kill $(cat $W/gpu.pid) $(cat $W/http.pid) 2>/dev/null; sleep 3; px_down
psql -q -h 127.0.0.1 -U postgres -c "drop database if exists rec" test >/dev/null 2>&1 || true
