#!/usr/bin/env bash
# One run, one driver (`ferrodyn bench`): Dynoxide, DynamoDB Local, Ferrodyn in memory and
# Ferrodyn durable, the same workloads one after another on this machine, at 16 and then
# 64 connections (CONNS_LIST). Also: each server's CPU during each workload and the
# driver's own, cold start and idle RSS (bench/coldstart.py), peak RSS under load, binary
# sizes. Every server is started fresh by this script (the peers from the binaries that
# ../shared/tools/peers/peers.sh installed), so the figures come from one run.
#
#   ../shared/tools/peers/peers.sh install ddblocal dynoxide   # once
#   cargo build --release -p ferrodyn
#   bench/side-by-side.sh > side-by-side.txt                  # DURATION=5 CONNS_LIST="16 64"
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/ferrodyn}
DURATION=${DURATION:-5}
CONNS_LIST=${CONNS_LIST:-"16 64"}
WORKLOADS=${WORKLOADS:-"put get zipf-get query update mix batch-write ycsb-a"}
PEERS=${PEERS_DIR:-$HOME/.cache/ddb-peers}
DYNOXIDE_BIN=$PEERS/dynoxide/node_modules/@dynoxide/linux-x64/dynoxide
DDB_DIR=$PEERS/ddblocal/node_modules/amplify-dynamodb-simulator/emulator
dir=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT

start() { # name port command...
  local name=$1 port=$2
  shift 2
  "$@" >"$dir/$name.log" 2>&1 &
  pids+=($!)
  eval "pid_$name=$!"
  for _ in $(seq 1 600); do
    if curl -s -o /dev/null -X POST "http://127.0.0.1:$port/" \
      -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'Content-Type: application/x-amz-json-1.0' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00' \
      -d '{}'; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start" >&2
  exit 1
}

echo "== versions"
echo "ferrodyn: $($BIN --version)"
echo "dynoxide: $($DYNOXIDE_BIN --version 2>/dev/null || echo '?')"
echo "DynamoDB Local: $(cd "$DDB_DIR" && ls DynamoDBLocal.jar) ($(java -version 2>&1 | head -1))"
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1048576)}' /proc/meminfo) GiB; $(date -u +%FT%TZ)"

echo
echo "== cold start (exec to the first answered ListTables) and idle RSS"
python3 bench/coldstart.py ferrodyn-memory 8311 10 -- "$BIN" --in-memory --port 8311
python3 bench/coldstart.py ferrodyn-durable 8312 10 -- "$BIN" --data-dir '{tmp}/data' --port 8312
python3 bench/coldstart.py dynoxide 8316 10 -- "$DYNOXIDE_BIN" --host 127.0.0.1 --port 8316
python3 bench/coldstart.py dynamodb-local 8317 3 --cwd "$DDB_DIR" -- java -Djava.net.preferIPv4Stack=true \
  "-Djava.library.path=$DDB_DIR/DynamoDBLocal_lib" -jar DynamoDBLocal.jar -inMemory -port 8317 -disableTelemetry

echo
echo "== binary size"
cp "$BIN" "$dir/ferrodyn.stripped" && strip "$dir/ferrodyn.stripped"
printf 'ferrodyn: %s bytes (%s stripped)\n' "$(stat -c %s "$BIN")" "$(stat -c %s "$dir/ferrodyn.stripped")"
printf 'dynoxide: %s bytes\n' "$(stat -c %s "$(readlink -f "$DYNOXIDE_BIN")")"
printf 'DynamoDB Local: jar + libraries %s bytes (plus a JVM)\n' "$(du -sb "$DDB_DIR" | cut -f1)"

start dynoxide 8106 "$DYNOXIDE_BIN" --host 127.0.0.1 --port 8106
start ddblocal 8101 bash -c "cd '$DDB_DIR' && exec java -Djava.net.preferIPv4Stack=true '-Djava.library.path=$DDB_DIR/DynamoDBLocal_lib' -jar DynamoDBLocal.jar -inMemory -port 8101 -disableTelemetry"
start memory 8201 "$BIN" --in-memory --port 8201
start durable 8202 "$BIN" --data-dir "$dir/data" --port 8202
# shellcheck disable=SC2154
echo
echo "== throughput (ferrodyn bench; drv cpu = the driver's CPU, srv cpu = the server's, 100% = one core)"
wl=()
for w in $WORKLOADS; do wl+=(--workload "$w"); done
for conns in $CONNS_LIST; do
  "$BIN" bench \
    --endpoint http://127.0.0.1:8106 --server-pid "$pid_dynoxide" \
    --endpoint http://127.0.0.1:8101 --server-pid "$pid_ddblocal" \
    --endpoint http://127.0.0.1:8201 --server-pid "$pid_memory" \
    --endpoint http://127.0.0.1:8202 --server-pid "$pid_durable" \
    "${wl[@]}" --connections "$conns" --duration "$DURATION" --items 10000 "$@"
done

echo
echo "== peak RSS over the run (VmHWM, KiB) and RSS at the end"
for name in dynoxide ddblocal memory durable; do
  eval "p=\$pid_$name"
  # DynamoDB Local runs under bash -c ... exec java: the same pid.
  printf '  %-9s peak %s, now %s\n' "$name" "$(awk '/VmHWM/ {print $2}' "/proc/$p/status")" \
    "$(awk '/VmRSS/ {print $2}' "/proc/$p/status")"
done
