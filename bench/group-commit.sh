#!/usr/bin/env bash
# Durable PutItem throughput at 1, 16 and 64 concurrent connections (fsync per commit group),
# plus the same with --durability buffered and --in-memory for reference.
# Usage: bench/group-commit.sh [seconds]   (needs wrk and a release build: cargo build --release)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
bin=target/release/ferrodyn
port=8799
run_mode() {
  local label=$1; shift
  local dir; dir=$(mktemp -d)
  "$bin" --port $port --data-dir "$dir/data" "$@" > /dev/null &
  local pid=$!
  sleep 0.5
  curl -s -X POST localhost:$port -H 'X-Amz-Target: DynamoDB_20120810.CreateTable' \
    -H 'Authorization: x' -H 'Content-Type: application/x-amz-json-1.0' \
    -d '{"TableName":"bench","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"}],"BillingMode":"PAY_PER_REQUEST"}' > /dev/null
  for c in 1 16 64; do
    local t=$(( c < 2 ? 1 : 2 ))
    local out; out=$(wrk -t$t -c$c -d${secs}s --latency -s bench/putitem.lua http://127.0.0.1:$port/ 2>/dev/null)
    local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    local p50; p50=$(echo "$out" | awk '$1=="50%" {print $2}')
    local p99; p99=$(echo "$out" | awk '$1=="99%" {print $2}')
    local errs; errs=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    printf '| %s | %d | %s | %s | %s | %s |\n' "$label" "$c" "$rps" "$p50" "$p99" "${errs:-0}"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
echo "| mode | connections | PutItem/s | p50 | p99 | non-2xx |"
echo "|---|---|---|---|---|---|"
run_mode "durable (fsync per group)"
run_mode "durable (--durability buffered)" --durability buffered
run_mode "in-memory" --in-memory
