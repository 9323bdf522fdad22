#!/usr/bin/env python3
"""Cold start (exec to the 'listening' line) and idle RSS of a ferrodyn binary.

Usage: bench/startup.py [path/to/ferrodyn] [runs]
"""
import os, statistics, subprocess, sys, tempfile, time

binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/ferrodyn"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20

def once(args):
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "--port", "0", *args], stdout=subprocess.PIPE, text=True)
    p.stdout.readline()
    elapsed = (time.perf_counter() - t0) * 1000
    time.sleep(0.3)
    rss = 0
    with open(f"/proc/{p.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    p.terminate()
    p.wait()
    return elapsed, rss

for label, args in [("in-memory", ["--in-memory"]), ("durable", None)]:
    samples = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as d:
            samples.append(once(args if args is not None else ["--data-dir", os.path.join(d, "data")]))
    ms = [s[0] for s in samples]
    rss = [s[1] for s in samples]
    print(f"{label}: cold start median {statistics.median(ms):.1f} ms (min {min(ms):.1f}), idle RSS median {statistics.median(rss)/1024:.1f} MiB")
print(f"binary size: {os.path.getsize(binary)/1e6:.1f} MB")
