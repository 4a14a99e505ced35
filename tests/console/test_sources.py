"""The console's metric index reads only what CloudWatch gained since the last look, and answers ``after``."""

from __future__ import annotations

import datetime as dt
import uuid

from moto.cloudwatch.models import cloudwatch_backends

from emulator.console.sources import LogCursor, MetricIndex

ACCOUNT, REGION = "123456789012", "eu-west-3"


def put(job: str, metric: str, start: int, count: int) -> None:
    cloudwatch_backends[ACCOUNT][REGION].put_metric_data("/aws/sagemaker/TrainingJobs", [
        {"MetricName": metric, "Dimensions": [{"Name": "TrainingJobName", "Value": job}],
         "Timestamp": dt.datetime.fromtimestamp(1_700_000_000 + i, dt.UTC), "Value": float(i)}
        for i in range(start, start + count)])


def test_new_points_are_added_and_after_returns_only_those() -> None:
    job, other = f"j-{uuid.uuid4().hex[:6]}", f"k-{uuid.uuid4().hex[:6]}"
    index = MetricIndex()
    put(job, "loss", 0, 5)
    put(other, "loss", 0, 3)  # another job's points are not this job's
    first = index.series(ACCOUNT, REGION, job)
    assert [v for _, v in first["loss"]] == [0, 1, 2, 3, 4]
    put(job, "loss", 5, 3)
    put(job, "acc", 0, 2)
    newer = index.series(ACCOUNT, REGION, job, after=first["loss"][-1][0])
    assert [v for _, v in newer["loss"]] == [5, 6, 7]
    assert len(index.series(ACCOUNT, REGION, job)["loss"]) == 8
    put(job, "loss", 2, 1)  # a late point with an old timestamp lands in time order
    assert [v for _, v in index.series(ACCOUNT, REGION, job)["loss"]][:4] == [0, 1, 2, 2]


def test_a_log_cursor_round_trips_through_its_event_id() -> None:
    cursor = LogCursor({"job/algo-1-17": 12, "job/algo-2;=x": 3})
    assert LogCursor.decode(cursor.encode()).seen == cursor.seen
    assert LogCursor.decode("garbage;=;x=y").seen == {}
