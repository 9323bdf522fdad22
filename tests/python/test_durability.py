"""Durability: every write the server acknowledged survives SIGKILL and a restart.

These tests start their own server with --data-dir, so they are skipped when
FERRODYN_ENDPOINT points at an already-running server.
"""

from __future__ import annotations

import gzip
import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import BotoCoreError, ClientError

from conftest import make_client, needs_own_server, wait_active

THREADS = 8
ITEMS = 500


def _create(client, name):
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    wait_active(client, name)


def _item(i: int) -> dict:
    return {"pk": {"S": f"item-{i:04d}"}, "i": {"N": str(i)}, "pad": {"S": "p" * (i % 300)}}


def _check_all(client, name, acked: set[int]) -> None:
    missing = []
    for i in sorted(acked):
        got = client.get_item(TableName=name, Key={"pk": {"S": f"item-{i:04d}"}},
                              ConsistentRead=True).get("Item")
        if got != _item(i):
            missing.append(i)
    assert not missing, f"{len(missing)} acknowledged items lost or wrong, e.g. {missing[:10]}"
    # ItemCount is exact in Ferrodyn: it is kept in the same transaction as each write.
    count = client.describe_table(TableName=name)["Table"]["ItemCount"]
    assert count >= len(acked)


@needs_own_server
def test_acknowledged_writes_survive_sigkill(durable_server, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    endpoint, server = durable_server(data_dir)
    client = make_client(endpoint, max_pool_connections=THREADS * 2)
    name = "durable"
    _create(client, name)

    acked: set[int] = set()
    lock = threading.Lock()

    def writer(worker: int) -> None:
        for i in range(worker, ITEMS, THREADS):
            client.put_item(TableName=name, Item=_item(i))
            with lock:
                acked.add(i)

    with ThreadPoolExecutor(THREADS) as pool:
        for f in [pool.submit(writer, w) for w in range(THREADS)]:
            f.result()
    assert len(acked) == ITEMS

    server.kill()  # SIGKILL: no chance to flush anything that was not already durable
    assert server.proc.returncode == -9

    endpoint2, _ = durable_server(data_dir)
    client2 = make_client(endpoint2)
    assert name in client2.list_tables()["TableNames"]
    assert client2.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    _check_all(client2, name, acked)


@needs_own_server
def test_sigkill_during_writes_keeps_every_acknowledged_item(durable_server, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    endpoint, server = durable_server(data_dir)
    client = make_client(endpoint, max_pool_connections=THREADS * 2, read_timeout=10)
    name = "inflight"
    _create(client, name)

    acked: set[int] = set()
    lock = threading.Lock()
    stop = threading.Event()

    def writer(worker: int) -> None:
        i = worker
        while not stop.is_set() and i < 100_000:
            try:
                client.put_item(TableName=name, Item=_item(i))
            except (ClientError, BotoCoreError):
                return  # server gone: this write is not acknowledged
            with lock:
                acked.add(i)
            i += THREADS

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(writer, w) for w in range(THREADS)]
        deadline = time.monotonic() + 30
        while len(acked) < ITEMS // 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()  # writes are still in flight
        stop.set()
        for f in futures:
            f.result()
    assert len(acked) >= ITEMS // 2

    endpoint2, _ = durable_server(data_dir)
    _check_all(make_client(endpoint2), name, acked)


@needs_own_server
def test_table_metadata_survives_clean_restart(durable_server, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    endpoint, server = durable_server(data_dir)
    client = make_client(endpoint)
    client.create_table(
        TableName="meta",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    )
    wait_active(client, "meta")
    before = client.describe_table(TableName="meta")["Table"]
    client.put_item(TableName="meta", Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    server.stop()  # SIGTERM
    assert server.proc.wait(timeout=15) == 0, "SIGTERM must stop the server cleanly (exit 0)"

    endpoint2, _ = durable_server(data_dir)
    after = make_client(endpoint2).describe_table(TableName="meta")["Table"]
    for field in ("TableName", "KeySchema", "TableArn", "CreationDateTime"):
        assert after[field] == before[field], field
    assert sorted(after["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == \
        sorted(before["AttributeDefinitions"], key=lambda a: a["AttributeName"])
    assert after["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert after["ProvisionedThroughput"]["WriteCapacityUnits"] == 4
    got = make_client(endpoint2).get_item(TableName="meta",
                                          Key={"pk": {"S": "a"}, "sk": {"N": "1"}},
                                          ConsistentRead=True)
    assert "Item" in got


@needs_own_server
def test_sigint_stops_cleanly(durable_server, tmp_path):
    endpoint, server = durable_server(tmp_path / "data")
    make_client(endpoint).list_tables()
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=15) == 0, "SIGINT must stop the server cleanly (exit 0)"


def test_export_and_import_cut_by_sigkill_are_run_again_at_restart(durable_server, tmp_path):
    """kill -9 while an export and an import run: after the restart both finish (they do
    not stay IN_PROGRESS); the export holds the table as it was at ExportTime, the import
    every item once."""
    data_dir, s3 = tmp_path / "data", tmp_path / "s3"
    data_dir.mkdir()
    endpoint, server = durable_server(data_dir, "--s3-dir", str(s3))
    client = make_client(endpoint)
    name, n, m = "exported", 3000, 3000
    _create(client, name)
    client.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    time.sleep(0.01)
    for first in range(0, n, 25):
        client.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": _item(i)}} for i in range(first, min(n, first + 25))]})
    src = s3 / "in-bkt" / "src"
    src.mkdir(parents=True)
    with open(src / "items.json", "w") as f:
        for i in range(m):
            f.write(json.dumps({"Item": {"pk": {"S": f"i{i:06d}"}, "v": {"N": str(i)}}}) + "\n")
    table_arn = client.describe_table(TableName=name)["Table"]["TableArn"]
    arns = {}

    def export():
        arns["export"] = client.export_table_to_point_in_time(
            TableArn=table_arn, S3Bucket="out-bkt")["ExportDescription"]["ExportArn"]

    def import_():
        arns["import"] = client.import_table(
            S3BucketSource={"S3Bucket": "in-bkt", "S3KeyPrefix": "src/"},
            InputFormat="DYNAMODB_JSON",
            TableCreationParameters={
                "TableName": "imported",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            })["ImportTableDescription"]["ImportArn"]

    workers = [threading.Thread(target=f) for f in (export, import_)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    server.kill()
    assert len(arns) == 2

    endpoint2, _ = durable_server(data_dir, "--s3-dir", str(s3))
    client = make_client(endpoint2)
    # Written after the export time: not exported.
    client.put_item(TableName=name, Item={"pk": {"S": "later"}})
    deadline = time.monotonic() + 60
    while True:
        e = client.describe_export(ExportArn=arns["export"])["ExportDescription"]
        i = client.describe_import(ImportArn=arns["import"])["ImportTableDescription"]
        if "IN_PROGRESS" not in (e["ExportStatus"], i["ImportStatus"]):
            break
        assert time.monotonic() < deadline, "an export or import stayed IN_PROGRESS after the restart"
        time.sleep(0.2)
    assert e["ExportStatus"] == "COMPLETED", e
    assert e["ItemCount"] == n
    base = s3 / "out-bkt"
    summary = json.loads((base / e["ExportManifest"]).read_text())
    listed = [json.loads(line) for line in (base / summary["manifestFilesS3Key"]).read_text().splitlines()]
    assert len(listed) == 1
    data = base / listed[0]["dataFileS3Key"]
    assert [p.name for p in data.parent.iterdir()] == [data.name]
    items = [json.loads(line)["Item"] for line in gzip.decompress(data.read_bytes()).decode().splitlines()]
    assert sorted(it["pk"]["S"] for it in items) == sorted(_item(k)["pk"]["S"] for k in range(n))
    assert i["ImportStatus"] == "COMPLETED", i
    assert (i["ProcessedItemCount"], i["ImportedItemCount"], i["ErrorCount"]) == (m, m, 0)
    t = client.describe_table(TableName="imported")["Table"]
    assert (t["TableStatus"], t["ItemCount"]) == ("ACTIVE", m)
    got = {}
    for page in client.get_paginator("scan").paginate(TableName="imported", ConsistentRead=True):
        for it in page["Items"]:
            got[it["pk"]["S"]] = it["v"]["N"]
    assert got == {f"i{k:06d}": str(k) for k in range(m)}
