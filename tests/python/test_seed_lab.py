"""Seed 000 (LAB07, DynamoDB table automation): the lab's script runs UNCHANGED.

The script is the ```python block of /work/shared/seeds/000_e37367bb33fe0cba.txt. It is
extracted at test time when that file exists; a clean clone (CI) has only the committed copy
in seeds/lab07_dynamodb_script.py, which must stay byte-for-byte the block's content.

The only thing that points the script at the server is AWS_ENDPOINT_URL_DYNAMODB (plus dummy
credentials): the script itself hardcodes region eu-west-1 and table 'DevOpsUsers'.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ACCESS_KEY, SECRET_KEY, make_client

SEED_DOC = Path("/work/shared/seeds/000_e37367bb33fe0cba.txt")
SEED_COPY = Path(__file__).resolve().parent / "seeds" / "lab07_dynamodb_script.py"
TABLE = "DevOpsUsers"
SCRIPT_REGION = "eu-west-1"


def extract_python_block(text: str) -> str:
    m = re.search(r"^```python\n(.*?)^```\s*$", text, re.S | re.M)
    assert m, "no ```python block in the seed document"
    return m.group(1)


@pytest.fixture(scope="module")
def script_path(tmp_path_factory) -> Path:
    if SEED_DOC.exists():
        code = extract_python_block(SEED_DOC.read_text(encoding="utf-8"))
        if SEED_COPY.exists():
            assert SEED_COPY.read_text(encoding="utf-8") == code, (
                f"{SEED_COPY} drifted from the seed document; re-copy the block unchanged")
        path = tmp_path_factory.mktemp("seed") / "dynamodb_script.py"
        path.write_text(code, encoding="utf-8")
        return path
    assert SEED_COPY.exists(), f"neither {SEED_DOC} nor {SEED_COPY} exists"
    return SEED_COPY


def run_script(script: Path, endpoint: str, home: Path) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        # no developer config may leak in; the script names its region itself
        "AWS_CONFIG_FILE": str(home / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "no-credentials"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONIOENCODING": "utf-8",
    }
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=180, cwd=str(home))
    assert proc.returncode == 0, f"script failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


ALICE = ("Retrieved item: {'username': 'alice', 'role': 'admin', "
         "'email': 'alice@example.com', 'active': True, 'last_login': '2023-09-15'}")


def test_lab07_script_twice(script_path, endpoint, tmp_path):
    admin = make_client(endpoint, region=SCRIPT_REGION)
    # Start from a clean slate so the first run takes the 'create' path.
    try:
        admin.delete_table(TableName=TABLE)
        admin.get_waiter("table_not_exists").wait(
            TableName=TABLE, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    except admin.exceptions.ResourceNotFoundException:
        pass

    try:
        first = run_script(script_path, endpoint, tmp_path).stdout
        assert f"Creating DynamoDB table: {TABLE}..." in first
        assert "Table is now active!" in first
        assert "Error" not in first, first
        assert "Current DynamoDB tables in your account:" in first
        assert f"- {TABLE}" in first.splitlines()
        assert "Item inserted successfully!" in first
        assert "Retrieving item with username: alice" in first
        assert ALICE in first
        assert "Item not found" not in first

        # The table really is there, tagged, with alice in it.
        table = admin.describe_table(TableName=TABLE)["Table"]
        assert table["TableStatus"] == "ACTIVE"
        assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
        item = admin.get_item(TableName=TABLE, Key={"username": {"S": "alice"}},
                              ConsistentRead=True)["Item"]
        assert item["active"] == {"BOOL": True}

        second = run_script(script_path, endpoint, tmp_path).stdout
        assert f"Table {TABLE} already exists" in second
        assert "Table is now active!" not in second
        assert f"- {TABLE}" in second.splitlines()
        assert "Item inserted successfully!" in second
        assert ALICE in second
        assert "Error" not in second, second
    finally:
        try:
            admin.delete_table(TableName=TABLE)
        except Exception:
            pass
