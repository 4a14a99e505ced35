"""Training metrics from log lines: ``MetricDefinitions`` regexes, as SageMaker applies them.

Each definition's regex is searched in every line a job writes; its first group (or the whole
match) is the value. The last value of each metric is the job's ``FinalMetricDataList``; every
value also goes to CloudWatch metrics, namespace ``/aws/sagemaker/TrainingJobs``, dimension
``TrainingJobName`` (https://docs.aws.amazon.com/sagemaker/latest/dg/training-metrics.html).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from emulator.core.errors import ValidationError
from emulator.observability.shipper import BatchShipper

NAMESPACE = "/aws/sagemaker/TrainingJobs"
_BATCH = 500


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    pattern: re.Pattern[str]


def compile_definitions(definitions: list[dict[str, str]] | None) -> list[MetricDefinition]:
    """The request's ``MetricDefinitions``, compiled.

    Raises:
        ValidationError: a regex does not compile.
    """
    compiled = []
    for definition in definitions or []:
        try:
            compiled.append(MetricDefinition(definition["Name"], re.compile(definition["Regex"])))
        except re.error as error:
            name = definition["Name"]
            raise ValidationError(
                f"MetricDefinitions: the Regex of metric {name!r} is not a valid regular expression: {error}"
            ) from None
    return compiled


def extract(definitions: list[MetricDefinition], line: str) -> list[tuple[str, float]]:
    """Every (metric, value) that ``line`` reports."""
    found = []
    for definition in definitions:
        match = definition.pattern.search(line)
        if match is None:
            continue
        text = match.group(1) if match.groups() else match.group(0)
        try:
            found.append((definition.name, float(text)))
        except (TypeError, ValueError):
            continue  # a regex that matched something that is not a number reports nothing
    return found


class CloudWatchMetricShipper(BatchShipper):
    """Puts metric points to CloudWatch in batches, one batch per (region, job)."""

    def __init__(self, endpoint_url: str, flush_interval: float = 1.0) -> None:
        super().__init__(endpoint_url, "cloudwatch", flush_interval)

    def write(self, region: str, job_name: str, metric: str, value: float, timestamp: float) -> None:
        self.add((region, job_name), {
            "MetricName": metric,
            "Dimensions": [{"Name": "TrainingJobName", "Value": job_name}],
            "Value": value,
            "Timestamp": dt.datetime.fromtimestamp(timestamp, dt.UTC),
        })

    def send(self, key: tuple[str, str], items: list[Any]) -> None:  # type: ignore[override]
        client = self.client(key[0])
        for start in range(0, len(items), _BATCH):
            client.put_metric_data(Namespace=NAMESPACE, MetricData=items[start : start + _BATCH])
