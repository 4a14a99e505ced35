"""Processing jobs: create, describe, list, stop, and the run of each job.

Like training jobs, records are held in memory, written through to the record store, queued
on the shared scheduler and run by the runner; ``ProcessingJobStatus`` goes InProgress →
Completed | Failed | Stopping → Stopped (there is no secondary status).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from containers.contract import JobPaths
from emulator.core.errors import ValidationError
from emulator.core.safepath import UnsafePathError, container_path
from emulator.observability.logs import PROCESSING_LOG_GROUP, CloudWatchLogShipper, stream_name
from emulator.runners.base import ProcessingOutcome, ProcessingRunRequest, Runner, StopSignal
from emulator.services.sagemaker.arns import processing_job_arn
from emulator.services.sagemaker.caller import USER, Caller, confined_request
from emulator.services.sagemaker.events import BackendEvents
from emulator.services.sagemaker.queued_jobs import QueuedJobBackend
from emulator.services.sagemaker.records import FAILED, STOPPED, STOPPING, ProcessingJob
from emulator.services.sagemaker.scheduler import Scheduler
from emulator.services.sagemaker.store import RecordStore
from emulator.services.sagemaker.table import RecordTable
from emulator.services.sagemaker.training import BackendSettings, check_instance_quota

log = logging.getLogger(__name__)

KIND = "processing-job"
DEFAULT_MAX_RUNTIME = 86400

#: ``/opt/ml/processing``: every input's and output's ``LocalPath`` lies under it
PROCESSING_ROOT = str(JobPaths().processing_dir)


class ProcessingJobBackend(QueuedJobBackend[ProcessingJob, ProcessingOutcome]):
    """Every processing job of one account, across regions.

    Args:
        settings: account, directories, endpoint and stop grace (shared with training).
        store: durable record store.
        runner: a runner with ``run_processing`` and ``reap``.
        scheduler: the shared job scheduler (capacity is per machine).
        logs: ships job output to CloudWatch Logs; optional.
    """

    def __init__(self, settings: BackendSettings, store: RecordStore, runner: Runner, scheduler: Scheduler,
                 logs: CloudWatchLogShipper | None = None) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self.scheduler = scheduler
        self.logs = logs
        super().__init__(RecordTable(store, KIND, ProcessingJob.from_dict), settings.stop_grace_seconds,
                         "processing job")

    # -- API operations -------------------------------------------------------------
    def create_processing_job(self, region: str, request: dict[str, Any], caller: Caller = USER) -> ProcessingJob:
        """CreateProcessingJob (``caller``: a job's container gets a job on the Docker runner only)."""
        check_processing_request(request)
        check_instance_quota(request["ProcessingResources"].get("ClusterConfig") or {},
                             self.settings.max_instance_count, "processing job usage")
        request = confined_request(caller, request)
        name = request["ProcessingJobName"]
        job = ProcessingJob(name=name, arn=processing_job_arn(region, self.settings.account_id, name),
                            region=region, request=request)
        self.jobs.add(job, "Job name must be unique within an AWS account and region, and a job with this name "
                           "already exists")
        self.scheduler.submit((region, name), kind="processing")
        return job

    describe_processing_job = QueuedJobBackend.describe
    list_processing_jobs = QueuedJobBackend.list
    stop_processing_job = QueuedJobBackend.stop

    # -- start-up and running ----------------------------------------------------------
    def recover(self) -> None:
        """Queue jobs that never started; end the ones a previous control plane was running."""
        unfinished = [job for job in self.jobs.all() if not job.is_terminal]
        for job in sorted(unfinished, key=lambda j: j.creation_time):
            if job.started or job.status == STOPPING:
                self.runner.reap(self.workdir(job))
                with self._lock:
                    if job.status == STOPPING:
                        self.end(job, ProcessingOutcome("Stopped"))
                    else:
                        self.end(job, ProcessingOutcome("Failed", failure_reason=(
                            "InternalServerError: the mlharbor control plane stopped while this job was running; "
                            "its container was ended.")))
            else:
                self.scheduler.submit((job.region, job.name), kind="processing")

    def mark_started(self, job: ProcessingJob, now: float) -> None:
        job.processing_start_time = now

    def mark_ended(self, job: ProcessingJob, now: float) -> None:
        job.processing_end_time = now

    def execute(self, job: ProcessingJob, stop: StopSignal) -> ProcessingOutcome:
        return self.runner.run_processing(self.run_request(job), BackendEvents(self, job), stop)

    def crashed(self, reason: str) -> ProcessingOutcome:
        return ProcessingOutcome("Failed", failure_reason=reason)

    def flush_logs(self) -> None:
        if self.logs is not None:
            self.logs.flush()

    def run_request(self, job: ProcessingJob) -> ProcessingRunRequest:
        request = job.request
        app = request["AppSpecification"]
        cluster = request["ProcessingResources"]["ClusterConfig"]
        return ProcessingRunRequest(
            job_name=job.name,
            job_arn=job.arn,
            image=app["ImageUri"],
            entrypoint=app.get("ContainerEntrypoint"),
            arguments=app.get("ContainerArguments"),
            environment=dict(request.get("Environment") or {}),
            inputs=list(request.get("ProcessingInputs") or []),
            outputs=list((request.get("ProcessingOutputConfig") or {}).get("Outputs") or []),
            instance_type=cluster["InstanceType"],
            instance_count=int(cluster.get("InstanceCount", 1)),
            max_runtime_seconds=int((request.get("StoppingCondition") or {}).get("MaxRuntimeInSeconds",
                                                                                 DEFAULT_MAX_RUNTIME)),
            workdir=self.workdir(job),
            s3_endpoint_url=self.settings.s3_endpoint_url,
            graph_endpoint_url=self.settings.graph_endpoint_url,
            region=job.region,
            job_config={**request, "ProcessingJobArn": job.arn},
        )

    def workdir(self, job: ProcessingJob) -> Any:
        return self.settings.data_dir / "processing" / job.region / job.name

    def secondary_status(self, job: ProcessingJob, status: str, message: str) -> None:
        """Processing jobs have no secondary status; nothing to record."""

    def log_line(self, job: ProcessingJob, host: str, line: str) -> None:
        if self.logs is not None:
            started = job.log_epoch or job.creation_time
            self.logs.write(job.region, PROCESSING_LOG_GROUP, stream_name(job.name, host, started), line)

    # -- internals -----------------------------------------------------------------
    def end(self, job: ProcessingJob, outcome: ProcessingOutcome) -> None:
        status = STOPPED if job.status == STOPPING else outcome.outcome
        job.status = status
        job.exit_message = outcome.exit_message
        if status == FAILED and outcome.failure_reason:
            job.failure_reason = outcome.failure_reason[:1024]
        self.stamp_end(job, time.time())
        self.jobs.save(job)


def check_processing_request(request: dict[str, Any]) -> None:
    """Constraints of CreateProcessingJob that the service model cannot express.

    Raises:
        ValidationError: with the member and the rule.
    """
    names = [entry["InputName"] for entry in request.get("ProcessingInputs") or []]
    outputs = (request.get("ProcessingOutputConfig") or {}).get("Outputs") or []
    names += [entry["OutputName"] for entry in outputs]
    if len(names) != len(set(names)):
        raise ValidationError("Input and output names must be unique within a processing job.")
    for entry in request.get("ProcessingInputs") or []:
        source = entry.get("S3Input")
        if source is None:
            raise ValidationError(f"ProcessingInput {entry['InputName']}: only S3Input is supported by mlharbor.")
        _check_local_path(source.get("LocalPath"), f"ProcessingInput {entry['InputName']}")
    for entry in outputs:
        output = entry.get("S3Output")
        if output is None:
            raise ValidationError(f"ProcessingOutput {entry['OutputName']}: only S3Output is supported by mlharbor.")
        if not output["S3Uri"].startswith("s3://"):
            raise ValidationError(f"ProcessingOutput {entry['OutputName']}: S3Uri must be an s3:// URI.")
        if output.get("S3UploadMode") != "EndOfJob":
            raise ValidationError(f"ProcessingOutput {entry['OutputName']}: only S3UploadMode EndOfJob is supported.")
        _check_local_path(output.get("LocalPath"), f"ProcessingOutput {entry['OutputName']}")
    cluster = request["ProcessingResources"].get("ClusterConfig") or {}
    if not cluster.get("InstanceType"):
        raise ValidationError("ProcessingResources.ClusterConfig.InstanceType is required.")
    if cluster.get("InstanceCount", 1) < 1:
        raise ValidationError("ProcessingResources.ClusterConfig.InstanceCount must be at least 1.")


def _check_local_path(path: str | None, where: str) -> None:
    """A ``LocalPath`` is absolute, normalised and under ``/opt/ml/processing`` (the processing contract)."""
    if not path:
        raise ValidationError(f"{where}: LocalPath is required.")
    try:
        container_path(path, under=PROCESSING_ROOT, allow_root=True)
    except UnsafePathError as error:
        raise ValidationError(f"{where}: LocalPath {error}; every processing LocalPath is an absolute, "
                              f"normalised path under {PROCESSING_ROOT}.") from None
