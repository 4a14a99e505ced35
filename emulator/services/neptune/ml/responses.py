"""The neptunedata ML operations' wire: read a request's members as botocore's model places them, shape the answers.

Members come from the path (``uri``), the query string (``querystring``) or the JSON body, exactly where the
``neptunedata`` model puts them; each is checked against the model's shapes (types, required members, ranges)
with mlharbor's one validator, and a problem is Neptune's own error: ``MissingParameterException`` for a
missing required member, ``InvalidParameterException`` for a bad value, ``BadRequestException`` for a body
that is not JSON. Answers carry only members the model's output shape names.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import botocore.session
from aiohttp import web
from botocore.model import OperationModel, ServiceModel

from emulator.core.errors import SerializationError, ValidationError
from emulator.core.validation import validate_request
from emulator.services.neptune import errors
from emulator.services.neptune.http_api import read_json_object
from emulator.services.neptune.ml import records as r
from emulator.services.neptune.ml.records import MlRecord

#: GetML*'s output members for each record's SageMaker resources and configurations
_LIST_MEMBER = {r.MODEL_TRAINING: "mlModels", r.MODEL_TRANSFORM: "models"}


@lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    return botocore.session.get_session().get_service_model("neptunedata")


def operation(name: str) -> OperationModel:
    return service_model().operation_model(name)


async def read_input(request: web.Request, name: str) -> dict[str, Any]:
    """The request members of operation ``name``, validated against its input shape."""
    shape = operation(name).input_shape
    params: dict[str, Any] = {}
    body: dict[str, Any] = {}
    if any(not member.serialization.get("location") for member in shape.members.values()):
        body = await read_json_object(request)
    for member_name, member in shape.members.items():
        location = member.serialization.get("location")
        wire_name = member.serialization.get("name", member_name)
        if location == "uri":
            params[member_name] = request.match_info[wire_name]
        elif location == "querystring":
            if wire_name in request.query:
                params[member_name] = _query_value(member_name, member.type_name, request.query[wire_name])
        elif member_name in body and body[member_name] is not None:
            params[member_name] = body[member_name]
    missing = [name for name in shape.required_members if name not in params]
    if missing:
        raise errors.MissingParameter(f"Missing required parameter: {', '.join(missing)}")
    try:
        return validate_request(operation(name), params)
    except SerializationError as error:
        raise errors.InvalidParameter(f"A member has the wrong type: {error.message}") from None
    except ValidationError as error:
        raise errors.InvalidParameter(error.message) from None


def _query_value(member: str, type_name: str, text: str) -> Any:
    if type_name == "boolean":
        if text.lower() not in ("true", "false"):
            raise errors.InvalidParameter(f"Invalid value for {member}: {text!r} (expected true or false)")
        return text.lower() == "true"
    if type_name in ("integer", "long"):
        try:
            return int(text)
        except ValueError:
            raise errors.InvalidParameter(f"Invalid value for {member}: {text!r} (expected an integer)") from None
    return text


def created(record: MlRecord) -> dict[str, Any]:
    """Start*/CreateMLEndpoint: ``{"id", "arn", "creationTimeInMillis"}``."""
    return {"id": record.id, "arn": record.arn, "creationTimeInMillis": record.created_ms}


def described(record: MlRecord) -> dict[str, Any]:
    """GetML*: the status, the id and the SageMaker resources behind the record."""
    body: dict[str, Any] = {"status": record.status, "id": record.id}
    for member, resource in record.resources.items():
        body[member] = resource.wire()
    body.update(record.configs)
    if record.kind in _LIST_MEMBER and record.models:
        body[_LIST_MEMBER[record.kind]] = record.models
    return body


def listed(ids: list[str]) -> dict[str, Any]:
    return {"ids": ids}


def status(value: str) -> dict[str, Any]:
    return {"status": value}
