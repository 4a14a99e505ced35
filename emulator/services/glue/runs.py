"""Glue job runs: StartJobRun, GetJobRun(s), BatchStopJobRun, and each run's life on its own thread.

A run moves STARTING (its inputs come down from S3) → RUNNING (the driver process runs) → SUCCEEDED |
FAILED | TIMEOUT, or STOPPING → STOPPED when asked to stop (https://docs.aws.amazon.com/glue/latest/dg/job-run-statuses.html).
Every change is stored before it is visible. A run that was active when the server went away cannot be
resumed (its process died with the server), so the next server marks it FAILED, saying so.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from emulator.core.paging import cut
from emulator.runners.environment import aws_access_environment, without_private
from emulator.runners.s3io import s3_client
from emulator.services.glue.bookmarks import BookmarkBackend
from emulator.services.glue.connections import ConnectionBackend
from emulator.services.glue.exceptions import ConcurrentRunsExceededError, EntityNotFoundError, InvalidInputError
from emulator.services.glue.jobs import JobDefinitions
from emulator.services.glue.launch import (
    RUN_ID_ENV,
    SPARK_MASTER_ARGUMENT,
    RunFiles,
    RunIdentity,
    launch_plan,
    run_environment,
    spark_confs,
    spark_master,
)
from emulator.services.glue.process import EXITED, STOP_ASKED, TIMED_OUT, RunProcess, end_leftovers
from emulator.services.glue.records import (
    BOOKMARK_DISABLE,
    BOOKMARK_ENABLE,
    BOOKMARK_OPTIONS,
    FAILED,
    GLUE_ETL,
    RUNNING,
    STARTING,
    STOPPED,
    STOPPING,
    SUCCEEDED,
    TIMEOUT,
    Capacity,
    JobRun,
    dpu_seconds,
    job_id_of,
    local_cores,
    merge_arguments,
    new_run_id,
    run_capacity,
    script_arguments,
)
from emulator.services.glue.staging import StagingError, stage_inputs
from emulator.services.glue.store import RUN, GlueStore

log = logging.getLogger(__name__)

OUTPUT_LOG_GROUP = "/aws-glue/jobs/output"
ERROR_LOG_GROUP = "/aws-glue/jobs/error"
#: ErrorMessage of a run the server's end interrupted
INTERRUPTED = "The job run was interrupted: the mlharbor server stopped while it was active."
_MAX_ERROR_MESSAGE = 2048

LogWriter = Callable[[str, str, str, str], None]  # (region, group, stream, line)


@dataclass(frozen=True)
class RunSettings:
    """What runs need from the server's configuration.

    Attributes:
        account_id: for the default ``--TempDir`` bucket name.
        runs_dir: where each run's work dir is made.
        endpoint_url: the edge (the run's AWS clients, the server's S3 downloads).
        graph_endpoint_url: the graph server's Gremlin URL, handed to every run.
        spark_master: ``spark://HOST:PORT`` for every glueetl run, or empty for ``local[N]``.
        stop_grace_seconds: SIGTERM → SIGKILL wait on stop or timeout.
        timeout_minute_seconds: how long one minute of a ``Timeout`` lasts: 60, except in tests, which
            cannot ask Glue for less than one minute.
        keep_work_dirs: keep a finished run's work dir (debugging).
    """

    account_id: str
    runs_dir: Path
    endpoint_url: str
    graph_endpoint_url: str | None = None
    spark_master: str = ""
    stop_grace_seconds: float = 10.0
    timeout_minute_seconds: float = 60.0
    keep_work_dirs: bool = False


class RunBackend:
    """Every job run, in the store, with one thread per active run."""

    def __init__(self, settings: RunSettings, store: GlueStore, jobs: JobDefinitions,
                 connections: ConnectionBackend, bookmarks: BookmarkBackend, write_log: LogWriter,
                 flush_logs: Callable[[], None]) -> None:
        self.settings = settings
        self.store = store
        self.jobs = jobs
        self.connections = connections
        self.bookmarks = bookmarks
        self.write_log = write_log
        self.flush_logs = flush_logs
        self._lock = threading.Lock()
        self._stops: dict[str, threading.Event] = {}
        self._forgotten: set[str] = set()  # runs of deleted jobs: their threads end without writing them back
        self._threads: dict[str, threading.Thread] = {}

    # the API ------------------------------------------------------------------------------------------------

    def start(self, region: str, params: dict[str, Any]) -> str:
        job = self.jobs.get(region, params["JobName"])
        capacity = run_capacity(job["Command"]["Name"], job, params)
        arguments = dict(params.get("Arguments") or {})
        merged = merge_arguments(job.get("DefaultArguments") or {}, arguments, job.get("NonOverridableArguments") or {})
        if merged.get("--job-bookmark-option", BOOKMARK_DISABLE) not in BOOKMARK_OPTIONS:
            raise InvalidInputError(f"--job-bookmark-option must be one of {', '.join(BOOKMARK_OPTIONS)}.")
        master = merged.get(SPARK_MASTER_ARGUMENT, "")
        if master and not master.startswith("spark://"):
            raise InvalidInputError(f"{SPARK_MASTER_ARGUMENT} must be spark://HOST:PORT, not {master!r}.")
        retried = params.get("JobRunId")  # "the ID of a previous JobRun to retry": one more attempt of it
        previous = None if retried is None else self.get(region, job["Name"], retried)
        now = time.time()
        run_id = new_run_id()
        run = JobRun(
            Id=run_id, JobName=job["Name"], JobRunState=STARTING, StartedOn=now, LastModifiedOn=now,
            Arguments=arguments, Timeout=int(params.get("Timeout", job["Timeout"])), GlueVersion=job["GlueVersion"],
            MaxCapacity=capacity.max_capacity, WorkerType=capacity.worker_type,
            NumberOfWorkers=capacity.number_of_workers, ExecutionClass=job.get("ExecutionClass", "STANDARD"),
            work_dir=str(self.settings.runs_dir / run_id), dpus=capacity.dpus,
            PreviousRunId=retried, Attempt=0 if previous is None else previous.Attempt + 1,
        )
        run.deadline = now + run.Timeout * self.settings.timeout_minute_seconds
        limit = int(job["ExecutionProperty"]["MaxConcurrentRuns"])
        with self._lock:
            active = [r for r in self._runs(region, job["Name"]) if r.active]
            if len(active) >= limit:
                raise ConcurrentRunsExceededError(f"Concurrent runs exceeded for {job['Name']}")
            self._save(region, run)
            stop = threading.Event()
            thread = threading.Thread(target=self._live, args=(region, run, job, merged, capacity, stop),
                                      name=f"glue-run-{run_id[:12]}", daemon=True)
            self._stops[run_id], self._threads[run_id] = stop, thread
        thread.start()
        return run_id

    def get(self, region: str, job_name: str, run_id: str) -> JobRun:
        document = self.store.get(RUN, region, job_name, run_id)
        if document is None:
            raise EntityNotFoundError(f"Job run {run_id} of job {job_name} not found")
        return JobRun.from_document(document)

    def page(self, region: str, job_name: str, max_results: int,
             next_token: str | None) -> tuple[list[JobRun], str | None]:
        self.jobs.get(region, job_name)
        runs = [JobRun.from_document(d) for d in self.store.list(RUN, region, job_name, newest_first=True)]
        return cut(runs, max_results, next_token, f"glue-runs/{region}/{job_name}")

    def stop(self, region: str, job_name: str, run_ids: list[str]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
        """BatchStopJobRun: ask each active run to stop; what cannot be stopped is an error entry, not a failure."""
        done, errors = [], []
        for run_id in run_ids:
            with self._lock:
                document = self.store.get(RUN, region, job_name, run_id)
                run = None if document is None else JobRun.from_document(document)
                if run is None or not run.active or run_id not in self._stops:
                    detail = ("EntityNotFoundException", f"Job run {run_id} not found") if run is None else \
                        ("InvalidInputException", f"Job run {run_id} is {run.JobRunState} and cannot be stopped")
                    errors.append({"JobName": job_name, "JobRunId": run_id,
                                   "ErrorDetail": {"ErrorCode": detail[0], "ErrorMessage": detail[1]}})
                    continue
                if run.JobRunState != STOPPING:
                    run.JobRunState = STOPPING
                    self._save(region, run)
                self._stops[run_id].set()
            done.append({"JobName": job_name, "JobRunId": run_id})
        return done, errors

    def forget(self, region: str, job_name: str) -> None:
        """A deleted job's runs: the active ones are stopped, all are forgotten."""
        with self._lock:
            for run in self._runs(region, job_name):
                stop = self._stops.get(run.Id)
                if stop is not None:
                    self._forgotten.add(run.Id)
                    stop.set()
            self.store.delete(RUN, region, job_name)

    def recover(self) -> None:
        """Runs left active by a server that went away: their driver died with it (what the script started
        may not have: it is ended now, found by its run id), so they FAILED."""
        for document in self.store.list(RUN):
            run = JobRun.from_document(document)
            if run.active:
                end_leftovers(RUN_ID_ENV, run.Id)
                self._finish(self._region_of(document), run, FAILED, INTERRUPTED, execution_seconds=_elapsed(run))

    def close(self) -> None:
        """Server stop: every active run is ended and recorded as interrupted."""
        with self._lock:
            threads = list(self._threads.values())
            for stop in self._stops.values():
                stop.set()
        for thread in threads:
            thread.join(self.settings.stop_grace_seconds + 10)

    # one run's life -----------------------------------------------------------------------------------------

    def _live(self, region: str, run: JobRun, job: dict[str, Any], merged: dict[str, str], capacity: Capacity,
              stop: threading.Event) -> None:
        try:
            self._run(region, run, job, merged, capacity, stop)
        except Exception as error:
            if run.Id not in self._forgotten:  # a bug of ours: the run says so instead of staying active forever
                log.exception("glue run %s broke", run.Id)
                self._finish(region, run, FAILED, f"mlharbor internal error: {error!r}", _elapsed(run))
        finally:
            with self._lock:
                self._stops.pop(run.Id, None)
                self._threads.pop(run.Id, None)
                self._forgotten.discard(run.Id)
            if not self.settings.keep_work_dirs:
                shutil.rmtree(run.work_dir, ignore_errors=True)

    def _run(self, region: str, run: JobRun, job: dict[str, Any], merged: dict[str, str], capacity: Capacity,
             stop: threading.Event) -> None:
        files = RunFiles(Path(run.work_dir))
        files.work_dir.mkdir(parents=True, exist_ok=True)
        job_type = job["Command"]["Name"]
        try:
            s3 = s3_client(self.settings.endpoint_url, region)
            inputs = stage_inputs(s3, job["Command"]["ScriptLocation"], merged, files)
            self._write_run_files(region, run, job, merged, files)
        except (StagingError, EntityNotFoundError) as error:
            self._finish(region, run, FAILED, str(error), 0.0)
            return
        if stop.is_set():
            current = self.get(region, run.JobName, run.Id)
            stopped = current.JobRunState == STOPPING
            self._finish(region, current, STOPPED if stopped else FAILED, None if stopped else INTERRUPTED, 0.0)
            return
        identity = RunIdentity(job_type, run.JobName, run.Id)
        temp_dir = f"s3://aws-glue-assets-{self.settings.account_id}-{region}/temporary/"
        argv = script_arguments(merged, run.JobName, job_id_of(run.Id), run.Id, temp_dir)
        try:
            env = {
                **aws_access_environment(self.settings.endpoint_url, region, self.settings.graph_endpoint_url),
                **run_environment(identity, files, inputs.py_paths, os.environ.get("PYTHONPATH", "")),
            }
            master = spark_master(merged, self.settings.spark_master, local_cores(capacity))
            plan = launch_plan(identity, files, inputs.script, argv, env, master, inputs.py_files,
                               inputs.extra_files, spark_confs(merged) if job_type == GLUE_ETL else [])
        except FileNotFoundError as error:  # no pyspark for a glueetl run
            self._finish(region, run, FAILED, str(error), 0.0)
            return

        def ship(stream: str, line: str) -> None:
            self.write_log(region, OUTPUT_LOG_GROUP if stream == "stdout" else ERROR_LOG_GROUP, run.Id, line)

        try:
            process = RunProcess(plan, without_private(os.environ), ship)
        except OSError as error:
            self._finish(region, run, FAILED, f"The job's driver could not be started: {error}", 0.0)
            return
        with self._lock:
            current = self.get(region, run.JobName, run.Id)
            current.pid = process.pid
            if current.JobRunState == STARTING:
                current.JobRunState = RUNNING
            self._save(region, current)
        ending = process.wait(run.deadline, stop, self.settings.stop_grace_seconds)
        seconds = ending.seconds
        current = self.get(region, run.JobName, run.Id)
        if ending.reason == STOP_ASKED:
            self._finish(region, current, STOPPED if current.JobRunState == STOPPING else FAILED,
                         None if current.JobRunState == STOPPING else INTERRUPTED, seconds)
        elif ending.reason == TIMED_OUT:
            self._finish(region, current, TIMEOUT, f"Job run timed out after {run.Timeout} minutes.", seconds)
        elif ending.reason == EXITED and ending.exit_code == 0:
            self._commit_bookmark(region, current, merged, files)
            self._finish(region, current, SUCCEEDED, None, seconds)
        else:
            self._finish(region, current, FAILED, _error_message(files, ending.exit_code, ending.last_stderr), seconds)

    def _write_run_files(self, region: str, run: JobRun, job: dict[str, Any], merged: dict[str, str],
                         files: RunFiles) -> None:
        resolved = self.connections.resolve(region, (job.get("Connections") or {}).get("Connections", []))
        files.connections.write_text(json.dumps(resolved))
        if merged.get("--job-bookmark-option", BOOKMARK_DISABLE) != BOOKMARK_DISABLE:
            state = self.bookmarks.state(region, run.JobName)
            if state is not None:
                files.bookmark_in.write_text(state)

    def _commit_bookmark(self, region: str, run: JobRun, merged: dict[str, str], files: RunFiles) -> None:
        if merged.get("--job-bookmark-option") == BOOKMARK_ENABLE and files.bookmark_out.is_file():
            self.bookmarks.commit(region, run.JobName, run.Id, run.Attempt, files.bookmark_out.read_text())

    def _finish(self, region: str, run: JobRun, state: str, message: str | None, execution_seconds: float) -> None:
        self.flush_logs()  # what a client reads after the end is complete
        now = time.time()
        with self._lock:
            finished = replace(run, JobRunState=state, CompletedOn=now, LastModifiedOn=now, pid=None,
                               ExecutionTime=int(round(execution_seconds)),
                               DPUSeconds=dpu_seconds(Capacity(run.WorkerType, run.NumberOfWorkers, run.MaxCapacity),
                                                      execution_seconds))
            if message:
                finished.ErrorMessage = message[:_MAX_ERROR_MESSAGE]
            self._save(region, finished)

    def _runs(self, region: str, job_name: str) -> list[JobRun]:
        return [JobRun.from_document(d) for d in self.store.list(RUN, region, job_name)]

    def _save(self, region: str, run: JobRun) -> None:
        if run.Id in self._forgotten:
            return
        run.LastModifiedOn = time.time()
        document = asdict(run)
        self.store.put(RUN, region, run.JobName, run.Id, run.StartedOn, {**document, "_region": region})

    @staticmethod
    def _region_of(document: dict[str, Any]) -> str:
        return str(document.get("_region", ""))


def _elapsed(run: JobRun) -> float:
    """How long an interrupted run ran, as far as its record knows (to its last recorded change)."""
    return max(0.0, run.LastModifiedOn - run.StartedOn) if run.JobRunState != STARTING else 0.0


def _error_message(files: RunFiles, exit_code: int | None, last_stderr: list[str]) -> str:
    """The driver's one-line error, else the last line the process wrote to stderr, else its exit code."""
    try:
        text = files.error.read_text(errors="replace").strip()
    except OSError:
        text = ""
    if text:
        return text.splitlines()[0] if len(text.splitlines()) == 1 else text
    if last_stderr:
        return last_stderr[-1].strip()
    return f"The job's process exited with code {exit_code}."
