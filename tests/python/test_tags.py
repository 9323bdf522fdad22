"""Tag rules with the messages recorded from DynamoDB (2026): reserved aws: prefix, allowed
characters, lengths, duplicates, the 50-tag limit counted after merging."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import error_of


def tag_error(client, arn, tags):
    with pytest.raises(ClientError) as e:
        client.tag_resource(ResourceArn=arn, Tags=tags)
    return error_of(e)


def test_tag_validation_messages(client, table):
    arn = client.describe_table(TableName=table)["Table"]["TableArn"]
    v = "ValidationException"
    assert tag_error(client, arn, [{"Key": "aws:foo", "Value": "x"}]) == (
        v, "Tag Key cannot be prefixed with aws:, Key: aws:foo")
    assert tag_error(client, arn, [{"Key": "AWS:foo", "Value": "x"}]) == (
        v, "Tag Key cannot be prefixed with aws:, Key: AWS:foo")
    assert tag_error(client, arn, [{"Key": "bad#char", "Value": "x"}]) == (
        v, "The Tag Key provided is invalid, Key: bad#char")
    assert tag_error(client, arn, [{"Key": "ok", "Value": "bad#char"}]) == (
        v, "The Tag Value provided is invalid, Value: bad#char")
    assert tag_error(client, arn, [{"Key": "k" * 129, "Value": "x"}]) == (
        v, f"The Tag Key provided is invalid, Key: {'k' * 129}")
    assert tag_error(client, arn, [{"Key": "k", "Value": "v" * 257}]) == (
        v, f"The Tag Value provided is invalid, Value: {'v' * 257}")
    assert tag_error(client, arn, [{"Key": "dup", "Value": "1"}, {"Key": "dup", "Value": "2"}]) == (
        v, "Duplicate Tag Keys provided as input: Duplicate Tag Key found dup")
    assert tag_error(client, arn, []) == (v, "Atleast one Tag needs to be provided as Input.")
    # accepted: any script, spaces, + - = . _ : / @, empty values, 128/256 lengths, myaws:
    ok = [{"Key": "ünï côdé", "Value": ""}, {"Key": "a+-=._:/@", "Value": "v" * 256},
          {"Key": "k" * 128, "Value": "x"}, {"Key": "myaws:foo", "Value": "y"}]
    client.tag_resource(ResourceArn=arn, Tags=ok)
    # 50 after merging: overwriting existing keys at the limit is fine, one more is not
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": f"t{i}", "Value": "x"} for i in range(46)])
    client.tag_resource(ResourceArn=arn, Tags=[{"Key": "t0", "Value": "changed"}])
    assert tag_error(client, arn, [{"Key": "one-more", "Value": "x"}]) == (
        v, "Number of Tags exceed the current limit for the provided ResourceArn")
    tags = client.list_tags_of_resource(ResourceArn=arn)["Tags"]
    assert len(tags) == 50 and {"Key": "t0", "Value": "changed"} in tags
    with pytest.raises(ClientError) as e:
        client.untag_resource(ResourceArn=arn, TagKeys=["aws:foo"])
    assert error_of(e) == (v, "Tag Key cannot be prefixed with aws:, Key: aws:foo")
    with pytest.raises(ClientError) as e:
        client.untag_resource(ResourceArn=arn, TagKeys=[])
    assert error_of(e) == (v, "Atleast one Tag Key needs to be provided as Input.")
    client.untag_resource(ResourceArn=arn, TagKeys=["not-there", "t0"])
    assert len(client.list_tags_of_resource(ResourceArn=arn)["Tags"]) == 49
    missing = arn + "x"
    with pytest.raises(ClientError) as e:
        client.list_tags_of_resource(ResourceArn=missing)
    assert error_of(e) == ("ResourceNotFoundException",
                           f"Requested resource not found: ResourceArn: {missing} not found")


def test_describe_limits_and_endpoints(client, endpoint):
    limits = client.describe_limits()
    limits.pop("ResponseMetadata")
    assert limits == {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000,
                      "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}
    eps = client.describe_endpoints()["Endpoints"]
    assert len(eps) == 1 and eps[0]["CachePeriodInMinutes"] == 1440
    assert eps[0]["Address"] == endpoint.split("//", 1)[1]
