"""DynamoDB Streams under concurrent writers: the stream holds exactly the committed changes,
chained per item (each record's OldImage is the previous record's NewImage), in sequence
order, and the last image of every item is what the table holds."""

from __future__ import annotations

import random
import threading

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, EXTERNAL_ENDPOINT, REGION, SECRET_KEY, make_client, wait_active


def streams_client(endpoint):
    return boto3.session.Session().client(
        "dynamodbstreams", region_name=REGION, endpoint_url=endpoint,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1}))


def read_all(sc, arn):
    shards = sc.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    records = []
    for sh in shards:
        it = sc.get_shard_iterator(StreamArn=arn, ShardId=sh["ShardId"],
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = sc.get_records(ShardIterator=it, Limit=100)
            records.extend(page["Records"])
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return records


def test_stream_holds_exactly_the_committed_changes(endpoint, client, unique_name):
    table = unique_name("st")
    client.create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST",
                        StreamSpecification={"StreamEnabled": True,
                                             "StreamViewType": "NEW_AND_OLD_IMAGES"})
    wait_active(client, table)
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    errors = []

    def writer(seed):
        c = make_client(endpoint)
        rnd = random.Random(seed)
        for i in range(60):
            key = {"pk": {"S": f"k{rnd.randint(0, 5)}"}}
            try:
                op = rnd.random()
                if op < 0.4:
                    c.put_item(TableName=table, Item={**key, "v": {"N": str(rnd.randint(0, 3))}})
                elif op < 0.7:
                    c.update_item(TableName=table, Key=key, UpdateExpression="ADD n :one",
                                  ExpressionAttributeValues={":one": {"N": "1"}})
                elif op < 0.85:
                    c.delete_item(TableName=table, Key=key)
                else:
                    c.transact_write_items(TransactItems=[
                        {"Put": {"TableName": table, "Item": {**key, "t": {"N": str(seed)}}}}])
            except ClientError as e:
                errors.append(repr(e.response["Error"]))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    records = read_all(streams_client(endpoint), arn)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    last = {}
    for r in records:
        pk = r["dynamodb"]["Keys"]["pk"]["S"]
        prev = last.get(pk)
        old = r["dynamodb"].get("OldImage")
        new = r["dynamodb"].get("NewImage")
        assert old == prev, (pk, r["eventName"])
        assert r["eventName"] == {(False, True): "INSERT", (True, True): "MODIFY",
                                  (True, False): "REMOVE"}[(old is not None, new is not None)]
        assert old != new
        last[pk] = new
    items = {i["pk"]["S"]: i for i in client.scan(TableName=table, ConsistentRead=True)["Items"]}
    for pk in {f"k{i}" for i in range(6)}:
        assert last.get(pk) == items.get(pk), pk


def test_stream_lifecycle_iterators_and_view_types(endpoint, client, unique_name):
    """Disable closes the stream's shard (readable, then no NextShardIterator); re-enabling
    makes a new stream with a new ARN while the old one stays listed and readable; the four
    iterator types; each view type's images; the record fields the SDKs read."""
    sc = streams_client(endpoint)
    name = unique_name("life")
    client.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST",
                        StreamSpecification={"StreamEnabled": True,
                                             "StreamViewType": "KEYS_ONLY"})
    try:
        wait_active(client, name)
        first = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        for i in range(3):
            client.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "v": {"N": str(i)}})
        client.update_item(TableName=name, Key={"pk": {"S": "k0"}},
                           UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "9"}})
        recs = read_all(sc, first)
        assert [r["eventName"] for r in recs] == ["INSERT"] * 3 + ["MODIFY"]
        for r in recs:
            assert r["eventSource"] == "aws:dynamodb" and r["eventVersion"] == "1.1"
            # DynamoDB Local says "ddblocal"; DynamoDB (and Ferrodyn) the client's region
            assert r["awsRegion"] == (REGION if not EXTERNAL_ENDPOINT else r["awsRegion"])
            assert len(r["eventID"]) >= 32
            d = r["dynamodb"]
            assert set(d) == {"ApproximateCreationDateTime", "Keys", "SequenceNumber",
                              "SizeBytes", "StreamViewType"}
            assert d["StreamViewType"] == "KEYS_ONLY" and d["SizeBytes"] > 0
        seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
        assert seqs == sorted(seqs) and len(set(seqs)) == 4

        shard = sc.describe_stream(StreamArn=first)["StreamDescription"]["Shards"][0]["ShardId"]
        assert len(shard) >= 28

        def read(kind, **kw):
            it = sc.get_shard_iterator(StreamArn=first, ShardId=shard, ShardIteratorType=kind,
                                       **kw)["ShardIterator"]
            return sc.get_records(ShardIterator=it)

        at = read("AT_SEQUENCE_NUMBER", SequenceNumber=recs[1]["dynamodb"]["SequenceNumber"])["Records"]
        assert [int(r["dynamodb"]["SequenceNumber"]) for r in at] == seqs[1:]
        after = read("AFTER_SEQUENCE_NUMBER",
                     SequenceNumber=recs[1]["dynamodb"]["SequenceNumber"])["Records"]
        assert [int(r["dynamodb"]["SequenceNumber"]) for r in after] == seqs[2:]
        latest = sc.get_shard_iterator(StreamArn=first, ShardId=shard,
                                       ShardIteratorType="LATEST")["ShardIterator"]
        page = sc.get_records(ShardIterator=latest, Limit=1)
        assert page["Records"] == [] and page["NextShardIterator"]
        client.delete_item(TableName=name, Key={"pk": {"S": "k1"}})
        page = sc.get_records(ShardIterator=page["NextShardIterator"])
        assert [r["eventName"] for r in page["Records"]] == ["REMOVE"]
        paged = sc.get_records(ShardIterator=sc.get_shard_iterator(
            StreamArn=first, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"],
            Limit=2)
        assert len(paged["Records"]) == 2 and paged["NextShardIterator"]

        # Disable: the shard closes; its records stay readable, then the iterator ends.
        client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        wait_active(client, name)
        desc = sc.describe_stream(StreamArn=first)["StreamDescription"]
        assert desc["StreamStatus"] == "DISABLED"
        assert "EndingSequenceNumber" in desc["Shards"][0]["SequenceNumberRange"]
        it = sc.get_shard_iterator(StreamArn=first, ShardId=shard,
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        out = sc.get_records(ShardIterator=it)
        assert len(out["Records"]) == 5 and "NextShardIterator" not in out
        with pytest.raises(ClientError) as e:
            client.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
        assert e.value.response["Error"]["Code"] == "ValidationException"

        # Re-enable with another view type: a new stream, the old one still there.
        client.update_table(TableName=name, StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        wait_active(client, name)
        second = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
        assert second != first
        listed = [s["StreamArn"] for s in sc.list_streams(TableName=name)["Streams"]]
        assert sorted(listed) == sorted([first, second])
        page1 = sc.list_streams(TableName=name, Limit=1)
        assert len(page1["Streams"]) == 1 and "LastEvaluatedStreamArn" in page1
        page2 = sc.list_streams(TableName=name, Limit=1,
                                ExclusiveStartStreamArn=page1["LastEvaluatedStreamArn"])
        assert {page1["Streams"][0]["StreamArn"], page2["Streams"][0]["StreamArn"]} == {
            first, second}
        client.put_item(TableName=name, Item={"pk": {"S": "k2"}, "v": {"N": "7"}})
        (mod,) = read_all(sc, second)
        assert mod["eventName"] == "MODIFY"
        assert mod["dynamodb"]["OldImage"] == {"pk": {"S": "k2"}, "v": {"N": "2"}}
        assert mod["dynamodb"]["NewImage"] == {"pk": {"S": "k2"}, "v": {"N": "7"}}
        assert len(read_all(sc, first)) == 5

        # The SDK itself refuses a ShardId shorter than 28 characters.
        from botocore.exceptions import ParamValidationError
        with pytest.raises(ParamValidationError):
            sc.get_shard_iterator(StreamArn=first, ShardId="shardId-short",
                                  ShardIteratorType="TRIM_HORIZON")
        with pytest.raises(ClientError) as e:
            sc.get_shard_iterator(StreamArn=first, ShardId="shardId-00000000000000000000-00000000",
                                  ShardIteratorType="TRIM_HORIZON")
        assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    finally:
        client.delete_table(TableName=name)


def test_old_and_new_image_view_types(endpoint, client, unique_name):
    sc = streams_client(endpoint)
    for view, keys in (("NEW_IMAGE", {"NewImage"}), ("OLD_IMAGE", {"OldImage"})):
        name = unique_name("view")
        client.create_table(TableName=name,
                            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            BillingMode="PAY_PER_REQUEST",
                            StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
        try:
            wait_active(client, name)
            arn = client.describe_table(TableName=name)["Table"]["LatestStreamArn"]
            client.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
            client.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "2"}})
            client.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "2"}})  # no change
            client.delete_item(TableName=name, Key={"pk": {"S": "a"}})
            recs = read_all(sc, arn)
            assert [r["eventName"] for r in recs] == ["INSERT", "MODIFY", "REMOVE"]
            images = [set(r["dynamodb"]) & {"NewImage", "OldImage"} for r in recs]
            if view == "NEW_IMAGE":
                assert images == [keys, keys, set()]
            else:
                assert images == [set(), keys, keys]
        finally:
            client.delete_table(TableName=name)
