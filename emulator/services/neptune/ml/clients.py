"""boto3 clients the orchestration calls SageMaker and S3 with: the edge, signed with the internal key."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from emulator.core.credentials import internal_key


class EdgeClients:
    """One SageMaker and one S3 client on the edge URL, made on first use (thread-safe once made)."""

    def __init__(self, endpoint_url: str | None, region: str) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                key = internal_key()
                self._clients[service] = boto3.client(
                    service, endpoint_url=self.endpoint_url, region_name=self.region,
                    aws_access_key_id=key.access_key_id, aws_secret_access_key=key.secret_access_key,
                    config=Config(retries={"max_attempts": 3}))
            return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self._client("sagemaker")

    @property
    def s3(self) -> Any:
        return self._client("s3")
