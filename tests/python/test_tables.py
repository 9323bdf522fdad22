"""Control plane: CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable, waiters.

Expected error messages are AWS DynamoDB's, as documented or as observed in real AWS error
output; where DynamoDB Local answers differently the test follows AWS and says so.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from botocore.exceptions import ClientError

from conftest import REGION, assert_message, error_of, make_client, wait_active

FAST_WAITER = {"Delay": 1, "MaxAttempts": 30}


def hash_only(name, billing="PAY_PER_REQUEST", **extra):
    kwargs = dict(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        **extra,
    )
    if billing == "PAY_PER_REQUEST":
        kwargs["BillingMode"] = "PAY_PER_REQUEST"
    else:
        kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    return kwargs


@pytest.fixture
def cleanup(client):
    names: list[str] = []
    yield names
    for n in names:
        try:
            client.update_table(TableName=n, DeletionProtectionEnabled=False)
        except Exception:
            pass
        try:
            client.delete_table(TableName=n)
        except Exception:
            pass


# --------------------------------------------------------------------------------------------
# CreateTable
# --------------------------------------------------------------------------------------------


def test_create_hash_only_provisioned(client, unique_name, cleanup):
    name = unique_name("hash")
    cleanup.append(name)
    resp = client.create_table(**hash_only(name, billing="PROVISIONED"))
    desc = resp["TableDescription"]
    assert desc["TableName"] == name
    assert desc["TableStatus"] in ("CREATING", "ACTIVE")
    assert desc["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert desc["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert wait_active(client, name)["TableStatus"] == "ACTIVE"


def test_create_hash_and_range(client, unique_name, cleanup):
    name = unique_name("hr")
    cleanup.append(name)
    client.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    table = wait_active(client, name)
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "N"},
    ]
    # items with the same hash key and different range keys are distinct
    client.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    client.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "2"}, "x": {"S": "2"}})
    got = client.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "2"}},
                          ConsistentRead=True)
    assert got["Item"]["x"] == {"S": "2"}


def test_create_pay_per_request(client, unique_name, cleanup):
    name = unique_name("ondemand")
    cleanup.append(name)
    resp = client.create_table(**hash_only(name))
    desc = resp["TableDescription"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    # On-demand tables report zero provisioned throughput (API_ProvisionedThroughputDescription).
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 0


def test_create_with_tags(client, unique_name, cleanup):
    name = unique_name("tags")
    cleanup.append(name)
    tags = [{"Key": "Environment", "Value": "DevOps-Lab"}, {"Key": "team", "Value": "core"}]
    resp = client.create_table(**hash_only(name, Tags=tags))
    arn = resp["TableDescription"]["TableArn"]
    wait_active(client, name)
    # NOTE: DynamoDB Local 1.25.1 accepts Tags on CreateTable but answers ListTagsOfResource
    # with UnknownOperationException "Tagging is not currently supported in DynamoDB Local.";
    # AWS documents ListTagsOfResource returning the tags given to CreateTable.
    listed = client.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert sorted(listed, key=lambda t: t["Key"]) == sorted(tags, key=lambda t: t["Key"])


def test_create_duplicate_is_resource_in_use(client, unique_name, cleanup):
    name = unique_name("dup")
    cleanup.append(name)
    client.create_table(**hash_only(name))
    wait_active(client, name)
    with pytest.raises(ClientError) as e:
        client.create_table(**hash_only(name))
    code, msg = error_of(e)
    assert code == "ResourceInUseException"
    # AWS: "Table already exists: <name>" (DynamoDB Local says "Cannot create preexisting table").
    assert msg == f"Table already exists: {name}"


def test_create_key_attribute_without_definition(client, unique_name):
    name = unique_name("bad")
    with pytest.raises(ClientError) as e:
        client.create_table(
            TableName=name,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS, table without indexes: "Invalid KeySchema: Some index key attribute have no definition"
    # (DynamoDB Local: "Range Key not specified in Attribute Definitions.  Type unknown.")
    assert msg == "Invalid KeySchema: Some index key attribute have no definition"
    assert name not in client.list_tables()["TableNames"]


def test_create_extra_attribute_definition(client, unique_name):
    with pytest.raises(ClientError) as e:
        client.create_table(
            TableName=unique_name("bad"),
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "unused", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS: "One or more parameter values were invalid: Number of attributes in KeySchema does
    # not exactly match number of attributes defined in AttributeDefinitions"
    # (DynamoDB Local words it "The number of attributes in key schema must match ...").
    assert_message(
        msg,
        "One or more parameter values were invalid: Number of attributes in KeySchema does not "
        "exactly match number of attributes defined in AttributeDefinitions",
    )


def test_create_without_hash_key(client, unique_name):
    with pytest.raises(ClientError) as e:
        client.create_table(
            TableName=unique_name("bad"),
            AttributeDefinitions=[{"AttributeName": "sk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "sk", "KeyType": "RANGE"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert error_of(e)[0] == "ValidationException"


def test_create_empty_key_schema_server_side(endpoint, unique_name):
    # boto3 refuses an empty KeySchema client-side; turn that off to reach the server.
    raw = make_client(endpoint, parameter_validation=False)
    with pytest.raises(ClientError) as e:
        raw.create_table(
            TableName=unique_name("bad"),
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[],
            BillingMode="PAY_PER_REQUEST",
        )
    assert error_of(e)[0] == "ValidationException"


def test_create_provisioned_without_throughput(client, unique_name):
    kwargs = hash_only(unique_name("bad"), billing="PROVISIONED")
    del kwargs["ProvisionedThroughput"]
    with pytest.raises(ClientError) as e:
        client.create_table(**kwargs)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert_message(msg, "One or more parameter values were invalid: ReadCapacityUnits and "
                        "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")


# --------------------------------------------------------------------------------------------
# DescribeTable
# --------------------------------------------------------------------------------------------


def test_describe_table_fields_provisioned(client, unique_name, cleanup):
    name = unique_name("desc")
    cleanup.append(name)
    before = dt.datetime.now(dt.timezone.utc)
    client.create_table(**hash_only(name, billing="PROVISIONED"))
    t = wait_active(client, name)

    assert t["TableName"] == name
    assert t["TableStatus"] == "ACTIVE"
    # NOTE: DynamoDB Local answers arn:aws:dynamodb:ddblocal:000000000000:table/<name>; AWS
    # documents arn:aws:dynamodb:<region>:<account-id>:table/<name>, which is what we require.
    assert re.fullmatch(rf"arn:aws:dynamodb:{REGION}:\d{{12}}:table/{re.escape(name)}",
                        t["TableArn"]), t["TableArn"]
    assert t["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert t["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    pt = t["ProvisionedThroughput"]
    assert pt["ReadCapacityUnits"] == 5
    assert pt["WriteCapacityUnits"] == 5
    assert pt["NumberOfDecreasesToday"] == 0
    assert t["ItemCount"] == 0
    assert t["TableSizeBytes"] == 0
    created = t["CreationDateTime"]
    assert isinstance(created, dt.datetime)
    assert abs((created - before).total_seconds()) < 600
    if "TableId" in t:  # AWS returns a UUID; DynamoDB Local omits the field
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                            t["TableId"]), t["TableId"]


def test_describe_table_on_demand(client, unique_name, cleanup):
    name = unique_name("desc")
    cleanup.append(name)
    client.create_table(**hash_only(name))
    t = wait_active(client, name)
    bms = t["BillingModeSummary"]
    assert bms["BillingMode"] == "PAY_PER_REQUEST"
    assert isinstance(bms["LastUpdateToPayPerRequestDateTime"], dt.datetime)
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 0
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 0
    assert t["DeletionProtectionEnabled"] is False


def test_describe_item_count_is_int(client, table):
    client.put_item(TableName=table, Item={"pk": {"S": "a"}, "v": {"S": "x" * 100}})
    t = client.describe_table(TableName=table)["Table"]
    # AWS refreshes ItemCount/TableSizeBytes about every six hours; only the type and sign are
    # portable.
    assert isinstance(t["ItemCount"], int) and t["ItemCount"] >= 0
    assert isinstance(t["TableSizeBytes"], int) and t["TableSizeBytes"] >= 0


def test_describe_missing_table(client, unique_name):
    name = unique_name("missing")
    with pytest.raises(ClientError) as e:
        client.describe_table(TableName=name)
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    # AWS: "Requested resource not found: Table: <name> not found"
    # (DynamoDB Local: "Cannot do operations on a non-existent table").
    assert msg == f"Requested resource not found: Table: {name} not found"


# --------------------------------------------------------------------------------------------
# waiters
# --------------------------------------------------------------------------------------------


def test_waiters_table_exists_and_not_exists(client, unique_name, cleanup):
    name = unique_name("wait")
    cleanup.append(name)
    client.create_table(**hash_only(name))
    client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=FAST_WAITER)
    assert client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"

    resp = client.delete_table(TableName=name)
    assert resp["TableDescription"]["TableName"] == name
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=FAST_WAITER)
    assert name not in client.list_tables()["TableNames"]


# --------------------------------------------------------------------------------------------
# ListTables
# --------------------------------------------------------------------------------------------


def _all_tables(client, limit=None):
    names, kwargs, pages = [], {}, 0
    while True:
        if limit:
            kwargs["Limit"] = limit
        page = client.list_tables(**kwargs)
        pages += 1
        if limit:
            assert len(page["TableNames"]) <= limit
        names.extend(page["TableNames"])
        last = page.get("LastEvaluatedTableName")
        if not last:
            return names, pages
        assert last == page["TableNames"][-1]
        kwargs["ExclusiveStartTableName"] = last
        assert pages < 10_000


def test_list_tables_paging(client, unique_name, cleanup):
    prefix = unique_name("list")
    mine = [f"{prefix}-{i}" for i in range(5)]
    for n in mine:
        cleanup.append(n)
        client.create_table(**hash_only(n))
    for n in mine:
        wait_active(client, n)

    everything, _ = _all_tables(client)
    assert everything == sorted(everything), "ListTables returns names in ascending order"
    for n in mine:
        assert n in everything

    paged, pages = _all_tables(client, limit=2)
    assert paged == everything
    assert pages >= 3

    # ExclusiveStartTableName: only names strictly after it
    page = client.list_tables(ExclusiveStartTableName=mine[1], Limit=3)
    assert page["TableNames"][:3] == mine[2:5]
    assert mine[1] not in page["TableNames"]


def test_list_tables_limit_one(client, make_table):
    make_table()
    page = client.list_tables(Limit=1)
    assert len(page["TableNames"]) == 1
    # With more tables than Limit there must be a continuation key.
    if len(client.list_tables()["TableNames"]) > 1:
        assert page["LastEvaluatedTableName"] == page["TableNames"][0]


def test_list_tables_limit_out_of_range(client):
    with pytest.raises(ClientError) as e:
        client.list_tables(Limit=101)
    assert error_of(e)[0] == "ValidationException"


# --------------------------------------------------------------------------------------------
# UpdateTable / DeleteTable
# --------------------------------------------------------------------------------------------


def test_update_throughput(client, unique_name, cleanup):
    name = unique_name("upd")
    cleanup.append(name)
    client.create_table(**hash_only(name, billing="PROVISIONED"))
    wait_active(client, name)
    resp = client.update_table(
        TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 7, "WriteCapacityUnits": 9}
    )
    assert resp["TableDescription"]["TableName"] == name
    t = wait_active(client, name)
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 9


def test_update_billing_mode_to_on_demand_and_back(client, unique_name, cleanup):
    name = unique_name("bill")
    cleanup.append(name)
    client.create_table(**hash_only(name, billing="PROVISIONED"))
    wait_active(client, name)

    client.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")
    t = wait_active(client, name)
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 0

    client.update_table(
        TableName=name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4},
    )
    t = wait_active(client, name)
    assert t.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED") == "PROVISIONED"
    assert t["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    assert t["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


def test_deletion_protection(client, unique_name, cleanup):
    name = unique_name("prot")
    cleanup.append(name)
    client.create_table(**hash_only(name, DeletionProtectionEnabled=True))
    t = wait_active(client, name)
    assert t["DeletionProtectionEnabled"] is True

    with pytest.raises(ClientError) as e:
        client.delete_table(TableName=name)
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == ("Resource cannot be deleted as it is currently protected against deletion. "
                   "Disable deletion protection first.")
    assert client.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"

    resp = client.update_table(TableName=name, DeletionProtectionEnabled=False)
    assert resp["TableDescription"]["DeletionProtectionEnabled"] is False
    wait_active(client, name)
    client.delete_table(TableName=name)
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=FAST_WAITER)


def test_deletion_protection_enabled_by_update(client, make_table):
    name = make_table()
    resp = client.update_table(TableName=name, DeletionProtectionEnabled=True)
    assert resp["TableDescription"]["DeletionProtectionEnabled"] is True
    wait_active(client, name)
    with pytest.raises(ClientError) as e:
        client.delete_table(TableName=name)
    assert error_of(e)[0] == "ValidationException"
    client.update_table(TableName=name, DeletionProtectionEnabled=False)
    wait_active(client, name)


def test_delete_table_returns_description(client, unique_name):
    name = unique_name("del")
    client.create_table(**hash_only(name))
    wait_active(client, name)
    desc = client.delete_table(TableName=name)["TableDescription"]
    assert desc["TableName"] == name
    assert desc["TableStatus"] in ("DELETING", "ACTIVE")
    client.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig=FAST_WAITER)
    with pytest.raises(ClientError) as e:
        client.get_item(TableName=name, Key={"pk": {"S": "a"}})
    assert error_of(e)[0] == "ResourceNotFoundException"


def test_delete_missing_table(client, unique_name):
    name = unique_name("missing")
    with pytest.raises(ClientError) as e:
        client.delete_table(TableName=name)
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    # AWS: "Requested resource not found: Table: <name> not found"
    # (DynamoDB Local: "Cannot do operations on a non-existent table").
    assert msg == f"Requested resource not found: Table: {name} not found"
