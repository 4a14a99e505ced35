"""Verifies AWS Signature Version 4 on an incoming request by recomputing it with botocore's own signer.

The request is rebuilt as a botocore ``AWSRequest`` carrying exactly the headers the caller says it
signed, and botocore's ``SigV4Auth`` (``S3SigV4Auth`` for S3, the query variants for presigned URLs)
computes the canonical request, string to sign and signature from it; the result is compared with
:func:`hmac.compare_digest`. Re-using the client's signer, rather than a second implementation,
means every quirk botocore signs with (S3's un-normalised paths, double-encoded paths elsewhere,
the payload hash header) is verified the same way. Framework-neutral: the edge (WSGI) and the graph
server (aiohttp) each build an :class:`IncomingRequest`.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote, urlsplit

from botocore.auth import HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.compat import HTTPHeaders
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
#: AWS refuses a request whose X-Amz-Date is more than 15 minutes from its clock
MAX_CLOCK_SKEW_S = 15 * 60
#: the longest a presigned URL may live (SigV4: 7 days)
MAX_PRESIGN_EXPIRES_S = 7 * 24 * 3600
_TIMESTAMP = "%Y%m%dT%H%M%SZ"
_HEX_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class Reason(Enum):
    """Why a request was refused; each service names these in its own error codes."""

    MISSING = "missing"  # no Authorization header and no presigned query
    MALFORMED = "malformed"  # an Authorization header or query that is not SigV4
    UNKNOWN_KEY = "unknown_key"  # the access key id is not configured
    MISMATCH = "mismatch"  # the signature (or the payload hash it covers) is wrong
    STALE = "stale"  # X-Amz-Date too far from the server's clock
    EXPIRED = "expired"  # a presigned URL past its X-Amz-Expires


class SignatureRejected(Exception):
    """The request is not signed by a configured key; ``reason`` says which way it failed."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class IncomingRequest:
    """A request as it arrived, before any decoding.

    Args:
        method: the HTTP method.
        host: the Host header as sent.
        raw_path: the path as sent (still percent-encoded).
        query: the query string as sent (still percent-encoded), without ``?``.
        headers: header names in lower case.
        body: the whole body (empty for none).
    """

    method: str
    host: str
    raw_path: str
    query: str
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Caller:
    """Who signed a verified request, and for which scope."""

    access_key_id: str
    region: str
    service: str


@dataclass(frozen=True)
class _Signed:
    """The parts of a signature, from the Authorization header or a presigned query."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


class _FixedExpiryV1QueryAuth(HmacV1QueryAuth):
    """botocore's SigV2 query signer with the Expires the URL carries instead of now + lifetime."""

    def __init__(self, credentials: Credentials, expires_at: int) -> None:
        super().__init__(credentials)
        self._expires_at = expires_at

    def _get_date(self) -> str:
        return str(self._expires_at)


def parse_credential_scope(credential: str) -> tuple[str, str, str, str]:
    """``AKID/20240101/us-east-1/s3/aws4_request`` → ``(akid, date, region, service)``."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or not all(parts[:4]):
        raise SignatureRejected(Reason.MALFORMED, f"Credential should be scoped correctly: {credential!r}")
    return parts[0], parts[1], parts[2], parts[3]


def parse_authorization(value: str) -> _Signed:
    """Split ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureRejected(Reason.MALFORMED, f"Unsupported authorization type {algorithm!r}; "
                                                  f"mlharbor verifies {ALGORITHM} only")
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, sep, item = part.strip().partition("=")
        if sep:
            fields[key] = item
    missing = [name for name in ("Credential", "SignedHeaders", "Signature") if not fields.get(name)]
    if missing:
        raise SignatureRejected(Reason.MALFORMED, f"Authorization header requires {', '.join(missing)}")
    akid, date, region, service = parse_credential_scope(fields["Credential"])
    return _Signed(akid, date, region, service, tuple(fields["SignedHeaders"].split(";")), fields["Signature"])


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return [(key, value) for key, _, value in (pair.partition("=") for pair in query.split("&") if pair)]


def _parse_timestamp(value: str) -> float:
    try:
        return float(calendar.timegm(time.strptime(value, _TIMESTAMP)))
    except ValueError:
        raise SignatureRejected(Reason.MALFORMED, f"X-Amz-Date {value!r} is not a valid timestamp "
                                                  f"(expected YYYYMMDDTHHMMSSZ)") from None


def scope_service(authorization: str | None, query: str = "") -> str | None:
    """The service a request is signed for (its credential scope), or ``None`` when unsigned."""
    try:
        if authorization:
            return parse_authorization(authorization).service
        for key, value in _query_pairs(query):
            if key == "X-Amz-Credential":
                return parse_credential_scope(unquote(value))[3]
    except SignatureRejected:
        return None
    return None


class SigV4Verifier:
    """Checks requests against a set of access keys.

    Args:
        keys: access key id → secret access key.
        max_skew_s: how far X-Amz-Date may be from this machine's clock.
        clock: seconds since the epoch (a test seam).
    """

    def __init__(self, keys: Mapping[str, str], max_skew_s: float = MAX_CLOCK_SKEW_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.keys = dict(keys)
        self.max_skew_s = max_skew_s
        self.clock = clock

    def verify(self, request: IncomingRequest) -> Caller:
        """The caller of a correctly signed request.

        Raises:
            SignatureRejected: the request is unsigned, signed by an unknown key, stale, or wrong.
        """
        authorization = request.headers.get("authorization")
        if authorization:
            return self._verify_header(request, authorization)
        query_keys = {key for key, _ in _query_pairs(request.query)}
        if "X-Amz-Signature" in query_keys:
            return self._verify_query(request)
        if {"AWSAccessKeyId", "Signature", "Expires"} <= query_keys:
            return self._verify_v2_query(request)
        raise SignatureRejected(Reason.MISSING, "Missing Authentication Token")

    # -- Authorization header ------------------------------------------------------------------
    def _verify_header(self, request: IncomingRequest, authorization: str) -> Caller:
        signed = parse_authorization(authorization)
        secret = self._secret(signed.access_key_id)
        amz_date = request.headers.get("x-amz-date")
        if not amz_date:
            raise SignatureRejected(Reason.MALFORMED, "Authorization header requires the X-Amz-Date header")
        self._check_clock(amz_date)
        if "host" not in signed.signed_headers:
            raise SignatureRejected(Reason.MALFORMED, "The host header must be signed")
        content_sha256 = request.headers.get("x-amz-content-sha256", "")
        if _HEX_SHA256.match(content_sha256) and hashlib.sha256(request.body).hexdigest() != content_sha256:
            raise SignatureRejected(Reason.MISMATCH, "The provided 'x-amz-content-sha256' header does not match "
                                                     "what was computed.")
        signer_class = S3SigV4Auth if signed.service == "s3" else SigV4Auth
        signer = signer_class(Credentials(signed.access_key_id, secret), signed.service, signed.region)
        aws_request = self._rebuild(request, signed, request.query, request.body)
        self._compare(signer, aws_request, amz_date, signed)
        return Caller(signed.access_key_id, signed.region, signed.service)

    # -- presigned URL (query-string auth) -----------------------------------------------------
    def _verify_query(self, request: IncomingRequest) -> Caller:
        pairs = _query_pairs(request.query)
        params = {key: unquote(value) for key, value in pairs}
        if params.get("X-Amz-Algorithm") != ALGORITHM:
            raise SignatureRejected(Reason.MALFORMED, f"X-Amz-Algorithm must be {ALGORITHM}")
        required = ("X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires")
        missing = [name for name in required if not params.get(name)]
        if missing:
            raise SignatureRejected(Reason.MALFORMED, f"Query-string authentication requires {', '.join(missing)}")
        akid, date, region, service = parse_credential_scope(params["X-Amz-Credential"])
        signed = _Signed(akid, date, region, service, tuple(params["X-Amz-SignedHeaders"].split(";")),
                         params["X-Amz-Signature"])
        secret = self._secret(akid)
        amz_date = params["X-Amz-Date"]
        issued = _parse_timestamp(amz_date)
        try:
            expires = int(params["X-Amz-Expires"])
        except ValueError:
            raise SignatureRejected(Reason.MALFORMED, "X-Amz-Expires must be a number of seconds") from None
        if not 0 < expires <= MAX_PRESIGN_EXPIRES_S:
            raise SignatureRejected(Reason.MALFORMED, f"X-Amz-Expires must be between 1 and {MAX_PRESIGN_EXPIRES_S}")
        now = self.clock()
        if issued - now > self.max_skew_s:
            raise SignatureRejected(Reason.STALE, f"Signature not yet current: {amz_date} is later than now")
        if now > issued + expires:
            raise SignatureRejected(Reason.EXPIRED, "Request has expired")
        # the signature was computed over the query without itself, in the order and encoding sent
        unsigned_query = "&".join(pair for pair in request.query.split("&")
                                  if pair and pair.partition("=")[0] != "X-Amz-Signature")
        signer_class = S3SigV4QueryAuth if service == "s3" else SigV4QueryAuth
        signer = signer_class(Credentials(akid, secret), service, region, expires=expires)
        aws_request = self._rebuild(request, signed, unsigned_query, b"")
        self._compare(signer, aws_request, amz_date, signed)
        return Caller(akid, region, service)

    # -- S3's legacy presigned URL (what boto3's S3 client presigns with by default) --------------
    def _verify_v2_query(self, request: IncomingRequest) -> Caller:
        params = {key: unquote(value) for key, value in _query_pairs(request.query)}
        secret = self._secret(params["AWSAccessKeyId"])
        try:
            expires = int(params["Expires"])
        except ValueError:
            raise SignatureRejected(Reason.MALFORMED, "Expires must be a number of seconds since the epoch") from None
        if self.clock() > expires:
            raise SignatureRejected(Reason.EXPIRED, "Request has expired")
        remaining = "&".join(pair for pair in request.query.split("&")
                             if pair and pair.partition("=")[0] not in ("AWSAccessKeyId", "Signature", "Expires"))
        headers = HTTPHeaders()
        for name, value in request.headers.items():
            if name.startswith("x-amz-") or name in ("content-md5", "content-type"):
                headers[name] = value
        signer = _FixedExpiryV1QueryAuth(Credentials(params["AWSAccessKeyId"], secret), expires)
        split = urlsplit(f"http://{request.host}{request.raw_path or '/'}" + (f"?{remaining}" if remaining else ""))
        expected = signer.get_signature(request.method, split, headers)
        if not hmac.compare_digest(expected, params["Signature"]):
            raise SignatureRejected(Reason.MISMATCH, "The request signature we calculated does not match the "
                                                     "signature you provided. Check your key and signing method.")
        return Caller(params["AWSAccessKeyId"], "", "s3")

    # -- shared ----------------------------------------------------------------------------------
    def _secret(self, access_key_id: str) -> str:
        secret = self.keys.get(access_key_id)
        if secret is None:
            raise SignatureRejected(Reason.UNKNOWN_KEY, "The security token included in the request is invalid.")
        return secret

    def _check_clock(self, amz_date: str) -> None:
        signed_at = _parse_timestamp(amz_date)
        now = self.clock()
        if abs(now - signed_at) > self.max_skew_s:
            server_time = time.strftime(_TIMESTAMP, time.gmtime(now))
            raise SignatureRejected(Reason.STALE, f"Signature expired: {amz_date} is now earlier or later than "
                                                  f"{server_time} by more than {int(self.max_skew_s // 60)} minutes.")

    @staticmethod
    def _rebuild(request: IncomingRequest, signed: _Signed, query: str, body: bytes) -> AWSRequest:
        headers: dict[str, str] = {}
        for name in signed.signed_headers:
            value = request.host if name == "host" else request.headers.get(name)
            if value is None:
                raise SignatureRejected(Reason.MISMATCH, f"Signed header {name!r} is not in the request")
            headers[name] = value
        url = f"http://{request.host}{request.raw_path or '/'}" + (f"?{query}" if query else "")
        return AWSRequest(method=request.method, url=url, headers=headers, data=body)

    @staticmethod
    def _compare(signer: SigV4Auth, aws_request: AWSRequest, amz_date: str, signed: _Signed) -> None:
        if amz_date[:8] != signed.date:
            raise SignatureRejected(Reason.MISMATCH, "The credential scope date does not match X-Amz-Date")
        aws_request.context["timestamp"] = amz_date
        canonical = signer.canonical_request(aws_request)
        expected = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
        if not hmac.compare_digest(expected, signed.signature):
            raise SignatureRejected(Reason.MISMATCH, "The request signature we calculated does not match the "
                                                     "signature you provided. Check your AWS Secret Access Key "
                                                     "and signing method.")
