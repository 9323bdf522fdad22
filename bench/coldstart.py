#!/usr/bin/env python3
"""Cold start and idle memory of any DynamoDB server: the time from exec to the first
answered ListTables (polled every 0.5 ms), then its RSS after 1 s idle. Median of RUNS.

    bench/coldstart.py NAME PORT RUNS [--cwd DIR] -- COMMAND...

Prints one JSON line: {"name", "cold_start_ms" (median), "min_ms", "idle_rss_kib"}.
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

args = sys.argv[1:]
sep = args.index("--")
name, port, runs = args[0], int(args[1]), int(args[2])
cwd = args[args.index("--cwd") + 1] if "--cwd" in args[:sep] else None
command = args[sep + 1:]
BODY = b"{}"
REQUEST = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-amz-json-1.0\r\n"
           b"X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
           b"Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/dynamodb/"
           b"aws4_request, SignedHeaders=host;x-amz-date, Signature=00\r\n"
           b"X-Amz-Date: 20260101T000000Z\r\nContent-Length: 2\r\nConnection: close\r\n\r\n" + BODY)


def answered() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(REQUEST)
            return s.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


times, rsses = [], []
for _ in range(runs):
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [c.replace("{tmp}", tmp) for c in command]
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not answered():
                if p.poll() is not None or time.perf_counter() - t0 > 60:
                    sys.exit(f"{name}: did not start")
                time.sleep(0.0005)
            times.append((time.perf_counter() - t0) * 1000)
            time.sleep(1.0)
            rsses.append(rss(p.pid))
        finally:
            p.kill()
            p.wait()
print(json.dumps({"name": name, "cold_start_ms": round(statistics.median(times), 1),
                  "min_ms": round(min(times), 1), "idle_rss_kib": statistics.median(rsses)}))
