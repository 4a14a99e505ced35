"""``Neptune#ml.endpoint`` and ``Neptune#ml.iamRoleArn`` values: the endpoint name they stand for.

Neptune takes an ML endpoint id (which names its SageMaker endpoint) or the endpoint's runtime URL
(``https://runtime.sagemaker.<region>.amazonaws.com/endpoints/<name>/invocations``); an endpoint ARN is
taken as well.
"""

from __future__ import annotations

import re

from emulator.services.neptune.errors import InvalidParameter
from emulator.services.neptune.gremlin.ml.options import BAD_ENDPOINT, BAD_ROLE

#: SageMaker's EndpointName pattern
ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")
ENDPOINT_ARN = re.compile(r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:endpoint/(?P<name>[^/]+)")
ENDPOINT_URL = re.compile(r"https?://[^/\s]+/endpoints/(?P<name>[^/\s]+)/invocations/?")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")


def endpoint_name(value: str) -> str:
    """The SageMaker endpoint a ``Neptune#ml.endpoint`` value names.

    Raises:
        InvalidParameter: not an endpoint id, ARN or invocation URL (Neptune's text).
    """
    text = value.strip()
    for form in (ENDPOINT_ARN, ENDPOINT_URL):
        match = form.fullmatch(text)
        if match:
            text = match.group("name")
            break
    if not ENDPOINT_NAME.fullmatch(text):
        raise InvalidParameter(BAD_ENDPOINT)
    return text


def check_role_arn(value: str | None) -> None:
    """Raises InvalidParameter (Neptune's text) unless ``value`` is an IAM role ARN or absent."""
    if value is not None and not ROLE_ARN.fullmatch(value):
        raise InvalidParameter(BAD_ROLE)
