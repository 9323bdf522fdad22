"""A backup is one consistent snapshot: transactions that keep running while it is taken are
wholly in it or wholly out of it. A restore fills the table in the background: other
requests are served while the restored table is still CREATING."""

from __future__ import annotations

import threading
import time

from conftest import make_client


def test_backup_taken_under_concurrent_transactions_is_consistent(endpoint, client, unique_name):
    name = unique_name("pairs")
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    pairs = 8
    for p in range(pairs):
        for side in "ab":
            client.put_item(TableName=name, Item={"pk": {"S": f"{p}{side}"}, "v": {"N": "0"}})
    stop = threading.Event()
    done = [0]

    errors = []

    clients = [make_client(endpoint) for _ in range(pairs)]

    def writer(p):
        c = clients[p]
        v = 0
        try:
            while not stop.is_set():
                v += 1
                c.transact_write_items(TransactItems=[
                    {"Update": {"TableName": name, "Key": {"pk": {"S": f"{p}{side}"}},
                                "UpdateExpression": "SET v = :v",
                                "ExpressionAttributeValues": {":v": {"N": str(v)}}}}
                    for side in "ab"])
                done[0] += 1
        except Exception as e:  # reported below; a thread's exception is otherwise lost
            errors.append(repr(e))

    threads = [threading.Thread(target=writer, args=(p,)) for p in range(pairs)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 30
        while done[0] < 4 * pairs and not errors:  # every writer under way
            assert time.monotonic() < deadline
            time.sleep(0.01)
        arns = []
        for i in range(3):  # several backups while the writers run
            arns.append(client.create_backup(TableName=name, BackupName=f"{name}-{i}")
                        ["BackupDetails"]["BackupArn"])
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    print("transactions committed:", done[0])
    for i, arn in enumerate(arns):
        while client.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"][
                "BackupStatus"] != "AVAILABLE":
            time.sleep(0.1)
        target = f"{name}-r{i}"
        client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
        client.get_waiter("table_exists").wait(TableName=target,
                                               WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        items = {it["pk"]["S"]: it["v"]["N"] for it in client.scan(TableName=target)["Items"]}
        assert len(items) == 2 * pairs
        for p in range(pairs):
            assert items[f"{p}a"] == items[f"{p}b"], (arn, p, items)
        client.delete_table(TableName=target)
        client.delete_backup(BackupArn=arn)
    client.delete_table(TableName=name)


def test_restore_of_a_large_table_does_not_block_other_requests(client, unique_name):
    name = unique_name("large")
    other = unique_name("other")
    for t in (name, other):
        client.create_table(TableName=t, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST")
    pad = "x" * 1000
    for j in range(240):
        client.batch_write_item(RequestItems={name: [
            {"PutRequest": {"Item": {"pk": {"S": f"k{j}-{i}"}, "pad": {"S": pad}}}}
            for i in range(25)]})
    arn = client.create_backup(TableName=name, BackupName="large")["BackupDetails"]["BackupArn"]
    while client.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"][
            "BackupStatus"] != "AVAILABLE":
        time.sleep(0.1)
    target = f"{name}-r"
    client.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    served_while_creating = 0
    while True:
        status = client.describe_table(TableName=target)["Table"]["TableStatus"]
        if status == "ACTIVE":
            break
        assert status == "CREATING"
        client.put_item(TableName=other, Item={"pk": {"S": f"w{served_while_creating}"}})
        served_while_creating += 1
    print("served while CREATING:", served_while_creating)
    # the restore of 6,000 items ran in the background while requests were answered
    assert served_while_creating >= 1
    assert client.describe_table(TableName=target)["Table"]["ItemCount"] == 6000
    for t in (name, other, target):
        client.delete_table(TableName=t)
    client.delete_backup(BackupArn=arn)
