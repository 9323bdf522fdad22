"""Seed 002 (Module 7, the chat service lab): create the Messages table, send 5 messages,
take an on-demand backup and wait until it is AVAILABLE, delete the table, delete the
backup; and a variant that restores the table from the backup before deleting it and finds
the five messages. Then point-in-time recovery through boto3 and the AWS CLI."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from botocore.exceptions import ClientError

from conftest import error_of, make_client
from test_cli import run_aws  # noqa: F401  (fixture)

REGION = "us-west-2"  # the lab exports AWS_DEFAULT_REGION=us-west-2
USERS = {"user1": "Tom", "user2": "Jerry"}
TEMPLATES = [
    ("user1", "user2", "Hey {to}, are you free?"),
    ("user2", "user1", "Yes, {to}. What's up?"),
    ("user1", "user2", "Need help with a script."),
    ("user2", "user1", "Sure, send it over."),
    ("user1", "user2", "Thanks! You're the best, {to}."),
]


def create_messages_table(c, name):
    c.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "ConversationId", "KeyType": "HASH"},
                   {"AttributeName": "SentAt", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "ConversationId", "AttributeType": "S"},
                              {"AttributeName": "SentAt", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    c.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def send_messages(c, name) -> list[dict]:
    sent = []
    for i, (frm, to, body) in enumerate(TEMPLATES):
        item = {
            "ConversationId": {"S": "tom#jerry"},
            "SentAt": {"S": f"2025-10-06T15:00:0{i}Z"},
            "Body": {"S": body.format(to=USERS[to], **{"from": USERS[frm]})},
            "FromUser": {"S": USERS[frm]},
            "ToUser": {"S": USERS[to]},
            "MessageId": {"S": str(uuid.uuid4())},
        }
        c.put_item(TableName=name, Item=item)
        sent.append(item)
    return sent


def backup_until_available(c, name) -> str:
    arn = c.create_backup(TableName=name, BackupName=f"{name}-backup")["BackupDetails"]["BackupArn"]
    deadline = time.monotonic() + 30
    while True:
        status = c.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"]["BackupStatus"]
        if status == "AVAILABLE":
            return arn
        assert time.monotonic() < deadline, f"backup still {status}"
        time.sleep(0.2)


@pytest.fixture
def c(endpoint):
    return make_client(endpoint, region=REGION)


def test_chat_lab_backup_then_delete_table_and_backup(c, unique_name):
    name = unique_name("Messages")
    create_messages_table(c, name)
    send_messages(c, name)
    assert c.scan(TableName=name, Select="COUNT")["Count"] == 5
    arn = backup_until_available(c, name)
    table_arn = c.describe_table(TableName=name)["Table"]["TableArn"]
    assert re.fullmatch(re.escape(table_arn) + r"/backup/\d{14}-[0-9a-f]{8}", arn), arn
    desc = c.describe_backup(BackupArn=arn)["BackupDescription"]
    assert desc["SourceTableDetails"]["ItemCount"] == 5
    assert desc["SourceTableDetails"]["TableName"] == name
    assert desc["BackupDetails"]["BackupSizeBytes"] > 0
    assert desc["BackupDetails"]["BackupType"] == "USER"
    listed = c.list_backups(TableName=name)["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [arn]

    c.delete_table(TableName=name)
    c.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    # the backup outlives its table
    assert c.describe_backup(BackupArn=arn)["BackupDescription"]["BackupDetails"][
        "BackupStatus"] == "AVAILABLE"

    out = c.delete_backup(BackupArn=arn)
    assert out["BackupDescription"]["BackupDetails"]["BackupStatus"] == "DELETED"
    with pytest.raises(ClientError) as e:
        c.describe_backup(BackupArn=arn)
    assert error_of(e) == ("BackupNotFoundException", f"Backup not found: {arn}")
    assert c.list_backups(TableName=name)["BackupSummaries"] == []


def test_chat_lab_restore_before_deleting_the_backup(c, unique_name):
    name = unique_name("Messages")
    create_messages_table(c, name)
    sent = send_messages(c, name)
    arn = backup_until_available(c, name)
    c.put_item(TableName=name, Item={**sent[0], "SentAt": {"S": "2025-10-06T16:00:00Z"}})
    c.delete_table(TableName=name)
    c.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})

    restored = c.restore_table_from_backup(TargetTableName=name, BackupArn=arn)["TableDescription"]
    assert restored["TableStatus"] == "CREATING"
    assert restored["RestoreSummary"]["SourceBackupArn"] == arn
    assert restored["RestoreSummary"]["RestoreInProgress"] is True
    c.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    items = c.query(TableName=name, KeyConditionExpression="ConversationId = :c",
                    ExpressionAttributeValues={":c": {"S": "tom#jerry"}})["Items"]
    assert items == sent  # the five messages, in SentAt order; the later one is not there
    with pytest.raises(ClientError) as e:
        c.restore_table_from_backup(TargetTableName=name, BackupArn=arn)
    assert error_of(e) == ("TableAlreadyExistsException", f"Table already exists: {name}")
    c.delete_backup(BackupArn=arn)
    c.delete_table(TableName=name)


def test_backup_errors(c, unique_name):
    with pytest.raises(ClientError) as e:
        c.create_backup(TableName="no-such-table", BackupName="bk1")
    assert error_of(e) == ("TableNotFoundException", "Table not found: no-such-table")
    with pytest.raises(ClientError) as e:
        c.list_backups(TimeRangeLowerBound=2000, TimeRangeUpperBound=1000)
    assert error_of(e) == ("ValidationException", "One or more parameter values were invalid: "
                           "Time range lower bound must be less than or equal to upper bound")


def test_point_in_time_recovery(c, run_aws, unique_name):
    name = unique_name("pitr")
    create_messages_table(c, name)
    d = c.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert d["PointInTimeRecoveryDescription"] == {"PointInTimeRecoveryStatus": "DISABLED"}
    u = c.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})["ContinuousBackupsDescription"]
    p = u["PointInTimeRecoveryDescription"]
    assert p["PointInTimeRecoveryStatus"] == "ENABLED" and p["RecoveryPeriodInDays"] == 35
    sent = send_messages(c, name)
    time.sleep(0.05)
    middle = time.time()
    time.sleep(0.05)
    c.delete_item(TableName=name, Key={"ConversationId": sent[0]["ConversationId"],
                                       "SentAt": sent[0]["SentAt"]})
    c.put_item(TableName=name, Item={**sent[1], "Body": {"S": "edited"}})

    target = unique_name("pitr-r")
    table_arn = c.describe_table(TableName=name)["Table"]["TableArn"]
    out = c.restore_table_to_point_in_time(SourceTableArn=table_arn, TargetTableName=target,
                                           RestoreDateTime=middle)["TableDescription"]
    assert out["RestoreSummary"]["SourceTableArn"].endswith(f":table/{name}")
    c.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    got = c.scan(TableName=target)["Items"]
    assert sorted(got, key=lambda i: i["SentAt"]["S"]) == sent

    # the AWS CLI, restoring to the latest restorable time
    latest = unique_name("pitr-l")
    proc = run_aws("restore-table-to-point-in-time", "--source-table-name", name,
                   "--target-table-name", latest, "--use-latest-restorable-time")
    assert json.loads(proc.stdout)["TableDescription"]["TableName"] == latest
    c.get_waiter("table_exists").wait(TableName=latest, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    now = sorted(c.scan(TableName=latest)["Items"], key=lambda i: i["SentAt"]["S"])
    assert now == sorted(c.scan(TableName=name)["Items"], key=lambda i: i["SentAt"]["S"])
    assert len(now) == 4 and now[0]["Body"] == {"S": "edited"}

    with pytest.raises(ClientError) as e:
        c.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": False, "RecoveryPeriodInDays": 5})
    assert error_of(e)[1] == ("Invalid Request: Cannot specify RecoveryPeriodInDays when "
                              "disabling point-in-time recovery.")
    # dropping a PITR table leaves a restorable system backup
    c.delete_table(TableName=name)
    c.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    system = [b for b in c.list_backups(BackupType="SYSTEM")["BackupSummaries"]
              if b["TableName"] == name]
    assert [b["BackupName"] for b in system] == [f"{name}$DeletedTableBackup"]
    for t in (target, latest):
        c.delete_table(TableName=t)


def wait_status(get, key, done=("COMPLETED", "FAILED"), timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        d = get()
        if d[key] in done:
            return d
        assert time.monotonic() < deadline, d
        time.sleep(0.1)


def test_export_then_import_through_boto3(c, s3_dir, unique_name):
    name = unique_name("exp")
    create_messages_table(c, name)
    sent = send_messages(c, name)
    arn = c.describe_table(TableName=name)["Table"]["TableArn"]
    with pytest.raises(ClientError) as e:
        c.export_table_to_point_in_time(TableArn=arn, S3Bucket="lab-bucket")
    assert error_of(e) == ("PointInTimeRecoveryUnavailableException",
                           f"Point in time recovery is not enabled for table '{name}'")
    c.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})
    out = c.export_table_to_point_in_time(TableArn=arn, S3Bucket="lab-bucket",
                                          S3Prefix="chat", ExportFormat="DYNAMODB_JSON")
    earn = out["ExportDescription"]["ExportArn"]
    assert re.fullmatch(re.escape(arn) + r"/export/\d{14}-[0-9a-f]{8}", earn)
    d = wait_status(lambda: c.describe_export(ExportArn=earn)["ExportDescription"],
                    "ExportStatus")
    assert d["ExportStatus"] == "COMPLETED" and d["ItemCount"] == 5
    export_id = earn.rsplit("/", 1)[1]
    base = s3_dir / "lab-bucket" / "chat" / "AWSDynamoDB" / export_id
    summary = json.loads((base / "manifest-summary.json").read_text())
    assert summary["itemCount"] == 5 and summary["exportArn"] == earn
    assert [e["ExportArn"] for e in c.list_exports(TableArn=arn)["ExportSummaries"]] == [earn]

    target = unique_name("imp")
    imp = c.import_table(
        S3BucketSource={"S3Bucket": "lab-bucket", "S3KeyPrefix": f"chat/AWSDynamoDB/{export_id}/data/"},
        InputFormat="DYNAMODB_JSON", InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": target,
            "KeySchema": [{"AttributeName": "ConversationId", "KeyType": "HASH"},
                          {"AttributeName": "SentAt", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "ConversationId", "AttributeType": "S"},
                                     {"AttributeName": "SentAt", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST"})
    iarn = imp["ImportTableDescription"]["ImportArn"]
    d = wait_status(lambda: c.describe_import(ImportArn=iarn)["ImportTableDescription"],
                    "ImportStatus")
    assert d["ImportStatus"] == "COMPLETED", d
    assert (d["ProcessedItemCount"], d["ImportedItemCount"], d["ErrorCount"]) == (5, 5, 0)
    c.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    items = c.query(TableName=target, KeyConditionExpression="ConversationId = :c",
                    ExpressionAttributeValues={":c": {"S": "tom#jerry"}})["Items"]
    assert items == sent
    c.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": False})
    for t in (name, target):
        c.delete_table(TableName=t)
