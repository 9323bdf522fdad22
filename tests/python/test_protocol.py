"""The wire protocol below the SDKs: raw HTTP requests and what DynamoDB answers to them."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import zlib

AUTH = ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0")


def post(endpoint, target, body, *, auth=True, content_type="application/x-amz-json-1.0"):
    headers = {"Content-Type": content_type}
    if target is not None:
        headers["X-Amz-Target"] = target
    if auth:
        headers["Authorization"] = AUTH
    data = body if isinstance(body, bytes) else body.encode()
    req = urllib.request.Request(endpoint + "/", data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def error_type(body: bytes) -> str:
    return json.loads(body)["__type"].split("#")[1]


def test_success_headers_and_crc(endpoint):
    status, headers, body = post(endpoint, "DynamoDB_20120810.ListTables", "{}")
    assert status == 200
    assert headers["Content-Type"] == "application/x-amz-json-1.0"
    assert len(headers["x-amzn-RequestId"]) == 52
    assert int(headers["x-amz-crc32"]) == zlib.crc32(body)
    assert "TableNames" in json.loads(body)


def test_json_1_1_content_type_accepted(endpoint):
    status, _, _ = post(endpoint, "DynamoDB_20120810.ListTables", "{}",
                        content_type="application/x-amz-json-1.1")
    assert status == 200


def test_unknown_operation(endpoint):
    status, _, body = post(endpoint, "DynamoDB_20120810.NoSuchThing", "{}")
    assert status == 400
    assert json.loads(body) == {"__type": "com.amazon.coral.service#UnknownOperationException"}
    status, _, body = post(endpoint, None, "{}")
    assert (status, error_type(body)) == (400, "UnknownOperationException")


def test_missing_authentication_token(endpoint):
    status, _, body = post(endpoint, "DynamoDB_20120810.ListTables", "{}", auth=False)
    assert status == 400
    assert json.loads(body) == {
        "__type": "com.amazon.coral.service#MissingAuthenticationTokenException",
        "Message": "Request is missing Authentication Token",
    }


def test_malformed_json_is_serialization_exception(endpoint):
    status, _, body = post(endpoint, "DynamoDB_20120810.ListTables", "{not json")
    assert (status, error_type(body)) == (400, "SerializationException")


def test_wrong_member_type_is_serialization_exception(endpoint):
    status, _, body = post(endpoint, "DynamoDB_20120810.DescribeTable", '{"TableName": 5}')
    assert (status, error_type(body)) == (400, "SerializationException")
    assert json.loads(body)["Message"] == "NUMBER_VALUE cannot be converted to String"


def test_namespaces(endpoint):
    _, _, body = post(endpoint, "DynamoDB_20120810.DescribeTable", '{"TableName": "nope-nope"}')
    assert json.loads(body)["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    _, _, body = post(endpoint, "DynamoDB_20120810.DescribeTable", '{"TableName": ""}')
    assert json.loads(body)["__type"] == "com.amazon.coral.validate#ValidationException"


def test_body_over_the_limit_is_refused(endpoint):
    big = b'{"TableName":"x","Item":{"pk":{"S":"' + b"a" * (17 * 1024 * 1024) + b'"}}}'
    status, _, body = post(endpoint, "DynamoDB_20120810.PutItem", big)
    assert status == 413
    assert error_type(body) == "RequestEntityTooLargeException"


def test_cors_preflight(endpoint):
    req = urllib.request.Request(endpoint + "/", method="OPTIONS", headers={
        "Origin": "http://example.com",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-amz-target,content-type,authorization",
    })
    with urllib.request.urlopen(req) as r:
        assert r.status == 200
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in r.headers["Access-Control-Allow-Methods"]
        assert "x-amz-target" in r.headers["Access-Control-Allow-Headers"]


def test_health_check(endpoint):
    with urllib.request.urlopen(endpoint + "/") as r:
        assert r.status == 200
        assert r.read().startswith(b"healthy")


def test_keep_alive_reuses_one_connection(endpoint):
    import http.client
    from urllib.parse import urlparse
    u = urlparse(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port)
    for _ in range(5):
        conn.request("POST", "/", body="{}", headers={
            "X-Amz-Target": "DynamoDB_20120810.ListTables", "Authorization": AUTH,
            "Content-Type": "application/x-amz-json-1.0"})
        r = conn.getresponse()
        r.read()
        assert r.status == 200
        assert r.getheader("Connection", "keep-alive").lower() != "close"
    conn.close()
