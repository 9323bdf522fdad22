"""`ferrodyn bench`, the load generator: every workload runs against a real server with no
errors and reports machine-readable figures (ops/s, latency percentiles, items/s, the CPU
of driver and server); `--canned` serves the bare-HTTP ceiling it is compared with."""

from __future__ import annotations

import json
import subprocess
import time

from conftest import ServerProcess, ferrodyn_bin, free_port, needs_own_server, wait_for_port

WORKLOADS = ["put", "get", "zipf-get", "mix", "query", "update", "batch-write", "scan",
             "ycsb-a", "ycsb-b", "ycsb-c", "ycsb-d", "ycsb-e", "ycsb-f"]


def bench(*args: str) -> list[dict]:
    out = subprocess.run([str(ferrodyn_bin()), "bench", "--json", *args],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]


@needs_own_server
def test_every_workload_runs_clean_and_reports(tmp_path):
    s = ServerProcess(["--in-memory"], tmp_path / "log")
    try:
        args = ["--endpoint", s.endpoint, "--connections", "2", "--duration", "0.3",
                "--items", "300", "--server-pid", str(s.proc.pid)]
        for w in WORKLOADS:
            args += ["--workload", w]
        rows = bench(*args)
        assert [r["workload"] for r in rows] == WORKLOADS
        for r in rows:
            assert r["ops"] > 0 and r["errors"] == 0, r
            assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["p999_ms"], r
            assert r["driver_cpu"] is not None and r["server_cpu"] is not None, r
        by = {r["workload"]: r for r in rows}
        assert abs(by["batch-write"]["items_per_sec"] - 25 * by["batch-write"]["ops_per_sec"]) < 1e-6 * by["batch-write"]["items_per_sec"]
        # a whole-table scan reads at least the preloaded items each time
        assert by["scan"]["items_per_sec"] >= 300 * by["scan"]["ops_per_sec"] * 0.99
    finally:
        s.kill()


def test_canned_server_is_the_http_ceiling(tmp_path):
    port = free_port()
    p = subprocess.Popen([str(ferrodyn_bin()), "bench", "--canned", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port("127.0.0.1", port, p, tmp_path / "none")
        rows = bench("--endpoint", f"http://127.0.0.1:{port}", "--no-setup", "--workload",
                     "get", "--workload", "put", "--connections", "2", "--duration", "0.3")
        assert [r["errors"] for r in rows] == [0, 0] and all(r["ops"] > 0 for r in rows)
    finally:
        p.kill()
        p.wait()
