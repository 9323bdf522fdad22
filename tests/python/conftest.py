"""Shared fixtures for Ferrodyn's black-box Python tests (boto3 and the AWS CLI).

Two modes:

* ``FERRODYN_ENDPOINT`` set (e.g. ``http://127.0.0.1:8101``): the tests talk to a server that
  is already running, which may also be a peer such as DynamoDB Local. Tests that must start
  and kill the server themselves (durability/restart) are skipped.
* otherwise the binary at ``FERRODYN_BIN`` (default ``<repo>/target/debug/ferrodyn``) is
  started once per session with ``--in-memory --host 127.0.0.1 --port <free port>`` and
  killed at the end.

The tests never reach into the server: everything goes through boto3's low-level client,
the AWS CLI, or a subprocess running an unmodified user script.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
DEFAULT_BIN = REPO_ROOT / "target" / "debug" / "ferrodyn"

REGION = "us-east-1"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "secret"
STARTUP_TIMEOUT_S = 20.0

EXTERNAL_ENDPOINT = os.environ.get("FERRODYN_ENDPOINT") or None

#: Marker for tests that start, kill and restart their own server process.
needs_own_server = pytest.mark.skipif(
    EXTERNAL_ENDPOINT is not None,
    reason="FERRODYN_ENDPOINT is set: tests that start/kill/restart the server are skipped",
)


# --------------------------------------------------------------------------------------------
# process helpers
# --------------------------------------------------------------------------------------------


def free_port() -> int:
    """A port that was free a moment ago (bind to port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ferrodyn_bin() -> Path:
    return Path(os.environ.get("FERRODYN_BIN") or DEFAULT_BIN)


def _tail(path: Path, n: int = 4000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return "<no log>"
    return data[-n:].decode("utf-8", "replace")


def wait_for_port(host: str, port: int, proc: subprocess.Popen | None, log: Path | None,
                  timeout: float = STARTUP_TIMEOUT_S) -> None:
    """Wait until a TCP connect to host:port succeeds, or fail with the server's log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"server exited with code {proc.returncode} before listening on {port}; "
                f"log tail:\n{_tail(log) if log else ''}"
            )
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(
        f"server did not accept connections on {host}:{port} within {timeout} s; "
        f"log tail:\n{_tail(log) if log else ''}"
    )


class ServerProcess:
    """One running ferrodyn process started by the tests."""

    def __init__(self, args: list[str], log_path: Path):
        self.args = args
        self.log_path = log_path
        self.port = free_port()
        self.host = "127.0.0.1"
        binary = ferrodyn_bin()
        if not binary.exists():
            raise RuntimeError(
                f"ferrodyn binary not found at {binary}; build it (cargo build) or set "
                f"FERRODYN_BIN, or point FERRODYN_ENDPOINT at a running server"
            )
        cmd = [str(binary), *args, "--host", self.host, "--port", str(self.port)]
        self._log = open(log_path, "ab")
        self._log.write(f"\n=== {' '.join(cmd)}\n".encode())
        self._log.flush()
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            wait_for_port(self.host, self.port, self.proc, log_path)
        except Exception:
            self.kill()
            raise

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send sig (SIGKILL by default) to this process only, and reap it."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self._log.closed:
            self._log.close()

    def stop(self) -> None:
        """Graceful stop: SIGTERM, then SIGKILL after 10 s."""
        self.kill(signal.SIGTERM)


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def server_log_dir():
    d = Path(tempfile.mkdtemp(prefix="ferrodyn-pytest-logs-"))
    yield d


@pytest.fixture(scope="session")
def s3_dir(server_log_dir) -> Path:
    """The directory the session server uses for S3 (exports and imports)."""
    if EXTERNAL_ENDPOINT:
        if os.environ.get("FERRODYN_S3_DIR"):
            return Path(os.environ["FERRODYN_S3_DIR"])
        pytest.skip("needs the server's --s3-dir (set FERRODYN_S3_DIR)")
    return server_log_dir / "s3"


@pytest.fixture(scope="session")
def endpoint(server_log_dir):
    """URL of the server under test (started here unless FERRODYN_ENDPOINT is set)."""
    if EXTERNAL_ENDPOINT:
        yield EXTERNAL_ENDPOINT.rstrip("/")
        return
    server = ServerProcess(["--in-memory", "--s3-dir", str(server_log_dir / "s3")],
                           server_log_dir / "ferrodyn-session.log")
    try:
        yield server.endpoint
    finally:
        server.stop()


def make_client(endpoint_url: str, region: str = REGION, **config_overrides):
    """A low-level DynamoDB client with dummy credentials and no retries."""
    cfg = dict(
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    cfg.update(config_overrides)
    return boto3.session.Session().client(
        "dynamodb",
        region_name=region,
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(**cfg),
    )


@pytest.fixture(scope="session")
def client(endpoint):
    return make_client(endpoint)


@pytest.fixture
def unique_name():
    """unique_name(prefix='t') -> a table name that no other test uses."""

    def make(prefix: str = "t") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:12]}"

    return make


def wait_active(client, name: str, timeout: float = 60.0) -> dict:
    """Poll DescribeTable until the table is ACTIVE; returns the Table description."""
    deadline = time.monotonic() + timeout
    while True:
        table = client.describe_table(TableName=name)["Table"]
        if table["TableStatus"] == "ACTIVE":
            return table
        if time.monotonic() > deadline:
            raise AssertionError(f"table {name} not ACTIVE after {timeout} s: {table['TableStatus']}")
        time.sleep(0.2)


def _delete_quietly(client, name: str) -> None:
    try:
        client.update_table(TableName=name, DeletionProtectionEnabled=False)
    except Exception:
        pass
    for _ in range(50):
        try:
            client.delete_table(TableName=name)
            return
        except client.exceptions.ResourceNotFoundException:
            return
        except client.exceptions.ResourceInUseException:
            time.sleep(0.2)  # still CREATING/UPDATING
        except Exception:
            return


@pytest.fixture
def make_table(client, unique_name):
    """make_table(hash=('pk','S'), range=None, billing='PAY_PER_REQUEST', **extra) -> name.

    Creates a table, waits until ACTIVE and deletes it at teardown.
    """
    created: list[str] = []

    def make(hash_key=("pk", "S"), range_key=None, billing="PAY_PER_REQUEST", prefix="t",
             **extra) -> str:
        name = unique_name(prefix)
        attrs = [{"AttributeName": hash_key[0], "AttributeType": hash_key[1]}]
        schema = [{"AttributeName": hash_key[0], "KeyType": "HASH"}]
        if range_key:
            attrs.append({"AttributeName": range_key[0], "AttributeType": range_key[1]})
            schema.append({"AttributeName": range_key[0], "KeyType": "RANGE"})
        kwargs = dict(TableName=name, AttributeDefinitions=attrs, KeySchema=schema, **extra)
        if billing == "PAY_PER_REQUEST":
            kwargs["BillingMode"] = "PAY_PER_REQUEST"
        else:
            kwargs.setdefault(
                "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
            )
        client.create_table(**kwargs)
        created.append(name)
        wait_active(client, name)
        return name

    yield make
    for name in created:
        _delete_quietly(client, name)


@pytest.fixture
def table(make_table):
    """A fresh on-demand table with a string hash key 'pk'."""
    return make_table()


@pytest.fixture
def durable_server(tmp_path_factory):
    """durable_server(data_dir, *extra_flags) -> (endpoint, ServerProcess).

    Starts the binary with ``--data-dir data_dir`` (and the extra flags) on a fresh port. Call again with the same
    directory to restart on the same data. Every process still running at teardown is
    killed. ``proc.kill()`` sends SIGKILL; ``proc.proc`` is the subprocess.Popen.
    """
    if EXTERNAL_ENDPOINT:
        pytest.skip("FERRODYN_ENDPOINT is set: cannot start a durable server")
    started: list[ServerProcess] = []
    log_dir = tmp_path_factory.mktemp("durable-logs")

    def start(data_dir: Path | str, *extra: str):
        server = ServerProcess(["--data-dir", str(data_dir), *extra],
                               log_dir / "ferrodyn-durable.log")
        started.append(server)
        return server.endpoint, server

    yield start
    for server in started:
        server.kill()


def error_of(excinfo) -> tuple[str, str]:
    """(code, message) of a botocore ClientError captured by pytest.raises."""
    err = excinfo.value.response["Error"]
    return err.get("Code"), err.get("Message")


#: AWS is rolling out a rewording of some validation errors region by region (observed
#: 2026-06: eu-west-2/eu-central-1 wrap them in "1 validation error detected: " and echo set
#: members as JSON strings, us-east-1/ap-southeast-2 keep the classic form). Tests accept both
#: renderings of the same message and pin everything else exactly.
ENVELOPE = "1 validation error detected: "


def assert_message(msg: str, *accepted: str) -> None:
    """msg must equal one of `accepted`, with or without AWS's validation envelope."""
    forms = set()
    for a in accepted:
        forms.add(a)
        forms.add(ENVELOPE + a)
    assert msg in forms, f"unexpected message {msg!r}; expected one of {sorted(accepted)!r}"
