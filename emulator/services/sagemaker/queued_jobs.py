"""What the job backends share: Describe, List and Stop over a kind's records (:class:`JobRecords`, training,
processing and transform jobs), and the run of one queued job from InProgress to its end
(:class:`QueuedJobBackend`, processing and transform jobs).

Processing and transform jobs go InProgress → Completed | Failed, or Stopping → Stopped, with no secondary
status; training jobs have one, and run their own way. A subclass says only what differs.
"""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

from emulator.core.errors import ValidationError
from emulator.core.paging import ListQuery, paginate
from emulator.runners.base import StopSignal
from emulator.services.sagemaker.records import IN_PROGRESS, STOPPED, STOPPING
from emulator.services.sagemaker.running import Key, RunningJobs
from emulator.services.sagemaker.table import RecordTable

Job = TypeVar("Job")
Outcome = TypeVar("Outcome")


class JobRecords(Generic[Job]):
    """Every job of one kind, across regions: a record table and the stop signals of the running ones.

    Args:
        jobs: the kind's records (durable, by region and name).
        stop_grace_seconds: the SIGTERM→SIGKILL grace of a stop.
        noun: the kind in error messages (``processing job``).
    """

    def __init__(self, jobs: RecordTable[Any], stop_grace_seconds: float, noun: str) -> None:
        self.jobs = jobs
        self._lock = jobs.lock
        self.running = RunningJobs(self._lock, stop_grace_seconds)
        self.noun = noun

    def mark_ended(self, job: Job, now: float) -> None:
        """Record the end time of ``job`` (its own member)."""
        raise NotImplementedError

    def stamp_end(self, job: Job, now: float) -> None:
        """The job has ended now: its end time and its last change."""
        self.mark_ended(job, now)
        job.last_modified_time = now

    def enter_stop(self, job: Job, now: float) -> None:
        """A stop was asked for: a queued job stops at once, a running one goes Stopping."""
        job.status = STOPPING if job.started else STOPPED
        if job.status == STOPPED:
            self.stamp_end(job, now)
        else:
            job.last_modified_time = now

    def describe(self, region: str, name: str) -> Job:
        return self.jobs.get(region, name)

    def list(self, region: str, query: ListQuery) -> tuple[list[Job], str | None]:
        return paginate(self.jobs.in_region(region), query)

    def stop(self, region: str, name: str) -> None:
        """Stop*Job: a queued job stops at once; a running one goes Stopping until its container ends.

        Raises:
            ValidationError: unknown job, or a job that already ended.
        """
        with self._lock:
            job = self.jobs.get(region, name)
            if job.status == STOPPING:
                return
            if job.is_terminal:
                raise ValidationError(f"The request was rejected because the {self.noun} is in status {job.status}.")
            self.enter_stop(job, time.time())
            self.jobs.save(job)
        signal = self.running.signal((region, name))
        if signal is not None:
            signal.request()


class QueuedJobBackend(JobRecords[Job], Generic[Job, Outcome]):
    """A kind whose queued jobs run straight to their end: it says how a job starts, runs and ends."""

    def mark_started(self, job: Job, now: float) -> None:
        """Record the start time of ``job`` (its own member)."""
        raise NotImplementedError

    def execute(self, job: Job, stop: StopSignal) -> Outcome:
        """Run ``job`` to its end (``stop`` asks it to end early)."""
        raise NotImplementedError

    def crashed(self, reason: str) -> Outcome:
        """The outcome of a run whose runner raised."""
        raise NotImplementedError

    def end(self, job: Job, outcome: Outcome) -> None:
        """Record the outcome (the caller holds the lock); a job being stopped ends Stopped."""
        raise NotImplementedError

    def run_job(self, key: Key) -> None:
        """Run one queued job to its end; never raises."""
        with self._lock:
            job = self.jobs.find(key)
            if job is None or job.status != IN_PROGRESS or job.started:
                return
            job.started = True
            now = time.time()
            self.mark_started(job, now)
            job.log_epoch = job.last_modified_time = now
            self.jobs.save(job)
            signal = self.running.begin(key)
        outcome = self.running.run(key, lambda stop: self.execute(job, stop), self.crashed, signal)
        self.flush_logs()
        with self._lock:
            self.end(job, outcome)

    def flush_logs(self) -> None:
        """Send what the run logged on before its end is recorded (nothing by default)."""
