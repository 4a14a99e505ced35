"""The kinds of job the console lists, each described once: where its records are, how a row and a
description are made, how it is stopped. A new kind is one more :class:`JobKind` in :func:`job_kinds`.

Rows and descriptions come from the same summary and Describe functions the API answers with, so a
page and ``Describe*`` never disagree.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.console import glue_runs
from emulator.console.listing import Row
from emulator.services.sagemaker import endpoint_responses, responses, transform_responses, tuning_responses
from emulator.services.sagemaker.plane import ControlPlane

JOB_STATUSES = ("InProgress", "Stopping", "Completed", "Failed", "Stopped")
ENDPOINT_STATUSES = ("Creating", "Updating", "InService", "Deleting", "Failed")


@dataclass(frozen=True)
class JobKind:
    """One kind of job as the console shows it.

    Args:
        slug: the URL segment (``training-jobs``).
        title: the page title (``Training jobs``).
        records: every record of the kind, all regions (from the control plane, in process).
        summary: the API's list summary of a record.
        describe: the API's Describe answer for ``(region, name)``.
        stop: the API's Stop call for ``(region, name)``; ``None`` when the kind cannot be stopped.
        prefix: the kind's member prefix in the wire shapes (``TrainingJob`` → ``TrainingJobStatus``).
        end_member: the wire member holding the end time (``None``: the kind has no end).
        statuses: the statuses a list can filter by.
    """

    slug: str
    title: str
    records: Callable[[], list[Any]]
    summary: Callable[[Any], dict[str, Any]]
    describe: Callable[[str, str], dict[str, Any]]
    stop: Callable[[str, str], None] | None
    prefix: str
    end_member: str | None
    statuses: tuple[str, ...] = JOB_STATUSES

    def row(self, record: Any, now: float | None = None) -> Row:
        summary = self.summary(record)
        created = float(summary["CreationTime"])
        end = summary.get(self.end_member) if self.end_member else None
        status = summary[f"{self.prefix}Status"]
        if self.end_member is None:
            duration: float | None = None
        elif end is not None:
            duration = float(end) - created
        elif status in ("InProgress", "Stopping"):
            duration = (now or time.time()) - created
        else:
            duration = None
        return Row(name=summary[f"{self.prefix}Name"], status=status, created=created, duration=duration,
                   secondary=summary.get("SecondaryStatus", ""), extra={"region": record.region})

    def rows(self) -> list[Row]:
        now = time.time()
        return [self.row(record, now) for record in self.records()]

    def counts(self) -> dict[str, int]:
        return dict(Counter(record.status for record in self.records()))


def job_kinds(control: ControlPlane, glue: Any | None = None) -> dict[str, JobKind]:
    """The listed kinds, by slug (Glue runs when ``glue``, Glue's backend, is given)."""
    training, processing, transforms, tuning = control.training, control.processing, control.transforms, control.tuning

    def trial_finder(region: str) -> Callable[[str], Any]:
        return lambda name: training.jobs.find((region, name))
    kinds = [
        JobKind("training-jobs", "Training jobs", training.jobs.all, responses.training_job_summary,
                lambda region, name: responses.describe_training_job_output(
                    training.describe_training_job(region, name)),
                training.stop_training_job, "TrainingJob", "TrainingEndTime"),
        JobKind("processing-jobs", "Processing jobs", processing.jobs.all, responses.processing_job_summary,
                lambda region, name: responses.describe_processing_job_output(
                    processing.describe_processing_job(region, name)),
                processing.stop_processing_job, "ProcessingJob", "ProcessingEndTime"),
        JobKind("transform-jobs", "Transform jobs", transforms.jobs.all, transform_responses.transform_job_summary,
                lambda region, name: transform_responses.describe_transform_job_output(
                    transforms.describe_transform_job(region, name)),
                transforms.stop_transform_job, "TransformJob", "TransformEndTime"),
        JobKind("tuning-jobs", "Tuning jobs", tuning.jobs.all,
                lambda job: tuning_responses.tuning_job_summary(job, trial_finder(job.region)),
                lambda region, name: tuning_responses.describe_tuning_job_output(
                    tuning.describe_hyper_parameter_tuning_job(region, name), trial_finder(region), tuning),
                tuning.stop_hyper_parameter_tuning_job, "HyperParameterTuningJob", "HyperParameterTuningEndTime"),
        JobKind("endpoints", "Endpoints", control.endpoints.endpoints.all, endpoint_responses.endpoint_summary,
                lambda region, name: endpoint_responses.describe_endpoint_output(
                    control.endpoints.describe_endpoint(region, name)),
                None, "Endpoint", None, ENDPOINT_STATUSES),
    ]
    if glue is not None:
        region = control.config["region"]
        kinds.append(JobKind("glue-runs", "Glue job runs", lambda: glue_runs.all_runs(glue, region),
                             glue_runs.run_summary,
                             lambda run_region, name: glue_runs.describe_run(glue, run_region, name),
                             lambda run_region, name: glue_runs.stop_run(glue, run_region, name),
                             "GlueRun", "GlueRunEndTime", glue_runs.GLUE_RUN_STATES))
    return {kind.slug: kind for kind in kinds}


def overview_counts(control: ControlPlane, glue: Any | None) -> dict[str, dict[str, int]]:
    """Counts by status for every kind of job mlharbor runs (and endpoints), for the overview."""
    return {kind.title: kind.counts() for kind in job_kinds(control, glue).values()}
