"""boto3 objects wired to the local edge endpoint.

The endpoint is, in order: the ``endpoint_url`` argument, ``AWS_ENDPOINT_URL``, the
default ``http://127.0.0.1:4600``. Credentials are whatever the environment has, else
dummy ones: mlharbor accepts any. Drop ``endpoint_url`` (and this module) to run the same
code against AWS.
"""

from __future__ import annotations

import os

import boto3

DEFAULT_ENDPOINT = "http://127.0.0.1:4600"
DEFAULT_REGION = "us-east-1"


def endpoint_url(explicit: str | None = None) -> str:
    """Where the edge endpoint is: argument, then ``AWS_ENDPOINT_URL``, then the default."""
    return explicit or os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_ENDPOINT


def session(region: str | None = None) -> boto3.Session:
    """A boto3 session with a region and (dummy if missing) credentials."""
    region = region or os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION
    base = boto3.Session(region_name=region)
    if base.get_credentials() is not None:
        return base
    return boto3.Session(region_name=region, aws_access_key_id="mlharbor", aws_secret_access_key="mlharbor")


def client(service: str, endpoint: str | None = None, region: str | None = None):  # noqa: ANN201
    """``boto3.client(service)`` pointed at the local edge endpoint."""
    return session(region).client(service, endpoint_url=endpoint_url(endpoint))
