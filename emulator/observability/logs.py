"""Ships every job's output lines to CloudWatch Logs in the embedded moto, as SageMaker does.

Group ``/aws/sagemaker/TrainingJobs``, stream ``<job>/algo-<n>-<epoch seconds>``
(https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from emulator.observability.shipper import BatchShipper

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


class CloudWatchLogShipper(BatchShipper):
    """Puts job log lines to CloudWatch Logs in batches.

    Args:
        endpoint_url: the edge endpoint (where moto's CloudWatch Logs answers).
    """

    def __init__(self, endpoint_url: str, flush_interval: float = 0.5) -> None:
        super().__init__(endpoint_url, "logs", flush_interval)
        self._groups: set[tuple[str, str]] = set()
        self._streams: set[StreamKey] = set()

    def write(self, region: str, group: str, stream: str, line: str) -> None:
        if not line:
            return  # CloudWatch Logs refuses empty messages
        self.add(StreamKey(region, group, stream), {"timestamp": int(time.time() * 1000), "message": line})

    def send(self, key: StreamKey, items: list[Any]) -> None:  # type: ignore[override]
        client = self.client(key.region)
        if (key.region, key.group) not in self._groups:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_group(logGroupName=key.group)
            self._groups.add((key.region, key.group))
        if key not in self._streams:
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_log_stream(logGroupName=key.group, logStreamName=key.stream)
            self._streams.add(key)
        for start in range(0, len(items), _BATCH):
            client.put_log_events(logGroupName=key.group, logStreamName=key.stream,
                                  logEvents=items[start : start + _BATCH])
