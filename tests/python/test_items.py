"""Data plane: PutItem, GetItem, DeleteItem, UpdateItem (legacy AttributeUpdates).

Expected error messages are AWS DynamoDB's, as documented or as observed in real AWS error
output; where DynamoDB Local answers differently the test follows AWS and says so.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import assert_message, error_of


def get(client, table, key, **kw):
    return client.get_item(TableName=table, Key=key, ConsistentRead=True, **kw).get("Item")


def K(v):
    return {"pk": {"S": v}}


ALL_TYPES = {
    "pk": {"S": "all-types"},
    "s": {"S": "hello, wörld ✓"},
    "n": {"N": "42"},
    "b": {"B": b"\x00\x01\x02\xffbinary"},
    "bool_t": {"BOOL": True},
    "bool_f": {"BOOL": False},
    "null": {"NULL": True},
    "m": {"M": {"inner": {"S": "x"}, "num": {"N": "-1.5"},
                "deep": {"M": {"l": {"L": [{"N": "1"}, {"BOOL": False}]}}}}},
    "l": {"L": [{"S": "a"}, {"N": "2"}, {"NULL": True}, {"M": {}}, {"L": []},
                {"B": b"\x10"}, {"SS": ["z"]}]},
    "ss": {"SS": ["a", "b", "c"]},
    "ns": {"NS": ["1", "2.5", "-3"]},
    "bs": {"BS": [b"\x01", b"\x02\x03"]},
}


def _canon(v):
    """Make set members order-insensitive for comparison (sets have no order in DynamoDB)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k in ("SS", "NS", "BS"):
                out[k] = sorted(x)
            else:
                out[k] = _canon(x)
        return out
    if isinstance(v, list):
        return [_canon(x) for x in v]
    return v


# --------------------------------------------------------------------------------------------
# round trips
# --------------------------------------------------------------------------------------------


def test_put_get_delete_all_ten_types(client, table):
    assert "Attributes" not in client.put_item(TableName=table, Item=ALL_TYPES)
    item = get(client, table, K("all-types"))
    assert _canon(item) == _canon(ALL_TYPES)
    assert isinstance(item["b"]["B"], bytes)
    assert item["ns"]["NS"] and all(isinstance(x, str) for x in item["ns"]["NS"])

    resp = client.delete_item(TableName=table, Key=K("all-types"))
    assert "Attributes" not in resp
    assert get(client, table, K("all-types")) is None


def test_get_missing_item_has_no_item_key(client, table):
    resp = client.get_item(TableName=table, Key=K("nope"))
    assert "Item" not in resp


def test_put_replaces_whole_item(client, table):
    client.put_item(TableName=table, Item={**K("r"), "a": {"S": "1"}, "b": {"S": "2"}})
    client.put_item(TableName=table, Item={**K("r"), "c": {"S": "3"}})
    assert get(client, table, K("r")) == {**K("r"), "c": {"S": "3"}}


def test_delete_missing_item_is_ok(client, table):
    resp = client.delete_item(TableName=table, Key=K("never"), ReturnValues="ALL_OLD")
    assert "Attributes" not in resp


def test_attributes_to_get(client, table):
    client.put_item(TableName=table, Item={**K("p"), "a": {"S": "1"}, "b": {"N": "2"}})
    got = client.get_item(TableName=table, Key=K("p"), AttributesToGet=["b"])["Item"]
    assert got == {"b": {"N": "2"}}


# The expression language is issue 3; strict, so this flags the day it starts passing.
def test_projection_expression(client, table):
    client.put_item(TableName=table, Item={**K("p"), "a": {"S": "1"}, "b": {"N": "2"}})
    got = client.get_item(TableName=table, Key=K("p"), ProjectionExpression="a")["Item"]
    assert got == {"a": {"S": "1"}}


def test_number_and_binary_keys(client, make_table):
    name = make_table(hash_key=("id", "N"), range_key=("bin", "B"))
    client.put_item(TableName=name, Item={"id": {"N": "10.0"}, "bin": {"B": b"\x00k"},
                                          "v": {"S": "x"}})
    # 10.0 and 10 are the same number, so the same key
    got = client.get_item(TableName=name, Key={"id": {"N": "10"}, "bin": {"B": b"\x00k"}},
                          ConsistentRead=True)["Item"]
    assert got["id"] == {"N": "10"}
    assert got["v"] == {"S": "x"}


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given, stored",
    [
        ("1.50", "1.5"),
        ("007", "7"),
        ("-0", "0"),
        ("0.0", "0"),
        ("100", "100"),
        ("1.5E2", "150"),
        ("-000.000100", "-0.0001"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("-1.2345678901234567890123456789012345678", "-1.2345678901234567890123456789012345678"),
        ("99999999999999999999999999999999999999", "99999999999999999999999999999999999999"),
    ],
)
def test_number_normalisation(client, table, given, stored):
    client.put_item(TableName=table, Item={**K("num"), "v": {"N": given}, "s": {"NS": [given]}})
    item = get(client, table, K("num"))
    assert item["v"] == {"N": stored}
    assert item["s"] == {"NS": [stored]}


@pytest.mark.parametrize(
    "n",
    [
        "123456789012345678901234567890123456789",  # 39 significant digits
        "1.23456789012345678901234567890123456789",
    ],
)
def test_more_than_38_digits_rejected(client, table, n):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={**K("big"), "v": {"N": n}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS: "Attempting to store more than 38 significant digits in a Number"
    # (DynamoDB Local: "DynamoDB only supports precision up to 38 digits").
    assert msg == "Attempting to store more than 38 significant digits in a Number"
    assert get(client, table, K("big")) is None


def test_trailing_zeros_do_not_count_as_digits(client, table):
    # 38 significant digits followed by zeros is still 38 significant digits
    n = "1234567890123456789012345678901234567800000"
    client.put_item(TableName=table, Item={**K("z"), "v": {"N": n}})
    assert get(client, table, K("z"))["v"] == {"N": n}


@pytest.mark.parametrize("n", ["abc", "1e", "", "--1", "1..2"])
def test_invalid_number_rejected(client, table, n):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={**K("bad"), "v": {"N": n}})
    assert error_of(e)[0] == "ValidationException"


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------


def test_empty_string_non_key_allowed(client, table):
    client.put_item(TableName=table, Item={**K("e"), "s": {"S": ""}, "b": {"B": b""},
                                           "l": {"L": [{"S": ""}]}, "m": {"M": {"x": {"S": ""}}}})
    item = get(client, table, K("e"))
    assert item["s"] == {"S": ""}
    assert item["b"] == {"B": b""}
    assert item["l"] == {"L": [{"S": ""}]}
    assert item["m"] == {"M": {"x": {"S": ""}}}


def test_empty_string_key_rejected(client, table):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={"pk": {"S": ""}, "v": {"S": "x"}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == ("One or more parameter values are not valid. The AttributeValue for a key "
                   "attribute cannot contain an empty string value. Key: pk")
    with pytest.raises(ClientError) as e:
        client.get_item(TableName=table, Key={"pk": {"S": ""}})
    assert error_of(e) == ("ValidationException", msg)


@pytest.mark.parametrize(
    "kind, wording",
    [
        # sic: the double space and "An string set" are AWS's own wording
        ("SS", "An string set  may not be empty"),
        ("NS", "An number set  may not be empty"),
        ("BS", "Binary sets should not be empty"),
    ],
)
def test_empty_set_rejected(client, table, kind, wording):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={**K("es"), "s": {kind: []}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert_message(msg, f"One or more parameter values were invalid: {wording}")


def test_duplicate_set_element_rejected(client, table):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={**K("ds"), "s": {"SS": ["a", "a"]}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS ends the sentence with a period; DynamoDB Local leaves it out. Regions on the newer
    # wording echo the members as JSON strings.
    assert_message(msg,
                   "One or more parameter values were invalid: "
                   "Input collection [a, a] contains duplicates.",
                   "One or more parameter values were invalid: "
                   'Input collection ["a", "a"] contains duplicates.')


@pytest.mark.parametrize("kind, values", [("NS", ["1", "1.0"]), ("BS", [b"\x01", b"\x01"])])
def test_duplicate_set_element_rejected_other_sets(client, table, kind, values):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={**K("ds"), "s": {kind: values}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert "contains duplicates" in msg


def test_key_type_mismatch_rejected(client, table):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={"pk": {"N": "1"}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    # AWS names the key and both types; DynamoDB Local stops after "Type mismatch for key".
    assert_message(msg, "One or more parameter values were invalid: "
                        "Type mismatch for key pk expected: S actual: N")


def test_key_type_mismatch_on_get(client, table):
    # Key-only paths (GetItem, DeleteItem, UpdateItem's Key) answer a wrong key type with the
    # schema-mismatch message, not PutItem's "Type mismatch for key" form.
    # (DynamoDB Local: "One or more parameter values were invalid: Type mismatch for key")
    for op in (client.get_item, client.delete_item):
        with pytest.raises(ClientError) as e:
            op(TableName=table, Key={"pk": {"N": "1"}})
        assert error_of(e) == ("ValidationException",
                               "The provided key element does not match the schema")


def test_missing_key_attribute_rejected(client, table):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={"other": {"S": "x"}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    # (DynamoDB Local: "One of the required keys was not given a value")
    assert_message(msg, "One or more parameter values were invalid: Missing the key pk in the item")


def test_get_with_wrong_key_shape(client, make_table):
    # (DynamoDB Local: "The number of conditions on the keys is invalid")
    name = make_table(range_key=("sk", "S"))
    with pytest.raises(ClientError) as e:
        client.get_item(TableName=name, Key={"pk": {"S": "a"}})
    assert error_of(e) == ("ValidationException",
                           "The provided key element does not match the schema")


def test_item_over_400kb_rejected(client, table):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={**K("big"), "v": {"S": "x" * (400 * 1024)}})
    code, msg = error_of(e)
    assert code == "ValidationException"
    assert msg == "Item size has exceeded the maximum allowed size"
    assert get(client, table, K("big")) is None


def test_item_just_under_400kb_accepted(client, table):
    # size = len("pk") + len("big") + len("v") + len(value) = 409600 exactly
    value = "x" * (400 * 1024 - len("pk") - len("big") - len("v"))
    client.put_item(TableName=table, Item={**K("big"), "v": {"S": value}})
    assert len(get(client, table, K("big"))["v"]["S"]) == len(value)


def test_item_of_400kb_plus_one_byte_rejected(client, table):
    value = "x" * (400 * 1024 - len("pk") - len("big") - len("v") + 1)
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={**K("big"), "v": {"S": value}})
    assert error_of(e)[0] == "ValidationException"


def test_null_false(client, table):
    # Behaviour differs between AWS regions (2026-06): the classic answer is a
    # ValidationException, newer regions accept the item and store {NULL: true}. Either is
    # DynamoDB; anything else is not.
    try:
        client.put_item(TableName=table, Item={**K("n"), "v": {"NULL": False}})
    except ClientError as err:
        code, msg = err.response["Error"]["Code"], err.response["Error"]["Message"]
        assert code == "ValidationException"
        assert_message(msg, "One or more parameter values were invalid: "
                            "Null attribute value types must have the value of true")
        assert get(client, table, K("n")) is None
    else:
        assert get(client, table, K("n"))["v"] == {"NULL": True}


def test_get_item_missing_table(client, unique_name):
    with pytest.raises(ClientError) as e:
        client.get_item(TableName=unique_name("missing"), Key=K("a"))
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    # AWS: "Requested resource not found" (DynamoDB Local: "Cannot do operations on a
    # non-existent table").
    assert msg == "Requested resource not found"


@pytest.mark.parametrize("op", ["put_item", "delete_item"])
def test_write_missing_table(client, unique_name, op):
    kwargs = {"Item": K("a")} if op == "put_item" else {"Key": K("a")}
    with pytest.raises(ClientError) as e:
        getattr(client, op)(TableName=unique_name("missing"), **kwargs)
    code, msg = error_of(e)
    assert code == "ResourceNotFoundException"
    assert msg == "Requested resource not found"


# --------------------------------------------------------------------------------------------
# ReturnValues
# --------------------------------------------------------------------------------------------


def test_put_return_values_all_old(client, table):
    first = {**K("rv"), "v": {"N": "1"}, "s": {"SS": ["a"]}}
    resp = client.put_item(TableName=table, Item=first, ReturnValues="ALL_OLD")
    assert "Attributes" not in resp
    resp = client.put_item(TableName=table, Item={**K("rv"), "v": {"N": "2"}},
                           ReturnValues="ALL_OLD")
    assert resp["Attributes"] == first
    resp = client.put_item(TableName=table, Item={**K("rv"), "v": {"N": "3"}},
                           ReturnValues="NONE")
    assert "Attributes" not in resp


def test_delete_return_values_all_old(client, table):
    item = {**K("rvd"), "m": {"M": {"a": {"L": [{"N": "1"}]}}}}
    client.put_item(TableName=table, Item=item)
    resp = client.delete_item(TableName=table, Key=K("rvd"), ReturnValues="ALL_OLD")
    assert resp["Attributes"] == item
    resp = client.delete_item(TableName=table, Key=K("rvd"), ReturnValues="ALL_OLD")
    assert "Attributes" not in resp


def test_put_return_values_not_allowed(client, table):
    # PutItem only accepts NONE and ALL_OLD
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item=K("x"), ReturnValues="ALL_NEW")
    assert error_of(e)[0] == "ValidationException"


# --------------------------------------------------------------------------------------------
# ReturnConsumedCapacity
# --------------------------------------------------------------------------------------------


def _item_of_size(key: str, size: int) -> dict:
    """An item of exactly `size` bytes: attribute names plus UTF-8 string values."""
    fixed = len("pk") + len(key) + len("d")
    return {"pk": {"S": key}, "d": {"S": "x" * (size - fixed)}}


def test_consumed_capacity_put_1kb_is_one_wcu(client, make_table):
    name = make_table(billing="PROVISIONED")
    resp = client.put_item(TableName=name, Item=_item_of_size("c1", 1024),
                           ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 1.0}
    # one byte more is two write units
    resp = client.put_item(TableName=name, Item=_item_of_size("c2", 1025),
                           ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"]["CapacityUnits"] == 2.0


def test_consumed_capacity_get(client, make_table):
    name = make_table(billing="PROVISIONED")
    client.put_item(TableName=name, Item={**K("small"), "v": {"S": "tiny"}})
    eventual = client.get_item(TableName=name, Key=K("small"), ReturnConsumedCapacity="TOTAL")
    assert eventual["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 0.5}
    strong = client.get_item(TableName=name, Key=K("small"), ConsistentRead=True,
                             ReturnConsumedCapacity="TOTAL")
    assert strong["ConsumedCapacity"] == {"TableName": name, "CapacityUnits": 1.0}


def test_consumed_capacity_get_large_item(client, make_table):
    name = make_table()
    # 4 KB + 1 byte -> two read units strongly consistent, one eventually consistent
    client.put_item(TableName=name, Item=_item_of_size("big", 4097))
    strong = client.get_item(TableName=name, Key=K("big"), ConsistentRead=True,
                             ReturnConsumedCapacity="TOTAL")
    assert strong["ConsumedCapacity"]["CapacityUnits"] == 2.0
    eventual = client.get_item(TableName=name, Key=K("big"), ReturnConsumedCapacity="TOTAL")
    assert eventual["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_consumed_capacity_absent_by_default(client, table):
    resp = client.put_item(TableName=table, Item=K("nocap"))
    assert "ConsumedCapacity" not in resp
    resp = client.get_item(TableName=table, Key=K("nocap"), ReturnConsumedCapacity="NONE")
    assert "ConsumedCapacity" not in resp


def test_consumed_capacity_delete(client, table):
    client.put_item(TableName=table, Item=K("del"))
    resp = client.delete_item(TableName=table, Key=K("del"), ReturnConsumedCapacity="TOTAL")
    assert resp["ConsumedCapacity"] == {"TableName": table, "CapacityUnits": 1.0}


# --------------------------------------------------------------------------------------------
# UpdateItem, legacy AttributeUpdates
# --------------------------------------------------------------------------------------------


def test_attribute_updates_put_add_delete(client, table):
    client.put_item(TableName=table, Item={**K("u"), "n": {"N": "10"}, "tags": {"SS": ["a", "b"]},
                                           "gone": {"S": "bye"}, "keep": {"S": "k"}})
    resp = client.update_item(
        TableName=table,
        Key=K("u"),
        AttributeUpdates={
            "name": {"Action": "PUT", "Value": {"S": "new"}},
            "n": {"Action": "ADD", "Value": {"N": "5.5"}},
            "tags": {"Action": "ADD", "Value": {"SS": ["c", "a"]}},
            "gone": {"Action": "DELETE"},
        },
        ReturnValues="UPDATED_NEW",
    )
    attrs = _canon(resp["Attributes"])
    assert attrs == {"name": {"S": "new"}, "n": {"N": "15.5"}, "tags": {"SS": ["a", "b", "c"]}}

    resp = client.update_item(
        TableName=table,
        Key=K("u"),
        AttributeUpdates={"tags": {"Action": "DELETE", "Value": {"SS": ["a", "zz"]}}},
        ReturnValues="ALL_NEW",
    )
    assert _canon(resp["Attributes"]) == {
        **K("u"), "n": {"N": "15.5"}, "tags": {"SS": ["b", "c"]}, "keep": {"S": "k"},
        "name": {"S": "new"},
    }
    assert _canon(get(client, table, K("u"))) == _canon(resp["Attributes"])


def test_attribute_updates_delete_last_set_element_removes_attribute(client, table):
    client.put_item(TableName=table, Item={**K("u2"), "tags": {"NS": ["1"]}})
    resp = client.update_item(
        TableName=table, Key=K("u2"),
        AttributeUpdates={"tags": {"Action": "DELETE", "Value": {"NS": ["1"]}}},
        ReturnValues="ALL_NEW",
    )
    assert resp["Attributes"] == K("u2")


def test_attribute_updates_creates_item(client, table):
    resp = client.update_item(
        TableName=table, Key=K("fresh"),
        AttributeUpdates={"count": {"Action": "ADD", "Value": {"N": "5"}},
                          "bs": {"Action": "ADD", "Value": {"BS": [b"\x01"]}}},
        ReturnValues="ALL_NEW",
    )
    assert resp["Attributes"] == {**K("fresh"), "count": {"N": "5"}, "bs": {"BS": [b"\x01"]}}


def test_attribute_updates_add_negative_and_updated_old(client, table):
    client.put_item(TableName=table, Item={**K("u3"), "v": {"N": "3"}})
    resp = client.update_item(
        TableName=table, Key=K("u3"),
        AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "-3"}}},
        ReturnValues="UPDATED_OLD",
    )
    assert resp["Attributes"] == {"v": {"N": "3"}}
    assert get(client, table, K("u3"))["v"] == {"N": "0"}


def test_attribute_updates_default_action_is_put(client, table):
    client.update_item(TableName=table, Key=K("u4"),
                       AttributeUpdates={"v": {"Value": {"S": "x"}}})
    assert get(client, table, K("u4")) == {**K("u4"), "v": {"S": "x"}}


def test_attribute_updates_return_none_by_default(client, table):
    resp = client.update_item(TableName=table, Key=K("u5"),
                              AttributeUpdates={"v": {"Action": "PUT", "Value": {"N": "1"}}})
    assert "Attributes" not in resp


def test_attribute_updates_cannot_touch_key(client, table):
    client.put_item(TableName=table, Item=K("u6"))
    with pytest.raises(ClientError) as e:
        client.update_item(TableName=table, Key=K("u6"),
                           AttributeUpdates={"pk": {"Action": "PUT", "Value": {"S": "other"}}})
    assert error_of(e)[0] == "ValidationException"


def test_attribute_updates_add_to_wrong_type(client, table):
    client.put_item(TableName=table, Item={**K("u7"), "v": {"S": "text"}})
    with pytest.raises(ClientError) as e:
        client.update_item(TableName=table, Key=K("u7"),
                           AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "1"}}})
    assert error_of(e)[0] == "ValidationException"


def test_update_item_missing_table(client, unique_name):
    with pytest.raises(ClientError) as e:
        client.update_item(TableName=unique_name("missing"), Key=K("a"),
                           AttributeUpdates={"v": {"Action": "PUT", "Value": {"N": "1"}}})
    assert error_of(e) == ("ResourceNotFoundException", "Requested resource not found")


def test_empty_binary_key_names_binary(client, make_table):
    name = make_table(range_key=("sk", "B"))
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"B": b""}})
    assert error_of(e) == (
        "ValidationException",
        "One or more parameter values are not valid. The AttributeValue for a key attribute "
        "cannot contain an empty binary value. Key: sk")


def test_number_set_duplicates_wording(client, table):
    with pytest.raises(ClientError) as e:
        client.put_item(TableName=table, Item={"pk": {"S": "d"}, "ns": {"NS": ["1", "1.0"]}})
    assert error_of(e) == ("ValidationException", "Input collection contains duplicates")


def test_legacy_add_appends_to_a_list(client, table):
    key = {"pk": {"S": "legacy-list"}}
    for part in (["a", "1"], ["b", "2"]):
        client.update_item(TableName=table, Key=key, AttributeUpdates={
            "f": {"Action": "ADD", "Value": {"L": [{"S": part[0]}, {"N": part[1]}]}}})
    item = client.get_item(TableName=table, Key=key)["Item"]
    assert item["f"] == {"L": [{"S": "a"}, {"N": "1"}, {"S": "b"}, {"N": "2"}]}


def test_delete_through_an_invalid_path_is_refused(client, table):
    key = {"pk": {"S": "del-path"}}
    client.put_item(TableName=table, Item={**key, "b": {"S": "x"}, "c": {"M": {"1": {"S": "a"}}},
                                           "d": {"L": [{"S": "a"}, {"S": "b"}]}})
    for expr in ("DELETE b.a :a", "DELETE y.a :a", "DELETE y[1] :a", "DELETE c[1] :a",
                 "DELETE d.x :a"):
        with pytest.raises(ClientError) as e:
            client.update_item(TableName=table, Key=key, UpdateExpression=expr,
                               ExpressionAttributeValues={":a": {"SS": ["a"]}})
        assert error_of(e) == ("ValidationException", "The document path provided in the "
                               "update expression is invalid for update"), expr
    # A missing element in an existing map is fine.
    client.update_item(TableName=table, Key=key, UpdateExpression="DELETE c.zz :a",
                       ExpressionAttributeValues={":a": {"SS": ["a"]}})
