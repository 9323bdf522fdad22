"""Seed document 003 as tests: the Orders table, its CustomerIndex GSI, a REST API, streams
and transactions.

Seed 003 (an "advanced lab") creates an ``Orders`` table keyed by ``order_id`` (S) and
``created_at`` (N, a Unix timestamp) with provisioned ("auto-scaled") throughput and a stream
of ``NEW_AND_OLD_IMAGES``, adds a ``CustomerIndex`` GSI (``customer_id`` S / ``order_status``
S) from the console's Indexes tab, inserts three orders with the boto3 *resource* API
(``insert_order``: uuid order ids, ``int(time.time())``, a nested ``details`` map) and queries
them by customer through the GSI. A Lambda handler prints the ``NewImage``/``OldImage`` of
each stream record; another Lambda behind API Gateway answers GET (orders of a customer through
the GSI) and POST (``put_item`` of a JSON body), with GET/POST/PUT/DELETE methods configured;
a ``transact_write_items`` with a Put of ``order1`` and an Update of ``order2`` shows
transactions; the cleanup deletes the table "and associated indexes".

Every test uses fresh, uniquely named tables. The read-only GSI query tests share one table
created per module (the seed's three orders plus a larger, deterministic customer for sorting,
filters and pagination); every test that writes gets its own table. Expected behaviour and
messages are AWS DynamoDB's (checked against DynamoDB Local). GSIs are eventually consistent
on AWS; the tests read them straight after writing, which single-node servers (DynamoDB
Local, Ferrodyn) guarantee.

The stream is read through the ``dynamodbstreams`` client (ListStreams, DescribeStream,
GetShardIterator, GetRecords) and fed to the lab's own Lambda-style handler.
"""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import boto3
import boto3.dynamodb.conditions
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY, _delete_quietly, error_of, wait_active



# --------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------


def _config():
    return Config(retries={"total_max_attempts": 1, "mode": "standard"},
                  connect_timeout=5, read_timeout=30)


@pytest.fixture(scope="session")
def resource(endpoint):
    """boto3's resource API, as the seed's insert script and API Lambda use it."""
    return boto3.session.Session().resource(
        "dynamodb", region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, config=_config())


@pytest.fixture(scope="session")
def streams(endpoint):
    """The DynamoDB Streams client (same endpoint), as a stream-triggered Lambda reads it."""
    return boto3.session.Session().client(
        "dynamodbstreams", region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, config=_config())


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


THROUGHPUT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}

CUSTOMER_INDEX = {
    "IndexName": "CustomerIndex",
    "KeySchema": [{"AttributeName": "customer_id", "KeyType": "HASH"},
                  {"AttributeName": "order_status", "KeyType": "RANGE"}],
    "Projection": {"ProjectionType": "ALL"},
    "ProvisionedThroughput": THROUGHPUT,
}
TABLE_KEYS = ("order_id", "created_at")
INDEX_KEYS = ("customer_id", "order_status")


def orders_spec(name: str, *, gsi: bool = True, stream: bool = False) -> dict:
    """The seed's Orders table: order_id (S) / created_at (N), provisioned throughput,
    optionally the CustomerIndex GSI and a NEW_AND_OLD_IMAGES stream."""
    attrs = [("order_id", "S"), ("created_at", "N")]
    spec = dict(
        TableName=name,
        KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"},
                   {"AttributeName": "created_at", "KeyType": "RANGE"}],
        ProvisionedThroughput=THROUGHPUT,
    )
    if gsi:
        attrs += [("customer_id", "S"), ("order_status", "S")]
        spec["GlobalSecondaryIndexes"] = [CUSTOMER_INDEX]
    if stream:
        spec["StreamSpecification"] = {"StreamEnabled": True,
                                       "StreamViewType": "NEW_AND_OLD_IMAGES"}
    spec["AttributeDefinitions"] = [{"AttributeName": n, "AttributeType": t} for n, t in attrs]
    return spec


def wait_indexes_active(client, name: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        desc = wait_active(client, name, timeout)
        if all(g.get("IndexStatus") == "ACTIVE" for g in desc.get("GlobalSecondaryIndexes", [])):
            return desc
        if time.monotonic() > deadline:
            raise AssertionError(f"indexes of {name} not ACTIVE after {timeout} s")
        time.sleep(0.1)


@pytest.fixture
def make_orders(client, unique_name):
    """make_orders(gsi=True, stream=False) -> name of a fresh Orders table (deleted at teardown)."""
    created: list[str] = []

    def make(**kwargs) -> str:
        name = unique_name("seedo-orders")
        created.append(name)
        client.create_table(**orders_spec(name, **kwargs))
        wait_indexes_active(client, name)
        return name

    yield make
    for name in created:
        _delete_quietly(client, name)


def insert_order(table, customer_id, order_status, details):
    """The seed's insert_order, with the Table passed in instead of a module global."""
    order = {
        'order_id': str(uuid.uuid4()),
        'created_at': int(time.time()),
        'customer_id': customer_id,
        'order_status': order_status,
        'details': details
    }
    table.put_item(Item=order)
    return order


def as_read(order: dict) -> dict:
    """A resource-API item as it reads back: ints become Decimal (nested ones too)."""
    def conv(v):
        if isinstance(v, bool):
            return v
        if isinstance(v, int):
            return Decimal(v)
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return v
    return conv(order)


def query_pages(client, **kwargs) -> list[dict]:
    pages = []
    while True:
        resp = client.query(**kwargs)
        pages.append(resp)
        if "LastEvaluatedKey" not in resp:
            return pages
        assert len(pages) < 100, "pagination does not terminate"
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def items_of(pages):
    return [it for p in pages for it in p["Items"]]


def ids_of(items):
    return [it["order_id"]["S"] if isinstance(it["order_id"], dict) else it["order_id"]
            for it in items]


def statuses_of(items):
    return [it["order_status"]["S"] if isinstance(it["order_status"], dict)
            else it["order_status"] for it in items]


# --------------------------------------------------------------------------------------------
# shared read-only data
# --------------------------------------------------------------------------------------------

# A customer with enough orders for sort-key conditions, filters and pagination. Statuses
# repeat (three 'completed', two 'processing', two 'shipped') so pages can end inside a run of
# equal index keys.
CUST900 = [
    # order_id, created_at, status, item, quantity
    ("ord-900-01", 1700000001, "processing", "Desk", 1),
    ("ord-900-02", 1700000002, "completed", "Chair", 4),
    ("ord-900-03", 1700000003, "shipped", "Lamp", 2),
    ("ord-900-04", 1700000004, "cancelled", "Rug", 1),
    ("ord-900-05", 1700000005, "completed", "Shelf", 2),
    ("ord-900-06", 1700000006, "pending", "Clock", 6),
    ("ord-900-07", 1700000007, "shipped", "Mirror", 1),
    ("ord-900-08", 1700000008, "completed", "Vase", 3),
    ("ord-900-09", 1700000009, "processing", "Frame", 5),
]
CUST900_STATUS = {oid: st for oid, _, st, _, _ in CUST900}
CUST900_QTY = {oid: q for oid, _, _, _, q in CUST900}


def cust900_item(oid, ts, status, item, qty):
    return {"order_id": oid, "created_at": ts, "customer_id": "cust900",
            "order_status": status, "details": {"item": item, "quantity": qty}}


@pytest.fixture(scope="module")
def orders(client, resource):
    """A module-wide Orders table (with CustomerIndex) holding the seed's three orders, the
    CUST900 orders and two orders that are not in the index (read-only).

    Returns (table name, the seed's three orders as inserted)."""
    name = f"seedo-orders-{uuid.uuid4().hex[:12]}"
    try:
        client.create_table(**orders_spec(name))
        wait_indexes_active(client, name)
        table = resource.Table(name)
        # the seed's "Insert sample orders", verbatim
        seed = [
            insert_order(table, 'cust123', 'processing', {'item': 'Laptop', 'quantity': 1}),
            insert_order(table, 'cust456', 'completed', {'item': 'Smartphone', 'quantity': 2}),
            insert_order(table, 'cust123', 'completed', {'item': 'Headphones', 'quantity': 3}),
        ]
        for row in CUST900:
            table.put_item(Item=cust900_item(*row))
        # sparse index: a guest order without customer_id and a draft without order_status
        table.put_item(Item={"order_id": "guest-1", "created_at": 1700000100,
                             "order_status": "completed"})
        table.put_item(Item={"order_id": "draft-1", "created_at": 1700000101,
                             "customer_id": "cust900"})
        yield name, seed
    finally:
        _delete_quietly(client, name)


# --------------------------------------------------------------------------------------------
# 1. the table and its GSI
# --------------------------------------------------------------------------------------------


def test_create_orders_table_with_customer_index(client, make_orders):
    name = make_orders()
    desc = client.describe_table(TableName=name)["Table"]
    assert desc["TableName"] == name
    assert desc["TableStatus"] == "ACTIVE"
    assert desc["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"},
                                 {"AttributeName": "created_at", "KeyType": "RANGE"}]
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in desc["AttributeDefinitions"]) \
        == [("created_at", "N"), ("customer_id", "S"), ("order_id", "S"), ("order_status", "S")]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert "StreamSpecification" not in desc
    assert "LatestStreamArn" not in desc
    [gsi] = desc["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "CustomerIndex"
    assert gsi["KeySchema"] == CUSTOMER_INDEX["KeySchema"]
    assert gsi["Projection"] == {"ProjectionType": "ALL"}
    assert gsi["IndexStatus"] == "ACTIVE"
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert gsi["IndexArn"] == desc["TableArn"] + "/index/CustomerIndex"
    assert "LocalSecondaryIndexes" not in desc


def test_add_customer_index_after_create_backfills(client, resource, make_table):
    # the seed's console flow: create Orders, then Indexes tab -> Create index CustomerIndex
    name = make_table(hash_key=("order_id", "S"), range_key=("created_at", "N"),
                      billing="PROVISIONED", prefix="seedo-orders")
    table = resource.Table(name)
    before = [
        insert_order(table, 'cust123', 'processing', {'item': 'Laptop', 'quantity': 1}),
        insert_order(table, 'cust456', 'completed', {'item': 'Smartphone', 'quantity': 2}),
        insert_order(table, 'cust123', 'completed', {'item': 'Headphones', 'quantity': 3}),
    ]
    resp = client.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "customer_id", "AttributeType": "S"},
                              {"AttributeName": "order_status", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": CUSTOMER_INDEX}],
    )
    [gsi] = resp["TableDescription"]["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "CustomerIndex"
    assert gsi["IndexStatus"] in ("CREATING", "ACTIVE")
    desc = wait_indexes_active(client, name)
    assert [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]] == ["CustomerIndex"]

    # existing orders were backfilled; new ones are indexed as they are written
    after = insert_order(table, 'cust123', 'shipped', {'item': 'Mouse', 'quantity': 1})
    resp = table.query(IndexName='CustomerIndex',
                       KeyConditionExpression=Key('customer_id').eq('cust123'))
    assert resp["Items"] == [as_read(before[2]), as_read(before[0]), as_read(after)]
    resp = table.query(IndexName='CustomerIndex',
                       KeyConditionExpression=Key('customer_id').eq('cust456'))
    assert resp["Items"] == [as_read(before[1])]


def test_delete_orders_table_removes_table_and_index(client, unique_name):
    # the seed's cleanup: "Remove the Orders table (and associated indexes)"
    name = unique_name("seedo-orders")
    try:
        client.create_table(**orders_spec(name))
        wait_indexes_active(client, name)
        client.put_item(TableName=name, Item={"order_id": S("o1"), "created_at": N(1),
                                              "customer_id": S("c"), "order_status": S("new")})
        resp = client.delete_table(TableName=name)
        desc = resp["TableDescription"]
        assert desc["TableName"] == name
        # AWS answers DELETING; DynamoDB Local drops the table at once and still says ACTIVE
        assert desc["TableStatus"] in ("DELETING", "ACTIVE")
        deadline = time.monotonic() + 10
        while True:
            try:
                client.describe_table(TableName=name)
            except client.exceptions.ResourceNotFoundException:
                break
            assert time.monotonic() < deadline, "table still exists 10 s after DeleteTable"
            time.sleep(0.1)
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.query(TableName=name, IndexName="CustomerIndex",
                         KeyConditionExpression="customer_id = :c",
                         ExpressionAttributeValues={":c": S("c")})
        assert name not in client.list_tables()["TableNames"]
    finally:
        _delete_quietly(client, name)


# --------------------------------------------------------------------------------------------
# 2. insert and query through the GSI
# --------------------------------------------------------------------------------------------


def test_seed_insert_orders_and_get_them_back(client, resource, orders):
    name, seed = orders
    table = resource.Table(name)
    assert len({o["order_id"] for o in seed}) == 3
    for order in seed:
        got = table.get_item(Key={"order_id": order["order_id"],
                                  "created_at": order["created_at"]}, ConsistentRead=True)
        assert got["Item"] == as_read(order)
    # the low-level view of the nested details map
    laptop = seed[0]
    raw = client.get_item(TableName=name, Key={"order_id": S(laptop["order_id"]),
                                               "created_at": N(laptop["created_at"])})["Item"]
    assert raw == {"order_id": S(laptop["order_id"]), "created_at": N(laptop["created_at"]),
                   "customer_id": S("cust123"), "order_status": S("processing"),
                   "details": {"M": {"item": S("Laptop"), "quantity": N(1)}}}


def test_seed_query_orders_of_customer_through_gsi(resource, orders):
    name, seed = orders
    table = resource.Table(name)
    # the seed's query, spelled as the seed spells it
    response = table.query(
        IndexName='CustomerIndex',
        KeyConditionExpression=boto3.dynamodb.conditions.Key('customer_id').eq('cust123')
    )
    # ordered by the index sort key order_status: 'completed' < 'processing'
    assert response["Items"] == [as_read(seed[2]), as_read(seed[0])]
    assert response["Count"] == response["ScannedCount"] == 2
    assert "LastEvaluatedKey" not in response

    response = table.query(IndexName='CustomerIndex',
                           KeyConditionExpression=Key('customer_id').eq('cust456'))
    assert response["Items"] == [as_read(seed[1])]

    response = table.query(IndexName='CustomerIndex',
                           KeyConditionExpression=Key('customer_id').eq('cust000'))
    assert response["Items"] == []
    assert response["Count"] == 0


def test_gsi_query_sorted_by_status_both_directions(client, orders):
    name, _ = orders
    kwargs = dict(TableName=name, IndexName="CustomerIndex",
                  KeyConditionExpression="customer_id = :c",
                  ExpressionAttributeValues={":c": S("cust900")})
    asc = items_of(query_pages(client, **kwargs))
    desc = items_of(query_pages(client, ScanIndexForward=False, **kwargs))
    expected_statuses = sorted(CUST900_STATUS.values())
    assert statuses_of(asc) == expected_statuses
    assert statuses_of(desc) == expected_statuses[::-1]
    # every CUST900 order exactly once; the draft without order_status is not in the index
    assert sorted(ids_of(asc)) == sorted(ids_of(desc)) == sorted(CUST900_STATUS)
    for it in asc:
        assert it["customer_id"] == S("cust900")
        assert it["details"]["M"]["quantity"] == N(CUST900_QTY[it["order_id"]["S"]])


@pytest.mark.parametrize("cond, values, expected", [
    ("order_status = :s", {":s": S("completed")}, ["ord-900-02", "ord-900-05", "ord-900-08"]),
    ("begins_with(order_status, :p)", {":p": S("p")},
     ["ord-900-01", "ord-900-06", "ord-900-09"]),
    ("order_status BETWEEN :a AND :b", {":a": S("completed"), ":b": S("pending")},
     ["ord-900-02", "ord-900-05", "ord-900-06", "ord-900-08"]),
    ("order_status > :s", {":s": S("processing")}, ["ord-900-03", "ord-900-07"]),
    ("order_status < :s", {":s": S("completed")}, ["ord-900-04"]),
])
def test_gsi_query_sort_key_conditions(client, orders, cond, values, expected):
    name, _ = orders
    pages = query_pages(client, TableName=name, IndexName="CustomerIndex",
                        KeyConditionExpression=f"customer_id = :c AND {cond}",
                        ExpressionAttributeValues={":c": S("cust900"), **values})
    items = items_of(pages)
    assert sorted(ids_of(items)) == expected
    assert statuses_of(items) == sorted(statuses_of(items))


def test_gsi_query_with_filter_on_nested_details(resource, orders):
    name, _ = orders
    table = resource.Table(name)
    resp = table.query(IndexName="CustomerIndex",
                       KeyConditionExpression=Key("customer_id").eq("cust900"),
                       FilterExpression=Attr("details.quantity").gte(3))
    assert sorted(ids_of(resp["Items"])) == ["ord-900-02", "ord-900-06", "ord-900-08",
                                             "ord-900-09"]
    assert resp["Count"] == 4
    assert resp["ScannedCount"] == len(CUST900)
    # key condition and filter together, as the API Lambda would narrow a customer's orders
    resp = table.query(IndexName="CustomerIndex",
                       KeyConditionExpression=Key("customer_id").eq("cust900")
                       & Key("order_status").eq("completed"),
                       FilterExpression=Attr("details.item").is_in(["Chair", "Vase", "Desk"]))
    assert sorted(ids_of(resp["Items"])) == ["ord-900-02", "ord-900-08"]
    assert resp["ScannedCount"] == 3


def test_gsi_query_pagination(client, orders):
    name, _ = orders
    base = dict(TableName=name, IndexName="CustomerIndex",
                KeyConditionExpression="customer_id = :c",
                ExpressionAttributeValues={":c": S("cust900")})
    full = client.query(**base)
    assert full["Count"] == len(CUST900)
    for forward in (True, False):
        pages = query_pages(client, Limit=2, ScanIndexForward=forward, **base)
        assert [p["Count"] for p in pages] == [2, 2, 2, 2, 1]
        expected = full["Items"] if forward else client.query(ScanIndexForward=False,
                                                              **base)["Items"]
        assert items_of(pages) == expected
        for page in pages[:-1]:
            lek = page["LastEvaluatedKey"]
            # an index's LastEvaluatedKey holds the table key and the index key of the last item
            assert set(lek) == {*TABLE_KEYS, *INDEX_KEYS}
            last = page["Items"][-1]
            assert lek == {k: last[k] for k in (*TABLE_KEYS, *INDEX_KEYS)}
    # a Limit that divides the result exactly ends with an empty page without a key
    pages = query_pages(client, Limit=3, **base)
    assert [p["Count"] for p in pages] == [3, 3, 3, 0]
    assert items_of(pages) == full["Items"]


def test_gsi_query_select_count_and_projection(client, orders):
    name, _ = orders
    base = dict(TableName=name, IndexName="CustomerIndex",
                KeyConditionExpression="customer_id = :c AND order_status = :s",
                ExpressionAttributeValues={":c": S("cust900"), ":s": S("shipped")})
    resp = client.query(Select="COUNT", **base)
    assert resp["Count"] == 2
    assert "Items" not in resp
    resp = client.query(ProjectionExpression="order_id, details.#i",
                        ExpressionAttributeNames={"#i": "item"}, **base)
    assert sorted(resp["Items"], key=lambda i: i["order_id"]["S"]) == [
        {"order_id": S("ord-900-03"), "details": {"M": {"item": S("Lamp")}}},
        {"order_id": S("ord-900-07"), "details": {"M": {"item": S("Mirror")}}},
    ]


def test_gsi_is_sparse(client, orders):
    name, _ = orders
    scanned = client.scan(TableName=name, IndexName="CustomerIndex")["Items"]
    ids = ids_of(scanned)
    assert len(ids) == 3 + len(CUST900)
    assert "guest-1" not in ids and "draft-1" not in ids
    table_ids = ids_of(client.scan(TableName=name, ConsistentRead=True)["Items"])
    assert {"guest-1", "draft-1"} <= set(table_ids)
    assert len(table_ids) == 3 + len(CUST900) + 2


def test_gsi_query_errors(client, orders):
    name, _ = orders
    # the GSI is keyed by customer_id, not by the table's order_id
    with pytest.raises(ClientError) as e:
        client.query(TableName=name, IndexName="CustomerIndex",
                     KeyConditionExpression="order_id = :o",
                     ExpressionAttributeValues={":o": S("ord-900-01")})
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS names the missing element; DynamoDB Local stops after "element"
    assert msg in ("Query condition missed key schema element: customer_id",
                   "Query condition missed key schema element")
    with pytest.raises(ClientError) as e:
        client.query(TableName=name, IndexName="CustomerIndex", ConsistentRead=True,
                     KeyConditionExpression="customer_id = :c",
                     ExpressionAttributeValues={":c": S("cust123")})
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS's wording first; DynamoDB Local 1.25 says "Consistent read cannot be true when
    # querying a GSI"
    assert msg in ("Consistent reads are not supported on global secondary indexes",
                   "Consistent read cannot be true when querying a GSI")
    with pytest.raises(ClientError) as e:
        client.query(TableName=name, IndexName="OrdersByCustomer",
                     KeyConditionExpression="customer_id = :c",
                     ExpressionAttributeValues={":c": S("cust123")})
    assert error_of(e) == ("ValidationException",
                           "The table does not have the specified index: OrdersByCustomer")


# AWS's message names the key, the types and the index; DynamoDB Local stops after "Index Key"
DDBLOCAL_TYPE_MISMATCH = "One or more parameter values were invalid: Type mismatch for Index Key"


def test_index_key_types_checked_on_write(client, make_orders):
    name = make_orders()
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=name, Item={"order_id": S("o1"), "created_at": N(1),
                                              "customer_id": S("cust1"),
                                              "order_status": N(2)})
    assert error_of(e) in [("ValidationException", m) for m in (
        "One or more parameter values were invalid: Type mismatch for Index Key order_status "
        "Expected: S Actual: N IndexName: CustomerIndex",
        DDBLOCAL_TYPE_MISMATCH)]
    assert "Item" not in client.get_item(TableName=name,
                                         Key={"order_id": S("o1"), "created_at": N(1)})
    # (AWS refuses an UpdateItem that sets a numeric customer_id the same way; DynamoDB Local
    # 1.25 does not check index key types on UpdateItem, so that case is not pinned here)


def test_index_key_type_checked_when_other_index_key_is_absent(client, make_orders):
    # A guest order (no customer_id) is not in CustomerIndex, but order_status is still an
    # index key attribute declared as S: a numeric status is refused all the same. DynamoDB
    # Local checks each index key attribute on its own, as dynalite (built from AWS's
    # responses) does.
    name = make_orders()
    guest = {"order_id": S("guest-9"), "created_at": N(9), "order_status": N(3)}
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=name, Item=guest)
    assert error_of(e) in [("ValidationException", m) for m in (
        "One or more parameter values were invalid: Type mismatch for Index Key order_status "
        "Expected: S Actual: N IndexName: CustomerIndex",
        DDBLOCAL_TYPE_MISMATCH)]
    assert "Item" not in client.get_item(TableName=name,
                                         Key={"order_id": S("guest-9"), "created_at": N(9)},
                                         ConsistentRead=True)
    # with a string status it is stored, and stays out of the index
    client.put_item(TableName=name, Item={**guest, "order_status": S("completed")})
    assert client.scan(TableName=name, IndexName="CustomerIndex")["Count"] == 0


# --------------------------------------------------------------------------------------------
# 3. the REST API Lambda (API Gateway -> Lambda -> Orders)
# --------------------------------------------------------------------------------------------


def seed_api_handler(table):
    """The seed's API Lambda, verbatim except that the Table is passed in."""
    from boto3.dynamodb.conditions import Key

    def lambda_handler(event, context):
        http_method = event['httpMethod']
        if http_method == 'GET':
            # Query orders (for demo: fetch all orders for a customer)
            customer_id = event['queryStringParameters'].get('customer_id')
            response = table.query(
                IndexName='CustomerIndex',
                KeyConditionExpression=Key('customer_id').eq(customer_id)
            )
            return {
                'statusCode': 200,
                'body': json.dumps(response['Items'])
            }
        elif http_method == 'POST':
            # Create a new order
            order = json.loads(event['body'])
            table.put_item(Item=order)
            return {
                'statusCode': 201,
                'body': json.dumps({'message': 'Order created successfully'})
            }
        else:
            return {
                'statusCode': 400,
                'body': json.dumps({'message': 'Unsupported HTTP method'})
            }

    return lambda_handler


def test_seed_api_lambda_post_and_get(client, resource, make_orders):
    name = make_orders()
    handler = seed_api_handler(resource.Table(name))
    order = {"order_id": "api-1", "created_at": 1625097600, "customer_id": "cust321",
             "order_status": "processing", "details": {"item": "Tablet", "quantity": 1}}
    resp = handler({"httpMethod": "POST", "body": json.dumps(order)}, None)
    assert resp == {"statusCode": 201,
                    "body": json.dumps({"message": "Order created successfully"})}
    assert client.get_item(TableName=name, Key={"order_id": S("api-1"),
                                                "created_at": N(1625097600)})["Item"] == {
        "order_id": S("api-1"), "created_at": N(1625097600), "customer_id": S("cust321"),
        "order_status": S("processing"),
        "details": {"M": {"item": S("Tablet"), "quantity": N(1)}}}

    # GET of a customer without orders
    resp = handler({"httpMethod": "GET", "queryStringParameters": {"customer_id": "nobody"}},
                   None)
    assert resp == {"statusCode": 200, "body": "[]"}
    # GET of a customer with orders: the server answers, but the seed's json.dumps cannot
    # serialise the Decimal that boto3's resource API returns for created_at (same on AWS)
    with pytest.raises(TypeError, match="Decimal"):
        handler({"httpMethod": "GET", "queryStringParameters": {"customer_id": "cust321"}},
                None)
    resp = handler({"httpMethod": "DELETE"}, None)
    assert resp["statusCode"] == 400


def _json_default(v):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    raise TypeError(type(v))


def crud_api_handler(table):
    """The API the seed configures (GET, POST, PUT, DELETE on /orders), on the resource API."""

    def reply(code, body):
        return {"statusCode": code, "body": json.dumps(body, default=_json_default)}

    def lambda_handler(event, context):
        method = event["httpMethod"]
        params = event.get("queryStringParameters") or {}
        errors = table.meta.client.exceptions
        if method == "GET" and "customer_id" in params:
            resp = table.query(IndexName="CustomerIndex",
                               KeyConditionExpression=Key("customer_id").eq(params["customer_id"]))
            return reply(200, resp["Items"])
        key = None
        if "order_id" in params:
            key = {"order_id": params["order_id"], "created_at": int(params["created_at"])}
        if method == "GET":
            item = table.get_item(Key=key, ConsistentRead=True).get("Item")
            return reply(200, item) if item else reply(404, {"message": "Order not found"})
        if method == "POST":
            order = json.loads(event["body"], parse_float=Decimal)
            try:
                table.put_item(Item=order, ConditionExpression=Attr("order_id").not_exists())
            except errors.ConditionalCheckFailedException:
                return reply(409, {"message": "Order already exists"})
            return reply(201, {"message": "Order created successfully"})
        if method == "PUT":
            body = json.loads(event["body"])
            try:
                resp = table.update_item(
                    Key=key, UpdateExpression="SET order_status = :s",
                    ConditionExpression=Attr("order_id").exists(),
                    ExpressionAttributeValues={":s": body["order_status"]},
                    ReturnValues="ALL_NEW")
            except errors.ConditionalCheckFailedException:
                return reply(404, {"message": "Order not found"})
            return reply(200, resp["Attributes"])
        if method == "DELETE":
            try:
                resp = table.delete_item(Key=key, ConditionExpression=Attr("order_id").exists(),
                                         ReturnValues="ALL_OLD")
            except errors.ConditionalCheckFailedException:
                return reply(404, {"message": "Order not found"})
            return reply(200, resp["Attributes"])
        return reply(400, {"message": "Unsupported HTTP method"})

    return lambda_handler


def test_rest_api_crud(client, resource, make_orders):
    name = make_orders()
    api = crud_api_handler(resource.Table(name))

    def call(method, params=None, body=None):
        event = {"httpMethod": method, "queryStringParameters": params}
        if body is not None:
            event["body"] = json.dumps(body)
        resp = api(event, None)
        return resp["statusCode"], json.loads(resp["body"])

    key = {"order_id": "r-1", "created_at": "1625097600"}
    order = {"order_id": "r-1", "created_at": 1625097600, "customer_id": "cust777",
             "order_status": "processing", "details": {"item": "Camera", "quantity": 2,
                                                       "price": 499.5}}
    # POST creates, a second POST of the same key conflicts
    assert call("POST", body=order) == (201, {"message": "Order created successfully"})
    assert call("POST", body={**order, "order_status": "completed"}) == (
        409, {"message": "Order already exists"})
    assert call("POST", body={**order, "order_id": "r-2", "created_at": 1625097700,
                              "order_status": "completed"})[0] == 201
    # GET by key and by customer (through the GSI, ordered by status)
    assert call("GET", key) == (200, order)
    status, body = call("GET", {"customer_id": "cust777"})
    assert status == 200
    assert [(o["order_id"], o["order_status"]) for o in body] == [("r-2", "completed"),
                                                                   ("r-1", "processing")]
    raw = client.get_item(TableName=name, Key={"order_id": S("r-1"),
                                               "created_at": N(1625097600)})["Item"]
    assert raw["details"] == {"M": {"item": S("Camera"), "quantity": N(2), "price": N("499.5")}}
    # PUT changes the status; the index follows (the GSI sort key changed)
    status, body = call("PUT", key, {"order_status": "shipped"})
    assert status == 200
    assert body == {**order, "order_status": "shipped"}
    status, body = call("GET", {"customer_id": "cust777"})
    assert [(o["order_id"], o["order_status"]) for o in body] == [("r-2", "completed"),
                                                                   ("r-1", "shipped")]
    resp = client.query(TableName=name, IndexName="CustomerIndex",
                        KeyConditionExpression="customer_id = :c AND order_status = :s",
                        ExpressionAttributeValues={":c": S("cust777"), ":s": S("processing")})
    assert resp["Items"] == []
    # PUT/DELETE/GET of a missing order: 404 and nothing created
    missing = {"order_id": "r-404", "created_at": "1"}
    assert call("PUT", missing, {"order_status": "shipped"})[0] == 404
    assert call("DELETE", missing)[0] == 404
    assert call("GET", missing) == (404, {"message": "Order not found"})
    assert "Item" not in client.get_item(TableName=name, Key={"order_id": S("r-404"),
                                                              "created_at": N(1)})
    # DELETE returns the old order and removes it from the table and the index
    assert call("DELETE", key) == (200, {**order, "order_status": "shipped"})
    assert call("GET", key)[0] == 404
    status, body = call("GET", {"customer_id": "cust777"})
    assert [o["order_id"] for o in body] == ["r-2"]
    assert call("PATCH", key)[0] == 400


def test_low_level_crud_on_orders(client, make_orders):
    name = make_orders()
    key = {"order_id": S("ll-1"), "created_at": N(1625097600)}
    item = {**key, "customer_id": S("cust555"), "order_status": S("processing"),
            "details": {"M": {"item": S("Laptop"), "quantity": N(1)}}}
    assert "Attributes" not in client.put_item(TableName=name, Item=item)
    assert client.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"] == item
    # the sort key is part of the key: same order_id, other created_at is another item
    assert "Item" not in client.get_item(TableName=name, Key={**key, "created_at": N(1625097601)})
    resp = client.update_item(
        TableName=name, Key=key,
        UpdateExpression="SET order_status = :s, details.quantity = details.quantity + :one",
        ConditionExpression="order_status = :old",
        ExpressionAttributeValues={":s": S("completed"), ":one": N(1), ":old": S("processing")},
        ReturnValues="ALL_NEW")
    assert resp["Attributes"] == {**item, "order_status": S("completed"),
                                  "details": {"M": {"item": S("Laptop"), "quantity": N(2)}}}
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.update_item(TableName=name, Key=key, UpdateExpression="SET order_status = :s",
                           ConditionExpression="order_status = :old",
                           ExpressionAttributeValues={":s": S("cancelled"),
                                                      ":old": S("processing")})
    # removing customer_id takes the order out of the sparse index
    client.update_item(TableName=name, Key=key, UpdateExpression="REMOVE customer_id")
    resp = client.query(TableName=name, IndexName="CustomerIndex",
                        KeyConditionExpression="customer_id = :c",
                        ExpressionAttributeValues={":c": S("cust555")})
    assert resp["Count"] == 0
    resp = client.delete_item(TableName=name, Key=key, ReturnValues="ALL_OLD")
    assert resp["Attributes"] == {**key, "order_status": S("completed"),
                                  "details": {"M": {"item": S("Laptop"), "quantity": N(2)}}}
    assert "Item" not in client.get_item(TableName=name, Key=key, ConsistentRead=True)


# --------------------------------------------------------------------------------------------
# 4. transactions
# --------------------------------------------------------------------------------------------

ORDER1_KEY = {"order_id": S("order1"), "created_at": N(1625097600)}
ORDER2_KEY = {"order_id": S("order2"), "created_at": N(1625097601)}


def seed_transaction(name):
    """The seed's TransactItems, with the test table's name."""
    return [
        {
            'Put': {
                'TableName': name,
                'Item': {
                    'order_id': {'S': 'order1'},
                    'created_at': {'N': '1625097600'},
                    'customer_id': {'S': 'cust789'},
                    'order_status': {'S': 'processing'}
                }
            }
        },
        {
            'Update': {
                'TableName': name,
                'Key': {
                    'order_id': {'S': 'order2'},
                    'created_at': {'N': '1625097601'}
                },
                'UpdateExpression': 'SET order_status = :status',
                'ExpressionAttributeValues': {
                    ':status': {'S': 'completed'}
                }
            }
        }
    ]


def _get(client, name, key):
    return client.get_item(TableName=name, Key=key, ConsistentRead=True).get("Item")


def test_seed_transaction_applies_put_and_update(client, make_orders):
    name = make_orders()
    order2 = {**ORDER2_KEY, "customer_id": S("cust789"), "order_status": S("processing"),
              "details": {"M": {"item": S("Monitor"), "quantity": N(1)}}}
    client.put_item(TableName=name, Item=order2)
    resp = client.transact_write_items(TransactItems=seed_transaction(name))
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _get(client, name, ORDER1_KEY) == {**ORDER1_KEY, "customer_id": S("cust789"),
                                             "order_status": S("processing")}
    assert _get(client, name, ORDER2_KEY) == {**order2, "order_status": S("completed")}
    resp = client.query(TableName=name, IndexName="CustomerIndex",
                        KeyConditionExpression="customer_id = :c",
                        ExpressionAttributeValues={":c": S("cust789")})
    assert [(i["order_id"]["S"], i["order_status"]["S"]) for i in resp["Items"]] == [
        ("order2", "completed"), ("order1", "processing")]


def test_seed_transaction_on_empty_table_upserts_order2(client, make_orders):
    # as written in the seed, order2 need not exist: the Update creates it with just the key
    # and order_status, which leaves it out of CustomerIndex (no customer_id)
    name = make_orders()
    client.transact_write_items(TransactItems=seed_transaction(name))
    assert _get(client, name, ORDER1_KEY)["customer_id"] == S("cust789")
    assert _get(client, name, ORDER2_KEY) == {**ORDER2_KEY, "order_status": S("completed")}
    resp = client.scan(TableName=name, IndexName="CustomerIndex")
    assert ids_of(resp["Items"]) == ["order1"]


CANCEL_MSG = ("Transaction cancelled, please refer cancellation reasons for specific reasons "
              "[{}]")


def test_transaction_failing_update_condition_cancels_both(client, make_orders):
    name = make_orders()
    order2 = {**ORDER2_KEY, "customer_id": S("cust789"), "order_status": S("completed")}
    client.put_item(TableName=name, Item=order2)
    items = seed_transaction(name)
    # only complete an order that is still processing: order2 is already completed
    items[1]["Update"]["ConditionExpression"] = "order_status = :expected"
    items[1]["Update"]["ExpressionAttributeValues"][":expected"] = S("processing")
    items[1]["Update"]["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    with pytest.raises(client.exceptions.TransactionCanceledException) as e:
        client.transact_write_items(TransactItems=items)
    assert error_of(e) == ("TransactionCanceledException",
                           CANCEL_MSG.format("None, ConditionalCheckFailed"))
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert reasons[1]["Message"] == "The conditional request failed"
    assert reasons[1]["Item"] == order2
    assert "Item" not in reasons[0]
    # neither write happened: no order1 (not in the table, not in the index), order2 unchanged
    assert _get(client, name, ORDER1_KEY) is None
    assert _get(client, name, ORDER2_KEY) == order2
    resp = client.query(TableName=name, IndexName="CustomerIndex",
                        KeyConditionExpression="customer_id = :c",
                        ExpressionAttributeValues={":c": S("cust789")})
    assert ids_of(resp["Items"]) == ["order2"]

    # with order2 back in 'processing' the same transaction goes through, both writes at once
    client.put_item(TableName=name, Item={**order2, "order_status": S("processing")})
    client.transact_write_items(TransactItems=items)
    assert _get(client, name, ORDER1_KEY)["order_status"] == S("processing")
    assert _get(client, name, ORDER2_KEY)["order_status"] == S("completed")


def test_transaction_failing_put_condition_cancels_both(client, make_orders):
    name = make_orders()
    client.put_item(TableName=name, Item={**ORDER1_KEY, "customer_id": S("cust111"),
                                          "order_status": S("shipped")})
    client.put_item(TableName=name, Item={**ORDER2_KEY, "order_status": S("processing")})
    items = seed_transaction(name)
    # create order1 only if it does not exist yet; it does
    items[0]["Put"]["ConditionExpression"] = "attribute_not_exists(order_id)"
    with pytest.raises(ClientError) as e:
        client.transact_write_items(TransactItems=items)
    assert error_of(e) == ("TransactionCanceledException",
                           CANCEL_MSG.format("ConditionalCheckFailed, None"))
    reasons = e.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None"]
    assert "Item" not in reasons[0]  # no ReturnValuesOnConditionCheckFailure
    assert _get(client, name, ORDER1_KEY) == {**ORDER1_KEY, "customer_id": S("cust111"),
                                             "order_status": S("shipped")}
    assert _get(client, name, ORDER2_KEY) == {**ORDER2_KEY, "order_status": S("processing")}


def test_transaction_validation_errors(client, make_orders):
    name = make_orders()
    items = seed_transaction(name)
    # both operations on order1
    items[1]["Update"]["Key"] = {"order_id": {"S": "order1"}, "created_at": {"N": "1625097600"}}
    with pytest.raises(ClientError) as e:
        client.transact_write_items(TransactItems=items)
    assert error_of(e) == ("ValidationException",
                           "Transaction request cannot include multiple operations on one item")
    # an index key of the wrong type in the Put cancels the transaction as a ValidationError
    items = seed_transaction(name)
    items[0]["Put"]["Item"]["order_status"] = {"N": "1"}
    with pytest.raises(ClientError) as e:
        client.transact_write_items(TransactItems=items)
    code, _ = error_of(e)
    assert code in ("TransactionCanceledException", "ValidationException")
    assert _get(client, name, ORDER1_KEY) is None
    assert _get(client, name, ORDER2_KEY) is None


# --------------------------------------------------------------------------------------------
# 5. streams: table settings (implemented) and the Lambda-style stream reader (issue 5)
# --------------------------------------------------------------------------------------------


def test_orders_table_with_stream_settings(client, make_orders):
    name = make_orders(stream=True)
    desc = client.describe_table(TableName=name)["Table"]
    assert desc["StreamSpecification"] == {"StreamEnabled": True,
                                           "StreamViewType": "NEW_AND_OLD_IMAGES"}
    label = desc["LatestStreamLabel"]
    assert desc["LatestStreamArn"] == f"{desc['TableArn']}/stream/{label}"
    assert [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]] == ["CustomerIndex"]
    # a second stream cannot be enabled on top of the first
    with pytest.raises(ClientError) as e:
        client.update_table(TableName=name, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg.startswith("Table already has an enabled stream")


def seed_stream_handler(event, context):
    """The seed's stream-processing Lambda, verbatim."""
    for record in event['Records']:
        eventName = record['eventName']
        new_image = record.get('dynamodb', {}).get('NewImage', {})
        old_image = record.get('dynamodb', {}).get('OldImage', {})
        print(f"Event: {eventName}")
        if new_image:
            print("New record:", json.dumps(new_image))
        if old_image:
            print("Old record:", json.dumps(old_image))
    return {
        'statusCode': 200,
        'body': json.dumps('Stream processed successfully!')
    }


def read_stream(streams, arn: str, expected: int, timeout: float = 5.0) -> list[dict]:
    """Every record of every shard from TRIM_HORIZON, ordered by sequence number; polls until
    at least `expected` records are there (or the timeout passes)."""
    deadline = time.monotonic() + timeout
    while True:
        records = []
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        for shard in shards:
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            for _ in range(50):
                resp = streams.get_records(ShardIterator=it)
                records.extend(resp["Records"])
                it = resp.get("NextShardIterator")
                if not it or not resp["Records"]:
                    break
        if len(records) >= expected or time.monotonic() > deadline:
            return sorted(records, key=lambda r: int(r["dynamodb"]["SequenceNumber"]))
        time.sleep(0.1)


def parse_handler_output(out: str) -> list[tuple[str, dict | str]]:
    lines = []
    for line in out.splitlines():
        if line.startswith("Event: "):
            lines.append(("Event", line[len("Event: "):]))
        elif line.startswith("New record: "):
            lines.append(("New", json.loads(line[len("New record: "):])))
        elif line.startswith("Old record: "):
            lines.append(("Old", json.loads(line[len("Old record: "):])))
        else:
            raise AssertionError(f"unexpected handler output line {line!r}")
    return lines


def test_list_and_describe_orders_stream(client, streams, make_orders):
    name = make_orders(stream=True)
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    listed = streams.list_streams(TableName=name)["Streams"]
    assert [(s["StreamArn"], s["TableName"]) for s in listed] == [(arn, name)]
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamArn"] == arn
    assert desc["TableName"] == name
    assert desc["StreamStatus"] == "ENABLED"
    assert desc["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert desc["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"},
                                 {"AttributeName": "created_at", "KeyType": "RANGE"}]
    assert len(desc["Shards"]) >= 1
    assert all("ShardId" in s and "StartingSequenceNumber" in s["SequenceNumberRange"]
               for s in desc["Shards"])


def test_stream_records_feed_seed_lambda_handler(client, resource, streams, make_orders,
                                                 capsys):
    name = make_orders(stream=True)
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    key = {"order_id": S("s-1"), "created_at": N(1625097600)}
    v1 = {**key, "customer_id": S("cust123"), "order_status": S("processing"),
          "details": {"M": {"item": S("Laptop"), "quantity": N(1)}}}
    v2 = {**v1, "order_status": S("completed")}
    client.put_item(TableName=name, Item=v1)                      # INSERT
    client.update_item(TableName=name, Key=key,                   # MODIFY
                       UpdateExpression="SET order_status = :s",
                       ExpressionAttributeValues={":s": S("completed")})
    client.delete_item(TableName=name, Key=key)                   # REMOVE

    records = read_stream(streams, arn, 3)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    for r in records:
        assert r["eventSource"] == "aws:dynamodb"
        assert r["dynamodb"]["Keys"] == key
        assert r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    ins, mod, rem = (r["dynamodb"] for r in records)
    assert ins["NewImage"] == v1 and "OldImage" not in ins
    assert mod["OldImage"] == v1 and mod["NewImage"] == v2
    assert rem["OldImage"] == v2 and "NewImage" not in rem

    # the seed's handler, fed the records as Lambda's event source mapping delivers them
    capsys.readouterr()
    result = seed_stream_handler({"Records": records}, None)
    assert result == {"statusCode": 200,
                      "body": json.dumps("Stream processed successfully!")}
    assert parse_handler_output(capsys.readouterr().out) == [
        ("Event", "INSERT"), ("New", v1),
        ("Event", "MODIFY"), ("New", v2), ("Old", v1),
        ("Event", "REMOVE"), ("Old", v2),
    ]


def test_stream_records_of_seed_transaction(client, streams, make_orders):
    name = make_orders(stream=True)
    arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    order2 = {**ORDER2_KEY, "customer_id": S("cust789"), "order_status": S("processing")}
    client.put_item(TableName=name, Item=order2)
    client.transact_write_items(TransactItems=seed_transaction(name))
    # a cancelled transaction leaves no record
    failing = seed_transaction(name)
    failing[0]["Put"]["Item"]["order_id"] = {"S": "order3"}
    failing[1]["Update"]["ConditionExpression"] = "attribute_not_exists(order_id)"
    with pytest.raises(client.exceptions.TransactionCanceledException):
        client.transact_write_items(TransactItems=failing)

    records = read_stream(streams, arn, 3)
    assert len(records) == 3
    assert records[0]["eventName"] == "INSERT"
    assert records[0]["dynamodb"]["NewImage"] == order2
    by_id = {r["dynamodb"]["Keys"]["order_id"]["S"]: r for r in records[1:]}
    assert set(by_id) == {"order1", "order2"}
    assert by_id["order1"]["eventName"] == "INSERT"
    assert by_id["order1"]["dynamodb"]["NewImage"] == {
        **ORDER1_KEY, "customer_id": S("cust789"), "order_status": S("processing")}
    assert by_id["order2"]["eventName"] == "MODIFY"
    assert by_id["order2"]["dynamodb"]["OldImage"] == order2
    assert by_id["order2"]["dynamodb"]["NewImage"] == {**order2, "order_status": S("completed")}
