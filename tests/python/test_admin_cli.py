"""The operator subcommands (`ferrodyn backup create|list|restore`, `ferrodyn export`,
`ferrodyn import`) against the running server; piped, so no progress bar is drawn."""

from __future__ import annotations

import subprocess

import pytest

from conftest import ferrodyn_bin


def admin(endpoint, *args, ok=True):
    proc = subprocess.run([str(ferrodyn_bin()), *args, "--endpoint", endpoint],
                          capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, proc.stderr
        # piped: no progress bar output at all
        assert proc.stderr == ""
    return proc


def test_backup_export_import_subcommands(endpoint, client, s3_dir, unique_name):
    name = unique_name("adm")
    client.create_table(TableName=name,
                        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                        BillingMode="PAY_PER_REQUEST")
    for i in range(40):
        client.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}})

    arn = admin(endpoint, "backup", "create", "--table", name, "--name", "nightly").stdout.strip()
    assert f":table/{name}/backup/" in arn
    listed = admin(endpoint, "backup", "list", "--table", name).stdout.splitlines()
    assert listed == [f"{arn}\t{name}\tnightly\tUSER\tAVAILABLE\t"
                      + str(client.describe_backup(BackupArn=arn)["BackupDescription"]
                            ["BackupDetails"]["BackupSizeBytes"])]
    restored = unique_name("adm-r")
    out = admin(endpoint, "backup", "restore", "--arn", arn, "--target", restored).stdout
    assert out == f"{restored}\t40 items\n"
    assert client.scan(TableName=restored, Select="COUNT")["Count"] == 40

    client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": True})
    out = admin(endpoint, "export", "--table", name, "--bucket", "ops", "--prefix", "nightly",
                "--format", "ION").stdout
    export_arn, count, manifest = out.strip().split("\t")
    assert count == "40 items"
    assert (s3_dir / manifest).exists()
    export_id = export_arn.rsplit("/", 1)[1]
    imported = unique_name("adm-i")
    out = admin(endpoint, "import", "--table", imported, "--bucket", "ops",
                "--prefix", f"nightly/AWSDynamoDB/{export_id}/data/", "--format", "ION",
                "--compression", "GZIP", "--hash", "pk:S").stdout
    assert out.split("\t")[1:] == ["COMPLETED", "processed 40", "imported 40", "errors 0\n"]
    assert client.scan(TableName=imported, Select="COUNT")["Count"] == 40

    # errors reach the operator as DynamoDB says them, with a failing exit status
    bad = admin(endpoint, "backup", "create", "--table", "no-such-table", ok=False)
    assert bad.returncode == 1
    assert "TableNotFoundException: Table not found: no-such-table" in bad.stderr
    client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
        "PointInTimeRecoveryEnabled": False})
    for t in (name, restored, imported):
        client.delete_table(TableName=t)


def test_unreachable_server_is_a_clear_error():
    proc = subprocess.run([str(ferrodyn_bin()), "backup", "list", "--endpoint",
                           "http://127.0.0.1:1"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot reach http://127.0.0.1:1" in proc.stderr
