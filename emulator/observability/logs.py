"""Ships every job's output lines to CloudWatch Logs in the embedded moto, as SageMaker does.

Group ``/aws/sagemaker/TrainingJobs``, stream ``<job>/algo-<n>-<epoch seconds>``
(https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html). Lines are
buffered and sent in batches by one background thread, and flushed before a job's final
status is recorded, so a finished job's log is complete when a client sees the status.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import boto3
from botocore.config import Config

log = logging.getLogger(__name__)

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
_BATCH = 5000


@dataclass(frozen=True)
class StreamKey:
    region: str
    group: str
    stream: str


def stream_name(job_name: str, host: str, started: float) -> str:
    """``<job>/algo-1-1700000000``: SageMaker's per-host stream name."""
    return f"{job_name}/{host}-{int(started)}"


class CloudWatchLogShipper:
    """Buffers log lines per stream and puts them to CloudWatch Logs.

    Args:
        endpoint_url: the edge endpoint (where moto's CloudWatch Logs answers).
        flush_interval: seconds between background flushes.
    """

    def __init__(self, endpoint_url: str, flush_interval: float = 0.5) -> None:
        self.endpoint_url = endpoint_url
        self.flush_interval = flush_interval
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._pending: dict[StreamKey, list[dict[str, object]]] = defaultdict(list)
        self._created: set[tuple[str, str]] = set()
        self._created_streams: set[StreamKey] = set()
        self._clients: dict[str, object] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="log-shipper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5)
        self.flush()

    def write(self, region: str, group: str, stream: str, line: str) -> None:
        if not line:
            return  # CloudWatch Logs refuses empty messages
        event = {"timestamp": int(time.time() * 1000), "message": line}
        with self._lock:
            self._pending[StreamKey(region, group, stream)].append(event)

    def flush(self) -> None:
        """Send everything buffered so far (blocking)."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(list)
        with self._send_lock:
            for key, events in pending.items():
                try:
                    self._send(key, events)
                except Exception:  # logs must never take a job down
                    log.exception("could not ship %d log lines to %s", len(events), key.stream)

    def _loop(self) -> None:
        while not self._stop.wait(self.flush_interval):
            self.flush()

    def _client(self, region: str):  # noqa: ANN202 - boto3 client type is dynamic
        client = self._clients.get(region)
        if client is None:
            client = boto3.client(
                "logs",
                region_name=region,
                endpoint_url=self.endpoint_url,
                aws_access_key_id="mlharbor",
                aws_secret_access_key="mlharbor",
                config=Config(retries={"max_attempts": 2}),
            )
            self._clients[region] = client
        return client

    def _send(self, key: StreamKey, events: list[dict[str, object]]) -> None:
        client = self._client(key.region)
        if (key.region, key.group) not in self._created:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=key.group)
            self._created.add((key.region, key.group))
        if key not in self._created_streams:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=key.group, logStreamName=key.stream)
            self._created_streams.add(key)
        for start in range(0, len(events), _BATCH):
            client.put_log_events(
                logGroupName=key.group, logStreamName=key.stream, logEvents=events[start : start + _BATCH]
            )
