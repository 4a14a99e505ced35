"""CloudWatch Logs and CloudWatch metrics survive a restart of ``mlharbor up``, SIGTERM or SIGKILL:
what a training job shipped and what a user put through boto3 themselves."""

from __future__ import annotations

import datetime as dt
import signal
import time
from typing import Any

import pytest

from tests.conftest import RunningHarbor, script_job, start_harbor, wait_for_status

GROUP = "/aws/sagemaker/TrainingJobs"
NAMESPACE = "/aws/sagemaker/TrainingJobs"


def _client(harbor: RunningHarbor, service: str, region: str = "us-east-1") -> Any:
    client = harbor.client(service)
    if region == "us-east-1":
        return client
    import boto3

    return boto3.client(service, endpoint_url=harbor.endpoint, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def _job_stream_events(harbor: RunningHarbor, job: str) -> list[str]:
    logs = harbor.client("logs")
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=job + "/")["logStreams"]
    assert len(streams) == 1
    events = logs.get_log_events(logGroupName=GROUP, logStreamName=streams[0]["logStreamName"],
                                 startFromHead=True)["events"]
    return [event["message"] for event in events]


def _job_loss_points(harbor: RunningHarbor, job: str, around: dt.datetime) -> list[dict[str, Any]]:
    return harbor.client("cloudwatch").get_metric_statistics(
        Namespace=NAMESPACE, MetricName="train:loss", Dimensions=[{"Name": "TrainingJobName", "Value": job}],
        StartTime=around - dt.timedelta(minutes=10), EndTime=around + dt.timedelta(minutes=10), Period=60,
        Statistics=["Minimum", "Maximum", "SampleCount"],
    )["Datapoints"]


def _user_events(harbor: RunningHarbor, group: str, stream: str, region: str = "us-east-1") -> list[tuple[int, str]]:
    events = _client(harbor, "logs", region).get_log_events(logGroupName=group, logStreamName=stream,
                                                              startFromHead=True)["events"]
    return [(event["timestamp"], event["message"]) for event in events]


def _sum_of(harbor: RunningHarbor, namespace: str, metric: str, around: dt.datetime,
            region: str = "us-east-1") -> float:
    points = _client(harbor, "cloudwatch", region).get_metric_statistics(
        Namespace=namespace, MetricName=metric, StartTime=around - dt.timedelta(hours=1),
        EndTime=around + dt.timedelta(hours=1), Period=3600, Statistics=["Sum"],
    )["Datapoints"]
    return sum(point["Sum"] for point in points)


@pytest.mark.slow
def test_job_and_user_logs_and_metrics_survive_sigterm_and_sigkill_restarts(tmp_path):
    data_dir = tmp_path / "data"
    now_ms = int(time.time() * 1000)
    now = dt.datetime.now(dt.UTC)

    first = start_harbor(data_dir)
    try:
        s3 = first.client("s3")
        s3.create_bucket(Bucket="jobs")
        source = "for step in range(4):\n    print(f'step={step} train_loss={1.0 / (step + 1):.4f}')\n"
        request = script_job(s3, "jobs", source)
        request["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "train:loss",
                                                                   "Regex": r"train_loss=([0-9.]+)"}]
        job = request["TrainingJobName"]
        first.client("sagemaker").create_training_job(**request)
        final = wait_for_status(first.client("sagemaker"), job)
        assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
        job_lines = _job_stream_events(first, job)
        assert sum("train_loss=" in line for line in job_lines) == 4
        assert sum(point["SampleCount"] for point in _job_loss_points(first, job, now)) == 4

        # a user's own log group, in two regions, with retention and tags; one stream and one group deleted
        logs = first.client("logs")
        logs.create_log_group(logGroupName="/app/web", tags={"team": "ml"})
        logs.put_retention_policy(logGroupName="/app/web", retentionInDays=30)
        logs.create_log_stream(logGroupName="/app/web", logStreamName="host-1")
        logs.put_log_events(logGroupName="/app/web", logStreamName="host-1",
                            logEvents=[{"timestamp": now_ms, "message": "hello"},
                                       {"timestamp": now_ms + 1, "message": "world"}])
        logs.create_log_stream(logGroupName="/app/web", logStreamName="deleted-stream")
        logs.put_log_events(logGroupName="/app/web", logStreamName="deleted-stream",
                            logEvents=[{"timestamp": now_ms, "message": "gone"}])
        logs.delete_log_stream(logGroupName="/app/web", logStreamName="deleted-stream")
        logs.create_log_group(logGroupName="/app/deleted")
        logs.delete_log_group(logGroupName="/app/deleted")
        europe = _client(first, "logs", "eu-west-1")
        europe.create_log_group(logGroupName="/app/web")
        europe.create_log_stream(logGroupName="/app/web", logStreamName="host-1")
        europe.put_log_events(logGroupName="/app/web", logStreamName="host-1",
                              logEvents=[{"timestamp": now_ms, "message": "bonjour"}])

        # a user's own metrics: a value with a timestamp, one without (moto stamps it), a statistic set
        cloudwatch = first.client("cloudwatch")
        cloudwatch.put_metric_data(Namespace="App", MetricData=[
            {"MetricName": "requests", "Value": 3.0, "Timestamp": now, "Dimensions": [{"Name": "Host", "Value": "h1"}]},
            {"MetricName": "requests", "Value": 4.0},
            {"MetricName": "latency", "StatisticValues": {"Sum": 10.0, "Minimum": 1.0, "Maximum": 6.0,
                                                          "SampleCount": 3.0}, "Unit": "Milliseconds"},
        ])
        _client(first, "cloudwatch", "eu-west-1").put_metric_data(
            Namespace="App", MetricData=[{"MetricName": "requests", "Value": 100.0, "Timestamp": now}])
        cloudwatch.put_metric_alarm(AlarmName="too-slow", Namespace="App", MetricName="latency",
                                    ComparisonOperator="GreaterThanThreshold", EvaluationPeriods=1, Period=60,
                                    Threshold=5.0, Statistic="Maximum")
        cloudwatch.put_metric_alarm(AlarmName="deleted-alarm", Namespace="App", MetricName="latency",
                                    ComparisonOperator="GreaterThanThreshold", EvaluationPeriods=1, Period=60,
                                    Threshold=5.0, Statistic="Maximum")
        cloudwatch.delete_alarms(AlarmNames=["deleted-alarm"])
    finally:
        assert first.kill(signal.SIGTERM) == 0

    def check_everything(harbor: RunningHarbor, later_events: list[tuple[int, str]], requests: float) -> None:
        assert _job_stream_events(harbor, job) == job_lines
        points = _job_loss_points(harbor, job, now)
        assert sum(point["SampleCount"] for point in points) == 4
        assert min(point["Minimum"] for point in points) == 0.25
        logs = harbor.client("logs")
        groups = {group["logGroupName"]: group for group in logs.describe_log_groups(logGroupNamePrefix="/app/")
                  ["logGroups"]}
        assert set(groups) == {"/app/web"} and groups["/app/web"]["retentionInDays"] == 30
        assert logs.list_tags_log_group(logGroupName="/app/web")["tags"] == {"team": "ml"}
        streams = logs.describe_log_streams(logGroupName="/app/web")["logStreams"]
        assert [stream["logStreamName"] for stream in streams] == ["host-1"]
        assert _user_events(harbor, "/app/web", "host-1") == [(now_ms, "hello"), (now_ms + 1, "world"), *later_events]
        assert _user_events(harbor, "/app/web", "host-1", "eu-west-1") == [(now_ms, "bonjour")]
        assert _sum_of(harbor, "App", "requests", now) == requests
        assert _sum_of(harbor, "App", "latency", now) == 10.0
        assert _sum_of(harbor, "App", "requests", now, "eu-west-1") == 100.0
        listed = harbor.client("cloudwatch").list_metrics(Namespace=NAMESPACE)["Metrics"]
        assert {"Name": "TrainingJobName", "Value": job} in [d for m in listed for d in m["Dimensions"]]
        alarms = harbor.client("cloudwatch").describe_alarms()["MetricAlarms"]
        assert [(alarm["AlarmName"], alarm["Threshold"]) for alarm in alarms] == [("too-slow", 5.0)]

    second = start_harbor(data_dir)
    try:
        check_everything(second, [], 7.0)
        # more after the first restart: an appended event and a new point must survive the SIGKILL too
        second.client("logs").put_log_events(logGroupName="/app/web", logStreamName="host-1",
                                             logEvents=[{"timestamp": now_ms + 2, "message": "again"}])
        second.client("cloudwatch").put_metric_data(
            Namespace="App", MetricData=[{"MetricName": "requests", "Value": 5.0, "Timestamp": now}])
    finally:
        second.kill(signal.SIGKILL)

    third = start_harbor(data_dir)
    try:
        check_everything(third, [(now_ms + 2, "again")], 12.0)
        third.client("logs").delete_log_group(logGroupName="/app/web")
        assert third.client("logs").describe_log_groups(logGroupNamePrefix="/app/")["logGroups"] == []
    finally:
        third.kill(signal.SIGKILL)

    fourth = start_harbor(data_dir)
    try:
        assert fourth.client("logs").describe_log_groups(logGroupNamePrefix="/app/")["logGroups"] == []
        assert _job_stream_events(fourth, job) == job_lines
    finally:
        fourth.kill()


def test_the_store_drops_what_cloudwatch_would_no_longer_hold(tmp_path):
    """Bounded growth: events past their group's retention and metric points past 15 months go at open."""
    from emulator.observability.durable_store import (
        METRIC_RETENTION_SECONDS,
        LogEventRow,
        LogGroupRow,
        LogStreamRow,
        MetricRow,
        ObservabilityStore,
        Scope,
    )

    store = ObservabilityStore(tmp_path / "observability.sqlite3")
    scope = Scope("123456789012", "us-east-1")
    now = 2_000_000_000.0
    day_ms = 86_400_000
    store.put_log_group(LogGroupRow(scope, "kept-a-week", created=0, retention_days=7))
    store.put_log_group(LogGroupRow(scope, "kept-forever", created=0))
    for group in ("kept-a-week", "kept-forever"):
        stream = LogStreamRow(scope, group, "s", created=0)
        store.append_log_events(stream, [LogEventRow(int(now * 1000) - 8 * day_ms, 0, "old"),
                                         LogEventRow(int(now * 1000) - day_ms, 0, "new")])
    store.append_metrics([MetricRow(scope, "App", "m", [], now - METRIC_RETENTION_SECONDS - 1, value=1.0),
                          MetricRow(scope, "App", "m", [], now - 60, value=2.0)])
    assert store.expire(now) == 2
    assert [event.message for event in store.log_events(scope, "kept-a-week", "s")] == ["new"]
    assert [event.message for event in store.log_events(scope, "kept-forever", "s")] == ["old", "new"]
    assert [row.value for row in store.metrics()] == [2.0]
    store.delete_log_group(scope, "kept-forever")
    assert store.log_events(scope, "kept-forever", "s") == [] and len(store.log_streams()) == 1
    store.close()


@pytest.mark.slow
def test_a_moto_reset_is_not_undone_by_a_restart(tmp_path):
    import urllib.request

    data_dir = tmp_path / "data"
    first = start_harbor(data_dir)
    try:
        first.client("logs").create_log_group(logGroupName="/app/reset-me")
        first.client("cloudwatch").put_metric_data(Namespace="App", MetricData=[{"MetricName": "m", "Value": 1.0}])
        reset = urllib.request.Request(first.endpoint + "/moto-api/reset", method="POST")
        with urllib.request.urlopen(reset, timeout=30) as response:
            assert response.status == 200
        assert first.client("logs").describe_log_groups(logGroupNamePrefix="/app/")["logGroups"] == []
    finally:
        first.kill(signal.SIGKILL)

    second = start_harbor(data_dir)
    try:
        assert second.client("logs").describe_log_groups(logGroupNamePrefix="/app/")["logGroups"] == []
        assert second.client("cloudwatch").list_metrics(Namespace="App")["Metrics"] == []
    finally:
        second.kill()
