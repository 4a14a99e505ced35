"""The Host/Origin policy and the SigV4 verifier on their own: the cases a live server cannot stage."""

from __future__ import annotations

import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.core.origin import HostPolicy, OriginPolicy, is_loopback_bind, local_interface_addresses
from emulator.core.sigv4 import IncomingRequest, Reason, SignatureRejected, SigV4Verifier


def signed(url: str = "http://127.0.0.1:4600/", body: bytes = b"{}", secret: str = "s") -> IncomingRequest:
    request = AWSRequest(method="POST", url=url, data=body, headers={"X-Amz-Target": "SageMaker.ListTrainingJobs"})
    SigV4Auth(Credentials("k", secret), "sagemaker", "us-east-1").add_auth(request)
    host, _, path = url.removeprefix("http://").partition("/")
    headers = {name.lower(): value for name, value in request.headers.items()}
    return IncomingRequest("POST", host, "/" + path.split("?")[0], path.partition("?")[2], headers, body)


def test_a_signature_is_bound_to_the_host_path_and_body():
    verifier = SigV4Verifier({"k": "s"})
    assert verifier.verify(signed()).access_key_id == "k"
    request = signed()
    for changed in (IncomingRequest(request.method, "127.0.0.1:9999", request.raw_path, request.query,
                                    request.headers, request.body),
                    IncomingRequest(request.method, request.host, "/other", request.query, request.headers,
                                    request.body),
                    IncomingRequest(request.method, request.host, request.raw_path, request.query, request.headers,
                                    b'{"x": 1}')):
        with pytest.raises(SignatureRejected) as caught:
            verifier.verify(changed)
        assert caught.value.reason is Reason.MISMATCH


def test_the_clock_window_is_fifteen_minutes_either_way():
    request = signed()
    assert SigV4Verifier({"k": "s"}, clock=lambda: time.time() + 14 * 60).verify(request)
    for offset in (16 * 60, -16 * 60):
        with pytest.raises(SignatureRejected) as caught:
            SigV4Verifier({"k": "s"}, clock=lambda offset=offset: time.time() + offset).verify(request)
        assert caught.value.reason is Reason.STALE


@pytest.mark.parametrize("authorization", ["AWS k:sig", "AWS4-HMAC-SHA256 Credential=k/bad", "Bearer x",
                                           "AWS4-HMAC-SHA256 SignedHeaders=host"])
def test_malformed_authorization_is_refused_not_crashed(authorization):
    request = IncomingRequest("GET", "127.0.0.1", "/", "", {"authorization": authorization,
                                                            "x-amz-date": "20240101T000000Z"}, b"")
    with pytest.raises(SignatureRejected) as caught:
        SigV4Verifier({"k": "s"}).verify(request)
    assert caught.value.reason is Reason.MALFORMED


def test_hosts():
    policy = HostPolicy(bound_host="127.0.0.1")
    assert policy.allows("localhost:1") and policy.allows("[::1]:4600") and policy.allows(None)
    assert not policy.allows("evil.example") and not policy.allows("localhost.evil.example")
    assert not policy.allows("[not-an-ip") and not policy.allows("")
    for address in local_interface_addresses():  # a job container's gateway address, for example
        assert policy.allows(f"[{address}]:1" if ":" in address else f"{address}:1")
    policy.extra_hosts.add("harbor.internal")
    assert policy.allows("harbor.internal:4600")


def test_origins():
    policy = OriginPolicy(frozenset({"http://ok.example"}))
    assert policy.allows(None, "127.0.0.1:4600")
    assert policy.allows("HTTP://OK.example", "127.0.0.1:4600")
    assert policy.allows("http://127.0.0.1:4600", "127.0.0.1:4600")  # the server's own pages
    assert not policy.allows("http://127.0.0.1:9999", "127.0.0.1:4600")
    assert not policy.allows("null", "127.0.0.1:4600")
    assert not policy.allows(None, "127.0.0.1:4600", fetch_site="cross-site")
    assert policy.allows(None, "127.0.0.1:4600", fetch_site="same-origin")


def test_loopback_binds():
    assert is_loopback_bind("127.0.0.1") and is_loopback_bind("localhost") and is_loopback_bind("::1")
    assert is_loopback_bind("127.0.0.2")
    assert not is_loopback_bind("0.0.0.0") and not is_loopback_bind("::")
