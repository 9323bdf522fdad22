"""The database going away under a running `--storage postgres://` server: requests get a
500 InternalServerError carrying the request id (never a hang), /ready turns 503 while
/health stays 200, and once the database is back the server answers again with every
acknowledged write in place.

Skipped unless FERRODYN_TEST_POSTGRES is set (PostgreSQL is installed). The test starts a
PostgreSQL cluster of its own with scripts/postgres-up (another directory and port), so it
can stop and restart it without disturbing other tests.
"""

from __future__ import annotations

import os
import socket
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ServerProcess, make_client, needs_own_server, wait_active

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    needs_own_server,
    pytest.mark.skipif(not os.environ.get("FERRODYN_TEST_POSTGRES"),
                       reason="set FERRODYN_TEST_POSTGRES (PostgreSQL installed)"),
]


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def test_database_outage_and_recovery(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Directly under /tmp: the cluster runs as an unprivileged user (when the tests run as
    # root), who cannot enter pytest's private temporary directories.
    pg_root = Path(tempfile.mkdtemp(prefix="ferrodyn-outage-", dir="/tmp"))
    os.chmod(pg_root, 0o777)
    env = {**os.environ, "PGDATA_DIR": str(pg_root / "pg"), "PGPORT_UP": str(port)}
    up = [str(ROOT / "scripts" / "postgres-up")]
    url = subprocess.run(up, env=env, check=True, capture_output=True, text=True).stdout.strip()
    server = None
    try:
        server = ServerProcess(["--storage", url], tmp_path / "log")
        c = make_client(server.endpoint)
        c.create_table(TableName="outage", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        wait_active(c, "outage")
        c.put_item(TableName="outage", Item={"pk": {"S": "kept"}})

        subprocess.run(up + ["stop"], env=env, check=True, capture_output=True)
        t0 = time.monotonic()
        with pytest.raises(ClientError) as e:
            c.get_item(TableName="outage", Key={"pk": {"S": "kept"}})
        assert time.monotonic() - t0 < 30
        meta = e.value.response["ResponseMetadata"]
        assert meta["HTTPStatusCode"] == 500
        assert e.value.response["Error"]["Code"] == "InternalServerError"
        assert meta.get("RequestId")
        assert status(server.endpoint + "/ready") == 503
        assert status(server.endpoint + "/health") == 200

        subprocess.run(up, env=env, check=True, capture_output=True)
        deadline = time.monotonic() + 30
        while status(server.endpoint + "/ready") != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert status(server.endpoint + "/ready") == 200
        got = c.get_item(TableName="outage", Key={"pk": {"S": "kept"}})
        assert got["Item"] == {"pk": {"S": "kept"}}
        c.put_item(TableName="outage", Item={"pk": {"S": "after"}})
        assert c.get_item(TableName="outage", Key={"pk": {"S": "after"}})["Item"]
    finally:
        if server is not None:
            server.kill()
        subprocess.run(up + ["stop"], env=env, capture_output=True)
        shutil.rmtree(pg_root, ignore_errors=True)
