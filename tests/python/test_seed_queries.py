"""Seed documents 001 and 004 as tests: Query, Scan, expressions and conditional writes.

Seed 001 (a guide built around a ``DynamoDBManager`` class over the boto3 *resource* API)
queries a ``Users`` table (``UserID``/``Timestamp``) with ``begins_with`` and ``between`` key
conditions, an ``EmailIndex`` GSI, a ``UserRatingIndex`` LSI, filters, descending order with
a limit, scans with filters, arithmetic updates, ``if_not_exists`` counters, optimistic
locking on a version attribute, batch writes and deletes, a transaction, TTL, a leaderboard
GSI, time-series ``between`` queries and a single-table design. Seed 004 (an introduction over
the low-level client) runs CRUD on a ``Products`` table keyed by a number, with conditional
updates (``Stock > :min_stock``, ``Price = :expected_price``), conditional deletes
(``Price <= :max_price``), a scan of everything and a retried put.

Both APIs are exercised the way the seeds use them: the low-level client with typed
attribute values, and ``boto3.resource('dynamodb').Table`` with ``Key``/``Attr`` conditions
and Python numbers (``Decimal`` on the way back).

Read-only query/scan tests share tables created once per module (fresh, uniquely named,
deleted at the end); every test that writes gets its own table from ``make_table``.
Expected behaviour and messages are AWS DynamoDB's (checked against DynamoDB Local).
GSIs are eventually consistent on AWS; the tests read them straight after writing, which is
what single-node servers (DynamoDB Local, Ferrodyn) guarantee.
"""

from __future__ import annotations

import time
import uuid
from decimal import Decimal

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY, _delete_quietly, error_of, wait_active

# --------------------------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def resource(endpoint):
    """boto3's resource API (Table, Key/Attr conditions), as seed 001's manager uses it."""
    return boto3.session.Session().resource(
        "dynamodb",
        region_name=REGION,
        endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                      connect_timeout=5, read_timeout=30),
    )


def _wait_indexes_active(client, name: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        desc = wait_active(client, name, timeout)
        if all(g.get("IndexStatus", "ACTIVE") == "ACTIVE"
               for g in desc.get("GlobalSecondaryIndexes", [])):
            return desc
        if time.monotonic() > deadline:
            raise AssertionError(f"indexes of {name} not ACTIVE after {timeout} s")
        time.sleep(0.2)


def _attr_defs(*pairs):
    return [{"AttributeName": n, "AttributeType": t} for n, t in pairs]


def _schema(hash_name, range_name=None):
    s = [{"AttributeName": hash_name, "KeyType": "HASH"}]
    if range_name:
        s.append({"AttributeName": range_name, "KeyType": "RANGE"})
    return s


def _create_module_table(client, prefix: str, **kwargs) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    client.create_table(TableName=name, BillingMode="PAY_PER_REQUEST", **kwargs)
    try:
        _wait_indexes_active(client, name)
    except Exception:
        _delete_quietly(client, name)
        raise
    return name


def query_pages(client, **kwargs) -> list[dict]:
    """Every page of a low-level Query, following LastEvaluatedKey until it is absent."""
    pages = []
    while True:
        resp = client.query(**kwargs)
        pages.append(resp)
        if "LastEvaluatedKey" not in resp:
            return pages
        assert len(pages) < 100, "pagination does not terminate"
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def scan_pages(client, **kwargs) -> list[dict]:
    pages = []
    while True:
        resp = client.scan(**kwargs)
        pages.append(resp)
        if "LastEvaluatedKey" not in resp:
            return pages
        assert len(pages) < 100, "pagination does not terminate"
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def resource_query_all(table, **kwargs) -> list[dict]:
    """Seed 001's query_items loop: table.query until LastEvaluatedKey is gone."""
    items = []
    for _ in range(100):
        resp = table.query(**kwargs)
        items.extend(resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    raise AssertionError("pagination does not terminate")


def resource_scan_all(table, **kwargs) -> list[dict]:
    items = []
    for _ in range(100):
        resp = table.scan(**kwargs)
        items.extend(resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
    raise AssertionError("pagination does not terminate")


def items_of(pages):
    return [it for p in pages for it in p["Items"]]


def S(v):
    return {"S": v}


def N(v):
    return {"N": str(v)}


# --------------------------------------------------------------------------------------------
# shared read-only data: seed 001's Users table (GSI EmailIndex, LSI UserRatingIndex)
# --------------------------------------------------------------------------------------------

# user123's history: (Timestamp, Age, Status, Rating or None). Ratings are chosen so numeric
# and lexicographic order differ (1 < 3 < 5 < 9 < 12 < ... < 100 < 250).
USER123_ROWS = [
    ("2024-11-15T09:00:00Z", 22, "active", 5),
    ("2024-11-30T23:59:59Z", 25, "active", 40),
    ("2024-12-01T00:00:00Z", 26, "inactive", 3),
    ("2024-12-05T08:30:00Z", 30, "active", 100),
    ("2024-12-10T12:00:00Z", 31, "pending", 12),
    ("2024-12-15T18:45:00Z", 35, "active", None),
    ("2024-12-20T10:00:00Z", 40, "active", 250),
    ("2024-12-20T14:30:00Z", 41, "inactive", 1),
    ("2024-12-31T23:59:59Z", 24, "active", 9),
    ("2025-01-01T00:00:00Z", 28, "active", 30),
    ("2025-01-15T07:00:00Z", 33, "inactive", None),
    ("2025-02-01T00:00:00Z", 45, "active", 64),
]


def _user(uid, ts, name, email, age, status, rating=None):
    item = {"UserID": uid, "Timestamp": ts, "Name": name, "Age": age, "Status": status}
    if email is not None:
        item["Email"] = email
    if rating is not None:
        item["Rating"] = rating
    return item


USERS = [
    _user("user123", ts, "John Doe", "john@example.com", age, status, rating)
    for ts, age, status, rating in USER123_ROWS
] + [
    _user("user1", "2024-12-01T10:00:00Z", "Alice", "alice@example.com", 29, "active", 8),
    _user("user1", "2024-12-02T09:00:00Z", "Alice", "alice@example.com", 29, "inactive"),
    _user("user1", "2024-12-03T09:00:00Z", "Alice", "alice@example.com", 29, "active", 2),
    _user("user2", "2024-12-02T11:00:00Z", "Bob", "bob@example.com", 41, "active"),
    _user("user2", "2024-12-25T11:00:00Z", "Bob", "bob@example.com", 41, "pending"),
    # no Email: absent from the sparse EmailIndex
    _user("user3", "2024-12-04T00:00:00Z", "Carol", None, 19, "active"),
    _user("user3", "2024-12-06T00:00:00Z", "Carol", None, 19, "active"),
]
USER123_TS = [r[0] for r in USER123_ROWS]  # already in ascending order


@pytest.fixture(scope="module")
def users(client, resource):
    """Name of a module-wide Users table holding USERS (read-only).

    Loaded with plain PutItem so the query tests depend on nothing but PutItem and Query;
    batch_writer has its own test below.
    """
    name = _create_module_table(
        client, "seedq-users",
        AttributeDefinitions=_attr_defs(("UserID", "S"), ("Timestamp", "S"), ("Email", "S"),
                                        ("Rating", "N")),
        KeySchema=_schema("UserID", "Timestamp"),
        GlobalSecondaryIndexes=[{
            "IndexName": "EmailIndex",
            "KeySchema": _schema("Email"),
            "Projection": {"ProjectionType": "ALL"},
        }],
        LocalSecondaryIndexes=[{
            "IndexName": "UserRatingIndex",
            "KeySchema": _schema("UserID", "Rating"),
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    try:
        table = resource.Table(name)
        for item in USERS:
            table.put_item(Item=item)
        yield name
    finally:
        _delete_quietly(client, name)


# seed 001's leaderboard: GameScores(UserID, GameID) with LeaderboardIndex(GameID, Score)
GAME123_SCORES = [5, 10, 100, 9, 1000, 75, 2, 99, 101, 55, 7, 3000, 12, 0, 42]
GAME_SCORES = (
    [{"UserID": f"player{i:02d}", "GameID": "game123", "Score": s}
     for i, s in enumerate(GAME123_SCORES, start=1)]
    + [{"UserID": f"player{i:02d}", "GameID": "game456", "Score": 5000 + i} for i in (1, 2, 3)]
    # no Score yet: not in the index
    + [{"UserID": "player99", "GameID": "game123"}]
)


@pytest.fixture(scope="module")
def game_scores(client, resource):
    name = _create_module_table(
        client, "seedq-games",
        AttributeDefinitions=_attr_defs(("UserID", "S"), ("GameID", "S"), ("Score", "N")),
        KeySchema=_schema("UserID", "GameID"),
        GlobalSecondaryIndexes=[{
            "IndexName": "LeaderboardIndex",
            "KeySchema": _schema("GameID", "Score"),
            "Projection": {"ProjectionType": "ALL"},
        }],
    )
    try:
        table = resource.Table(name)
        for item in GAME_SCORES:
            table.put_item(Item=item)
        yield name
    finally:
        _delete_quietly(client, name)


def ts_of(items):
    """Timestamps of low-level or resource items, in the order returned."""
    return [it["Timestamp"]["S"] if isinstance(it["Timestamp"], dict) else it["Timestamp"]
            for it in items]


# --------------------------------------------------------------------------------------------
# Query: key conditions (seed 001, resource API)
# --------------------------------------------------------------------------------------------


def test_query_partition_key_returns_all_in_sort_order(resource, users):
    table = resource.Table(users)
    items = resource_query_all(table, KeyConditionExpression=Key("UserID").eq("user123"),
                               ConsistentRead=True)
    assert ts_of(items) == USER123_TS
    first = items[0]
    assert first == {"UserID": "user123", "Timestamp": "2024-11-15T09:00:00Z",
                     "Name": "John Doe", "Email": "john@example.com", "Age": Decimal(22),
                     "Status": "active", "Rating": Decimal(5)}


def test_query_begins_with_sort_key(resource, users):
    # seed: Key('UserID').eq('user123') & Key('Timestamp').begins_with('2024-12')
    table = resource.Table(users)
    items = resource_query_all(
        table,
        KeyConditionExpression=Key("UserID").eq("user123") & Key("Timestamp").begins_with("2024-12"),
    )
    assert ts_of(items) == [
        "2024-12-01T00:00:00Z", "2024-12-05T08:30:00Z", "2024-12-10T12:00:00Z",
        "2024-12-15T18:45:00Z", "2024-12-20T10:00:00Z", "2024-12-20T14:30:00Z",
        "2024-12-31T23:59:59Z",
    ]
    assert all(it["UserID"] == "user123" for it in items)


def test_query_between_is_inclusive(resource, users):
    # seed's time-series pattern: between('2024-12-01T00:00:00Z', '2024-12-20T23:59:59Z');
    # the lower bound is exactly an item's key and must be included
    table = resource.Table(users)
    items = resource_query_all(
        table,
        KeyConditionExpression=Key("UserID").eq("user123")
        & Key("Timestamp").between("2024-12-01T00:00:00Z", "2024-12-20T23:59:59Z"),
    )
    assert ts_of(items) == [
        "2024-12-01T00:00:00Z", "2024-12-05T08:30:00Z", "2024-12-10T12:00:00Z",
        "2024-12-15T18:45:00Z", "2024-12-20T10:00:00Z", "2024-12-20T14:30:00Z",
    ]
    # both bounds equal to existing keys
    items = resource_query_all(
        table,
        KeyConditionExpression=Key("UserID").eq("user123")
        & Key("Timestamp").between("2024-12-20T10:00:00Z", "2024-12-20T14:30:00Z"),
    )
    assert ts_of(items) == ["2024-12-20T10:00:00Z", "2024-12-20T14:30:00Z"]


@pytest.mark.parametrize("op, expected", [
    ("<", [t for t in USER123_TS if t < "2024-12-10T12:00:00Z"]),
    ("<=", [t for t in USER123_TS if t <= "2024-12-10T12:00:00Z"]),
    (">", [t for t in USER123_TS if t > "2024-12-10T12:00:00Z"]),
    (">=", [t for t in USER123_TS if t >= "2024-12-10T12:00:00Z"]),
    ("=", ["2024-12-10T12:00:00Z"]),
])
def test_query_sort_key_comparisons_low_level(client, users, op, expected):
    # Timestamp is a reserved word: the low-level client needs a #name placeholder
    pages = query_pages(
        client, TableName=users,
        KeyConditionExpression=f"UserID = :u AND #ts {op} :t",
        ExpressionAttributeNames={"#ts": "Timestamp"},
        ExpressionAttributeValues={":u": S("user123"), ":t": S("2024-12-10T12:00:00Z")},
    )
    assert ts_of(items_of(pages)) == expected
    assert 0 < len(expected) < len(USER123_TS)


def test_query_reserved_word_in_key_condition_needs_placeholder(client, users):
    with pytest.raises(ClientError) as e:
        client.query(TableName=users,
                     KeyConditionExpression="UserID = :u AND Timestamp > :t",
                     ExpressionAttributeValues={":u": S("user123"), ":t": S("2024")})
    assert error_of(e) == (
        "ValidationException",
        "Invalid KeyConditionExpression: Attribute name is a reserved keyword; "
        "reserved keyword: Timestamp",
    )


def test_query_unknown_partition_is_empty(client, users):
    resp = client.query(TableName=users, KeyConditionExpression="UserID = :u",
                        ExpressionAttributeValues={":u": S("nobody")})
    assert resp["Items"] == []
    assert resp["Count"] == 0
    assert resp["ScannedCount"] == 0
    assert "LastEvaluatedKey" not in resp


# --------------------------------------------------------------------------------------------
# Query: FilterExpression, descending order, Limit, pagination
# --------------------------------------------------------------------------------------------


def test_query_with_filter_resource(resource, users):
    # seed: filter_expression=Attr('Age').gt(25) & Attr('Status').eq('active')
    table = resource.Table(users)
    items = resource_query_all(
        table,
        KeyConditionExpression=Key("UserID").eq("user123"),
        FilterExpression=Attr("Age").gt(25) & Attr("Status").eq("active"),
    )
    assert ts_of(items) == ["2024-12-05T08:30:00Z", "2024-12-15T18:45:00Z",
                            "2024-12-20T10:00:00Z", "2025-01-01T00:00:00Z",
                            "2025-02-01T00:00:00Z"]
    assert all(it["Age"] > 25 and it["Status"] == "active" for it in items)


def test_query_filter_counts_low_level(client, users):
    # Count is after the filter, ScannedCount before it
    resp = client.query(
        TableName=users,
        KeyConditionExpression="UserID = :u",
        FilterExpression="Age > :age AND #st = :active",
        ExpressionAttributeNames={"#st": "Status"},
        ExpressionAttributeValues={":u": S("user123"), ":age": N(25), ":active": S("active")},
    )
    assert resp["Count"] == 5
    assert resp["ScannedCount"] == 12
    assert len(resp["Items"]) == 5
    assert "LastEvaluatedKey" not in resp


def test_query_descending_with_limit(resource, users):
    # seed: scan_forward=False, limit=N -> the newest N records
    table = resource.Table(users)
    resp = table.query(KeyConditionExpression=Key("UserID").eq("user123"),
                       ScanIndexForward=False, Limit=3)
    assert ts_of(resp["Items"]) == ["2025-02-01T00:00:00Z", "2025-01-15T07:00:00Z",
                                    "2025-01-01T00:00:00Z"]
    assert resp["Count"] == 3
    assert resp["LastEvaluatedKey"] == {"UserID": "user123", "Timestamp": "2025-01-01T00:00:00Z"}


def test_query_descending_pagination_collects_everything(client, users):
    pages = query_pages(
        client, TableName=users, KeyConditionExpression="UserID = :u",
        ExpressionAttributeValues={":u": S("user123")}, ScanIndexForward=False, Limit=5,
    )
    assert [len(p["Items"]) for p in pages] == [5, 5, 2]
    assert ts_of(items_of(pages)) == USER123_TS[::-1]
    # LastEvaluatedKey is the key (and only the key) of each page's last item
    for p in pages[:-1]:
        last = p["Items"][-1]
        assert p["LastEvaluatedKey"] == {"UserID": last["UserID"], "Timestamp": last["Timestamp"]}
    assert sum(p["Count"] for p in pages) == 12


def test_query_pagination_exact_multiple_ends_with_empty_page(client, users):
    # Hitting Limit always returns LastEvaluatedKey, even when nothing follows; the caller
    # learns it is done from one more, empty, page.
    pages = query_pages(
        client, TableName=users, KeyConditionExpression="UserID = :u",
        ExpressionAttributeValues={":u": S("user123")}, Limit=4,
    )
    assert [len(p["Items"]) for p in pages] == [4, 4, 4, 0]
    assert ts_of(items_of(pages)) == USER123_TS
    assert pages[-1]["Count"] == 0 and pages[-1]["ScannedCount"] == 0


def test_query_limit_applies_before_filter(client, users):
    # Limit counts evaluated items; the filter then drops some of them. LastEvaluatedKey is
    # the last *evaluated* item even when the filter removed it.
    kwargs = dict(
        TableName=users,
        KeyConditionExpression="UserID = :u",
        FilterExpression="#st = :active",
        ExpressionAttributeNames={"#st": "Status"},
        ExpressionAttributeValues={":u": S("user123"), ":active": S("active")},
        Limit=3,
    )
    first = client.query(**kwargs)
    assert first["ScannedCount"] == 3
    assert first["Count"] == 2  # 2024-12-01 is inactive
    assert ts_of(first["Items"]) == ["2024-11-15T09:00:00Z", "2024-11-30T23:59:59Z"]
    assert first["LastEvaluatedKey"] == {"UserID": S("user123"),
                                         "Timestamp": S("2024-12-01T00:00:00Z")}

    pages = query_pages(client, **kwargs)
    expected = [ts for ts, _, st, _ in USER123_ROWS if st == "active"]
    assert ts_of(items_of(pages)) == expected
    assert sum(p["ScannedCount"] for p in pages) == 12
    assert sum(p["Count"] for p in pages) == len(expected) == 8


def test_query_resource_pagination_with_begins_with_and_filter(resource, users):
    table = resource.Table(users)
    items = resource_query_all(
        table,
        KeyConditionExpression=Key("UserID").eq("user123") & Key("Timestamp").begins_with("2024"),
        FilterExpression=Attr("Age").between(25, 35) & Attr("Status").ne("inactive"),
        Limit=2,
        ConsistentRead=True,
    )
    assert ts_of(items) == ["2024-11-30T23:59:59Z", "2024-12-05T08:30:00Z",
                            "2024-12-10T12:00:00Z", "2024-12-15T18:45:00Z"]


# --------------------------------------------------------------------------------------------
# Query: Select and ProjectionExpression
# --------------------------------------------------------------------------------------------


def test_query_select_count(client, users):
    resp = client.query(TableName=users, KeyConditionExpression="UserID = :u",
                        ExpressionAttributeValues={":u": S("user123")}, Select="COUNT")
    assert "Items" not in resp
    assert resp["Count"] == 12
    assert resp["ScannedCount"] == 12

    resp = client.query(
        TableName=users, Select="COUNT",
        KeyConditionExpression="UserID = :u AND begins_with(#ts, :p)",
        FilterExpression="Age >= :a",
        ExpressionAttributeNames={"#ts": "Timestamp"},
        ExpressionAttributeValues={":u": S("user123"), ":p": S("2024-12"), ":a": N(35)},
    )
    assert "Items" not in resp
    assert resp["ScannedCount"] == 7
    assert resp["Count"] == 3  # ages 35, 40, 41


def test_query_select_count_with_limit_paginates(resource, users):
    table = resource.Table(users)
    resp = table.query(KeyConditionExpression=Key("UserID").eq("user123"), Select="COUNT",
                       Limit=10)
    assert "Items" not in resp
    assert (resp["Count"], resp["ScannedCount"]) == (10, 10)
    assert resp["LastEvaluatedKey"] == {"UserID": "user123", "Timestamp": USER123_TS[9]}
    rest = table.query(KeyConditionExpression=Key("UserID").eq("user123"), Select="COUNT",
                       Limit=10, ExclusiveStartKey=resp["LastEvaluatedKey"])
    assert (rest["Count"], rest["ScannedCount"]) == (2, 2)
    assert "LastEvaluatedKey" not in rest


def test_query_projection_with_name_placeholders(client, users):
    pages = query_pages(
        client, TableName=users,
        KeyConditionExpression="UserID = :u AND begins_with(#ts, :p)",
        ProjectionExpression="#n, #ts, Age",
        ExpressionAttributeNames={"#n": "Name", "#ts": "Timestamp"},
        ExpressionAttributeValues={":u": S("user1"), ":p": S("2024-12")},
    )
    assert items_of(pages) == [
        {"Name": S("Alice"), "Timestamp": S("2024-12-01T10:00:00Z"), "Age": N(29)},
        {"Name": S("Alice"), "Timestamp": S("2024-12-02T09:00:00Z"), "Age": N(29)},
        {"Name": S("Alice"), "Timestamp": S("2024-12-03T09:00:00Z"), "Age": N(29)},
    ]


def test_query_select_specific_attributes_resource(resource, users):
    table = resource.Table(users)
    items = resource_query_all(
        table,
        KeyConditionExpression=Key("UserID").eq("user2"),
        ProjectionExpression="#s, Email",
        ExpressionAttributeNames={"#s": "Status"},
        Select="SPECIFIC_ATTRIBUTES",
    )
    assert items == [{"Status": "active", "Email": "bob@example.com"},
                     {"Status": "pending", "Email": "bob@example.com"}]


# --------------------------------------------------------------------------------------------
# Query on indexes: GSI (EmailIndex, LeaderboardIndex) and LSI (UserRatingIndex)
# --------------------------------------------------------------------------------------------


def test_query_gsi_by_email(resource, users):
    # seed: Key('Email').eq('john@example.com'), index_name='EmailIndex'
    table = resource.Table(users)
    items = resource_query_all(table, KeyConditionExpression=Key("Email").eq("john@example.com"),
                               IndexName="EmailIndex")
    # no sort key on the index: order within the partition is unspecified
    assert sorted(ts_of(items)) == USER123_TS
    assert {it["UserID"] for it in items} == {"user123"}
    assert all(it["Name"] == "John Doe" for it in items)  # ProjectionType ALL

    alice = resource_query_all(table, KeyConditionExpression=Key("Email").eq("alice@example.com"),
                               IndexName="EmailIndex")
    assert len(alice) == 3


def test_query_gsi_pagination_keys(client, users):
    pages = query_pages(client, TableName=users, IndexName="EmailIndex",
                        KeyConditionExpression="Email = :e",
                        ExpressionAttributeValues={":e": S("john@example.com")}, Limit=5)
    items = items_of(pages)
    assert len(items) == 12
    assert sorted(ts_of(items)) == USER123_TS  # every item exactly once
    # an index's LastEvaluatedKey carries the table key and the index key
    for p in pages[:-1]:
        last = p["Items"][-1]
        assert p["LastEvaluatedKey"] == {"UserID": last["UserID"], "Timestamp": last["Timestamp"],
                                         "Email": last["Email"]}


def test_gsi_is_sparse(client, users):
    # items without Email are not in EmailIndex (seed: "Use Sparse Indexes")
    pages = scan_pages(client, TableName=users, IndexName="EmailIndex")
    items = items_of(pages)
    assert len(items) == len([u for u in USERS if "Email" in u]) == 17
    assert "user3" not in {it["UserID"]["S"] for it in items}
    resp = client.query(TableName=users, IndexName="EmailIndex",
                        KeyConditionExpression="Email = :e",
                        ExpressionAttributeValues={":e": S("carol@example.com")})
    assert resp["Items"] == [] and resp["Count"] == 0


def test_consistent_read_on_gsi_rejected(client, users):
    with pytest.raises(ClientError) as e:
        client.query(TableName=users, IndexName="EmailIndex", ConsistentRead=True,
                     KeyConditionExpression="Email = :e",
                     ExpressionAttributeValues={":e": S("john@example.com")})
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS's wording first; DynamoDB Local 1.25 says "Consistent read cannot be true when
    # querying a GSI"
    assert msg in ("Consistent reads are not supported on global secondary indexes",
                   "Consistent read cannot be true when querying a GSI")


def test_query_lsi_numeric_order(client, users):
    pages = query_pages(client, TableName=users, IndexName="UserRatingIndex",
                        KeyConditionExpression="UserID = :u",
                        ExpressionAttributeValues={":u": S("user123")}, ConsistentRead=True)
    ratings = [int(it["Rating"]["N"]) for it in items_of(pages)]
    # numeric, not lexicographic, order; items without Rating are not in the index
    assert ratings == [1, 3, 5, 9, 12, 30, 40, 64, 100, 250]


def test_query_lsi_between_descending_limit(resource, users):
    table = resource.Table(users)
    items = resource_query_all(
        table, IndexName="UserRatingIndex",
        KeyConditionExpression=Key("UserID").eq("user123") & Key("Rating").between(5, 64),
    )
    assert [int(it["Rating"]) for it in items] == [5, 9, 12, 30, 40, 64]

    resp = table.query(IndexName="UserRatingIndex", KeyConditionExpression=Key("UserID").eq("user123"),
                       ScanIndexForward=False, Limit=3)
    assert [int(it["Rating"]) for it in resp["Items"]] == [250, 100, 64]
    assert resp["LastEvaluatedKey"] == {"UserID": "user123", "Timestamp": "2025-02-01T00:00:00Z",
                                        "Rating": Decimal(64)}
    nxt = table.query(IndexName="UserRatingIndex", KeyConditionExpression=Key("UserID").eq("user123"),
                      ScanIndexForward=False, Limit=3, ExclusiveStartKey=resp["LastEvaluatedKey"])
    assert [int(it["Rating"]) for it in nxt["Items"]] == [40, 30, 12]


def test_leaderboard_top_ten(resource, game_scores):
    # seed: Key('GameID').eq('game123'), index_name='LeaderboardIndex', scan_forward=False,
    # limit=10
    table = resource.Table(game_scores)
    resp = table.query(IndexName="LeaderboardIndex", KeyConditionExpression=Key("GameID").eq("game123"),
                       ScanIndexForward=False, Limit=10)
    assert [int(it["Score"]) for it in resp["Items"]] == sorted(GAME123_SCORES, reverse=True)[:10]
    assert resp["Items"][0] == {"UserID": "player12", "GameID": "game123", "Score": Decimal(3000)}
    assert resp["Count"] == 10
    assert "LastEvaluatedKey" in resp


def test_leaderboard_paginate_descending(client, game_scores):
    pages = query_pages(client, TableName=game_scores, IndexName="LeaderboardIndex",
                        KeyConditionExpression="GameID = :g",
                        ExpressionAttributeValues={":g": S("game123")},
                        ScanIndexForward=False, Limit=4)
    scores = [int(it["Score"]["N"]) for it in items_of(pages)]
    assert scores == sorted(GAME123_SCORES, reverse=True)  # player99 has no Score
    assert [len(p["Items"]) for p in pages] == [4, 4, 4, 3]
    assert set(pages[0]["LastEvaluatedKey"]) == {"UserID", "GameID", "Score"}

    # score range on the index sort key, ascending
    resp = client.query(TableName=game_scores, IndexName="LeaderboardIndex",
                        KeyConditionExpression="GameID = :g AND Score >= :min",
                        ExpressionAttributeValues={":g": S("game123"), ":min": N(100)})
    assert [int(it["Score"]["N"]) for it in resp["Items"]] == [100, 101, 1000, 3000]


# --------------------------------------------------------------------------------------------
# Scan (seed 001 scan_table, seed 004 read_all_products)
# --------------------------------------------------------------------------------------------


def test_scan_with_filter_between(resource, users):
    # seed: scan_table('Users', filter_expression=Attr('Age').between(25, 40))
    table = resource.Table(users)
    items = resource_scan_all(table, FilterExpression=Attr("Age").between(25, 40))
    got = sorted((it["UserID"], it["Timestamp"]) for it in items)
    expected = sorted((u["UserID"], u["Timestamp"]) for u in USERS if 25 <= u["Age"] <= 40)
    assert got == expected
    assert len(got) == 11  # bounds 25 and 40 included


def test_scan_pagination_collects_each_item_once(client, users):
    pages = scan_pages(client, TableName=users, Limit=5)
    assert [p["ScannedCount"] for p in pages] == [5, 5, 5, 4]
    assert all("LastEvaluatedKey" in p for p in pages[:-1])
    keys = [(it["UserID"]["S"], it["Timestamp"]["S"]) for it in items_of(pages)]
    assert len(keys) == len(set(keys)) == len(USERS)
    assert sorted(keys) == sorted((u["UserID"], u["Timestamp"]) for u in USERS)
    # Scan's LastEvaluatedKey is the table key of the page's last item
    last = pages[0]["Items"][-1]
    assert pages[0]["LastEvaluatedKey"] == {"UserID": last["UserID"], "Timestamp": last["Timestamp"]}


def test_scan_filter_with_pagination(client, users):
    pages = scan_pages(
        client, TableName=users, Limit=4,
        FilterExpression="#st = :s AND attribute_exists(Email)",
        ExpressionAttributeNames={"#st": "Status"},
        ExpressionAttributeValues={":s": S("active")},
    )
    assert sum(p["ScannedCount"] for p in pages) == len(USERS)
    got = sorted((it["UserID"]["S"], it["Timestamp"]["S"]) for it in items_of(pages))
    expected = sorted((u["UserID"], u["Timestamp"]) for u in USERS
                      if u["Status"] == "active" and "Email" in u)
    assert got == expected and len(got) == 11
    assert sum(p["Count"] for p in pages) == 11


def test_scan_select_count(client, users):
    resp = client.scan(TableName=users, Select="COUNT")
    assert "Items" not in resp
    assert (resp["Count"], resp["ScannedCount"]) == (19, 19)

    resp = client.scan(TableName=users, Select="COUNT", FilterExpression="Age < :a",
                       ExpressionAttributeValues={":a": N(25)})
    assert "Items" not in resp
    assert resp["ScannedCount"] == 19
    assert resp["Count"] == 4  # 22, 24, and Carol's two 19s


def test_scan_projection_resource(resource, users):
    table = resource.Table(users)
    items = resource_scan_all(table, FilterExpression=Attr("UserID").eq("user2"),
                              ProjectionExpression="#n, Age",
                              ExpressionAttributeNames={"#n": "Name"})
    assert items == [{"Name": "Bob", "Age": Decimal(41)}] * 2


# --------------------------------------------------------------------------------------------
# FilterExpression over the data types of seed 004 (functions, nested paths, IN, NOT, OR)
# --------------------------------------------------------------------------------------------

TYPED_ITEMS = [
    {"pk": S("p1"), "Tags": {"SS": ["sale", "new"]}, "Dims": {"L": [N(1), S("x")]},
     "Meta": {"M": {"color": S("red"), "size": {"M": {"w": N(10)}}}},
     "Flag": {"BOOL": True}, "Nothing": {"NULL": True}, "Blob": {"B": b"\x00\x01"},
     "Category": S("Electronics"), "Price": N("999.99")},
    {"pk": S("p2"), "Tags": {"SS": ["old"]}, "Ratings": {"NS": ["1", "2"]},
     "Meta": {"M": {"color": S("blue")}}, "Flag": {"BOOL": False},
     "Category": S("Books"), "Price": N("12.5")},
    {"pk": S("p3"), "Name": S("plain"), "Category": S("Garden"), "Price": N(40)},
]


@pytest.fixture(scope="module")
def typed(client):
    name = _create_module_table(client, "seedq-typed", AttributeDefinitions=_attr_defs(("pk", "S")),
                                KeySchema=_schema("pk"))
    try:
        for it in TYPED_ITEMS:
            client.put_item(TableName=name, Item=it)
        yield name
    finally:
        _delete_quietly(client, name)


@pytest.mark.parametrize("expr, names, values, expected", [
    ("contains(Tags, :v)", {}, {":v": S("sale")}, ["p1"]),
    ("contains(Dims, :v)", {}, {":v": S("x")}, ["p1"]),
    ("contains(Ratings, :v)", {}, {":v": N(2)}, ["p2"]),
    ("attribute_type(Nothing, :t)", {}, {":t": S("NULL")}, ["p1"]),
    # Blob is a reserved word
    ("attribute_type(#b, :t)", {"#b": "Blob"}, {":t": S("B")}, ["p1"]),
    ("attribute_not_exists(Tags)", {}, {}, ["p3"]),
    ("attribute_exists(Meta.size.w)", {}, {}, ["p1"]),
    ("#m.#c = :v", {"#m": "Meta", "#c": "color"}, {":v": S("blue")}, ["p2"]),
    ("Meta.size.w > :v", {}, {":v": N(5)}, ["p1"]),
    ("Dims[1] = :v", {}, {":v": S("x")}, ["p1"]),
    ("size(Tags) = :v", {}, {":v": N(1)}, ["p2"]),
    ("Flag = :v", {}, {":v": {"BOOL": True}}, ["p1"]),
    ("Category IN (:a, :b)", {}, {":a": S("Books"), ":b": S("Garden")}, ["p2", "p3"]),
    ("NOT begins_with(Category, :v)", {}, {":v": S("Elec")}, ["p2", "p3"]),
    ("Price < :a OR (Flag = :t AND contains(Tags, :n))", {},
     {":a": N(20), ":t": {"BOOL": True}, ":n": S("new")}, ["p1", "p2"]),
    ("Price BETWEEN :lo AND :hi", {}, {":lo": N("12.5"), ":hi": N("40.0")}, ["p2", "p3"]),
    ("Price <> :v", {}, {":v": N("999.990")}, ["p2", "p3"]),
])
def test_scan_filter_functions_and_types(client, typed, expr, names, values, expected):
    kwargs = dict(TableName=typed, FilterExpression=expr)
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if values:
        kwargs["ExpressionAttributeValues"] = values
    pages = scan_pages(client, **kwargs)
    assert sorted(it["pk"]["S"] for it in items_of(pages)) == expected
    assert sum(p["ScannedCount"] for p in pages) == 3


def test_projection_nested_paths(client, typed):
    item = client.get_item(TableName=typed, Key={"pk": S("p1")},
                           ProjectionExpression="#m.color, Dims[1], Tags",
                           ExpressionAttributeNames={"#m": "Meta"})["Item"]
    assert item["Meta"] == {"M": {"color": S("red")}}
    assert item["Dims"] == {"L": [S("x")]}
    assert sorted(item["Tags"]["SS"]) == ["new", "sale"]
    assert set(item) == {"Meta", "Dims", "Tags"}


# --------------------------------------------------------------------------------------------
# ProjectionExpression and reserved words (seed 001 best practice 5)
# --------------------------------------------------------------------------------------------


def test_get_item_projection_reserved_word_and_placeholder(resource, make_table):
    table = resource.Table(make_table(hash_key=("UserID", "S"), prefix="seedq"))
    table.put_item(Item={"UserID": "user123", "Name": "John Doe", "Email": "john@example.com",
                         "Age": 30})
    # the seed's literal ProjectionExpression='Name,Email' is rejected: Name is reserved
    with pytest.raises(ClientError) as e:
        table.get_item(Key={"UserID": "user123"}, ProjectionExpression="Name,Email")
    assert error_of(e) == (
        "ValidationException",
        "Invalid ProjectionExpression: Attribute name is a reserved keyword; "
        "reserved keyword: Name",
    )
    got = table.get_item(Key={"UserID": "user123"}, ProjectionExpression="#n,Email",
                         ExpressionAttributeNames={"#n": "Name"})["Item"]
    assert got == {"Name": "John Doe", "Email": "john@example.com"}


# --------------------------------------------------------------------------------------------
# Seed 001 patterns on their own tables: single-table design, time series, batch writes
# --------------------------------------------------------------------------------------------


def test_single_table_design(resource, make_table):
    table = resource.Table(make_table(hash_key=("PK", "S"), range_key=("SK", "S"), prefix="seedq"))
    for item in [
        {"PK": "USER#user123", "SK": "PROFILE", "Name": "John"},
        {"PK": "USER#user123", "SK": "ORDER#2024-12-01", "Total": 150},
        {"PK": "USER#user123", "SK": "ORDER#2024-12-15", "Total": 75},
        {"PK": "PRODUCT#prod456", "SK": "METADATA", "Name": "Laptop"},
        {"PK": "PRODUCT#prod456", "SK": "REVIEW#user123", "Rating": 5},
    ]:
        table.put_item(Item=item)
    orders = resource_query_all(
        table, KeyConditionExpression=Key("PK").eq("USER#user123") & Key("SK").begins_with("ORDER#"))
    assert [(o["SK"], o["Total"]) for o in orders] == [("ORDER#2024-12-01", 150),
                                                       ("ORDER#2024-12-15", 75)]
    everything = resource_query_all(table, KeyConditionExpression=Key("PK").eq("USER#user123"))
    # "ORDER#..." sorts before "PROFILE" (byte order)
    assert [i["SK"] for i in everything] == ["ORDER#2024-12-01", "ORDER#2024-12-15", "PROFILE"]
    early = resource_query_all(
        table, KeyConditionExpression=Key("PK").eq("USER#user123")
        & Key("SK").between("ORDER#2024-12-01", "ORDER#2024-12-10"))
    assert [i["SK"] for i in early] == ["ORDER#2024-12-01"]
    reviews = table.query(KeyConditionExpression=Key("PK").eq("PRODUCT#prod456")
                          & Key("SK").begins_with("REVIEW#"))
    assert reviews["Items"] == [{"PK": "PRODUCT#prod456", "SK": "REVIEW#user123",
                                 "Rating": Decimal(5)}]


def test_time_series_recent_readings(resource, make_table):
    table = resource.Table(make_table(hash_key=("DeviceID", "S"), range_key=("Timestamp", "S"),
                                      prefix="seedq"))
    stamps = [f"2024-{m:02d}-{d:02d}T{h:02d}:00:00Z"
              for m, d, h in [(11, 30, 23), (12, 1, 0), (12, 1, 6), (12, 10, 12), (12, 20, 23),
                              (12, 21, 0), (12, 31, 5)]]
    for i, ts in enumerate(stamps):
        table.put_item(Item={"DeviceID": "device123", "Timestamp": ts,
                             "Reading": Decimal(f"{20 + i}.5")})
        table.put_item(Item={"DeviceID": "device999", "Timestamp": ts, "Reading": 0})
    items = resource_query_all(
        table,
        KeyConditionExpression=Key("DeviceID").eq("device123")
        & Key("Timestamp").between("2024-12-01T00:00:00Z", "2024-12-20T23:59:59Z"),
    )
    assert ts_of(items) == stamps[1:5]  # 2024-12-20T23:00:00Z is inside the upper bound
    assert [it["Reading"] for it in items] == [Decimal("21.5"), Decimal("22.5"), Decimal("23.5"),
                                               Decimal("24.5")]
    latest = table.query(KeyConditionExpression=Key("DeviceID").eq("device123"),
                         ScanIndexForward=False, Limit=1)["Items"]
    assert ts_of(latest) == ["2024-12-31T05:00:00Z"]


def test_batch_insert_and_batch_delete(resource, client, make_table):
    # seed: batch_insert_items (up to 25 per batch; batch_writer splits) and batch_delete_items
    name = make_table(hash_key=("UserID", "S"), range_key=("Timestamp", "S"), prefix="seedq")
    table = resource.Table(name)
    rows = [{"UserID": f"user{i % 3}", "Timestamp": f"2024-12-{i + 1:02d}T10:00:00Z",
             "Name": f"N{i}", "Email": f"u{i}@example.com"} for i in range(30)]
    with table.batch_writer() as batch:
        for r in rows:
            batch.put_item(Item=r)
    assert client.scan(TableName=name, Select="COUNT")["Count"] == 30
    user0 = resource_query_all(table, KeyConditionExpression=Key("UserID").eq("user0"))
    assert ts_of(user0) == [r["Timestamp"] for r in rows if r["UserID"] == "user0"]

    doomed = [{"UserID": r["UserID"], "Timestamp": r["Timestamp"]} for r in rows[:26]]
    with table.batch_writer() as batch:
        for k in doomed:
            batch.delete_item(Key=k)
    left = resource_scan_all(table)
    assert sorted((i["UserID"], i["Timestamp"]) for i in left) == sorted(
        (r["UserID"], r["Timestamp"]) for r in rows[26:])

    # the low-level form of the same, at the 25-request limit
    resp = client.batch_write_item(RequestItems={name: [
        {"DeleteRequest": {"Key": {"UserID": S(r["UserID"]), "Timestamp": S(r["Timestamp"])}}}
        for r in rows[26:]
    ]})
    assert resp["UnprocessedItems"] == {}
    assert client.scan(TableName=name, Select="COUNT")["Count"] == 0


# --------------------------------------------------------------------------------------------
# UpdateItem: arithmetic, if_not_exists, optimistic locking, ReturnValues (seed 001 and 004)
# --------------------------------------------------------------------------------------------


def _users_table(resource, make_table):
    return resource.Table(make_table(hash_key=("UserID", "S"), range_key=("Timestamp", "S"),
                                     prefix="seedq"))


SEED_KEY = {"UserID": "user123", "Timestamp": "2024-12-20T10:00:00Z"}


def test_simple_update_updated_new(resource, make_table):
    # seed: 'SET Age = :age, LastLogin = :login'
    table = _users_table(resource, make_table)
    table.put_item(Item={**SEED_KEY, "Email": "john@example.com", "Name": "John Doe", "Age": 30})
    resp = table.update_item(Key=SEED_KEY, UpdateExpression="SET Age = :age, LastLogin = :login",
                             ExpressionAttributeValues={":age": 31,
                                                        ":login": "2024-12-20T14:30:00Z"},
                             ReturnValues="UPDATED_NEW")
    assert resp["Attributes"] == {"Age": Decimal(31), "LastLogin": "2024-12-20T14:30:00Z"}
    item = table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"]
    assert item == {**SEED_KEY, "Email": "john@example.com", "Name": "John Doe",
                    "Age": Decimal(31), "LastLogin": "2024-12-20T14:30:00Z"}


def test_arithmetic_add_and_subtract(client, make_table):
    name = make_table(hash_key=("ProductID", "N"), prefix="seedq")
    key = {"ProductID": N(123)}
    client.put_item(TableName=name, Item={**key, "Stock": N(10), "Balance": N("100.50"),
                                          "Price": N("999.99")})
    resp = client.update_item(
        TableName=name, Key=key,
        UpdateExpression="SET Stock = Stock - :n, Balance = Balance + :amt, Price = :p - Price",
        ExpressionAttributeValues={":n": N(3), ":amt": N("0.25"), ":p": N(1000)},
        ReturnValues="UPDATED_NEW",
    )
    assert resp["Attributes"] == {"Stock": N(7), "Balance": N("100.75"), "Price": N("0.01")}
    # going below zero is allowed
    resp = client.update_item(TableName=name, Key=key, UpdateExpression="SET Stock = Stock - :n",
                              ExpressionAttributeValues={":n": N(10)}, ReturnValues="UPDATED_NEW")
    assert resp["Attributes"] == {"Stock": N(-3)}
    # one attribute from another
    resp = client.update_item(TableName=name, Key=key,
                              UpdateExpression="SET #t = Balance + Stock",
                              ExpressionAttributeNames={"#t": "Total"},  # reserved word
                              ReturnValues="ALL_NEW")
    assert resp["Attributes"]["Total"] == N("97.75")


def test_arithmetic_on_missing_attribute_fails(client, make_table):
    name = make_table(hash_key=("ProductID", "N"), prefix="seedq")
    key = {"ProductID": N(1)}
    client.put_item(TableName=name, Item={**key, "Name": S("x")})
    with pytest.raises(ClientError) as e:
        client.update_item(TableName=name, Key=key, UpdateExpression="SET Stock = Stock + :n",
                           ExpressionAttributeValues={":n": N(1)})
    assert error_of(e) == ("ValidationException",
                           "The provided expression refers to an attribute that does not exist "
                           "in the item")
    with pytest.raises(ClientError) as e:
        client.update_item(TableName=name, Key=key, UpdateExpression="SET #n = #n + :n",
                           ExpressionAttributeNames={"#n": "Name"},
                           ExpressionAttributeValues={":n": N(1)})
    assert error_of(e) == ("ValidationException",
                           "An operand in the update expression has an incorrect data type")
    assert client.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"] == {
        **key, "Name": S("x")}


def test_if_not_exists_counter(resource, make_table):
    # seed: 'SET LoginCount = if_not_exists(LoginCount, :zero) + :inc'; the item need not exist
    table = _users_table(resource, make_table)
    seen = []
    for _ in range(3):
        resp = table.update_item(
            Key=SEED_KEY,
            UpdateExpression="SET LoginCount = if_not_exists(LoginCount, :zero) + :inc",
            ExpressionAttributeValues={":zero": 0, ":inc": 1},
            ReturnValues="UPDATED_NEW",
        )
        seen.append(resp["Attributes"]["LoginCount"])
    assert seen == [1, 2, 3]
    assert table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"] == {**SEED_KEY,
                                                                         "LoginCount": 3}
    # if_not_exists does not overwrite an existing value
    resp = table.update_item(Key=SEED_KEY,
                             UpdateExpression="SET LoginCount = if_not_exists(LoginCount, :z), "
                                              "FirstSeen = if_not_exists(FirstSeen, :now)",
                             ExpressionAttributeValues={":z": 100, ":now": "2024-12-20"},
                             ReturnValues="ALL_NEW")
    assert resp["Attributes"]["LoginCount"] == 3
    assert resp["Attributes"]["FirstSeen"] == "2024-12-20"


def test_optimistic_locking_low_level(client, make_table):
    # seed: 'SET Balance = Balance + :amount, Version = Version + :inc' if 'Version = :expected'
    name = make_table(hash_key=("UserID", "S"), range_key=("Timestamp", "S"), prefix="seedq")
    key = {"UserID": S("user123"), "Timestamp": S("2024-12-20T10:00:00Z")}
    client.put_item(TableName=name, Item={**key, "Balance": N(1000), "Version": N(5)})
    update = dict(
        TableName=name, Key=key,
        UpdateExpression="SET Balance = Balance + :amount, Version = Version + :inc",
        ConditionExpression="Version = :expected",
        ExpressionAttributeValues={":amount": N(100), ":inc": N(1), ":expected": N(5)},
    )
    resp = client.update_item(**update, ReturnValues="ALL_NEW")
    assert resp["Attributes"] == {**key, "Balance": N(1100), "Version": N(6)}

    # the same write again is now stale
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as e:
        client.update_item(**update)
    assert error_of(e) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert client.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"] == {
        **key, "Balance": N(1100), "Version": N(6)}

    # with ReturnValuesOnConditionCheckFailure the error carries the current item
    with pytest.raises(ClientError) as e:
        client.update_item(**update, ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert e.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert e.value.response["Item"] == {**key, "Balance": N(1100), "Version": N(6)}


def test_optimistic_locking_resource_retry_loop(resource, make_table):
    # two writers read the same version; the slower one fails, re-reads and retries
    table = _users_table(resource, make_table)
    table.put_item(Item={**SEED_KEY, "Balance": 1000, "Version": 1})
    exc = table.meta.client.exceptions.ConditionalCheckFailedException

    def write(amount, seen_version):
        table.update_item(Key=SEED_KEY,
                          UpdateExpression="SET Balance = Balance + :a, Version = :next",
                          ConditionExpression=Attr("Version").eq(seen_version),
                          ExpressionAttributeValues={":a": amount, ":next": seen_version + 1})

    v_a = table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"]["Version"]
    v_b = table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"]["Version"]
    write(100, v_a)
    with pytest.raises(exc):
        write(-30, v_b)
    v_b = table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"]["Version"]
    assert v_b == 2
    write(-30, v_b)
    item = table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"]
    assert (item["Balance"], item["Version"]) == (1070, 3)


def test_put_only_if_absent(resource, make_table):
    table = _users_table(resource, make_table)
    table.put_item(Item={**SEED_KEY, "Name": "first"},
                   ConditionExpression=Attr("UserID").not_exists())
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.put_item(Item={**SEED_KEY, "Name": "second"},
                       ConditionExpression="attribute_not_exists(UserID)")
    assert table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"]["Name"] == "first"


@pytest.mark.parametrize("mode, expected", [
    ("NONE", None),
    ("ALL_OLD", {"pk": S("rv"), "a": N(1), "b": S("keep"), "c": N(3)}),
    ("UPDATED_OLD", {"a": N(1), "c": N(3)}),
    ("ALL_NEW", {"pk": S("rv"), "a": N(2), "b": S("keep"), "d": S("new")}),
    ("UPDATED_NEW", {"a": N(2), "d": S("new")}),
])
def test_update_return_values_modes(client, table, mode, expected):
    client.put_item(TableName=table, Item={"pk": S("rv"), "a": N(1), "b": S("keep"), "c": N(3)})
    resp = client.update_item(TableName=table, Key={"pk": S("rv")},
                              UpdateExpression="SET a = a + :one, d = :d REMOVE c",
                              ExpressionAttributeValues={":one": N(1), ":d": S("new")},
                              ReturnValues=mode)
    if expected is None:
        assert "Attributes" not in resp
    else:
        assert resp["Attributes"] == expected
    assert client.get_item(TableName=table, Key={"pk": S("rv")}, ConsistentRead=True)["Item"] == {
        "pk": S("rv"), "a": N(2), "b": S("keep"), "d": S("new")}


def test_update_return_values_on_new_item(client, table):
    resp = client.update_item(TableName=table, Key={"pk": S("fresh")},
                              UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": N(1)},
                              ReturnValues="ALL_OLD")
    assert "Attributes" not in resp
    resp = client.update_item(TableName=table, Key={"pk": S("fresh2")},
                              UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": N(1)},
                              ReturnValues="ALL_NEW")
    assert resp["Attributes"] == {"pk": S("fresh2"), "v": N(1)}


# --------------------------------------------------------------------------------------------
# Seed 004: the Products flow on the low-level client
# --------------------------------------------------------------------------------------------


def _products(client, make_table):
    """Seed 004's create_table (ProductID N, provisioned 5/5) and create_product(123, ...)."""
    name = make_table(hash_key=("ProductID", "N"), billing="PROVISIONED", prefix="seedq")
    resp = client.put_item(TableName=name, Item={
        "ProductID": N(123), "ProductName": S("Laptop"), "Price": N(999.99),
        "Stock": N(10), "Category": S("Electronics"),
    })
    assert "Attributes" not in resp
    return name


PKEY = {"ProductID": N(123)}


def _product(client, name):
    return client.get_item(TableName=name, Key=PKEY, ConsistentRead=True).get("Item")


def test_products_crud_flow(client, make_table):
    name = _products(client, make_table)
    assert _product(client, name) == {"ProductID": N(123), "ProductName": S("Laptop"),
                                      "Price": N("999.99"), "Stock": N(10),
                                      "Category": S("Electronics")}
    # update_stock(123, 8)
    resp = client.update_item(TableName=name, Key=PKEY, UpdateExpression="SET Stock = :stock",
                              ExpressionAttributeValues={":stock": N(8)})
    assert "Attributes" not in resp
    assert _product(client, name)["Stock"] == N(8)
    # read_all_products
    client.put_item(TableName=name, Item={"ProductID": N(7), "ProductName": S("Mouse"),
                                          "Price": N("19.5")})
    items = items_of(scan_pages(client, TableName=name))
    assert sorted(int(i["ProductID"]["N"]) for i in items) == [7, 123]
    # retry_with_backoff's put replaces the whole item
    client.put_item(TableName=name, Item={"ProductID": N(123), "ProductName": S("Laptop")})
    assert _product(client, name) == {"ProductID": N(123), "ProductName": S("Laptop")}
    # delete_product(123)
    resp = client.delete_item(TableName=name, Key=PKEY)
    assert "Attributes" not in resp
    assert _product(client, name) is None
    assert client.scan(TableName=name, Select="COUNT")["Count"] == 1


def test_conditional_update_stock(client, make_table):
    name = _products(client, make_table)
    # conditional_update_stock(123, 7, 5): Stock 10 > 5 -> applied. Without ReturnValues the
    # response has no Attributes (the seed's "if response.get('Attributes')" misreads this).
    resp = client.update_item(TableName=name, Key=PKEY, UpdateExpression="SET Stock = :new_stock",
                              ConditionExpression="Stock > :min_stock",
                              ExpressionAttributeValues={":new_stock": N(7), ":min_stock": N(5)})
    assert "Attributes" not in resp
    assert _product(client, name)["Stock"] == N(7)
    # Stock 7 > 7 is false: the write fails loudly and changes nothing
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as e:
        client.update_item(TableName=name, Key=PKEY, UpdateExpression="SET Stock = :new_stock",
                           ConditionExpression="Stock > :min_stock",
                           ExpressionAttributeValues={":new_stock": N(3), ":min_stock": N(7)})
    assert error_of(e) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert _product(client, name)["Stock"] == N(7)


def test_conditional_update_price(client, make_table):
    name = _products(client, make_table)
    # conditional_update_price(123, 899.99, 999.99); numbers compare by value: 999.990 == 999.99
    resp = client.update_item(TableName=name, Key=PKEY, UpdateExpression="SET Price = :new_price",
                              ConditionExpression="Price = :expected_price",
                              ExpressionAttributeValues={":new_price": N("899.99"),
                                                         ":expected_price": N("999.990")},
                              ReturnValues="UPDATED_OLD")
    assert resp["Attributes"] == {"Price": N("999.99")}
    # repeating it is stale now
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.update_item(TableName=name, Key=PKEY, UpdateExpression="SET Price = :new_price",
                           ConditionExpression="Price = :expected_price",
                           ExpressionAttributeValues={":new_price": N("799.99"),
                                                      ":expected_price": N("999.99")})
    assert _product(client, name)["Price"] == N("899.99")


def test_conditional_update_of_missing_item_creates_nothing(client, make_table):
    name = _products(client, make_table)
    missing = {"ProductID": N(404)}
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.update_item(TableName=name, Key=missing, UpdateExpression="SET Stock = :s",
                           ConditionExpression="Stock > :min",
                           ExpressionAttributeValues={":s": N(1), ":min": N(0)})
    assert client.get_item(TableName=name, Key=missing, ConsistentRead=True).get("Item") is None
    # without a condition UpdateItem is an upsert
    client.update_item(TableName=name, Key=missing, UpdateExpression="SET Stock = :s",
                       ExpressionAttributeValues={":s": N(1)})
    assert client.get_item(TableName=name, Key=missing, ConsistentRead=True)["Item"] == {
        **missing, "Stock": N(1)}


def test_conditional_delete(client, make_table):
    name = _products(client, make_table)
    # Price 999.99 <= 500 is false: nothing deleted
    with pytest.raises(client.exceptions.ConditionalCheckFailedException) as e:
        client.delete_item(TableName=name, Key=PKEY, ConditionExpression="Price <= :max_price",
                           ExpressionAttributeValues={":max_price": N(500)})
    assert error_of(e) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert _product(client, name) is not None
    # conditional_delete_product(123, 1000.00)
    resp = client.delete_item(TableName=name, Key=PKEY, ConditionExpression="Price <= :max_price",
                              ExpressionAttributeValues={":max_price": N("1000.00")},
                              ReturnValues="ALL_OLD")
    assert resp["Attributes"]["ProductName"] == S("Laptop")
    assert _product(client, name) is None
    # the item is gone, so the same condition now fails (a missing attribute compares false)
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.delete_item(TableName=name, Key=PKEY, ConditionExpression="Price <= :max_price",
                           ExpressionAttributeValues={":max_price": N("1000.00")})
    with pytest.raises(client.exceptions.ConditionalCheckFailedException):
        client.delete_item(TableName=name, Key=PKEY,
                           ConditionExpression="attribute_exists(ProductID)")


def test_conditional_delete_resource_attr(resource, make_table):
    table = _users_table(resource, make_table)
    table.put_item(Item={**SEED_KEY, "Status": "inactive", "Version": 2})
    with pytest.raises(table.meta.client.exceptions.ConditionalCheckFailedException):
        table.delete_item(Key=SEED_KEY, ConditionExpression=Attr("Status").eq("active"))
    resp = table.delete_item(Key=SEED_KEY,
                             ConditionExpression=Attr("Status").eq("inactive") & Attr("Version").lte(2),
                             ReturnValues="ALL_OLD")
    assert resp["Attributes"] == {**SEED_KEY, "Status": "inactive", "Version": Decimal(2)}
    assert "Item" not in table.get_item(Key=SEED_KEY, ConsistentRead=True)


# --------------------------------------------------------------------------------------------
# Seed 001: transactions, TTL, streams
# --------------------------------------------------------------------------------------------


def test_transaction_put_and_conditional_update(client, make_table):
    users_t = make_table(hash_key=("UserID", "S"), prefix="seedq")
    accounts = make_table(hash_key=("AccountID", "S"), prefix="seedq")
    client.put_item(TableName=accounts, Item={"AccountID": S("acc123"), "Balance": N(150)})

    def transact(user, amount):
        return client.transact_write_items(TransactItems=[
            {"Put": {"TableName": users_t,
                     "Item": {"UserID": S(user), "Name": S("John Doe"), "Balance": N(1000)}}},
            {"Update": {"TableName": accounts, "Key": {"AccountID": S("acc123")},
                        "UpdateExpression": "SET Balance = Balance - :amount",
                        "ExpressionAttributeValues": {":amount": N(amount)},
                        "ConditionExpression": "Balance >= :amount"}},
        ])

    transact("user123", 100)
    assert client.get_item(TableName=accounts, Key={"AccountID": S("acc123")},
                           ConsistentRead=True)["Item"]["Balance"] == N(50)
    assert client.get_item(TableName=users_t, Key={"UserID": S("user123")},
                           ConsistentRead=True)["Item"]["Balance"] == N(1000)

    # 50 >= 100 is false: the whole transaction is cancelled, the Put included
    with pytest.raises(ClientError) as e:
        transact("user456", 100)
    code, msg = error_of(e)
    assert code == "TransactionCanceledException"
    assert msg == ("Transaction cancelled, please refer cancellation reasons for specific "
                   "reasons [None, ConditionalCheckFailed]")
    reasons = e.value.response.get("CancellationReasons")
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in client.get_item(TableName=users_t, Key={"UserID": S("user456")},
                                         ConsistentRead=True)
    assert client.get_item(TableName=accounts, Key={"AccountID": S("acc123")},
                           ConsistentRead=True)["Item"]["Balance"] == N(50)


def test_table_with_indexes_stream_and_ttl(client, resource):
    # seed: create_table_with_indexes(..., stream_enabled=True, ttl_attribute='ExpirationTime')
    # make_table builds AttributeDefinitions from the key only, so create this one directly
    name = f"seedq-{uuid.uuid4().hex[:12]}"
    client.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=_attr_defs(("UserID", "S"), ("Timestamp", "S"), ("Email", "S"),
                                        ("Rating", "N")),
        KeySchema=_schema("UserID", "Timestamp"),
        GlobalSecondaryIndexes=[{"IndexName": "EmailIndex", "KeySchema": _schema("Email"),
                                 "Projection": {"ProjectionType": "ALL"}}],
        LocalSecondaryIndexes=[{"IndexName": "UserRatingIndex",
                                "KeySchema": _schema("UserID", "Rating"),
                                "Projection": {"ProjectionType": "ALL"}}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    try:
        desc = _wait_indexes_active(client, name)
        assert [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]] == ["EmailIndex"]
        assert [i["IndexName"] for i in desc["LocalSecondaryIndexes"]] == ["UserRatingIndex"]
        assert desc["StreamSpecification"] == {"StreamEnabled": True,
                                               "StreamViewType": "NEW_AND_OLD_IMAGES"}
        assert desc["LatestStreamArn"].startswith("arn:aws:dynamodb:")

        resp = client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "ExpirationTime"})
        assert resp["TimeToLiveSpecification"] == {"Enabled": True,
                                                   "AttributeName": "ExpirationTime"}
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "ExpirationTime"
        assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")

        # an item that expires in an hour is readable, by key and through both indexes
        table = resource.Table(name)
        expires = int(time.time()) + 3600
        table.put_item(Item={**SEED_KEY, "Email": "john@example.com", "Rating": 4,
                             "Data": "session data", "ExpirationTime": expires})
        assert table.get_item(Key=SEED_KEY, ConsistentRead=True)["Item"]["ExpirationTime"] == expires
        by_email = table.query(IndexName="EmailIndex",
                               KeyConditionExpression=Key("Email").eq("john@example.com"))
        by_rating = table.query(IndexName="UserRatingIndex",
                                KeyConditionExpression=Key("UserID").eq("user123")
                                & Key("Rating").gte(4))
        assert by_email["Count"] == by_rating["Count"] == 1
    finally:
        _delete_quietly(client, name)
