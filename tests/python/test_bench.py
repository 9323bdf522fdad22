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


@needs_own_server
def test_https_endpoint_with_credentials_of_its_own(tmp_path):
    """An https:// endpoint that checks signatures against its own users: the bench trusts
    AWS_CA_BUNDLE and signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY."""
    import os

    out = subprocess.run([str(ferrodyn_bin()), "tls", "self-signed", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    creds = tmp_path / "credentials"
    creds.write_text("AKIABENCHUSER:bench-secret:123456789012\n")
    s = ServerProcess(["--in-memory", "--auth", "sigv4", "--credentials", str(creds),
                       "--tls-cert", str(tmp_path / "cert.pem"),
                       "--tls-key", str(tmp_path / "key.pem")], tmp_path / "log")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    args = [str(ferrodyn_bin()), "bench", "--json", "--endpoint", f"https://localhost:{s.port}",
            "--workload", "put", "--workload", "get", "--connections", "2",
            "--duration", "0.3", "--items", "50"]
    try:
        ok = subprocess.run(args, capture_output=True, text=True, timeout=120, env={
            **env, "AWS_CA_BUNDLE": str(tmp_path / "cert.pem"),
            "AWS_ACCESS_KEY_ID": "AKIABENCHUSER", "AWS_SECRET_ACCESS_KEY": "bench-secret"})
        assert ok.returncode == 0, ok.stderr
        rows = [json.loads(l) for l in ok.stdout.splitlines() if l.startswith("{")]
        assert [r["workload"] for r in rows] == ["put", "get"]
        assert all(r["ops"] > 0 and r["errors"] == 0 for r in rows), rows
        # a wrong secret: the server refuses the signature (table set-up fails)
        bad = subprocess.run(args, capture_output=True, text=True, timeout=120, env={
            **env, "AWS_CA_BUNDLE": str(tmp_path / "cert.pem"),
            "AWS_ACCESS_KEY_ID": "AKIABENCHUSER", "AWS_SECRET_ACCESS_KEY": "wrong"})
        assert bad.returncode != 0 and "InvalidSignature" in bad.stderr + bad.stdout, bad.stderr
        # without the bundle the server's certificate is not trusted
        untrusted = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
        assert untrusted.returncode != 0 and "AWS_CA_BUNDLE" in untrusted.stderr, untrusted.stderr
    finally:
        s.kill()
