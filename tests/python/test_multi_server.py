"""Several ferrodyn servers on one PostgreSQL database (--storage postgres://...).

Skipped unless FERRODYN_TEST_POSTGRES names a PostgreSQL database (scripts/postgres-up
prints one); each test module run creates its own databases there with psql and drops them
at the end. Two server processes are started on the same database; everything goes through
boto3 against one or the other.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import re
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from botocore.exceptions import ClientError

from conftest import ServerProcess, make_client, needs_own_server, wait_active

PG = os.environ.get("FERRODYN_TEST_POSTGRES")

pytestmark = [
    needs_own_server,
    pytest.mark.skipif(not PG, reason="set FERRODYN_TEST_POSTGRES to a PostgreSQL URL "
                       "(scripts/postgres-up prints one)"),
]

LEASE_SECONDS = 3.0
# Databases this module creates are named <prefix><random> (several developers may share
# one PostgreSQL cluster).
DB_PREFIX = os.environ.get("FERRODYN_TEST_DB_PREFIX", "fdmulti_")
SWEEP_SECONDS = 0.3


def psql(sql: str) -> None:
    subprocess.run(["psql", PG, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def fresh_db():
    """fresh_db() -> the URL of a new, empty database (dropped at the end of the module)."""
    made = []

    def make() -> str:
        name = f"{DB_PREFIX}{uuid.uuid4().hex[:12]}"
        psql(f"CREATE DATABASE {name}")
        made.append(name)
        u = urlsplit(PG)
        return urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))

    yield make
    for name in made:
        try:
            psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        except subprocess.CalledProcessError:
            pass


def start(url: str, log: Path, *extra: str) -> ServerProcess:
    os.environ.setdefault("RUST_LOG", "warn,ferrodyn_engine=info")
    return ServerProcess(
        ["--storage", url, "--ttl-sweep-interval", str(SWEEP_SECONDS),
         "--lease-seconds", str(LEASE_SECONDS), "--ttl-cooldown", "0", *extra],
        log,
    )


@pytest.fixture(scope="module")
def pair(fresh_db, server_log_dir):
    """Two servers on one database: (client of server 1, client of server 2)."""
    url = fresh_db()
    servers = [start(url, server_log_dir / f"multi-{i}.log") for i in (1, 2)]
    try:
        yield [make_client(s.endpoint) for s in servers]
    finally:
        for s in servers:
            s.stop()


def create(client, name: str, **extra) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )


def test_table_created_through_one_server_is_usable_at_once_through_the_other(pair):
    a, b = pair
    name = f"t-{uuid.uuid4().hex[:10]}"
    create(a, name)
    # No waiting: server 2 must know the table as soon as CreateTable has answered.
    desc = b.describe_table(TableName=name)["Table"]
    assert desc["TableName"] == name
    assert name in b.list_tables()["TableNames"]
    wait_active(b, name)
    b.put_item(TableName=name, Item={"pk": {"S": "k"}, "v": {"N": "1"}})
    assert a.get_item(TableName=name, Key={"pk": {"S": "k"}}, ConsistentRead=True)["Item"]["v"] == {"N": "1"}
    assert a.describe_table(TableName=name)["Table"]["ItemCount"] == 1
    assert b.describe_table(TableName=name)["Table"]["ItemCount"] == 1

    # An update through one server is seen by the other's next table operation.
    b.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert a.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"] in ("ENABLING", "ENABLED")


def test_conditional_increments_through_both_servers_add_up(pair):
    a, b = pair
    name = f"c-{uuid.uuid4().hex[:10]}"
    create(a, name)
    wait_active(a, name)
    counters = [f"n{i}" for i in range(3)]
    for c in counters:
        a.put_item(TableName=name, Item={"pk": {"S": c}, "n": {"N": "0"}})
    acked = {c: 0 for c in counters}
    lock = threading.Lock()
    errors: list[str] = []
    per_thread = 15

    def worker(i: int) -> None:
        client = make_client((a if i % 2 == 0 else b).meta.endpoint_url)
        rng = random.Random(i)
        done = 0
        while done < per_thread:
            c = rng.choice(counters)
            cur = int(client.get_item(TableName=name, Key={"pk": {"S": c}},
                                      ConsistentRead=True)["Item"]["n"]["N"])
            try:
                client.update_item(
                    TableName=name, Key={"pk": {"S": c}},
                    UpdateExpression="SET n = n + :one",
                    ConditionExpression="n = :old",
                    ExpressionAttributeValues={":one": {"N": "1"}, ":old": {"N": str(cur)}},
                )
            except ClientError as e:
                code = e.response["Error"]["Code"]
                status = e.response["ResponseMetadata"]["HTTPStatusCode"]
                if code == "ConditionalCheckFailedException":
                    continue
                if status >= 500 or code not in ("TransactionConflictException", "ThrottlingException"):
                    with lock:
                        errors.append(f"{code} {status}: {e}")
                    return
                continue
            with lock:
                acked[c] += 1
            done += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    for c in counters:
        n = int(b.get_item(TableName=name, Key={"pk": {"S": c}}, ConsistentRead=True)["Item"]["n"]["N"])
        assert n == acked[c], (c, n, acked[c])
    assert sum(acked.values()) == 6 * per_thread
    # The statistics, kept per server, add up too.
    assert a.describe_table(TableName=name)["Table"]["ItemCount"] == len(counters)


def test_transfers_through_both_servers_keep_the_total(pair):
    a, b = pair
    name = f"bank-{uuid.uuid4().hex[:10]}"
    create(b, name)
    wait_active(b, name)
    accounts = [f"acct{i}" for i in range(4)]
    for acct in accounts:
        b.put_item(TableName=name, Item={"pk": {"S": acct}, "bal": {"N": "100"}})
    total = 100 * len(accounts)
    stop = threading.Event()
    errors: list[str] = []
    snapshots = []
    committed = [0]
    lock = threading.Lock()

    def transfer(i: int) -> None:
        client = make_client((a if i % 2 == 0 else b).meta.endpoint_url)
        rng = random.Random(100 + i)
        for _ in range(15):
            src, dst = rng.sample(accounts, 2)
            amount = rng.randint(1, 10)
            try:
                client.transact_write_items(TransactItems=[
                    {"Update": {"TableName": name, "Key": {"pk": {"S": src}},
                                "UpdateExpression": "SET bal = bal - :a",
                                "ConditionExpression": "bal >= :a",
                                "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
                    {"Update": {"TableName": name, "Key": {"pk": {"S": dst}},
                                "UpdateExpression": "SET bal = bal + :a",
                                "ExpressionAttributeValues": {":a": {"N": str(amount)}}}},
                ])
                with lock:
                    committed[0] += 1
            except ClientError as e:
                code = e.response["Error"]["Code"]
                status = e.response["ResponseMetadata"]["HTTPStatusCode"]
                if status >= 500 or code not in ("TransactionCanceledException",
                                                 "TransactionConflictException"):
                    with lock:
                        errors.append(f"{code} {status}: {e}")
                    return

    def audit(i: int) -> None:
        client = make_client((a if i % 2 == 0 else b).meta.endpoint_url)
        while not stop.is_set():
            try:
                r = client.transact_get_items(TransactItems=[
                    {"Get": {"TableName": name, "Key": {"pk": {"S": acct}}}} for acct in accounts
                ])
            except ClientError as e:
                code = e.response["Error"]["Code"]
                status = e.response["ResponseMetadata"]["HTTPStatusCode"]
                if status >= 500 or code not in ("TransactionCanceledException",
                                                 "TransactionConflictException"):
                    with lock:
                        errors.append(f"audit {code} {status}: {e}")
                    return
                continue
            s = sum(int(x["Item"]["bal"]["N"]) for x in r["Responses"])
            with lock:
                snapshots.append(s)

    auditors = [threading.Thread(target=audit, args=(i,)) for i in range(2)]
    workers = [threading.Thread(target=transfer, args=(i,)) for i in range(6)]
    for t in auditors + workers:
        t.start()
    for t in workers:
        t.join(timeout=300)
    stop.set()
    for t in auditors:
        t.join(timeout=60)
    assert not errors, errors
    assert committed[0] > 0
    assert snapshots and all(s == total for s in snapshots), set(snapshots)
    final = sum(int(a.get_item(TableName=name, Key={"pk": {"S": acct}}, ConsistentRead=True)["Item"]["bal"]["N"])
                for acct in accounts)
    assert final == total


def test_idempotency_token_is_shared(pair):
    a, b = pair
    name = f"tok-{uuid.uuid4().hex[:10]}"
    create(a, name)
    wait_active(a, name)
    a.put_item(TableName=name, Item={"pk": {"S": "x"}, "n": {"N": "0"}})
    items = [{"Update": {"TableName": name, "Key": {"pk": {"S": "x"}},
                         "UpdateExpression": "SET n = n + :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    token = uuid.uuid4().hex
    a.transact_write_items(TransactItems=items, ClientRequestToken=token)
    b.transact_write_items(TransactItems=items, ClientRequestToken=token)
    assert b.get_item(TableName=name, Key={"pk": {"S": "x"}}, ConsistentRead=True)["Item"]["n"] == {"N": "1"}
    with pytest.raises(ClientError) as e:
        b.transact_write_items(TransactItems=items + [
            {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "y"}},
                                "ConditionExpression": "attribute_not_exists(pk)"}}],
            ClientRequestToken=token)
    assert e.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_table_deleted_through_one_server_is_gone_on_the_other(pair):
    a, b = pair
    name = f"d-{uuid.uuid4().hex[:10]}"
    create(a, name)
    wait_active(a, name)
    b.put_item(TableName=name, Item={"pk": {"S": "k"}})
    a.delete_table(TableName=name)
    for op in (
        lambda: b.describe_table(TableName=name),
        lambda: b.put_item(TableName=name, Item={"pk": {"S": "k2"}}),
        lambda: b.get_item(TableName=name, Key={"pk": {"S": "k"}}),
    ):
        with pytest.raises(ClientError) as e:
            op()
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert name not in b.list_tables()["TableNames"]
    # The name can be used again, through either server, and starts empty.
    create(b, name)
    wait_active(a, name)
    assert "Item" not in a.get_item(TableName=name, Key={"pk": {"S": "k"}}, ConsistentRead=True)
    assert a.describe_table(TableName=name)["Table"]["ItemCount"] == 0


def holders(log: Path) -> int:
    """How many times the log says this server took the maintenance lease."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return 0
    return len(re.findall(r"holding lease.*maintenance|maintenance.*holding lease", text))


def test_ttl_sweeper_runs_on_one_server_and_moves_when_it_dies(fresh_db, server_log_dir):
    url = fresh_db()
    logs = [server_log_dir / f"lease-{uuid.uuid4().hex[:6]}-{i}.log" for i in (1, 2)]
    servers = [start(url, logs[0]), start(url, logs[1])]
    try:
        clients = [make_client(s.endpoint) for s in servers]
        name = f"ttl-{uuid.uuid4().hex[:10]}"
        create(clients[0], name)
        wait_active(clients[0], name)
        clients[1].update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})

        def expired_item_goes(client, key: str, timeout: float) -> None:
            client.put_item(TableName=name, Item={"pk": {"S": key}, "exp": {"N": str(int(time.time()) - 10)}})
            deadline = time.monotonic() + timeout
            while "Item" in client.get_item(TableName=name, Key={"pk": {"S": key}}, ConsistentRead=True):
                assert time.monotonic() < deadline, f"{key} not swept within {timeout} s"
                time.sleep(0.1)

        expired_item_goes(clients[1], "first", timeout=LEASE_SECONDS + 10)
        # Exactly one server holds the lease.
        time.sleep(4 * SWEEP_SECONDS)
        counts = [holders(p) for p in logs]
        assert sorted(counts) == [0, 1], counts
        holder = counts.index(1)
        other = 1 - holder
        # Items counted in the statistics part of the server about to die.
        for i in range(3):
            clients[holder].put_item(TableName=name, Item={"pk": {"S": f"keep{i}"}})
        servers[holder].kill()  # kill -9
        t0 = time.monotonic()
        expired_item_goes(clients[other], "second", timeout=LEASE_SECONDS + 10)
        took = time.monotonic() - t0
        assert holders(logs[other]) == 1
        assert took < LEASE_SECONDS + 5, took
        # Once the dead server's part of the statistics is folded, the count is unchanged.
        time.sleep(LEASE_SECONDS + 4 * SWEEP_SECONDS)
        assert clients[other].describe_table(TableName=name)["Table"]["ItemCount"] == 3
    finally:
        for s in servers:
            s.stop()


def fill(client, name: str, n: int, pad: int = 400) -> None:
    """n items k000000.. through BatchWriteItem."""
    text = "x" * pad
    for first in range(0, n, 25):
        client.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {"pk": {"S": f"k{i:06d}"}, "pad": {"S": text}}}}
            for i in range(first, min(n, first + 25))
        ]})


def backup_status(client, arn: str) -> str:
    try:
        d = client.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "BackupNotFoundException":
            return "GONE"
        raise
    return d["BackupStatus"]


def test_backup_whose_server_dies_is_completed_or_removed_by_another(fresh_db, server_log_dir):
    """kill -9 of the server copying a backup: the survivor completes it from PITR history
    (as the table was when the backup was requested) or, without PITR, removes it; it never
    stays CREATING."""
    url = fresh_db()
    logs = [server_log_dir / f"backup-{uuid.uuid4().hex[:6]}-{i}.log" for i in (1, 2)]
    servers = [start(url, logs[0]), start(url, logs[1])]
    try:
        a, b = (make_client(s.endpoint) for s in servers)
        n = 4000
        with_pitr, plain = (f"bk{kind}-{uuid.uuid4().hex[:8]}" for kind in ("p", "n"))
        for name in (with_pitr, plain):
            create(b, name)
            wait_active(b, name)
        b.update_continuous_backups(
            TableName=with_pitr,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        time.sleep(0.01)
        fill(b, with_pitr, n)
        fill(b, plain, n)
        # Both requested through server 1, killed as soon as they are answered: copying
        # n items takes far longer than that.
        arns = {}

        def request(name):
            arns[name] = a.create_backup(TableName=name, BackupName="bkp")["BackupDetails"]["BackupArn"]

        workers = [threading.Thread(target=request, args=(t,)) for t in (with_pitr, plain)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        servers[0].kill()
        died = time.monotonic()
        assert len(arns) == 2
        assert {backup_status(b, arns[t]) for t in arns} == {"CREATING"}
        # Written after the requests: not part of the backups.
        b.put_item(TableName=with_pitr, Item={"pk": {"S": "later"}})
        b.delete_item(TableName=with_pitr, Key={"pk": {"S": "k000000"}})

        deadline = died + LEASE_SECONDS + 20
        while any(backup_status(b, arns[t]) == "CREATING" for t in arns):
            assert time.monotonic() < deadline, "a backup stayed CREATING after its server died"
            time.sleep(0.2)
        assert backup_status(b, arns[plain]) == "GONE"
        d = b.describe_backup(BackupArn=arns[with_pitr])["BackupDescription"]
        assert d["BackupDetails"]["BackupStatus"] == "AVAILABLE"
        assert d["SourceTableDetails"]["ItemCount"] == n
        # Restored, it holds the table as it was when the backup was requested.
        target = f"{with_pitr}-r"
        b.restore_table_from_backup(TargetTableName=target, BackupArn=arns[with_pitr])
        deadline = time.monotonic() + 60
        while b.describe_table(TableName=target)["Table"]["TableStatus"] != "ACTIVE":
            assert time.monotonic() < deadline, "restore never finished"
            time.sleep(0.2)
        assert b.describe_table(TableName=target)["Table"]["ItemCount"] == n
        assert "Item" in b.get_item(TableName=target, Key={"pk": {"S": "k000000"}}, ConsistentRead=True)
        assert "Item" not in b.get_item(TableName=target, Key={"pk": {"S": "later"}}, ConsistentRead=True)
        # The removed backup's table is untouched, and a new backup of it works.
        arn = b.create_backup(TableName=plain, BackupName="again")["BackupDetails"]["BackupArn"]
        deadline = time.monotonic() + 60
        while backup_status(b, arn) != "AVAILABLE":
            assert time.monotonic() < deadline, "second backup never finished"
            time.sleep(0.2)
    finally:
        for s in servers:
            s.stop()


def test_streams_and_pitr_table_written_through_both_servers_under_contention(pair):
    """8 threads over two servers write one table with a stream and PITR (one sequence
    counter row per table: every pair of concurrent writes conflicts in the database and is
    re-run). Clients do not retry; every write must succeed, and the stream holds one record
    per write, in one order."""
    from test_streams import read_all, streams_client

    a, b = pair
    name = f"s-{uuid.uuid4().hex[:10]}"
    create(a, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    wait_active(a, name)
    a.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    threads, per_thread, hot = 8, 30, 4
    errors = []

    def work(t):
        c = (a, b)[t % 2]
        for i in range(per_thread):
            try:
                if i % 3 == 0:
                    c.update_item(TableName=name, Key={"pk": {"S": f"hot{i % hot}"}},
                                  UpdateExpression="ADD n :one",
                                  ExpressionAttributeValues={":one": {"N": "1"}})
                else:
                    c.put_item(TableName=name, Item={"pk": {"S": f"t{t}-{i}"}})
            except ClientError as e:
                errors.append(e.response["Error"]["Code"])

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert errors == []
    updates = threads * len(range(0, per_thread, 3))
    total = sum(int(a.get_item(TableName=name, Key={"pk": {"S": f"hot{k}"}}, ConsistentRead=True)
                    .get("Item", {}).get("n", {"N": "0"})["N"]) for k in range(hot))
    assert total == updates
    puts = threads * per_thread - updates
    assert b.describe_table(TableName=name)["Table"]["ItemCount"] == puts + hot
    arn = a.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    records = read_all(streams_client(b._endpoint.host), arn)
    assert len(records) == threads * per_thread
    # The re-runs show in the servers' metrics.
    conflicts = 0.0
    for c in (a, b):
        with urllib.request.urlopen(c._endpoint.host + "/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("ferrodyn_storage_conflicts "):
                    conflicts += float(line.split()[1])
    assert conflicts > 0
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(set(seqs))


def export_status(client, arn: str) -> dict:
    return client.describe_export(ExportArn=arn)["ExportDescription"]


def import_status(client, arn: str) -> dict:
    return client.describe_import(ImportArn=arn)["ImportTableDescription"]


def test_export_and_import_whose_server_dies_are_completed_by_another(fresh_db, server_log_dir, tmp_path):
    """kill -9 of the server running an export and an import: the survivor runs both again
    after --lease-seconds; the export holds exactly the table as it was at ExportTime (not
    what was written after), the import fills its table once (nothing twice, nothing
    missing); neither stays IN_PROGRESS."""
    url = fresh_db()
    s3 = tmp_path / "s3"
    logs = [server_log_dir / f"transfer-{uuid.uuid4().hex[:6]}-{i}.log" for i in (1, 2)]
    servers = [start(url, logs[i], "--s3-dir", str(s3)) for i in (0, 1)]
    try:
        a, b = (make_client(s.endpoint) for s in servers)
        n, m = 4000, 3000
        name = f"ex-{uuid.uuid4().hex[:8]}"
        create(b, name)
        wait_active(b, name)
        b.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        time.sleep(0.01)
        fill(b, name, n)
        table_arn = b.describe_table(TableName=name)["Table"]["TableArn"]
        # The import's input: m items in one DYNAMODB_JSON file.
        src = s3 / "in-bkt" / "src"
        src.mkdir(parents=True)
        with open(src / "items.json", "w") as f:
            for i in range(m):
                f.write(json.dumps({"Item": {"pk": {"S": f"i{i:06d}"}, "v": {"N": str(i)}}}) + "\n")
        target = f"im-{uuid.uuid4().hex[:8]}"
        arns = {}

        def export():
            arns["export"] = a.export_table_to_point_in_time(
                TableArn=table_arn, S3Bucket="out-bkt", S3Prefix="exp")["ExportDescription"]["ExportArn"]

        def import_():
            arns["import"] = a.import_table(
                S3BucketSource={"S3Bucket": "in-bkt", "S3KeyPrefix": "src/"},
                InputFormat="DYNAMODB_JSON",
                TableCreationParameters={
                    "TableName": target,
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "BillingMode": "PAY_PER_REQUEST",
                })["ImportTableDescription"]["ImportArn"]

        # Both requested through server 1, killed as soon as they are answered.
        workers = [threading.Thread(target=f) for f in (export, import_)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        servers[0].kill()
        died = time.monotonic()
        assert len(arns) == 2
        assert export_status(b, arns["export"])["ExportStatus"] == "IN_PROGRESS"
        assert import_status(b, arns["import"])["ImportStatus"] == "IN_PROGRESS"
        # Written after the export time: not part of the export.
        b.put_item(TableName=name, Item={"pk": {"S": "later"}})
        b.delete_item(TableName=name, Key={"pk": {"S": "k000000"}})

        deadline = died + LEASE_SECONDS + 60
        while (export_status(b, arns["export"])["ExportStatus"] == "IN_PROGRESS"
               or import_status(b, arns["import"])["ImportStatus"] == "IN_PROGRESS"):
            assert time.monotonic() < deadline, "an export or import stayed IN_PROGRESS after its server died"
            time.sleep(0.2)

        d = export_status(b, arns["export"])
        assert d["ExportStatus"] == "COMPLETED", d
        assert d["ItemCount"] == n
        # The files: the manifests name one data file holding the table at ExportTime, and
        # nothing of the dead server's attempt is left beside it.
        base = s3 / "out-bkt"
        summary = json.loads((base / d["ExportManifest"]).read_text())
        assert summary["itemCount"] == n
        listed = [json.loads(line) for line in (base / summary["manifestFilesS3Key"]).read_text().splitlines()]
        assert len(listed) == 1
        data = base / listed[0]["dataFileS3Key"]
        assert sorted(p.name for p in data.parent.iterdir()) == [data.name]
        items = [json.loads(line)["Item"] for line in gzip.decompress(data.read_bytes()).decode().splitlines()]
        assert sorted(i["pk"]["S"] for i in items) == [f"k{i:06d}" for i in range(n)]
        assert all(i["pad"]["S"] == "x" * 400 for i in items)

        d = import_status(b, arns["import"])
        assert d["ImportStatus"] == "COMPLETED", d
        assert (d["ProcessedItemCount"], d["ImportedItemCount"], d["ErrorCount"]) == (m, m, 0)
        t = b.describe_table(TableName=target)["Table"]
        assert t["TableStatus"] == "ACTIVE"
        assert t["ItemCount"] == m
        got = {}
        for page in b.get_paginator("scan").paginate(TableName=target, ConsistentRead=True):
            for i in page["Items"]:
                got[i["pk"]["S"]] = i["v"]["N"]
        assert got == {f"i{i:06d}": str(i) for i in range(m)}
    finally:
        for s in servers:
            s.stop()
