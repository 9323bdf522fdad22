"""HTTPS: `ferrodyn tls self-signed` writes a certificate; a server started with it answers
boto3 over TLS when the client trusts that certificate, and refuses clients that do not."""

from __future__ import annotations

import ssl
import subprocess
import urllib.request

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import SSLError

from conftest import ACCESS_KEY, SECRET_KEY, ServerProcess, ferrodyn_bin, needs_own_server


@needs_own_server
def test_boto3_over_https_with_the_self_signed_bundle(tmp_path):
    out = subprocess.run([str(ferrodyn_bin()), "tls", "self-signed", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    assert cert.read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    server = ServerProcess(["--in-memory", "--tls-cert", str(cert), "--tls-key", str(key)],
                           tmp_path / "log")
    try:
        endpoint = f"https://localhost:{server.port}"

        def client(verify):
            return boto3.session.Session().client(
                "dynamodb", region_name="us-east-1", endpoint_url=endpoint, verify=verify,
                aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                config=Config(retries={"total_max_attempts": 1}))

        c = client(str(cert))
        c.create_table(TableName="secure", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                       AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                       BillingMode="PAY_PER_REQUEST")
        c.put_item(TableName="secure", Item={"pk": {"S": "a"}})
        assert c.get_item(TableName="secure", Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
        # a client that does not trust the certificate is refused by its own TLS check
        with pytest.raises(SSLError):
            client(True).list_tables()
        # plain HTTP on the TLS port gets no DynamoDB answer
        with pytest.raises(Exception):
            urllib.request.urlopen(f"http://localhost:{server.port}/", timeout=5)
        # the health check over HTTPS
        ctx = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(endpoint + "/", context=ctx, timeout=5) as r:
            assert r.status == 200
        # and the server still answers after a failed handshake
        assert "secure" in c.list_tables()["TableNames"]
    finally:
        server.kill()
