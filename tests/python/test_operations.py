"""Operations and self-defence: /metrics, /health, /ready, the access log, gzip and deflate
request bodies (limit applied after decompression), a slow-header client, the in-flight
cap answering ThrottlingException, and the server answering normally throughout."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import urllib.request
import zlib

import pytest

from test_streams import streams_client
from conftest import ServerProcess, make_client, needs_own_server


def post(endpoint, target, body: bytes, headers=None):
    h = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target,
         "Authorization": "AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0"}
    h.update(headers or {})
    req = urllib.request.Request(endpoint + "/", data=body, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@needs_own_server
def test_metrics_health_ready_and_access_log(tmp_path):
    log = tmp_path / "log"
    server = ServerProcess(["--in-memory", "--access-log"], log)
    try:
        c = make_client(server.endpoint)
        c.create_table(TableName="met1", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        for i in range(5):
            c.put_item(TableName="met1", Item={"pk": {"S": str(i)}})
        with pytest.raises(Exception):
            c.get_item(TableName="nope", Key={"pk": {"S": "x"}})
        c.get_item(TableName="met1", Key={"pk": {"S": "1"}}, ConsistentRead=True)
        c.get_item(TableName="met1", Key={"pk": {"S": "1"}})
        for path, want in (("/health", b"healthy"), ("/ready", b"ready"), ("/", b"healthy")):
            with urllib.request.urlopen(server.endpoint + path, timeout=5) as r:
                assert r.status == 200 and r.read().startswith(want)
        with urllib.request.urlopen(server.endpoint + "/metrics", timeout=5) as r:
            text = r.read().decode()
        assert 'ferrodyn_requests_total{operation="PutItem"} 5' in text
        assert 'ferrodyn_request_duration_seconds_count{operation="PutItem"} 5' in text
        assert 'ferrodyn_request_duration_seconds_bucket{operation="PutItem",le="+Inf"} 5' in text
        assert 'ferrodyn_errors_total{operation="GetItem",type="ResourceNotFoundException"} 1' in text
        assert "ferrodyn_items 5" in text and "ferrodyn_tables 1" in text
        assert "ferrodyn_commit_queue_depth 0" in text
        assert "ferrodyn_storage_conflicts 0" in text
        value = {l.split()[0]: float(l.split()[1]) for l in text.splitlines()
                 if l and not l.startswith("#")}
        groups, jobs = value["ferrodyn_commit_groups"], value["ferrodyn_commit_transactions"]
        assert 1 <= groups <= jobs and jobs >= 6  # table creation and five puts
        assert "ferrodyn_ttl_lag_seconds 0" in text
        # capacity by table: five 1-unit puts; a consistent (1) and an eventual (0.5) read
        assert value['ferrodyn_consumed_write_capacity_units_total{table="met1"}'] == 5
        assert value['ferrodyn_consumed_read_capacity_units_total{table="met1"}'] == 1.5
        # stream lag: a reader's iterator age, 0 once it is caught up
        c.update_table(TableName="met1", StreamSpecification={
            "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
        c.put_item(TableName="met1", Item={"pk": {"S": "streamed"}})
        streams = streams_client(server.endpoint)
        arn = c.describe_table(TableName="met1")["Table"]["LatestStreamArn"]
        shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        page = streams.get_records(ShardIterator=it)
        assert len(page["Records"]) == 1

        def metrics():
            with urllib.request.urlopen(server.endpoint + "/metrics", timeout=5) as r:
                return {l.split()[0]: float(l.split()[1]) for l in r.read().decode().splitlines()
                        if l and not l.startswith("#")}
        age = metrics()['ferrodyn_stream_iterator_age_seconds{table="met1"}']
        assert 0 <= age < 60
        assert streams.get_records(ShardIterator=page["NextShardIterator"])["Records"] == []
        assert metrics()['ferrodyn_stream_iterator_age_seconds{table="met1"}'] == 0
        time.sleep(0.2)
        lines = [l for l in log.read_text().splitlines() if "ferrodyn_access" in l]
        assert any("operation=\"PutItem\"" in l or "operation=PutItem" in l for l in lines), lines[:3]
    finally:
        server.kill()


def test_gzip_and_deflate_bodies(endpoint, table):
    body = json.dumps({"TableName": table, "Item": {"pk": {"S": "gz"}, "v": {"S": "x" * 5000}}}).encode()
    status, out = post(endpoint, "DynamoDB_20120810.PutItem", gzip.compress(body),
                       {"Content-Encoding": "gzip"})
    assert status == 200, out
    status, out = post(endpoint, "DynamoDB_20120810.GetItem",
                       zlib.compress(json.dumps({"TableName": table, "Key": {"pk": {"S": "gz"}}}).encode()),
                       {"Content-Encoding": "deflate"})
    assert status == 200 and out["Item"]["v"]["S"] == "x" * 5000
    # a gzip bomb: 64 MiB of zeros in ~64 KiB; refused after decompression, not a 500
    bomb = gzip.compress(b"0" * (64 << 20))
    status, out = post(endpoint, "DynamoDB_20120810.ListTables", bomb, {"Content-Encoding": "gzip"})
    assert status == 413, out
    status, out = post(endpoint, "DynamoDB_20120810.ListTables", b"not gzip",
                       {"Content-Encoding": "gzip"})
    assert status == 400 and out["__type"].endswith("SerializationException")


@needs_own_server
def test_slow_headers_and_the_in_flight_cap(tmp_path):
    server = ServerProcess(["--in-memory", "--max-in-flight", "2"], tmp_path / "log")
    try:
        # a client that never finishes its headers does not hold the server
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(20)]
        for s in idle:
            s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        c = make_client(server.endpoint)
        assert c.list_tables()["TableNames"] == []
        # past the in-flight cap: ThrottlingException, not a crash; the server recovers
        c.create_table(TableName="thr1", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        results = []

        def hammer():
            cc = make_client(server.endpoint)
            for i in range(40):
                try:
                    cc.put_item(TableName="thr1", Item={"pk": {"S": str(i)}, "v": {"S": "x" * 50000}})
                    results.append("ok")
                except Exception as e:  # noqa: BLE001
                    code = ((getattr(e, "response", None) or {}).get("Error") or {}).get("Code")
                    results.append(f"{type(e).__name__}{code}")
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert "ok" in results
        # 8 writers against a cap of 2: some are refused (61-91 of 320 in three runs)
        assert "ThrottlingExceptionThrottlingException" in results
        assert set(results) <= {"ok", "ThrottlingExceptionThrottlingException"}, set(results)
        assert c.list_tables()["TableNames"] == ["thr1"]
        for s in idle:
            s.close()
    finally:
        server.kill()


def test_config_file_environment_and_print_config(tmp_path):
    import os
    import subprocess

    from conftest import ferrodyn_bin

    cfg = tmp_path / "ferrodyn.toml"
    cfg.write_text('in-memory = true\nregion = "eu-west-1"\nport = 8123\nmax-in-flight = 99\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("FERRODYN_")}

    def printed(*args, extra_env=None):
        out = subprocess.run([str(ferrodyn_bin()), *args, "--print-config"],
                             env={**env, **(extra_env or {})}, capture_output=True, text=True,
                             timeout=30)
        assert out.returncode == 0, out.stderr
        return out.stdout

    text = printed("--config", str(cfg))
    assert 'region = "eu-west-1"' in text and "port = 8123" in text and "in-memory = true" in text
    # environment over file, command line over environment
    text = printed("--config", str(cfg), "--port", "8200",
                   extra_env={"FERRODYN_PORT": "8100", "FERRODYN_REGION": "us-west-2"})
    assert "port = 8200" in text and 'region = "us-west-2"' in text
    # a numeric option of 1 or 0 is a value, not a switch
    text = printed("--config", str(cfg), extra_env={"FERRODYN_MAX_IN_FLIGHT": "1",
                                                    "FERRODYN_ACCESS_LOG": "1"})
    assert "max-in-flight = 1" in text and "access-log = true" in text
    # what --print-config prints is a config file that gives the same configuration
    again = tmp_path / "again.toml"
    again.write_text(printed("--config", str(cfg)))
    assert printed("--config", str(again)) == printed("--config", str(cfg))
    bad = tmp_path / "bad.toml"
    bad.write_text("bogus = 1\n")
    out = subprocess.run([str(ferrodyn_bin()), "--config", str(bad)], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 1 and "unknown option 'bogus'" in out.stderr
