"""Raw HTTP to the edge, and botocore's own reading of what comes back.

The fuzz suite and the validation tests send bodies botocore would never build, so they
write the request bytes themselves; whatever the server answers must still be something
botocore's parser for the protocol turns into an error code, as a real client would.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import botocore.parsers
from botocore.awsrequest import HeadersDict
from botocore.model import OperationModel, Shape

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"


@dataclass(frozen=True)
class RawResponse:
    """One response as it came off the socket."""

    status: int
    headers: dict[str, str]
    body: bytes


def post(endpoint: str, path: str, body: bytes, headers: dict[str, str], timeout: float = 60) -> RawResponse:
    """``POST`` ``body`` as is (no client-side checks, no signing)."""
    parts = urlsplit(endpoint)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        return RawResponse(response.status, dict(response.getheaders()), response.read())
    finally:
        connection.close()


def post_sagemaker(endpoint: str, operation: str, body: bytes | str, content_type: str = JSON_CONTENT_TYPE,
                   target_prefix: str = "SageMaker.") -> RawResponse:
    """An awsJson1_1 call: ``X-Amz-Target: SageMaker.<operation>`` and ``body`` (str is UTF-8, lone surrogates kept)."""
    raw = body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body
    return post(endpoint, "/", raw, {"X-Amz-Target": target_prefix + operation, "Content-Type": content_type})


def botocore_parse(response: RawResponse, operation: OperationModel, protocol: str) -> dict[str, Any]:
    """What botocore makes of ``response`` (``protocol``: ``json`` or ``rest-json``)."""
    parser = botocore.parsers.create_parser(protocol)
    return parser.parse(
        {"status_code": response.status, "headers": HeadersDict(response.headers), "body": response.body},
        operation.output_shape,
    )


def error_code(response: RawResponse, operation: OperationModel, protocol: str) -> str:
    """The error code botocore reads from an error response (``""`` when it finds none)."""
    return botocore_parse(response, operation, protocol).get("Error", {}).get("Code", "")


def missing_required(shape: Shape | None, value: Any, path: str = "") -> list[str]:
    """Paths of members ``shape`` marks required that ``value`` lacks, at every depth."""
    if shape is None or value is None:
        return []
    missing: list[str] = []
    if shape.type_name == "structure" and isinstance(value, dict):
        for name in shape.required_members:
            if value.get(name) is None:
                missing.append(f"{path}.{name}" if path else name)
        for name, member in shape.members.items():
            if name in value:
                missing += missing_required(member, value[name], f"{path}.{name}" if path else name)
    elif shape.type_name == "list" and isinstance(value, list):
        for index, item in enumerate(value):
            missing += missing_required(shape.member, item, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            missing += missing_required(shape.value, item, f"{path}[{key}]")
    return missing
