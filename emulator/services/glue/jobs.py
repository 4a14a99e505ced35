"""Glue job definitions: CreateJob, GetJob(s), UpdateJob, DeleteJob, ListJobs, BatchGetJobs (no HTTP here).

A job is stored as the API's ``Job`` shape (https://docs.aws.amazon.com/glue/latest/webapi/API_Job.html)
with Glue's defaults filled in at creation, so GetJob answers what AWS answers.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from typing import Any

from emulator.core.paging import cut
from emulator.services.glue.exceptions import AlreadyExistsError, EntityNotFoundError, InvalidInputError
from emulator.services.glue.records import (
    DEFAULT_GLUE_VERSION,
    DEFAULT_TIMEOUT_MINUTES,
    JOB_TYPES,
    capacity_for,
)
from emulator.services.glue.store import JOB, GlueStore

#: the ``Job`` members a CreateJob or UpdateJob request sets as given
_DEFINITION_MEMBERS = (
    "Description", "LogUri", "Role", "ExecutionProperty", "Command", "DefaultArguments", "NonOverridableArguments",
    "Connections", "MaxRetries", "Timeout", "SecurityConfiguration", "NotificationProperty", "GlueVersion",
    "ExecutionClass", "JobMode", "JobRunQueuingEnabled", "SourceControlDetails", "MaintenanceWindow",
)
#: kept beside the definition but not part of the ``Job`` shape
_TAGS = "_Tags"


def definition(params: dict[str, Any]) -> dict[str, Any]:
    """A ``Job`` from a CreateJob request or a ``JobUpdate``, defaults filled in and checked as Glue checks.

    Raises:
        InvalidInputError: an unknown command, a script that is not in S3, capacity members Glue refuses.
    """
    job = {key: copy.deepcopy(params[key]) for key in _DEFINITION_MEMBERS if key in params}
    command = job.get("Command") or {}
    job_type = command.get("Name", "")
    if job_type not in JOB_TYPES:
        raise InvalidInputError(f"Command name {job_type!r} is not supported by mlharbor; "
                                f"supported: {', '.join(JOB_TYPES)}.")
    script = command.get("ScriptLocation", "")
    if not script.startswith("s3://") or len(script) <= len("s3://"):
        raise InvalidInputError(f"Command.ScriptLocation must be an s3:// URI of the script, not {script!r}.")
    if job_type == "pythonshell":
        command.setdefault("PythonVersion", "3.9")
    else:
        command.setdefault("PythonVersion", "3")
    max_capacity = params.get("MaxCapacity")
    if "AllocatedCapacity" in params:  # deprecated: the older name of MaxCapacity
        if max_capacity is not None:
            raise InvalidInputError("Please set only Allocated Capacity or Max Capacity.")
        max_capacity = float(params["AllocatedCapacity"])
    capacity = capacity_for(job_type, params.get("WorkerType"), params.get("NumberOfWorkers"), max_capacity)
    if capacity.worker_type is not None:
        job["WorkerType"], job["NumberOfWorkers"] = capacity.worker_type, capacity.number_of_workers
    job["MaxCapacity"] = capacity.max_capacity
    job["AllocatedCapacity"] = int(capacity.max_capacity)
    job.setdefault("ExecutionProperty", {})
    job["ExecutionProperty"].setdefault("MaxConcurrentRuns", 1)
    if job["ExecutionProperty"]["MaxConcurrentRuns"] < 1:
        raise InvalidInputError("ExecutionProperty.MaxConcurrentRuns must be at least 1.")
    job.setdefault("Timeout", DEFAULT_TIMEOUT_MINUTES)
    job.setdefault("MaxRetries", 0)
    job.setdefault("GlueVersion", DEFAULT_GLUE_VERSION)
    job.setdefault("ExecutionClass", "STANDARD")
    job.setdefault("JobMode", "SCRIPT")
    job.setdefault("DefaultArguments", {})
    return job


def public(job: dict[str, Any]) -> dict[str, Any]:
    """The ``Job`` shape of a stored job."""
    return {key: value for key, value in job.items() if not key.startswith("_")}


class JobDefinitions:
    """The jobs of every region, in the store.

    Args:
        store: the Glue store.
        on_delete: called with ``(region, name)`` after a job is deleted (its runs and bookmark go too).
    """

    def __init__(self, store: GlueStore, on_delete: Callable[[str, str], None] | None = None) -> None:
        self.store = store
        self.on_delete = on_delete
        self._lock = threading.Lock()

    def create(self, region: str, params: dict[str, Any]) -> str:
        job = definition(params)
        name = params["Name"]
        now = time.time()
        job.update(Name=name, CreatedOn=now, LastModifiedOn=now)
        job[_TAGS] = dict(params.get("Tags") or {})
        with self._lock:
            if self.store.get(JOB, region, "", name) is not None:
                raise AlreadyExistsError(f"Job with name {name} already exists")
            self.store.put(JOB, region, "", name, now, job)
        return name

    def get(self, region: str, name: str) -> dict[str, Any]:
        job = self.store.get(JOB, region, "", name)
        if job is None:
            raise EntityNotFoundError(f"Job with name {name} not found")
        return job

    def find(self, region: str, name: str) -> dict[str, Any] | None:
        return self.store.get(JOB, region, "", name)

    def update(self, region: str, name: str, update: dict[str, Any]) -> str:
        """UpdateJob: the ``JobUpdate`` replaces the definition (members it leaves out get their defaults)."""
        with self._lock:
            old = self.get(region, name)
            job = definition(update)
            job.update(Name=name, CreatedOn=old["CreatedOn"], LastModifiedOn=time.time(), _Tags=old.get(_TAGS, {}))
            self.store.put(JOB, region, "", name, old["CreatedOn"], job)
        return name

    def delete(self, region: str, name: str) -> str:
        """DeleteJob: a job that does not exist is no error (AWS answers its name either way)."""
        with self._lock:
            self.store.delete(JOB, region, "", name)
        if self.on_delete is not None:
            self.on_delete(region, name)
        return name

    def page(self, region: str, max_results: int, next_token: str | None,
             tags: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the region's jobs (oldest first), only those carrying every tag of ``tags``."""
        jobs = self.store.list(JOB, region)
        if tags:
            jobs = [job for job in jobs if all(job.get(_TAGS, {}).get(k) == v for k, v in tags.items())]
        return cut(jobs, max_results, next_token, f"glue-jobs/{region}/{sorted((tags or {}).items())}")
