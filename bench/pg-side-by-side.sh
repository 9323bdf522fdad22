#!/usr/bin/env bash
# Several DynamoDB endpoints on one PostgreSQL cluster, measured one after another per
# workload (interleaved, so that drift on the machine touches each alike), with the CPU of
# each server and of the cluster (see bench/pg-cpu.sh).
#
#   PGDATA=/path/to/cluster CONNS="16 64" SECS=5 WORKLOADS="put get query update" \
#     bench/pg-side-by-side.sh 'LABEL|ENDPOINT|SERVER_PID|CA_BUNDLE|KEY_ID|SECRET' ...
#
# CA_BUNDLE (for https endpoints), KEY_ID and SECRET (for servers that check signatures
# against users of their own) may be empty. Each endpoint's table must be loaded already
# (one `ferrodyn bench --endpoint URL --workload put --duration 1`). Prints one line per
# endpoint, workload and connection count: bench/pg-cpu.sh's output.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${PGDATA:?the data directory of the cluster}"
conns=${CONNS:-16 64}
secs=${SECS:-5}
workloads=${WORKLOADS:-put get query update}
for c in $conns; do
  for w in $workloads; do
    for spec in "$@"; do
      IFS='|' read -r label endpoint pid ca key secret <<<"$spec"
      env ${ca:+AWS_CA_BUNDLE=$ca} ${key:+AWS_ACCESS_KEY_ID=$key} ${secret:+AWS_SECRET_ACCESS_KEY=$secret} \
        ENDPOINT="$endpoint" bench/pg-cpu.sh "$label" "$pid" 0 "$PGDATA" "$c" "$secs" "$w"
    done
  done
done
