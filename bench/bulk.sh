#!/usr/bin/env bash
# Bulk ingest then a whole-table scan on durable storage, with the server's RSS sampled
# every 5 s: memory must stay flat while ingesting ~10 million items and while scanning the
# multi-gigabyte table that makes.
#
#   cargo build --release -p ferrodyn
#   bench/bulk.sh            # INGEST_SECONDS=180 CONNS=16
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/ferrodyn}
SECS=${INGEST_SECONDS:-180}
CONNS=${CONNS:-16}
PORT=${PORT:-8241}
dir=$(mktemp -d -p "${BULK_DIR:-/tmp}")
"$BIN" --data-dir "$dir/data" --port "$PORT" >"$dir/server.log" 2>&1 &
pid=$!
sampler=
trap 'kill $pid $sampler 2>/dev/null; rm -rf "$dir"' EXIT
sleep 0.5
(while kill -0 $pid 2>/dev/null; do
   echo "rss $(date +%s) $(awk '/VmRSS/ {print $2}' /proc/$pid/status) KiB, disk $(du -sm "$dir/data" | cut -f1) MiB"
   sleep 5
 done) &
sampler=$!
echo "== ingest: BatchWriteItem of 25 new ~200-byte items, $CONNS connections, $SECS s"
"$BIN" bench --endpoint "http://127.0.0.1:$PORT" --server-pid $pid --workload batch-write \
  --connections "$CONNS" --duration "$SECS" --items 1000
echo "== one whole-table Scan (every page), one connection"
"$BIN" bench --endpoint "http://127.0.0.1:$PORT" --server-pid $pid --no-setup --workload scan \
  --connections 1 --duration 1
echo "peak RSS (VmHWM): $(awk '/VmHWM/ {print $2}' /proc/$pid/status) KiB"
