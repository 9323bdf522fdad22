"""Hostile input while a normal client works: oversized bodies, slowloris headers and
bodies, deeply nested JSON and expressions, a gzip bomb, malformed signatures and headers,
and hundreds of idle connections. The normal client must be answered throughout, and
nothing may be a 500."""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import urllib.request

from conftest import ServerProcess, make_client, needs_own_server

AUTH = ("AWS4-HMAC-SHA256 Credential=a/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0")


def post(port, body: bytes, headers: dict) -> int:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return -1  # the server may close a connection on a hostile request


@needs_own_server
def test_hostile_input_leaves_the_server_answering(tmp_path):
    server = ServerProcess(["--in-memory", "--max-body-bytes", "1048576"], tmp_path / "log")
    port = server.port
    try:
        c = make_client(server.endpoint)
        c.create_table(TableName="calm", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        stop = threading.Event()
        normal = {"ok": 0, "failed": []}

        def calm():
            cc = make_client(server.endpoint)
            i = 0
            while not stop.is_set():
                try:
                    cc.put_item(TableName="calm", Item={"pk": {"S": str(i)}})
                    assert cc.get_item(TableName="calm", Key={"pk": {"S": str(i)}})["Item"]
                    normal["ok"] += 1
                except Exception as e:  # noqa: BLE001
                    normal["failed"].append(repr(e))
                i += 1

        statuses = []
        base = {"Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "DynamoDB_20120810.PutItem", "Authorization": AUTH}

        def attack():
            # oversized body
            statuses.append(post(port, b"{" + b" " * (2 << 20) + b"}", base))
            # deeply nested JSON
            statuses.append(post(port, b"[" * 100000 + b"]" * 100000, base))
            # an item nested 5000 maps deep (built as text: json.dumps would recurse)
            deep = '{"M":{"a":' * 5000 + '{"S":"x"}' + "}}" * 5000
            body = '{"TableName":"calm","Item":{"pk":{"S":"deep"},"v":' + deep + "}}"
            statuses.append(post(port, body.encode(), base))
            # deeply nested expression
            cond = "(" * 5000 + "attribute_exists(pk)" + ")" * 5000
            statuses.append(post(port, json.dumps({"TableName": "calm", "Item": {"pk": {"S": "e"}},
                                                   "ConditionExpression": cond}).encode(), base))
            # gzip bomb
            statuses.append(post(port, gzip.compress(b"0" * (32 << 20)),
                                 {**base, "Content-Encoding": "gzip"}))
            # malformed signatures and headers
            for auth in ["", "AWS4-HMAC-SHA256", "Basic xyz", "AWS4-HMAC-SHA256 Credential=",
                         "\u00ff" * 100]:
                try:
                    statuses.append(post(port, b"{}", {**base, "Authorization": auth}))
                except ValueError:
                    pass
            statuses.append(post(port, b"{}", {**base, "X-Amz-Target": "x" * 10000}))
            statuses.append(post(port, b"\xff\xfe garbage", base))

        idle = []
        slow = []
        t = threading.Thread(target=calm)
        t.start()
        try:
            # hundreds of idle connections, and slowloris headers and bodies
            for _ in range(400):
                idle.append(socket.create_connection(("127.0.0.1", port)))
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                slow.append(s)
            for _ in range(50):
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
                          b"X-Amz-Target: DynamoDB_20120810.ListTables\r\n"
                          b"Authorization: " + AUTH.encode() + b"\r\n\r\n{")
                slow.append(s)
            attackers = [threading.Thread(target=attack) for _ in range(2)]
            for a in attackers:
                a.start()
            for a in attackers:
                a.join()
            time.sleep(0.5)
        finally:
            stop.set()
            t.join()
            for s in idle + slow:
                s.close()
        assert normal["failed"] == [], normal["failed"][:3]
        assert normal["ok"] > 10
        assert len(statuses) == 2 * 12, statuses  # every hostile request was answered
        assert set(statuses) <= {400, 413}, statuses
        assert 500 not in statuses, statuses
        assert statuses.count(413) >= 4  # oversized and bomb, from both attackers
        # and afterwards
        assert c.get_item(TableName="calm", Key={"pk": {"S": "0"}})["Item"]
    finally:
        server.kill()
