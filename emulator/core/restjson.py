"""The rest-json protocol's error response: what every rest-json service we serve answers on an error.

The status is the error's, ``x-amzn-ErrorType`` names its wire code, and the JSON body holds
``message`` and the error shape's members (``ModelError``'s ``OriginalStatusCode``…).
https://smithy.io/2.0/aws/protocols/aws-restjson1-protocol.html#operation-error-serialization
"""

from __future__ import annotations

import json
from typing import Any

from emulator.core.awsjson import WireResponse
from emulator.core.errors import ServiceError


def error_response(error: ServiceError, request_id: str) -> WireResponse:
    """A rest-json error: ``x-amzn-ErrorType`` names it, the body has ``message`` and its members."""
    payload: dict[str, Any] = {"message": error.message}
    payload.update(error.members())
    body = json.dumps(payload).encode()
    return WireResponse(error.status, body, {"Content-Type": "application/json", "x-amzn-ErrorType": error.code,
                                             "x-amzn-RequestId": request_id})
