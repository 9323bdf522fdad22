"""The AWS CLI (v1, from PyPI) against the server: list-tables, put-item, get-item."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ACCESS_KEY, REGION, SECRET_KEY


def aws_cli() -> str:
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        pytest.skip("aws CLI not installed (pip install -r tests/python/requirements.txt)")
    return found


@pytest.fixture
def run_aws(endpoint, tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        # keep the developer's own AWS config out of the test
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        "PYTHONIOENCODING": "utf-8",
    }

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = [aws_cli(), "dynamodb", *args, "--endpoint-url", endpoint, "--output", "json"]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        if check:
            assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stderr}"
        return proc

    return run


def test_cli_list_tables(run_aws, make_table):
    name = make_table()
    out = json.loads(run_aws("list-tables").stdout)
    assert name in out["TableNames"]


def test_cli_put_and_get_item(run_aws, make_table):
    name = make_table()
    item = {
        "pk": {"S": "cli-user"},
        "n": {"N": "1.50"},
        "flag": {"BOOL": True},
        "tags": {"SS": ["x", "y"]},
        "m": {"M": {"k": {"L": [{"S": "v"}, {"NULL": True}]}}},
    }
    put = run_aws("put-item", "--table-name", name, "--item", json.dumps(item),
                  "--return-consumed-capacity", "TOTAL")
    put_out = json.loads(put.stdout)
    assert put_out["ConsumedCapacity"]["TableName"] == name

    got = run_aws("get-item", "--table-name", name, "--key", json.dumps({"pk": {"S": "cli-user"}}),
                  "--consistent-read")
    out = json.loads(got.stdout)
    assert out["Item"]["pk"] == {"S": "cli-user"}
    assert out["Item"]["n"] == {"N": "1.5"}
    assert out["Item"]["flag"] == {"BOOL": True}
    assert sorted(out["Item"]["tags"]["SS"]) == ["x", "y"]
    assert out["Item"]["m"] == item["m"]


def test_cli_describe_table(run_aws, make_table):
    name = make_table()
    out = json.loads(run_aws("describe-table", "--table-name", name).stdout)
    assert out["Table"]["TableName"] == name
    assert out["Table"]["TableStatus"] == "ACTIVE"


def test_cli_error_exit_code(run_aws, unique_name):
    proc = run_aws("describe-table", "--table-name", unique_name("missing"), check=False)
    # AWS CLI v1 exits 255 on a service error (v2 uses 254)
    assert proc.returncode in (254, 255)
    assert "ResourceNotFoundException" in proc.stderr


def test_cli_query_scan_update_with_expressions(run_aws, make_table, client):
    """The CLI's own pagination (it follows LastEvaluatedKey), expressions and counters."""
    name = make_table(range_key=("sk", "N"))
    for i in range(25):
        client.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)},
                                               "odd": {"BOOL": i % 2 == 1}})
    # --page-size makes the CLI fetch 4 items per request and stitch the pages together.
    q = json.loads(run_aws(
        "query", "--table-name", name,
        "--key-condition-expression", "pk = :p AND sk BETWEEN :lo AND :hi",
        "--filter-expression", "odd = :t",
        "--expression-attribute-values",
        json.dumps({":p": {"S": "p"}, ":lo": {"N": "3"}, ":hi": {"N": "20"}, ":t": {"BOOL": True}}),
        "--no-scan-index-forward", "--page-size", "4").stdout)
    assert [it["sk"]["N"] for it in q["Items"]] == [str(i) for i in range(19, 2, -2)]
    assert q["Count"] == 9
    assert q["ScannedCount"] == 18
    s = json.loads(run_aws("scan", "--table-name", name, "--select", "COUNT",
                           "--page-size", "7").stdout)
    assert s["Count"] == 25
    u = json.loads(run_aws(
        "update-item", "--table-name", name,
        "--key", json.dumps({"pk": {"S": "p"}, "sk": {"N": "0"}}),
        "--update-expression", "SET hits = if_not_exists(hits, :z) + :one",
        "--expression-attribute-values", json.dumps({":z": {"N": "0"}, ":one": {"N": "1"}}),
        "--return-values", "UPDATED_NEW").stdout)
    assert u["Attributes"] == {"hits": {"N": "1"}}
    bad = run_aws("update-item", "--table-name", name,
                  "--key", json.dumps({"pk": {"S": "p"}, "sk": {"N": "0"}}),
                  "--update-expression", "SET #s = :v",
                  "--expression-attribute-values", json.dumps({":v": {"N": "1"}}), check=False)
    assert bad.returncode != 0
    assert ("An expression attribute name used in the document path is not defined; "
            "attribute name: #s") in bad.stderr
