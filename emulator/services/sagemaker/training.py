"""Training jobs: create, describe, list, stop, and the run of each job.

The backend holds every training job record in memory (Describe and List answer from
there) and writes each change through to the :class:`RecordStore` before returning, so
the records survive a killed control plane. Jobs wait in the :class:`Scheduler`'s queue
and are run by a :class:`Runner` on a worker thread. Nothing here knows about HTTP:
errors are :mod:`emulator.core.errors` classes that the SageMaker dispatcher serializes.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from containers.contract import DEFAULT_BASE_DIR
from emulator.core.errors import ResourceLimitExceededError, ValidationError
from emulator.core.safepath import UnsafePathError, container_path
from emulator.observability.logs import TRAINING_LOG_GROUP, CloudWatchLogShipper, stream_name
from emulator.observability.metrics import CloudWatchMetricShipper, MetricDefinition, compile_definitions, extract
from emulator.runners.base import CheckpointSpec, FailureKind, Runner, RunOutcome, RunRequest, parse_channels
from emulator.services.sagemaker import states
from emulator.services.sagemaker.arns import training_job_arn
from emulator.services.sagemaker.builtin_metrics import metric_definitions
from emulator.services.sagemaker.caller import USER, Caller, confined_request
from emulator.services.sagemaker.events import BackendEvents
from emulator.services.sagemaker.queued_jobs import JobRecords
from emulator.services.sagemaker.records import IN_PROGRESS, STOPPING, TrainingJob
from emulator.services.sagemaker.scheduler import Scheduler
from emulator.services.sagemaker.store import RecordStore
from emulator.services.sagemaker.table import RecordTable

log = logging.getLogger(__name__)

KIND = "training-job"
DEFAULT_MAX_RUNTIME = 86400


@dataclass(frozen=True)
class BackendSettings:
    """What the training backend needs from the config table."""

    account_id: str
    data_dir: Path
    s3_endpoint_url: str
    stop_grace_seconds: float
    spot_restart_delay_seconds: float = 2.0
    graph_endpoint_url: str | None = None
    #: how often an internal error (ours, not the algorithm's) is retried, and the first wait (doubling after)
    internal_error_retries: int = 3
    internal_error_backoff_seconds: float = 1.0
    #: the per-job ``InstanceCount`` quota (AWS's per-instance-type service limit)
    max_instance_count: int = 8


class TrainingJobBackend(JobRecords[TrainingJob]):
    """Every training job of one account, across regions (names are unique per region).

    Args:
        settings: account, directories, endpoint and stop grace.
        store: durable record store.
        runner: launches a job's container.
        scheduler: runs jobs up to the configured capacity.
        logs: ships each line a job writes to CloudWatch Logs; optional.
        metrics: ships ``MetricDefinitions`` values to CloudWatch metrics; optional.
    """

    def __init__(
        self,
        settings: BackendSettings,
        store: RecordStore,
        runner: Runner,
        scheduler: Scheduler,
        logs: CloudWatchLogShipper | None = None,
        metrics: CloudWatchMetricShipper | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.runner = runner
        self.scheduler = scheduler
        self.logs = logs
        self.metrics = metrics
        self._definitions: dict[tuple[str, str], list[MetricDefinition]] = {}
        super().__init__(RecordTable(store, KIND, TrainingJob.from_dict), settings.stop_grace_seconds, "training job")

    # -- API operations -------------------------------------------------------------
    def create_training_job(self, region: str, request: dict[str, Any], caller: Caller = USER) -> TrainingJob:
        """CreateTrainingJob: record the job as InProgress/Starting and queue it.

        Args:
            caller: who asks; a job's container gets a job on the Docker runner only.

        Raises:
            ValidationError: a constraint the service model cannot express failed.
            ResourceInUseError: a job with that name exists in the region.
        """
        check_training_request(request)
        check_instance_quota(request["ResourceConfig"], self.settings.max_instance_count, "training job usage")
        request = confined_request(caller, request)
        definitions = compile_definitions(metric_definitions(request["AlgorithmSpecification"]))
        name = request["TrainingJobName"]
        now = time.time()
        with self._lock:
            job = TrainingJob(
                name=name,
                arn=training_job_arn(region, self.settings.account_id, name),
                region=region,
                request=request,
                creation_time=now,
                last_modified_time=now,
            )
            states.enter(job, "Starting", "Launching requested ML instances", now)
            self.jobs.add(job, "Training job names must be unique within an AWS account and region, and a "
                               "training job with this name already exists")
            self._definitions[(region, name)] = definitions
        self.scheduler.submit((region, name))
        return job

    describe_training_job = JobRecords.describe
    list_training_jobs = JobRecords.list
    stop_training_job = JobRecords.stop

    def enter_stop(self, job: TrainingJob, now: float) -> None:
        """Secondary status Stopping; a job that has not started is Stopped at once."""
        states.begin_stop(job, now)
        if not job.started:
            states.finish(job, "Stopped", now)

    def interrupt_training_job(self, region: str, name: str) -> None:
        """Inject a managed-spot interruption: the instance goes away, the job resumes later.

        Raises:
            ValidationError: unknown job, not a managed spot job, or not running.
        """
        with self._lock:
            job = self.jobs.get(region, name)
            if not job.request.get("EnableManagedSpotTraining"):
                raise ValidationError(
                    f"Training job {name} does not use managed spot training; it cannot be interrupted."
                )
            signal = self.running.signal((region, name))
            if job.status != IN_PROGRESS or signal is None:
                raise ValidationError(
                    f"Training job {name} is not running (status {job.status}/{job.secondary_status})."
                )
        signal.request("interrupt")

    # -- start-up ------------------------------------------------------------------
    def recover(self) -> None:
        """Reconcile what a previous control plane left unfinished, then queue the waiting.

        A job that never started is queued again. A job that was running had its processes
        ended with the old control plane (they are reaped here if any survived); it cannot be
        followed any further, so it ends honestly: Stopped if a stop was asked, else Failed
        with a reason that says what happened.
        """
        unfinished = [job for job in self.jobs.all() if not job.is_terminal]
        for job in sorted(unfinished, key=lambda j: j.creation_time):
            if job.started:
                self.runner.reap(self.workdir(job))
                now = time.time()
                with self._lock:
                    if job.status == STOPPING:
                        states.finish(job, "Stopped", now)
                    elif _may_resume(job):
                        # the old process's last recorded moment is the best evidence of when it died
                        self._account_attempt(job, min(now, job.last_modified_time))
                        self._requeue(job, "Restarting the job after the control plane stopped; resuming from its "
                                           "last checkpoint")
                        continue
                    else:
                        states.finish(
                            job,
                            "Failed",
                            now,
                            "InternalServerError: the mlharbor control plane stopped while this job "
                            "was running; its container was ended. Jobs with a RetryStrategy or managed "
                            "spot training resume from their last checkpoint instead.",
                        )
                    self._save(job)
            elif job.status == STOPPING:
                with self._lock:
                    states.finish(job, "Stopped", time.time())
                    self._save(job)
            elif job.secondary_status == "Interrupted":
                with self._lock:
                    self._requeue(job, "Launching requested ML instances after the spot interruption")
            else:
                self.scheduler.submit((job.region, job.name))

    # -- running a job (called on a scheduler worker thread) ------------------------
    def run_job(self, key: tuple[str, str]) -> None:
        """Run one queued job to its end; never raises."""
        with self._lock:
            job = self.jobs.find(key)
            if job is None or job.status != IN_PROGRESS or job.started:
                return
            job.started = True
            job.attempts += 1
            job.instance_start_time = time.time()
            job.log_epoch = job.instance_start_time
            if job.attempts == 1:  # a restart keeps the message that says why it restarted
                states.note(job, "Preparing the instances for training", job.instance_start_time)
            self._save(job)
            try:
                run_request = self.run_request(job)
            except (KeyError, TypeError, ValueError) as error:
                # the request itself cannot run (a record stored before a check existed): never retried
                refused = f"ClientError: the request cannot be run: {error!r}"
            else:
                refused = None
                signal = self.running.begin(key)
        if refused is not None:
            self._finish(job, RunOutcome("Failed", failure_reason=refused, failure_kind=FailureKind.CLIENT))
            return
        outcome = self.running.run(
            key,
            lambda stop: self.runner.run(run_request, BackendEvents(self, job), stop),
            lambda reason: RunOutcome("Failed", failure_reason=reason, failure_kind=FailureKind.INTERNAL),
            signal,
        )
        self._finish(job, outcome)

    def run_request(self, job: TrainingJob) -> RunRequest:
        request = job.request
        algorithm = request["AlgorithmSpecification"]
        resources = request["ResourceConfig"]
        stopping = request.get("StoppingCondition") or {}
        max_runtime = int(stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME))
        max_wait = None
        if request.get("EnableManagedSpotTraining") and stopping.get("MaxWaitTimeInSeconds"):
            max_wait = max(0.0, stopping["MaxWaitTimeInSeconds"] - (time.time() - job.creation_time))
        return RunRequest(
            job_name=job.name,
            job_arn=job.arn,
            image=algorithm["TrainingImage"],
            hyperparameters=dict(request.get("HyperParameters") or {}),
            channels=parse_channels(request.get("InputDataConfig")),
            output_s3_path=request["OutputDataConfig"]["S3OutputPath"],
            environment=dict(request.get("Environment") or {}),
            instance_type=resources["InstanceType"],
            instance_count=int(resources.get("InstanceCount", 1)),
            # MaxRuntime counts running time across attempts (spot interruptions, retries)
            max_runtime_seconds=max(1, round(max_runtime - job.billable_seconds)),
            max_wait_seconds=max_wait,
            workdir=self.workdir(job),
            s3_endpoint_url=self.settings.s3_endpoint_url,
            graph_endpoint_url=self.settings.graph_endpoint_url,
            region=job.region,
            account_id=self.settings.account_id,
            checkpoint=CheckpointSpec.from_request(request.get("CheckpointConfig")),
            entrypoint=algorithm.get("ContainerEntrypoint"),
            arguments=algorithm.get("ContainerArguments"),
        )

    def workdir(self, job: TrainingJob) -> Path:
        return self.settings.data_dir / "jobs" / job.region / job.name

    def secondary_status(self, job: TrainingJob, status: str, message: str) -> None:
        with self._lock:
            if job.is_terminal:
                return
            states.enter(job, status, message, time.time())
            self._save(job)

    def log_line(self, job: TrainingJob, host: str, line: str) -> None:
        if self.logs is not None:
            started = job.log_epoch or job.creation_time
            self.logs.write(job.region, TRAINING_LOG_GROUP, stream_name(job.name, host, started), line)
        found = extract(self._metric_definitions(job), line)
        if not found:
            return
        now = time.time()
        with self._lock:
            latest = {entry["MetricName"]: entry for entry in job.final_metrics}
            for metric, value in found:
                latest[metric] = {"MetricName": metric, "Value": value, "Timestamp": now}
                if self.metrics is not None:
                    self.metrics.write(job.region, job.name, metric, value, now)
            job.final_metrics = list(latest.values())

    def _metric_definitions(self, job: TrainingJob) -> list[MetricDefinition]:
        key = (job.region, job.name)
        if key not in self._definitions:  # jobs loaded from the store after a restart
            self._definitions[key] = compile_definitions(metric_definitions(job.request["AlgorithmSpecification"]))
        return self._definitions[key]

    # -- internals -----------------------------------------------------------------
    def _finish(self, job: TrainingJob, outcome: RunOutcome) -> None:
        for shipper in (self.logs, self.metrics):
            if shipper is not None:
                shipper.flush()
        now = time.time()
        with self._lock:
            self._account_attempt(job, now)
            if outcome.model_artifacts:
                job.model_artifacts = outcome.model_artifacts
            if outcome.outcome == "Interrupted" and job.status == IN_PROGRESS:
                states.enter(job, "Interrupted", "The training job was interrupted (managed spot); it restarts "
                                                 "from its last checkpoint when capacity is back", now)
                job.started = False
                self._save(job)
                timer = threading.Timer(self.settings.spot_restart_delay_seconds, self._restart_after_interruption,
                                        args=(job,))
                timer.daemon = True
                timer.start()
                return
            if outcome.outcome == "Interrupted":  # stopped while being interrupted
                states.finish(job, "Stopped", now)
            elif outcome.outcome == "Failed" and outcome.failure_kind is FailureKind.INTERNAL and \
                    job.internal_errors < self._internal_retries(job):
                job.internal_errors += 1
                delay = self.settings.internal_error_backoff_seconds * 2 ** (job.internal_errors - 1)
                job.started = False
                states.enter(job, "Starting", f"Retrying the job in {delay:g} s (retry {job.internal_errors} of "
                                              f"{self._internal_retries(job)}) after an internal error: "
                                              f"{outcome.failure_reason}", now)
                self._save(job)
                self._requeue_after(job, delay, "Retrying the job after an internal error")
                return
            else:
                states.finish(job, outcome.outcome, now, outcome.failure_reason)
            self._save(job)

    def _restart_after_interruption(self, job: TrainingJob) -> None:
        self._requeue_now(job, "Launching requested ML instances after the spot interruption")

    def _requeue_after(self, job: TrainingJob, delay: float, message: str) -> None:
        """Queue the job again after ``delay`` seconds, unless it was stopped meanwhile."""
        timer = threading.Timer(delay, self._requeue_now, args=(job, message))
        timer.daemon = True
        timer.start()

    def _requeue_now(self, job: TrainingJob, message: str) -> None:
        with self._lock:
            if job.status != IN_PROGRESS:
                if job.status == STOPPING:
                    states.finish(job, "Stopped", time.time())
                    self._save(job)
                return
            self._requeue(job, message)

    def _internal_retries(self, job: TrainingJob) -> int:
        """How often our own failures of ``job`` are retried: ``RetryStrategy.MaximumRetryAttempts``, a managed
        spot job's ``internal_error_retries`` (it names no count), any other job's never."""
        strategy = job.request.get("RetryStrategy")
        if strategy:
            return int(strategy.get("MaximumRetryAttempts") or 0)
        if job.request.get("EnableManagedSpotTraining"):
            return self.settings.internal_error_retries
        return 0

    def _requeue(self, job: TrainingJob, message: str) -> None:
        """Back to Starting and into the queue (caller holds the lock)."""
        job.started = False
        states.enter(job, "Starting", message, time.time())
        self._save(job)
        self.scheduler.submit((job.region, job.name))

    @staticmethod
    def _account_attempt(job: TrainingJob, now: float) -> None:
        if job.instance_start_time is not None:
            job.billable_seconds += max(0.0, now - job.instance_start_time)
            job.instance_start_time = None

    def _save(self, job: TrainingJob) -> None:
        self.jobs.save(job)


def _may_resume(job: TrainingJob) -> bool:
    """A job whose instance vanished under it may start again: spot jobs, and jobs with retries left."""
    if job.request.get("EnableManagedSpotTraining"):
        return True
    retries = (job.request.get("RetryStrategy") or {}).get("MaximumRetryAttempts", 0)
    return job.attempts <= retries


def check_instance_quota(resources: dict[str, Any], limit: int, usage: str) -> None:
    """``InstanceCount`` within the per-job quota, refused as AWS's Service Quotas limit is.

    Every host's ``resourceconfig.json`` lists every host, so an unbounded count is quadratic on disk.

    Raises:
        ResourceLimitExceededError: more instances than ``limit``.
    """
    count = resources.get("InstanceCount", 1)
    if isinstance(count, int) and count > limit:
        raise ResourceLimitExceededError(
            f"The account-level service limit '{resources.get('InstanceType')} for {usage}' is {limit} Instances, "
            f"with current utilization of 0 Instances and a request delta of {count} Instances. Please use AWS "
            "Service Quotas to request an increase for this quota."
        )


#: the request members that name a directory inside the job's container
_CONTAINER_PATH_MEMBERS = ("CheckpointConfig", "TensorBoardOutputConfig", "DebugHookConfig")


def check_training_paths(request: dict[str, Any]) -> None:
    """Every ``LocalPath`` the request names is absolute, normalised and not ``/`` or ``/opt/ml`` itself.

    A path outside ``/opt/ml`` is kept inside the job's tree all the same (and mounted where it says
    in a container); what a relative path or ``..`` would name on this machine is never reached.

    Raises:
        ValidationError: naming the member and the rule it breaks.
    """
    for member in _CONTAINER_PATH_MEMBERS:
        value = (request.get(member) or {}).get("LocalPath")
        if value is None:
            continue
        try:
            path = container_path(value, under="/")
        except UnsafePathError as error:
            raise ValidationError(f"Invalid {member}.LocalPath: {error}.") from None
        if path == PurePosixPath(str(DEFAULT_BASE_DIR)):
            raise ValidationError(f"Invalid {member}.LocalPath: {value!r} is the whole of {DEFAULT_BASE_DIR}; "
                                  "name a directory inside it.")


def check_training_request(request: dict[str, Any]) -> None:
    """Constraints of CreateTrainingJob that the service model cannot express.

    Raises:
        ValidationError: with AWS's wording where it is known.
    """
    algorithm = request.get("AlgorithmSpecification")
    if not algorithm:
        raise ValidationError("AlgorithmSpecification is required.")
    if not algorithm.get("TrainingImage"):
        if algorithm.get("AlgorithmName"):
            raise ValidationError("AlgorithmName (marketplace algorithms) is not supported; give a TrainingImage.")
        raise ValidationError("Either TrainingImage or AlgorithmName must be specified.")
    resources = request.get("ResourceConfig")
    if not resources or not resources.get("InstanceType"):
        raise ValidationError("ResourceConfig.InstanceType is required.")
    if resources.get("InstanceCount", 1) < 1:
        raise ValidationError("ResourceConfig.InstanceCount must be at least 1.")
    if not request["OutputDataConfig"]["S3OutputPath"].startswith("s3://"):
        raise ValidationError("OutputDataConfig.S3OutputPath must be an s3:// URI.")
    names = [channel["ChannelName"] for channel in request.get("InputDataConfig") or []]
    if len(names) != len(set(names)):
        raise ValidationError("Channel names must be unique within InputDataConfig.")
    for name in names:
        if name in (".", ".."):
            raise ValidationError(f"Channel name '{name}' is not a valid directory name.")
    check_training_paths(request)
    stopping = request.get("StoppingCondition") or {}
    if request.get("EnableManagedSpotTraining"):
        # an absent (or null, which the wire reads as absent) MaxRuntimeInSeconds is AWS's default of one day
        wait, runtime = stopping.get("MaxWaitTimeInSeconds"), stopping.get("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME)
        if wait is None:
            raise ValidationError("MaxWaitTimeInSeconds must be specified for managed spot training.")
        if wait < runtime:
            raise ValidationError("MaxWaitTimeInSeconds must be greater than or equal to MaxRuntimeInSeconds.")
    elif stopping.get("MaxWaitTimeInSeconds") is not None:
        raise ValidationError("MaxWaitTimeInSeconds is only valid with EnableManagedSpotTraining.")
