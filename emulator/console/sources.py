"""A job's log lines and metric points, read in process from the CloudWatch Logs and CloudWatch
backends the edge serves (the same state ``GetLogEvents`` and ``GetMetricData`` answer from).

Log lines are read by a cursor (how many events of each stream were seen) so a live view gets only
what is new; metric points come as one series per metric name, oldest first.
"""

from __future__ import annotations

import bisect
import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from moto.cloudwatch.models import cloudwatch_backends
from moto.logs.models import logs_backends

from emulator.observability.logs import TRAINING_LOG_GROUP
from emulator.observability.metrics import NAMESPACE as TRAINING_METRICS_NAMESPACE


@dataclass(frozen=True)
class LogLine:
    stream: str
    timestamp_ms: int
    message: str


@dataclass
class LogCursor:
    """How many events of each stream a reader has seen; travels as an SSE event id."""

    seen: dict[str, int] = field(default_factory=dict)

    def encode(self) -> str:
        return ";".join(f"{quote(stream, safe='')}={count}" for stream, count in sorted(self.seen.items()))

    @classmethod
    def decode(cls, text: str | None) -> LogCursor:
        seen: dict[str, int] = {}
        for part in (text or "").split(";"):
            stream, _, count = part.rpartition("=")
            if stream and count.isdigit():
                seen[unquote(stream)] = int(count)
        return cls(seen)


def read_new_lines(account: str, region: str, job_name: str, cursor: LogCursor,
                   group: str = TRAINING_LOG_GROUP, limit: int = 5000,
                   stream_prefix: str | None = None) -> list[LogLine]:
    """Lines of the job's streams (``<job>/…``, or ``stream_prefix…``) not yet seen by ``cursor``, advancing it."""
    prefix = job_name + "/" if stream_prefix is None else stream_prefix
    backend = logs_backends[account][region]
    log_group = backend.groups.get(group)
    if log_group is None:
        return []
    found: list[LogLine] = []
    for name, stream in sorted(log_group.streams.items()):
        if not name.startswith(prefix):
            continue
        start = cursor.seen.get(name, 0)
        events = stream.events[start:start + max(0, limit - len(found))]  # a slice: a copy, safe to iterate
        found.extend(LogLine(name, int(event.timestamp), event.message) for event in events)
        cursor.seen[name] = start + len(events)
    found.sort(key=lambda line: line.timestamp_ms)
    return found


class MetricIndex:
    """Each viewed job's metric series, kept up to date by reading only the CloudWatch points added since
    the last look (moto appends points to one list per region), so a chart polling a job with 100,000
    values costs what is new, not the whole history.

    Args:
        jobs_kept: how many jobs' series are kept (least recently viewed dropped first).
    """

    def __init__(self, jobs_kept: int = 32, namespace: str = TRAINING_METRICS_NAMESPACE) -> None:
        self.jobs_kept = jobs_kept
        self.namespace = namespace
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, str, str], tuple[int, dict[str, list[tuple[float, float]]]]] = \
            OrderedDict()

    def series(self, account: str, region: str, job_name: str,
               after: float | None = None) -> dict[str, list[tuple[float, float]]]:
        """The job's points (name → ``[(epoch seconds, value)]``, oldest first), only those after ``after``."""
        data = cloudwatch_backends[account][region].metric_data
        key = (account, region, job_name)
        with self._lock:
            scanned, series = self._seen.pop(key, (0, {}))
            if scanned > len(data):  # the backend was reset: start again
                scanned, series = 0, {}
            for datum in data[scanned:]:
                if datum.namespace != self.namespace or not hasattr(datum, "value"):
                    continue
                if not any(d.name == "TrainingJobName" and d.value == job_name for d in datum.dimensions):
                    continue
                points = series.setdefault(datum.name, [])
                point = (_epoch(datum.timestamp), float(datum.value))
                if points and point < points[-1]:
                    bisect.insort(points, point)
                else:
                    points.append(point)
            self._seen[key] = (len(data), series)
            while len(self._seen) > self.jobs_kept:
                self._seen.popitem(last=False)
            if after is None:
                return {name: list(points) for name, points in series.items()}
            return {name: points[bisect.bisect_right(points, (after, float("inf"))):]
                    for name, points in series.items()}


def _epoch(timestamp: dt.datetime) -> float:
    if timestamp.tzinfo is None:  # moto keeps naive UTC
        timestamp = timestamp.replace(tzinfo=dt.UTC)
    return timestamp.timestamp()
