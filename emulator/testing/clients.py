"""What a test or benchmark calls a running edge with, whichever tier serves it."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import boto3
from botocore.config import Config


class EdgeClients:
    """boto3 clients and ``/_mlharbor`` calls for an edge at ``self.endpoint`` (set by the class using this)."""

    endpoint: str
    region: str = "us-east-1"

    def client(self, service: str, validate: bool = True, **config: Any) -> Any:
        """A boto3 client on the edge; ``validate=False`` lets bad input reach the server."""
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id="testing", aws_secret_access_key="testing",
            config=Config(parameter_validation=validate, retries={"max_attempts": 1}, **config))

    def internal(self, path: str, method: str = "GET") -> bytes:
        """Call mlharbor's own ``/_mlharbor`` API."""
        request = urllib.request.Request(self.endpoint + "/_mlharbor" + path, method=method)
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()

    def artifacts(self, job: str) -> list[dict[str, Any]]:
        return json.loads(self.internal(f"/artifacts?job={job}"))["artifacts"]
