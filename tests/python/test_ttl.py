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
