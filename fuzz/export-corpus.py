#!/usr/bin/env python3
"""Write a fuzz target's corpus (fuzz/corpus/TARGET) as the JSON-lines file its regression
test replays: one input per line, a JSON string when it is UTF-8, else {"hex": "..."}.

    python3 fuzz/export-corpus.py decode crates/protocol/tests/fuzz_corpus.jsonl
"""
import json
import os
import sys

target, out = sys.argv[1], sys.argv[2]
d = os.path.join(os.path.dirname(__file__), "corpus", target)
inputs = sorted((open(os.path.join(d, f), "rb").read() for f in os.listdir(d)),
                key=lambda b: (len(b), b))
with open(out, "w") as f:
    for b in inputs:
        try:
            f.write(json.dumps(b.decode("utf-8")) + "\n")
        except UnicodeDecodeError:
            f.write(json.dumps({"hex": b.hex()}) + "\n")
print(f"{len(inputs)} inputs -> {out}")
