"""DynamoDB Streams under concurrent writers: the stream holds exactly the committed changes,
chained per item (each record's OldImage is the previous record's NewImage), in sequence
order, and the last image of every item is what the table holds."""

from __future__ import annotations

import random
import threading

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY, make_client, wait_active


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
