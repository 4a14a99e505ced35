"""Glue job runs as a console kind: each run of every job, named ``<job>~<run id>`` (a run id never holds ``~``).

Runs are read through the Glue backend's own paging (what GetJobs and GetJobRuns answer from) and shown in
the wire's ``JobRun`` shape, plus the members the console's list reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.core.errors import ValidationError

GLUE_RUN_STATES = ("STARTING", "RUNNING", "STOPPING", "SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED", "ERROR")
SEPARATOR = "~"
_PAGE = 1000


@dataclass(frozen=True)
class GlueRunRecord:
    """A run, with the members every listed record has."""

    name: str
    region: str
    status: str
    creation_time: float
    run: Any  # the backend's JobRun


def run_name(job_name: str, run_id: str) -> str:
    return f"{job_name}{SEPARATOR}{run_id}"


def split_run_name(name: str) -> tuple[str, str]:
    job_name, _, run_id = name.rpartition(SEPARATOR)
    if not job_name or not run_id:
        raise ValidationError(f"{name!r} is not <job>{SEPARATOR}<run id>")
    return job_name, run_id


def all_runs(glue: Any, region: str) -> list[GlueRunRecord]:
    found: list[GlueRunRecord] = []
    token: str | None = None
    while True:
        jobs, token = glue.jobs.page(region, _PAGE, token)
        for job in jobs:
            run_token: str | None = None
            while True:
                runs, run_token = glue.runs.page(region, job["Name"], _PAGE, run_token)
                found += [GlueRunRecord(run_name(run.JobName, run.Id), region, run.JobRunState, run.StartedOn, run)
                          for run in runs]
                if not run_token:
                    break
        if not token:
            return found


def run_summary(record: GlueRunRecord) -> dict[str, Any]:
    return with_console_members(record.run.to_wire(), record.name)


def with_console_members(wire: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``JobRun`` shape plus the members a console list reads (``GlueRunName``, ``GlueRunStatus``…)."""
    out = dict(wire)
    out.update(GlueRunName=name, GlueRunStatus=wire["JobRunState"], CreationTime=wire["StartedOn"])
    if wire.get("CompletedOn") is not None:
        out["GlueRunEndTime"] = wire["CompletedOn"]
    return out


def describe_run(glue: Any, region: str, name: str) -> dict[str, Any]:
    job_name, run_id = split_run_name(name)
    return with_console_members(glue.runs.get(region, job_name, run_id).to_wire(), name)


def stop_run(glue: Any, region: str, name: str) -> None:
    job_name, run_id = split_run_name(name)
    _, errors = glue.runs.stop(region, job_name, [run_id])
    if errors:
        raise ValidationError(errors[0].get("ErrorDetail", {}).get("ErrorMessage", "The run could not be stopped."))
