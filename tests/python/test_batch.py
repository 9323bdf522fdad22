"""BatchGetItem and BatchWriteItem: results, projections, capacity and DynamoDB's messages.

Messages follow the conformance suite (validated against AWS); DynamoDB Local words several
of them differently (`BatchGetItem must have some requests set`, ...). Capacity follows the
Developer Guide: each key is read as a GetItem, so a missing item still costs a read unit
(DynamoDB Local charges nothing for it).
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import error_of


def K(v):
    return {"pk": {"S": v}}


def test_batch_write_then_get_with_projection(client, make_table):
    a = make_table()
    b = make_table(range_key=("sk", "N"))
    resp = client.batch_write_item(RequestItems={
        a: [{"PutRequest": {"Item": {**K(f"a{i}"), "n": {"N": str(i)}, "x": {"S": "y"}}}}
            for i in range(10)],
        b: [{"PutRequest": {"Item": {**K("p"), "sk": {"N": str(i)}}}} for i in range(5)],
    }, ReturnConsumedCapacity="TOTAL")
    assert resp["UnprocessedItems"] == {}
    caps = {c["TableName"]: c["CapacityUnits"] for c in resp["ConsumedCapacity"]}
    assert caps == {a: 10.0, b: 5.0}
    got = client.batch_get_item(RequestItems={
        a: {"Keys": [K("a1"), K("a2"), K("missing")], "ProjectionExpression": "#n",
            "ExpressionAttributeNames": {"#n": "n"}, "ConsistentRead": True},
        b: {"Keys": [{**K("p"), "sk": {"N": "3"}}]},
    }, ReturnConsumedCapacity="TOTAL")
    assert got["UnprocessedKeys"] == {}
    assert sorted(i["n"]["N"] for i in got["Responses"][a]) == ["1", "2"]
    assert all(set(i) == {"n"} for i in got["Responses"][a])
    assert got["Responses"][b] == [{**K("p"), "sk": {"N": "3"}}]
    caps = {c["TableName"]: c["CapacityUnits"] for c in got["ConsumedCapacity"]}
    assert caps == {a: 3.0, b: 0.5}
    # deletes and puts mixed
    client.batch_write_item(RequestItems={a: [
        {"DeleteRequest": {"Key": K("a1")}},
        {"PutRequest": {"Item": {**K("a1x")}}},
    ]})
    got = client.batch_get_item(RequestItems={a: {"Keys": [K("a1"), K("a1x")]}})
    assert got["Responses"][a] == [K("a1x")]


@pytest.mark.parametrize("call, message", [
    ("get_empty", "The requestItems parameter is required for BatchGetItem"),
    ("write_empty", "The requestItems parameter is required for BatchWriteItem"),
    ("get_dup", "Provided list of item keys contains duplicates"),
    ("write_dup", "Provided list of item keys contains duplicates"),
    ("get_101", "1 validation error detected: Value at 'RequestItems.@T.member.Keys' failed to "
                "satisfy constraint: Member must have length less than or equal to 100"),
    ("get_key_mismatch", "The provided key element does not match the schema"),
])
def test_batch_validation(client, table, call, message):
    calls = {
        "get_empty": lambda: client.batch_get_item(RequestItems={}),
        "write_empty": lambda: client.batch_write_item(RequestItems={}),
        "get_dup": lambda: client.batch_get_item(RequestItems={table: {"Keys": [K("d"), K("d")]}}),
        "write_dup": lambda: client.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": K("d")}}, {"DeleteRequest": {"Key": K("d")}}]}),
        "get_101": lambda: client.batch_get_item(
            RequestItems={table: {"Keys": [K(str(i)) for i in range(101)]}}),
        "get_key_mismatch": lambda: client.batch_get_item(
            RequestItems={table: {"Keys": [{"other": {"S": "x"}}]}}),
    }
    with pytest.raises(ClientError) as e:
        calls[call]()
    assert error_of(e) == ("ValidationException", message.replace("@T", table))


def test_batch_write_over_25_and_missing_table(client, table):
    with pytest.raises(ClientError) as e:
        client.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": K(str(i))}} for i in range(26)]})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg.startswith("1 validation error detected: Value '{" + table + "=[")
    assert msg.endswith("at 'requestItems' failed to satisfy constraint: Map value must satisfy "
                        "constraint: [Member must have length less than or equal to 25, Member "
                        "must have length greater than or equal to 1]")
    with pytest.raises(ClientError) as e:
        client.batch_write_item(RequestItems={"no-such-table-x": [{"PutRequest": {"Item": K("a")}}]})
    assert error_of(e) == ("ResourceNotFoundException", "Requested resource not found")
