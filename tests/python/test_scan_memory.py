"""Large scans stream page by page: a Scan reads at most 1 MB per page, and the server's
memory stays flat while a client pages through a table many times larger than one page.

The server runs with durable storage (fjall) and a small block cache, so the table lives on
disk and only what a page touches is brought into memory.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import ServerProcess, make_client, needs_own_server

ITEM_BYTES = 300_000  # three to four items per 1 MB page
ITEMS = 200  # ~60 MB of items


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@needs_own_server
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_scan_pages_stream_with_flat_memory(tmp_path):
    server = ServerProcess(
        ["--data-dir", str(tmp_path / "data"), "--cache-mb", "8", "--durability", "buffered"],
        tmp_path / "server.log",
    )
    try:
        c = make_client(server.endpoint, read_timeout=120)
        c.create_table(
            TableName="big",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        blob = os.urandom(ITEM_BYTES // 2).hex()  # incompressible
        for i in range(ITEMS):
            c.put_item(TableName="big", Item={"pk": {"S": f"item-{i:04d}"}, "d": {"S": blob}})
        # Restart so the scan starts from disk, not from write buffers.
        server.stop()
        server = ServerProcess(
            ["--data-dir", str(tmp_path / "data"), "--cache-mb", "8"], tmp_path / "server.log"
        )
        c = make_client(server.endpoint, read_timeout=120)
        pid = server.proc.pid
        # One page first, so the process has its steady-state buffers.
        first = c.scan(TableName="big", Limit=1)
        base = rss_kib(pid)
        peak = base
        seen = set()
        pages = 0
        start = None
        while True:
            kw = {"TableName": "big", "ProjectionExpression": "pk"}
            if start:
                kw["ExclusiveStartKey"] = start
            page = c.scan(**kw)
            pages += 1
            # A page stops at the item that takes it past 1 MB.
            assert page["ScannedCount"] <= 1024 * 1024 // ITEM_BYTES + 1
            seen.update(i["pk"]["S"] for i in page["Items"])
            peak = max(peak, rss_kib(pid))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        assert len(seen) == ITEMS
        assert pages >= ITEMS // (1024 * 1024 // ITEM_BYTES + 1)
        table_kib = ITEMS * ITEM_BYTES // 1024
        growth = peak - base
        print(f"pages={pages} table={table_kib} KiB rss base={base} KiB peak={peak} KiB growth={growth} KiB")
        # Flat: the scan of ~60 MB grows the process by far less than the table.
        assert growth < table_kib // 4, (base, peak, table_kib)
        assert first["Count"] == 1
    finally:
        server.kill()
