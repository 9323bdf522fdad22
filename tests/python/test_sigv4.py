"""--auth sigv4: boto3 and the AWS CLI with the right key get in, a wrong secret, an unknown
key, a stale date or a tampered body are refused with DynamoDB's errors; a presigned
query-string request is verified too."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import urllib.request
from unittest import mock

import boto3
import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import ServerProcess, error_of, needs_own_server
from test_cli import aws_cli

KEY, SECRET = "AKIAFERRODYNTEST0001", "s3cr3t/Key+With=Chars"
TOKEN = "IQoJb3JpZ2luX2VjEFMaCXVzLWVhc3QtMSJHMEUCIQD/session+token=="


def client(endpoint, key=KEY, secret=SECRET, token=None):
    return boto3.session.Session().client(
        "dynamodb", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
        config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("sigv4")
    creds = d / "credentials"
    creds.write_text(f"# test keys\n{KEY}:{SECRET}:123456789012\nAKIAOTHER:other\n"
                     f"ASIATEMPORARY:tempsecret:123456789012:{TOKEN}\n")
    s = ServerProcess(["--in-memory", "--auth", "sigv4", "--credentials", str(creds)],
                      d / "log")
    yield s
    s.kill()


def raw(endpoint, body: bytes, headers: dict, url_suffix=""):
    req = urllib.request.Request(endpoint + "/" + url_suffix, data=body, headers=headers,
                                 method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@needs_own_server
def test_right_key_gets_in_wrong_ones_do_not(server):
    ep = server.endpoint
    c = client(ep)
    assert c.list_tables()["TableNames"] == []
    c.create_table(TableName="signed", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")
    c.put_item(TableName="signed", Item={"pk": {"S": "é ü"}, "v": {"S": "x" * 1000}})
    with pytest.raises(ClientError) as e:
        client(ep, secret="wrong").list_tables()
    assert error_of(e) == ("InvalidSignatureException",
                           "The request signature we calculated does not match the signature "
                           "you provided. Check your AWS Secret Access Key and signing method. "
                           "Consult the service documentation for details.")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(ClientError) as e:
        client(ep, key="AKIANOBODY").list_tables()
    assert error_of(e) == ("UnrecognizedClientException",
                           "The security token included in the request is invalid.")
    # the second key works too
    assert "signed" in client(ep, key="AKIAOTHER", secret="other").list_tables()["TableNames"]


@needs_own_server
def test_raw_requests_missing_malformed_stale_tampered(server):
    ep = server.endpoint
    body = b"{}"
    base = {"Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.ListTables"}
    status, out = raw(ep, body, base)
    assert status == 400 and out["__type"].endswith("#MissingAuthenticationTokenException")
    status, out = raw(ep, body, {**base, "Authorization": "AWS4-HMAC-SHA256 Credential=x"})
    assert status == 400 and out["__type"].endswith("#IncompleteSignatureException")

    def signed(when, payload=body):
        req = AWSRequest(method="POST", url=ep + "/", data=payload, headers=dict(base))
        creds = Credentials(KEY, SECRET)
        auth = SigV4Auth(creds, "dynamodb", "us-east-1")
        # botocore stamps the request with its own clock: move that clock
        with mock.patch("botocore.auth.get_current_datetime",
                        return_value=when.replace(tzinfo=None)):
            auth.add_auth(req)
        return dict(req.headers)

    now = datetime.datetime.now(datetime.timezone.utc)
    assert raw(ep, body, signed(now))[0] == 200
    status, out = raw(ep, body, signed(now - datetime.timedelta(minutes=20)))
    assert status == 400 and out["__type"].endswith("#InvalidSignatureException")
    assert out["message"].startswith("Signature expired: ")
    # a body changed after signing
    status, out = raw(ep, b'{"Limit": 1}', signed(now))
    assert status == 400 and out["__type"].endswith("#InvalidSignatureException")

    # presigned query string
    req = AWSRequest(method="POST", url=ep + "/", data=body, headers=dict(base))
    SigV4QueryAuth(Credentials(KEY, SECRET), "dynamodb", "us-east-1", expires=300).add_auth(req)
    url_query = req.url.split("?", 1)[1]
    status, out = raw(ep, body, dict(base), "?" + url_query)
    assert status == 200, out


@needs_own_server
def test_aws_cli_with_the_right_and_the_wrong_key(server, tmp_path):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
           "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1",
           "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET}
    cmd = [aws_cli(), "dynamodb", "list-tables", "--endpoint-url", server.endpoint]
    ok = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(cmd, env={**env, "AWS_SECRET_ACCESS_KEY": "nope"},
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "InvalidSignatureException" in bad.stderr


UNRECOGNIZED = ("UnrecognizedClientException",
                "The security token included in the request is invalid.")


@needs_own_server
def test_temporary_credentials_need_their_session_token(server):
    ep = server.endpoint
    assert "TableNames" in client(ep, "ASIATEMPORARY", "tempsecret", TOKEN).list_tables()
    for token in (None, "wrong-token", TOKEN + "x"):
        with pytest.raises(ClientError) as e:
            client(ep, "ASIATEMPORARY", "tempsecret", token).list_tables()
        assert error_of(e) == UNRECOGNIZED, token
    # a long-term key is refused with a session token, as AWS refuses it
    with pytest.raises(ClientError) as e:
        client(ep, token=TOKEN).list_tables()
    assert error_of(e) == UNRECOGNIZED


def make(c, name):
    c.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                   BillingMode="PAY_PER_REQUEST")


@needs_own_server
def test_isolate_keys_gives_each_key_its_own_tables_and_account(tmp_path):
    creds = tmp_path / "credentials"
    creds.write_text("AKIAALICE:alice:111111111111\nAKIABOB:bob:222222222222\n")
    args = ["--data-dir", str(tmp_path / "data"), "--auth", "sigv4", "--credentials",
            str(creds), "--isolate-keys"]
    s = ServerProcess(args, tmp_path / "log")
    try:
        alice, bob = client(s.endpoint, "AKIAALICE", "alice"), client(s.endpoint, "AKIABOB", "bob")
        make(alice, "shared-name")
        make(alice, "alice-only")
        assert bob.list_tables()["TableNames"] == []
        make(bob, "shared-name")
        alice.put_item(TableName="shared-name", Item={"pk": {"S": "k"}, "who": {"S": "alice"}})
        bob.put_item(TableName="shared-name", Item={"pk": {"S": "k"}, "who": {"S": "bob"}})
        arn_a = alice.describe_table(TableName="shared-name")["Table"]["TableArn"]
        arn_b = bob.describe_table(TableName="shared-name")["Table"]["TableArn"]
        assert arn_a == "arn:aws:dynamodb:us-east-1:111111111111:table/shared-name"
        assert arn_b == "arn:aws:dynamodb:us-east-1:222222222222:table/shared-name"
        with pytest.raises(ClientError) as e:
            bob.describe_table(TableName="alice-only")
        assert error_of(e)[0] == "ResourceNotFoundException"
    finally:
        s.kill()
    # acknowledged writes of each key survive kill -9, still apart
    s = ServerProcess(args, tmp_path / "log")
    try:
        alice, bob = client(s.endpoint, "AKIAALICE", "alice"), client(s.endpoint, "AKIABOB", "bob")
        assert sorted(alice.list_tables()["TableNames"]) == ["alice-only", "shared-name"]
        assert bob.list_tables()["TableNames"] == ["shared-name"]
        got = bob.get_item(TableName="shared-name", Key={"pk": {"S": "k"}})["Item"]["who"]
        assert got == {"S": "bob"}
    finally:
        s.kill()


@needs_own_server
def test_isolate_keys_without_authentication_isolates_by_claimed_key(tmp_path):
    s = ServerProcess(["--in-memory", "--isolate-keys"], tmp_path / "log")
    try:
        a, b = client(s.endpoint, "KEYA", "x"), client(s.endpoint, "KEYB", "y")
        make(a, "tab")
        assert b.list_tables()["TableNames"] == []
        assert client(s.endpoint, "KEYA", "any-secret").list_tables()["TableNames"] == ["tab"]
    finally:
        s.kill()
