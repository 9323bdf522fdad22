#!/usr/bin/env bash
# CPU per request of a server on PostgreSQL and of the PostgreSQL cluster behind it.
#
#   bench/pg-cpu.sh LABEL SERVER_PID PORT PGDATA CONNECTIONS SECONDS WORKLOAD...
#
# Runs `ferrodyn bench --no-setup` (the table must be loaded already, e.g. by one short
# `ferrodyn bench --workload put --duration 1` run) for each workload against
# 127.0.0.1:PORT, and prints per workload the bench's JSON line (which holds the server's
# CPU, --server-pid) prefixed with the CPU seconds that the postmaster of the cluster in
# PGDATA and all its children used meanwhile. ENDPOINT replaces http://127.0.0.1:PORT (for an
# https:// server: AWS_CA_BUNDLE, and AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for one that
# checks signatures, are passed on to the bench). BENCH names the ferrodyn binary that drives
# the load (default target/release/ferrodyn); it runs under nice -n 19.
set -euo pipefail
label=$1 spid=$2 port=$3 pgdata=$4 conns=$5 dur=$6
shift 6
bench=${BENCH:-target/release/ferrodyn}
endpoint=${ENDPOINT:-http://127.0.0.1:$port}
pm=$(head -1 "$pgdata/postmaster.pid")
hz=$(getconf CLK_TCK)
pgcpu() {
  local t=0 p
  for p in $pm $(ps -o pid= --ppid "$pm"); do
    [ -r "/proc/$p/stat" ] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)))
  done
  echo "$t"
}
for w in "$@"; do
  a=$(pgcpu)
  t0=$(date +%s.%N)
  out=$(nice -n 19 "$bench" bench --endpoint "$endpoint" --workload "$w" \
    --connections "$conns" --duration "$dur" --server-pid "$spid" --no-setup --json 2>&1 |
    grep '^{' || true)
  b=$(pgcpu)
  t1=$(date +%s.%N)
  echo "$label $w c=$conns pg_cpu_s=$(echo "scale=2; ($b - $a) / $hz" | bc) wall_s=$(echo "$t1 - $t0" | bc) $out"
done
