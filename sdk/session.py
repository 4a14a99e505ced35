"""boto3 objects wired to the local edge endpoint.

The endpoint is, in order: the ``endpoint_url`` argument, ``AWS_ENDPOINT_URL``, the
default ``http://127.0.0.1:4600``. Credentials are whatever the environment has, else
dummy ones: mlharbor accepts any. Drop ``endpoint_url`` (and this module) to run the same
code against AWS.
"""

from __future__ import annotations

import os
from typing import Any

import boto3

DEFAULT_ENDPOINT = "http://127.0.0.1:4600"
DEFAULT_REGION = "us-east-1"


def endpoint_url(explicit: str | None = None) -> str:
    """Where the edge endpoint is: argument, then ``AWS_ENDPOINT_URL``, then the default."""
    return explicit or os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT


class LocalSession(boto3.Session):
    """A boto3 session whose clients and resources default to the local edge endpoint.

    Args:
        endpoint: the edge endpoint URL.
        **kwargs: passed to :class:`boto3.Session`.
    """

    def __init__(self, endpoint: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("endpoint_url", self.endpoint)
        return super().client(*args, **kwargs)

    def resource(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("endpoint_url", self.endpoint)
        return super().resource(*args, **kwargs)


def session(region: str | None = None, endpoint: str | None = None,
            session_class: type[LocalSession] = LocalSession) -> LocalSession:
    """A boto3 session on the local edge, with a region and (dummy if missing) credentials.

    Args:
        session_class: the :class:`LocalSession` kind to make (``sdk.sagemaker_v3`` makes a stricter one).
    """
    region = region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION
    local = session_class(endpoint_url(endpoint), region_name=region)
    if local.get_credentials() is not None:
        return local
    return session_class(
        endpoint_url(endpoint), region_name=region, aws_access_key_id="mlharbor", aws_secret_access_key="mlharbor"
    )


def client(service: str, endpoint: str | None = None, region: str | None = None) -> Any:
    """``boto3.client(service)`` pointed at the local edge endpoint."""
    return session(region, endpoint).client(service)
