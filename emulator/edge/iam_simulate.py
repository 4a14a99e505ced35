"""IAM ``SimulatePrincipalPolicy``, answered at the edge (the embedded moto does not implement it).

The sagemaker SDK v3 asks IAM, before it starts a job, whether the execution role may do what the
job needs (``iam.simulate_principal_policy``); moto has no handler for that action and its server
answers with an HTML 500. This module serves the action itself, in IAM's query protocol and its XML
response shape, and hands every other request on unchanged.

The rule it answers by: mlharbor enforces no IAM policy on any call (it accepts any credentials and
any role), so the simulation reports what the emulator will in fact do, ``allowed`` for every action
on every resource, whatever policies moto holds for the principal. A simulation that said
``implicitDeny`` for a call the emulator then serves would be wrong about the emulator. As on AWS,
``PolicySourceArn`` must be the ARN of an IAM user, group or role that exists (in the embedded
moto's IAM, for the ARN's account): otherwise ``NoSuchEntity``. Requests are validated against
botocore's model of the operation first; bad input gets IAM's own error shape.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from botocore.model import OperationModel
from moto.iam.exceptions import NotFoundException
from moto.iam.models import iam_backends

from emulator.core.awsjson import load_service_model
from emulator.core.errors import ValidationError
from emulator.core.sigv4 import scope_service
from emulator.core.validation import validate_request
from emulator.edge import error_shapes
from emulator.edge.error_shapes import WireError, WireProtocol
from emulator.edge.gate import read_body

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

ACTION = "SimulatePrincipalPolicy"
IAM_XMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
#: IAM's default page size for the simulation's results (the operation's MaxItems)
DEFAULT_MAX_ITEMS = 100
#: the principals the simulator takes: an IAM user, group or role (not an assumed role nor a service)
_PRINCIPAL_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):iam::(?P<account>\d{12}):(?P<kind>user|group|role)/"
                            r"(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]+)$")
#: the list members of the request, as the query protocol spells them (``ActionNames.member.1``)
_LIST_MEMBERS = ("ActionNames", "ResourceArns", "PolicyInputList", "PermissionsBoundaryPolicyInputList")


@dataclass(frozen=True)
class EvaluationResult:
    """One action's decision on one resource."""

    action: str
    resource: str
    decision: str = "allowed"


@cache
def _operation() -> OperationModel:
    return load_service_model("iam").operation_model(ACTION)


def is_iam_post(environ: dict[str, Any]) -> bool:
    """Whether the request is an IAM query POST (judged before its body is read; SDKs send the query as a POST form)."""
    return (environ.get("REQUEST_METHOD") == "POST"
            and scope_service(environ.get("HTTP_AUTHORIZATION"), environ.get("QUERY_STRING", "")) == "iam")


def query_params(body: bytes, query: str) -> dict[str, str]:
    """The query protocol's parameters: the form body's, then the URL's."""
    pairs = parse_qsl(query, keep_blank_values=True) + parse_qsl(body.decode("utf-8", "replace"),
                                                                 keep_blank_values=True)
    return dict(pairs)


def simulation_request(params: dict[str, str]) -> dict[str, Any]:
    """The operation's input as a JSON-like dict (lists gathered from their ``.member.N`` keys)."""
    request: dict[str, Any] = {}
    for name in ("PolicySourceArn", "ResourcePolicy", "ResourceOwner", "CallerArn", "ResourceHandlingOption",
                 "Marker"):
        if name in params:
            request[name] = params[name]
    if "MaxItems" in params:
        try:
            request["MaxItems"] = int(params["MaxItems"])
        except ValueError:
            raise ValidationError(f"Value '{params['MaxItems']}' at 'maxItems' failed to satisfy constraint: "
                                  "Member must be a number") from None
    for name in _LIST_MEMBERS:
        items = sorted(((int(key.rsplit(".", 1)[1]), value) for key, value in params.items()
                        if key.startswith(f"{name}.member.") and key.rsplit(".", 1)[1].isdigit()))
        if items:
            request[name] = [value for _, value in items]
    return request


def simulate(request: dict[str, Any]) -> list[EvaluationResult]:
    """Every requested action's decision (see the module docstring for the rule)."""
    source = request["PolicySourceArn"]
    principal = _PRINCIPAL_ARN.match(source)
    if principal is None:
        raise InvalidInput(f"Invalid ARN {source!r}: PolicySourceArn must be the ARN of an IAM user, group or role")
    if not principal_exists(principal["partition"], principal["account"], principal["kind"], principal["name"]):
        raise NoSuchEntity(f"The {principal['kind']} with name {principal['name']} cannot be found.")
    actions = request["ActionNames"]
    if not actions:
        raise ValidationError("Value '[]' at 'actionNames' failed to satisfy constraint: "
                              "Member must have length greater than or equal to 1")
    for action in actions:
        if ":" not in action:
            raise InvalidInput(f"Invalid action name {action!r}: it must include the service, as in iam:CreateUser")
    resources = request.get("ResourceArns") or ["*"]
    return [EvaluationResult(action, resource) for action in actions for resource in resources]


def principal_exists(partition: str, account: str, kind: str, name: str) -> bool:
    """Whether the embedded moto's IAM holds this user, group or role."""
    backend = iam_backends[account][partition]
    lookup = {"user": backend.get_user, "group": backend.get_group, "role": backend.get_role}[kind]
    try:
        lookup(name)
    except NotFoundException:
        return False
    return True


class InvalidInput(ValidationError):
    """IAM's ``InvalidInput``: a value the model allows that IAM still refuses."""

    code = "InvalidInput"


class NoSuchEntity(ValidationError):
    """IAM's ``NoSuchEntity`` (HTTP 404): the principal does not exist."""

    code = "NoSuchEntity"
    status = 404


def page(results: list[EvaluationResult], max_items: int, marker: str | None) -> tuple[list[EvaluationResult],
                                                                                        str | None]:
    """One page of results and the marker of the next (the marker is the index to resume at)."""
    start = 0
    if marker is not None:
        if not marker.isdigit() or int(marker) > len(results):
            raise InvalidInput(f"Invalid Marker {marker!r}")
        start = int(marker)
    end = start + max_items
    return results[start:end], (str(end) if end < len(results) else None)


def render_results(results: list[EvaluationResult], next_marker: str | None) -> bytes:
    """The ``SimulatePrincipalPolicyResponse`` document."""
    members = "".join(
        f"<member><EvalActionName>{escape(result.action)}</EvalActionName>"
        f"<EvalResourceName>{escape(result.resource)}</EvalResourceName>"
        f"<EvalDecision>{result.decision}</EvalDecision><MatchedStatements/><MissingContextValues/></member>"
        for result in results)
    marker = f"<Marker>{escape(next_marker)}</Marker>" if next_marker is not None else ""
    truncated = "true" if next_marker is not None else "false"
    return (f'<SimulatePrincipalPolicyResponse xmlns="{IAM_XMLNS}"><SimulatePrincipalPolicyResult>'
            f"<IsTruncated>{truncated}</IsTruncated>{marker}<EvaluationResults>{members}</EvaluationResults>"
            f"</SimulatePrincipalPolicyResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
            f"</ResponseMetadata></SimulatePrincipalPolicyResponse>").encode()


def answer(params: dict[str, str]) -> tuple[int, bytes] | WireError:
    """The status and body for a SimulatePrincipalPolicy call, or the error to send."""
    try:
        request = validate_request(_operation(), simulation_request(params))
        results = simulate(request)
        shown, next_marker = page(results, request.get("MaxItems", DEFAULT_MAX_ITEMS), request.get("Marker"))
    except ValidationError as error:
        code = error.code if isinstance(error, InvalidInput | NoSuchEntity) else "ValidationError"  # IAM's spelling
        return WireError(error.status, code, error.message)
    return 200, render_results(shown, next_marker)


class IamSimulator:
    """Answers IAM ``SimulatePrincipalPolicy``; every other request goes to ``app``.

    Args:
        app: what serves the rest (moto's dispatcher, or a wrapper of it).
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not is_iam_post(environ):
            return self.app(environ, start_response)
        params = query_params(read_body(environ), environ.get("QUERY_STRING", ""))  # the body is put back
        if params.get("Action") != ACTION:
            return self.app(environ, start_response)
        outcome = answer(params)
        if isinstance(outcome, WireError):
            headers, body = error_shapes.render(WireProtocol.QUERY, outcome)
            reason = "Not Found" if outcome.status == 404 else "Bad Request"
            start_response(f"{outcome.status} {reason}", headers + [("Content-Length", str(len(body)))])
            return [body]
        status, body = outcome
        start_response(f"{status} OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(body))),
                                        ("x-amzn-RequestId", str(uuid.uuid4()))])
        return [body]
