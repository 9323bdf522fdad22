"""TransactWriteItems and TransactGetItems: atomicity, cancellation reasons, idempotency,
and concurrency (a bank that never loses money, counters that never lose an update)."""

from __future__ import annotations

import random
import threading
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client


def K(v):
    return {"pk": {"S": v}}


def test_all_or_nothing_with_positional_reasons(client, table):
    client.put_item(TableName=table, Item={**K("a"), "n": {"N": "1"}})
    with pytest.raises(ClientError) as e:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": {**K("new"), "x": {"S": "y"}}}},
            {"Update": {"TableName": table, "Key": K("a"), "UpdateExpression": "SET n = n + :one",
                        "ConditionExpression": "n = :two",
                        "ExpressionAttributeValues": {":one": {"N": "1"}, ":two": {"N": "2"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
            {"ConditionCheck": {"TableName": table, "Key": K("nothere"),
                                "ConditionExpression": "attribute_not_exists(pk)"}},
        ])
    code, msg = error_of(e)
    assert code == "TransactionCanceledException"
    assert msg == ("Transaction cancelled, please refer cancellation reasons for specific "
                   "reasons [None, ConditionalCheckFailed, None]")
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None"]
    assert reasons[1]["Message"] == "The conditional request failed"
    assert reasons[1]["Item"] == {**K("a"), "n": {"N": "1"}}
    # nothing was written
    assert "Item" not in client.get_item(TableName=table, Key=K("new"))
    assert client.get_item(TableName=table, Key=K("a"))["Item"]["n"] == {"N": "1"}
    # now it succeeds
    client.transact_write_items(TransactItems=[
        {"Put": {"TableName": table, "Item": {**K("new"), "x": {"S": "y"}}}},
        {"Update": {"TableName": table, "Key": K("a"), "UpdateExpression": "SET n = n + :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"Delete": {"TableName": table, "Key": K("gone")}},
    ])
    got = client.transact_get_items(TransactItems=[
        {"Get": {"TableName": table, "Key": K("a"), "ProjectionExpression": "n"}},
        {"Get": {"TableName": table, "Key": K("missing")}},
        {"Get": {"TableName": table, "Key": K("new")}},
    ])["Responses"]
    assert got == [{"Item": {"n": {"N": "2"}}}, {}, {"Item": {**K("new"), "x": {"S": "y"}}}]


def test_validation(client, table):
    with pytest.raises(ClientError) as e:
        client.transact_write_items(TransactItems=[
            {"Put": {"TableName": table, "Item": K("dup")}},
            {"Delete": {"TableName": table, "Key": K("dup")}},
        ])
    assert error_of(e) == ("ValidationException",
                           "Transaction request cannot include multiple operations on one item")
    with pytest.raises(ClientError) as e:
        client.transact_get_items(TransactItems=[{"Get": {"TableName": table, "Key": {}}}])
    assert error_of(e)[0] == "TransactionCanceledException"
    assert [r["Code"] for r in e.value.response["CancellationReasons"]] == ["ValidationError"]
    with pytest.raises(ClientError) as e:
        client.transact_get_items(TransactItems=[{"Get": {
            "TableName": table, "Key": K("a"), "ProjectionExpression": "!!! INVALID !!!"}}])
    assert error_of(e) == ("ValidationException",
                           'Invalid ProjectionExpression: Syntax error; token: "!", near: "!!"')


def test_client_request_token_is_idempotent(client, table):
    token = str(uuid.uuid4())
    items = [{"Update": {"TableName": table, "Key": K("ctr"), "UpdateExpression": "ADD c :one",
                         "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    for _ in range(3):
        client.transact_write_items(TransactItems=items, ClientRequestToken=token)
    assert client.get_item(TableName=table, Key=K("ctr"))["Item"]["c"] == {"N": "1"}
    other = [{"Update": {**items[0]["Update"], "ExpressionAttributeValues": {":one": {"N": "2"}}}}]
    with pytest.raises(ClientError) as e:
        client.transact_write_items(TransactItems=other, ClientRequestToken=token)
    assert error_of(e)[0] == "IdempotentParameterMismatchException"


def test_bank_transfers_keep_the_total(endpoint, make_table):
    """Concurrent transfers between accounts; concurrent snapshots always sum to the start."""
    table = make_table()
    accounts = [f"acct{i}" for i in range(8)]
    setup = make_client(endpoint)
    for a in accounts:
        setup.put_item(TableName=table, Item={**K(a), "bal": {"N": "100"}})
    total = 100 * len(accounts)
    stop = threading.Event()
    errors: list[str] = []
    done = {"transfers": 0, "cancelled": 0, "snapshots": 0}
    lock = threading.Lock()

    def transfer(seed):
        c = make_client(endpoint)
        rnd = random.Random(seed)
        for _ in range(60):
            src, dst = rnd.sample(accounts, 2)
            amt = str(rnd.randint(1, 40))
            try:
                c.transact_write_items(TransactItems=[
                    {"Update": {"TableName": table, "Key": K(src),
                                "UpdateExpression": "SET bal = bal - :a",
                                "ConditionExpression": "bal >= :a",
                                "ExpressionAttributeValues": {":a": {"N": amt}}}},
                    {"Update": {"TableName": table, "Key": K(dst),
                                "UpdateExpression": "SET bal = bal + :a",
                                "ExpressionAttributeValues": {":a": {"N": amt}}}},
                ])
                key = "transfers"
            except ClientError as e:
                if e.response["Error"]["Code"] != "TransactionCanceledException":
                    errors.append(repr(e.response["Error"]))
                key = "cancelled"
            with lock:
                done[key] += 1

    def audit():
        c = make_client(endpoint)
        while not stop.is_set():
            got = c.transact_get_items(TransactItems=[
                {"Get": {"TableName": table, "Key": K(a)}} for a in accounts])["Responses"]
            s = sum(int(r["Item"]["bal"]["N"]) for r in got)
            if s != total:
                errors.append(f"snapshot summed to {s}")
            if any(int(r["Item"]["bal"]["N"]) < 0 for r in got):
                errors.append("negative balance")
            with lock:
                done["snapshots"] += 1

    workers = [threading.Thread(target=transfer, args=(i,)) for i in range(4)]
    auditors = [threading.Thread(target=audit) for _ in range(2)]
    for t in workers + auditors:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    for t in auditors:
        t.join()
    assert errors == []
    assert done["transfers"] + done["cancelled"] == 240
    assert done["transfers"] > 0 and done["snapshots"] > 0
    final = sum(int(setup.get_item(TableName=table, Key=K(a), ConsistentRead=True)["Item"]
                    ["bal"]["N"]) for a in accounts)
    assert final == total


def test_concurrent_increments_lose_nothing(endpoint, make_table):
    """Optimistic locking with a version attribute and plain ADD counters, from many clients."""
    table = make_table()
    setup = make_client(endpoint)
    setup.put_item(TableName=table, Item={**K("v"), "version": {"N": "0"}, "n": {"N": "0"}})
    successes = []

    def locker():
        c = make_client(endpoint)
        ok = 0
        for _ in range(40):
            while True:
                cur = c.get_item(TableName=table, Key=K("v"), ConsistentRead=True)["Item"]
                ver = cur["version"]["N"]
                try:
                    c.update_item(TableName=table, Key=K("v"),
                                  UpdateExpression="SET n = n + :one, version = version + :one",
                                  ConditionExpression="version = :v",
                                  ExpressionAttributeValues={":one": {"N": "1"}, ":v": {"N": ver}})
                    ok += 1
                    break
                except ClientError as e:
                    assert e.response["Error"]["Code"] == "ConditionalCheckFailedException"
        successes.append(ok)

    def adder():
        c = make_client(endpoint)
        for _ in range(50):
            c.update_item(TableName=table, Key=K("ctr"), UpdateExpression="ADD c :one",
                          ExpressionAttributeValues={":one": {"N": "1"}})

    threads = [threading.Thread(target=locker) for _ in range(4)]
    threads += [threading.Thread(target=adder) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    item = setup.get_item(TableName=table, Key=K("v"), ConsistentRead=True)["Item"]
    assert item["n"] == {"N": "160"} and item["version"] == {"N": "160"}
    assert sum(successes) == 160
    ctr = setup.get_item(TableName=table, Key=K("ctr"), ConsistentRead=True)["Item"]
    assert ctr["c"] == {"N": "200"}


def test_client_request_token_with_many_names_is_recognised(client, table):
    """Regression: the idempotency check compared a serialization of the request whose map
    order could differ between two identical requests."""
    items = [{"Update": {"TableName": table, "Key": {"pk": {"S": "tok"}},
                         "UpdateExpression": "SET #a = :a, #b = :b, #c = :c, #d = :d ADD #n :one",
                         "ExpressionAttributeNames": {"#a": "a", "#b": "b", "#c": "c",
                                                      "#d": "d", "#n": "n"},
                         "ExpressionAttributeValues": {":a": {"S": "1"}, ":b": {"S": "2"},
                                                       ":c": {"S": "3"}, ":d": {"S": "4"},
                                                       ":one": {"N": "1"}}}}]
    for _ in range(5):
        client.transact_write_items(TransactItems=items, ClientRequestToken="many-names")
    item = client.get_item(TableName=table, Key={"pk": {"S": "tok"}})["Item"]
    assert item["n"] == {"N": "1"}
