#!/usr/bin/env bash
# One run, one driver (`ferrodyn bench`): Dynoxide, DynamoDB Local, Ferrodyn in memory and
# Ferrodyn durable, the same workloads one after another on this machine.
#
#   ../shared/tools/peers/peers.sh start ddblocal dynoxide
#   cargo build --release -p ferrodyn
#   bench/side-by-side.sh                 # CONNS=16 DURATION=5 by default
#   CONNS=64 bench/side-by-side.sh --json
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-target/release/ferrodyn}
CONNS=${CONNS:-16}
DURATION=${DURATION:-5}
DYNOXIDE=${DYNOXIDE:-http://127.0.0.1:8106}
DDBLOCAL=${DDBLOCAL:-http://127.0.0.1:8101}
dir=$(mktemp -d)
"$BIN" --in-memory --port 8201 >"$dir/mem.log" 2>&1 &
mem=$!
"$BIN" --data-dir "$dir/data" --port 8202 >"$dir/durable.log" 2>&1 &
durable=$!
trap 'kill $mem $durable 2>/dev/null; rm -rf "$dir"' EXIT
sleep 0.5
"$BIN" bench \
  --endpoint "$DYNOXIDE" --endpoint "$DDBLOCAL" \
  --endpoint http://127.0.0.1:8201 --endpoint http://127.0.0.1:8202 \
  --workload put --workload get --workload query --workload update \
  --connections "$CONNS" --duration "$DURATION" --items 10000 "$@"
echo
echo "RSS after the run (KiB):"
for p in $mem $durable; do
  printf '  ferrodyn pid %s: %s\n' "$p" "$(awk '/VmRSS/ {print $2}' /proc/$p/status)"
done
for name in dynoxide java; do
  for p in $(pgrep -x "$name" || true); do
    printf '  %s pid %s: %s\n' "$name" "$p" "$(awk '/VmRSS/ {print $2}' /proc/$p/status)"
  done
done
