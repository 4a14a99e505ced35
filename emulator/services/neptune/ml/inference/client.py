"""Answer Gremlin ML queries with sagemaker-runtime InvokeEndpoint, through the edge, signed with the
graph server's internal key; SageMaker's refusals become Neptune's errors.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emulator.services.neptune.errors import BadRequest, InternalFailure
from emulator.services.neptune.gremlin.ml.query import MLQuery, Result
from emulator.services.neptune.ml.inference.endpoints import check_role_arn, endpoint_name
from emulator.services.neptune.ml.inference.payload import AnswerError, read_predictions, request_body


def endpoint_error(raw: str) -> str:
    """The endpoint's own message: ``{"error": "..."}`` as the contract has it, else the text as sent."""
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        return raw
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), str):
        return parsed["error"]
    return raw


class SageMakerInference:
    """The graph's model client (:class:`~emulator.services.neptune.gremlin.ml.query.Inference`).

    Args:
        runtime_factory: makes the boto3 ``sagemaker-runtime`` client (called once, on first use).
    """

    def __init__(self, runtime_factory: Callable[[], Any]) -> None:
        self._factory = runtime_factory
        self._runtime: Any = None
        self._lock = threading.Lock()

    def _client(self) -> Any:
        with self._lock:
            if self._runtime is None:
                self._runtime = self._factory()
            return self._runtime

    def predict(self, query: MLQuery) -> dict[str, list[Result]]:
        name = endpoint_name(query.endpoint)
        check_role_arn(query.iam_role_arn)
        body = json.dumps(request_body(query)).encode()
        try:
            response = self._client().invoke_endpoint(EndpointName=name, Body=body, ContentType="application/json",
                                                      Accept="application/json")
            raw = response["Body"].read()
        except ClientError as error:
            raise _neptune_error(name, error) from None
        except BotoCoreError as error:
            raise InternalFailure(f"Neptune ML could not reach the SageMaker endpoint {name}: {error}") from None
        try:
            return read_predictions(json.loads(raw), query)
        except (ValueError, AnswerError) as error:
            raise InternalFailure(f"The SageMaker endpoint {name} did not answer in the Neptune ML format: "
                                  f"{error}") from None


def _neptune_error(name: str, error: ClientError) -> Exception:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code in ("ValidationException", "ValidationError") and "not found" in message:
        return BadRequest(f"Endpoint {name} not found.")
    if code == "ModelError":
        original = error.response.get("OriginalMessage") or message
        return BadRequest(f"The SageMaker endpoint {name} refused the Neptune ML query: {endpoint_error(original)}")
    return InternalFailure(f"InvokeEndpoint on {name} failed: {code}: {message}")
