"""Time to Live through boto3: UpdateTimeToLive/DescribeTimeToLive, and the sweeper deleting
expired items (a server started with a short --ttl-sweep-interval)."""

from __future__ import annotations

import time

import pytest
from botocore.exceptions import ClientError

from conftest import ServerProcess, error_of, make_client, needs_own_server


@needs_own_server
def test_expired_items_are_deleted(tmp_path):
    server = ServerProcess(["--in-memory", "--ttl-sweep-interval", "0.2"], tmp_path / "log")
    try:
        c = make_client(server.endpoint)
        c.create_table(TableName="sessions", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        assert c.describe_time_to_live(TableName="sessions")["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "DISABLED"}
        out = c.update_time_to_live(TableName="sessions", TimeToLiveSpecification={
            "Enabled": True, "AttributeName": "expires"})
        assert out["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
        with pytest.raises(ClientError) as e:
            c.update_time_to_live(TableName="sessions", TimeToLiveSpecification={
                "Enabled": True, "AttributeName": "expires"})
        assert error_of(e) == ("ValidationException", "TimeToLive is already enabled")
        now = int(time.time())
        c.put_item(TableName="sessions", Item={"pk": {"S": "old"}, "expires": {"N": str(now - 60)}})
        c.put_item(TableName="sessions", Item={"pk": {"S": "new"}, "expires": {"N": str(now + 3600)}})
        c.put_item(TableName="sessions", Item={"pk": {"S": "none"}})
        deadline = time.monotonic() + 10
        while "Item" in c.get_item(TableName="sessions", Key={"pk": {"S": "old"}}):
            assert time.monotonic() < deadline, "expired item was not swept"
            time.sleep(0.1)
        left = sorted(i["pk"]["S"] for i in c.scan(TableName="sessions")["Items"])
        assert left == ["new", "none"]
        desc = c.describe_time_to_live(TableName="sessions")["TimeToLiveDescription"]
        assert desc == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    finally:
        server.kill()


@needs_own_server
def test_seed001_sessions_expire_with_a_service_remove_record(tmp_path):
    """Seed 001, section 8: TTL on Sessions.ExpirationTime; a session that is past its
    expiry is deleted by the service and its REMOVE record says so; one that expires in an
    hour (and a 90-day log entry) stay. Then a second TTL change within the cooldown is
    refused as DynamoDB refuses it."""
    from test_streams import read_all, streams_client

    server = ServerProcess(["--in-memory", "--ttl-sweep-interval", "0.2"], tmp_path / "log")
    try:
        c = make_client(server.endpoint)
        for name, key in (("Sessions", "SessionID"), ("Logs", "LogID")):
            c.create_table(TableName=name, KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
                           BillingMode="PAY_PER_REQUEST",
                           StreamSpecification={"StreamEnabled": True,
                                                "StreamViewType": "NEW_AND_OLD_IMAGES"})
            c.update_time_to_live(TableName=name, TimeToLiveSpecification={
                "Enabled": True, "AttributeName": "ExpirationTime"})
        now = int(time.time())
        c.put_item(TableName="Sessions", Item={
            "SessionID": {"S": "sess123"}, "UserID": {"S": "user123"},
            "Data": {"S": "session data"}, "ExpirationTime": {"N": str(now + 3600)}})
        c.put_item(TableName="Sessions", Item={
            "SessionID": {"S": "sess-old"}, "UserID": {"S": "user123"},
            "Data": {"S": "stale"}, "ExpirationTime": {"N": str(now - 5)}})
        c.put_item(TableName="Logs", Item={
            "LogID": {"S": "log123"}, "Message": {"S": "Some log data"},
            "ExpirationTime": {"N": str(now + 90 * 24 * 60 * 60)}})
        deadline = time.monotonic() + 10
        while "Item" in c.get_item(TableName="Sessions", Key={"SessionID": {"S": "sess-old"}}):
            assert time.monotonic() < deadline, "expired session was not swept"
            time.sleep(0.1)
        assert [i["SessionID"]["S"] for i in c.scan(TableName="Sessions")["Items"]] == ["sess123"]
        assert c.scan(TableName="Logs")["Count"] == 1

        sc = streams_client(server.endpoint)
        arn = c.describe_table(TableName="Sessions")["Table"]["LatestStreamArn"]
        recs = read_all(sc, arn)
        assert [(r["eventName"], r["dynamodb"]["Keys"]["SessionID"]["S"]) for r in recs] == [
            ("INSERT", "sess123"), ("INSERT", "sess-old"), ("REMOVE", "sess-old")]
        assert all("userIdentity" not in r for r in recs[:2])
        removed = recs[2]
        assert removed["userIdentity"] == {"Type": "Service",
                                           "PrincipalId": "dynamodb.amazonaws.com"}
        assert removed["dynamodb"]["OldImage"]["Data"] == {"S": "stale"}
        assert "NewImage" not in removed["dynamodb"]

        with pytest.raises(ClientError) as e:
            c.update_time_to_live(TableName="Sessions", TimeToLiveSpecification={
                "Enabled": False, "AttributeName": "ExpirationTime"})
        assert error_of(e) == ("ValidationException",
                               "Time to live has been modified multiple times within a fixed interval")
    finally:
        server.kill()


@needs_own_server
def test_ttl_cooldown_can_be_turned_off(tmp_path):
    server = ServerProcess(["--in-memory", "--ttl-cooldown", "0"], tmp_path / "log")
    try:
        c = make_client(server.endpoint)
        c.create_table(TableName="flip", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        for enabled in (True, False, True):
            c.update_time_to_live(TableName="flip", TimeToLiveSpecification={
                "Enabled": enabled, "AttributeName": "exp"})
        assert c.describe_time_to_live(TableName="flip")["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    finally:
        server.kill()
