"""Provisioned-capacity enforcement (`--enforce-capacity`, off by default): PROVISIONED
tables and global indexes are throttled at their provisioned units per second with
ProvisionedThroughputExceededException, so that a client's retry logic can be tested the
way DynamoDB throttles. boto3 against the real binary."""

import time

import pytest
from botocore.exceptions import ClientError

from conftest import EXTERNAL_ENDPOINT, ServerProcess, make_client, wait_active

pytestmark = pytest.mark.skipif(
    bool(EXTERNAL_ENDPOINT), reason="starts its own server with --enforce-capacity"
)

TABLE_MSG = (
    "The level of configured provisioned throughput for the table was exceeded. "
    "Consider increasing your provisioning level with the UpdateTable API."
)


@pytest.fixture
def enforcing(tmp_path):
    server = ServerProcess(["--in-memory", "--enforce-capacity"], tmp_path / "log")
    yield server
    server.kill()


def create(client, name, rcu, wcu, gsi_rcu=None, billing="PROVISIONED"):
    args = dict(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode=billing,
    )
    if billing == "PROVISIONED":
        args["ProvisionedThroughput"] = {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}
    if gsi_rcu is not None:
        gsi = {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
               "Projection": {"ProjectionType": "ALL"}}
        if billing == "PROVISIONED":
            gsi["ProvisionedThroughput"] = {"ReadCapacityUnits": gsi_rcu, "WriteCapacityUnits": 100}
        args["GlobalSecondaryIndexes"] = [gsi]
        args["AttributeDefinitions"].append({"AttributeName": "g", "AttributeType": "S"})
    client.create_table(**args)
    wait_active(client, name)


def put(client, table, i):
    client.put_item(TableName=table, Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}})


def until_throttled(call, limit=10):
    """Call until it is throttled; return (calls that went through, the ClientError)."""
    for n in range(limit):
        try:
            call(n)
        except ClientError as e:
            return n, e
    raise AssertionError(f"not throttled after {limit} calls")


def test_writes_past_the_provisioned_rate_are_throttled_like_dynamodb(enforcing):
    c = make_client(enforcing.endpoint)
    create(c, "tab1", rcu=1, wcu=2)
    # A new table holds one second of capacity: two 1-unit writes (plus what refills
    # meanwhile), then throttled.
    n, e = until_throttled(lambda i: put(c, "tab1", i))
    assert 2 <= n <= 3
    r = e.response
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert r["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert r["Error"]["Message"] == TABLE_MSG
    arn = c.describe_table(TableName="tab1")["Table"]["TableArn"]
    assert r["ThrottlingReasons"] == [
        {"reason": "TableWriteProvisionedThroughputExceeded", "resource": arn}]
    # Reads have their own capacity.
    c.get_item(TableName="tab1", Key={"pk": {"S": "k0"}})
    # The bucket refills at the provisioned rate.
    time.sleep(0.6)
    put(c, "tab1", 3)
    # Transactions are cancelled with ThrottlingError; batches leave the table's requests
    # unprocessed (here every table, so the whole batch is throttled).
    with pytest.raises(ClientError) as e:
        for i in range(10):
            c.transact_write_items(TransactItems=[
                {"Put": {"TableName": "tab1", "Item": {"pk": {"S": f"t{i}"}}}}])
    assert e.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [x["Code"] for x in e.value.response["CancellationReasons"]] == ["ThrottlingError"]
    with pytest.raises(ClientError) as e:
        c.batch_write_item(RequestItems={"tab1": [{"PutRequest": {"Item": {"pk": {"S": "b"}}}}]})
    assert e.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"


def test_the_sdk_retries_through_the_throttle(enforcing):
    # boto3's standard retry mode backs off on ProvisionedThroughputExceededException;
    # 15 writes at 5 units/s take about two seconds once the first second's worth is used.
    c = make_client(enforcing.endpoint, retries={"total_max_attempts": 15, "mode": "standard"})
    create(c, "tab2", rcu=5, wcu=5)
    start = time.monotonic()
    for i in range(15):
        put(c, "tab2", i)
    assert time.monotonic() - start >= 1.5
    assert c.scan(TableName="tab2", Select="COUNT")["Count"] == 15


def test_a_global_index_has_its_own_read_capacity(enforcing):
    c = make_client(enforcing.endpoint)
    create(c, "tab3", rcu=100, wcu=100, gsi_rcu=1)
    put(c, "tab3", 0)
    q = dict(TableName="tab3", IndexName="byg", KeyConditionExpression="g = :g",
             ExpressionAttributeValues={":g": {"S": "x"}})
    n, e = until_throttled(lambda i: c.query(**q))
    assert 1 <= n <= 3
    r = e.response
    assert r["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert r["ThrottlingReasons"][0]["reason"] == "IndexReadProvisionedThroughputExceeded"
    assert r["ThrottlingReasons"][0]["resource"].endswith("/index/byg")
    # The table's own reads are not affected.
    c.query(TableName="tab3", KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "k0"}})


def test_batches_leave_throttled_tables_unprocessed(enforcing):
    c = make_client(enforcing.endpoint)
    create(c, "slow", rcu=1, wcu=1)
    create(c, "fast", rcu=1000, wcu=1000)
    until_throttled(lambda i: put(c, "slow", i))
    out = c.batch_write_item(RequestItems={
        "slow": [{"PutRequest": {"Item": {"pk": {"S": "s"}}}}],
        "fast": [{"PutRequest": {"Item": {"pk": {"S": "f"}}}}],
    })
    assert out["UnprocessedItems"] == {"slow": [{"PutRequest": {"Item": {"pk": {"S": "s"}}}}]}
    assert "Item" in c.get_item(TableName="fast", Key={"pk": {"S": "f"}})
    until_throttled(lambda i: c.get_item(TableName="slow", Key={"pk": {"S": "k0"}},
                                         ConsistentRead=True))
    out = c.batch_get_item(RequestItems={
        "slow": {"Keys": [{"pk": {"S": "k0"}}]},
        "fast": {"Keys": [{"pk": {"S": "f"}}]},
    })
    assert list(out["UnprocessedKeys"]) == ["slow"]
    assert len(out["Responses"]["fast"]) == 1


def test_on_demand_tables_and_servers_without_the_flag_are_not_throttled(enforcing, tmp_path):
    c = make_client(enforcing.endpoint)
    create(c, "ondemand", rcu=0, wcu=0, billing="PAY_PER_REQUEST")
    for i in range(50):
        put(c, "ondemand", i)
    plain = ServerProcess(["--in-memory"], tmp_path / "plain.log")
    try:
        p = make_client(plain.endpoint)
        create(p, "tab4", rcu=1, wcu=1)
        for i in range(50):
            put(p, "tab4", i)
    finally:
        plain.kill()
