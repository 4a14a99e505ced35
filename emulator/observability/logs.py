"""Ships every job's output lines to CloudWatch Logs in the embedded moto, as SageMaker does.

Group ``/aws/sagemaker/TrainingJobs``, stream ``<job>/algo-<n>-<epoch seconds>``
(https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html). CloudWatch Logs'
limits hold (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html):
a longer message than one event may carry is sent as several events, and a batch stays within
PutLogEvents' size and count.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

from emulator.observability.shipper import BatchShipper

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
#: an event's size is its message's UTF-8 bytes plus 26; at most 256 KiB
EVENT_OVERHEAD_BYTES = 26
MAX_MESSAGE_BYTES = 256 * 1024 - EVENT_OVERHEAD_BYTES
#: one PutLogEvents call: at most 1 MiB of events (sizes as above) and 10,000 of them
MAX_BATCH_BYTES = 1024 * 1024
MAX_BATCH_EVENTS = 10_000


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
        key, timestamp = StreamKey(region, group, stream), int(time.time() * 1000)
        for piece in split_message(line):
            self.add(key, {"timestamp": timestamp, "message": piece}, size=len(piece))

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
        for batch in batches(items):
            client.put_log_events(logGroupName=key.group, logStreamName=key.stream, logEvents=batch)


def split_message(text: str, max_bytes: int = MAX_MESSAGE_BYTES) -> list[str]:
    """``text`` as messages of at most ``max_bytes`` UTF-8 bytes each, cut between characters."""
    if len(text) * 4 <= max_bytes:  # no character is longer than 4 bytes: short enough as it is
        return [text]
    raw = text.encode(errors="replace")
    pieces = []
    while len(raw) > max_bytes:
        cut = max_bytes
        while raw[cut] & 0xC0 == 0x80:  # a continuation byte: the character began before
            cut -= 1
        pieces.append(raw[:cut].decode())
        raw = raw[cut:]
    pieces.append(raw.decode())
    return pieces


def batches(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """``events`` in order, cut into PutLogEvents batches within its size and count limits."""
    found: list[list[dict[str, Any]]] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        event_size = len(event["message"].encode(errors="replace")) + EVENT_OVERHEAD_BYTES
        if batch and (size + event_size > MAX_BATCH_BYTES or len(batch) == MAX_BATCH_EVENTS):
            found.append(batch)
            batch, size = [], 0
        batch.append(event)
        size += event_size
    if batch:
        found.append(batch)
    return found
