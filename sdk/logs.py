"""Reading a job's log lines from CloudWatch Logs, once or following as they arrive."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class LogTail:
    """Remembers how far each of a job's streams has been read.

    Args:
        logs: a boto3 ``logs`` client.
        job_name: the job whose streams (``<job>/algo-…``) to read.
        group: the log group.
    """

    def __init__(self, logs: Any, job_name: str, group: str = TRAINING_LOG_GROUP) -> None:
        self.logs = logs
        self.job_name = job_name
        self.group = group
        self._tokens: dict[str, str | None] = {}

    def read_new(self) -> list[tuple[str, str]]:
        """Lines written since the last call, as (stream, message), oldest stream first."""
        out: list[tuple[str, str]] = []
        for stream in self._streams():
            while True:
                kwargs: dict[str, Any] = {
                    "logGroupName": self.group,
                    "logStreamName": stream,
                    "startFromHead": True,
                }
                if self._tokens.get(stream):
                    kwargs["nextToken"] = self._tokens[stream]
                page = self.logs.get_log_events(**kwargs)
                out.extend((stream, event["message"]) for event in page["events"])
                finished = page.get("nextForwardToken") == self._tokens.get(stream) or not page["events"]
                self._tokens[stream] = page.get("nextForwardToken")
                if finished:
                    break
        return out

    def _streams(self) -> list[str]:
        try:
            found = self.logs.describe_log_streams(logGroupName=self.group, logStreamNamePrefix=self.job_name + "/")
        except self.logs.exceptions.ResourceNotFoundException:
            return []
        return sorted(stream["logStreamName"] for stream in found.get("logStreams", []))


def follow(
    tail: LogTail, is_finished: Callable[[], bool], poll_seconds: float = 1.0
) -> Iterator[tuple[str, str]]:
    """Yield lines as they arrive until ``is_finished()`` and nothing more is left."""
    while True:
        finished = is_finished()
        yield from tail.read_new()
        if finished:
            return
        time.sleep(poll_seconds)
