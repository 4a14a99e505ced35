"""Batch transform jobs: create, describe, list, stop, and the run of each job.

A job runs the model's serve container through the runner's ``serve`` (the endpoint path: model
fetched, ``serve`` started, ``/ping`` polled), sends every input object under ``TransformInput``'s
S3 data source to its ``/invocations`` as :mod:`~emulator.services.sagemaker.transform_data` cuts
it into requests (up to ``MaxConcurrentTransforms`` at once), and writes ``<key>.out`` under
``S3OutputPath``. ``TransformJobStatus`` goes InProgress → Completed | Failed | Stopping → Stopped;
a failure names the object and the record. Records persist; a job that was running when the control
plane stopped runs again from the start at the next one (its outputs are rewritten whole).
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateTransformJob.html
"""

from __future__ import annotations

import concurrent.futures
import gzip
import hashlib
import logging
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.core.errors import ValidationError
from emulator.observability.logs import CloudWatchLogShipper
from emulator.runners import s3io, serving
from emulator.runners.base import Runner, StopSignal
from emulator.runners.serving import ServingError, ServingHandle, ServingRequest
from emulator.services.sagemaker.arns import model_arn, sagemaker_arn
from emulator.services.sagemaker.endpoints import EndpointBackend, primary_container
from emulator.services.sagemaker.queued_jobs import QueuedJobBackend
from emulator.services.sagemaker.records import COMPLETED, FAILED, STOPPED, STOPPING
from emulator.services.sagemaker.scheduler import Scheduler
from emulator.services.sagemaker.store import RecordStore
from emulator.services.sagemaker.table import RecordTable
from emulator.services.sagemaker.training import BackendSettings, check_instance_quota
from emulator.services.sagemaker.transform_data import (
    MEGABYTE,
    DataProcessing,
    TransformDataError,
    assemble,
    batches,
    payload,
    split_records,
)
from emulator.services.sagemaker.transform_records import KIND, TransformJob

log = logging.getLogger(__name__)

TRANSFORM_LOG_GROUP = "/aws/sagemaker/TransformJobs"
#: AWS's defaults when the request names none
DEFAULT_MAX_PAYLOAD_MB = 6
MAX_PAYLOAD_MB = 100
DEFAULT_INVOCATION_TIMEOUT = 600
DEFAULT_INVOCATION_RETRIES = 3
_SUPPORTED_SPLITS = ("None", "Line")


def transform_job_arn(region: str, account_id: str, name: str) -> str:
    return sagemaker_arn(region, account_id, "transform-job", name)


@dataclass(frozen=True)
class TransformSettings:
    """How one job talks to its model container (read from the request once)."""

    split_type: str
    strategy: str
    max_payload_bytes: int
    concurrency: int
    assemble_with: str
    content_type: str | None
    accept: str | None
    timeout: float
    retries: int
    gzip: bool
    processing: DataProcessing

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> TransformSettings:
        source, output = request["TransformInput"], request["TransformOutput"]
        client = request.get("ModelClientConfig") or {}
        return cls(
            split_type=source.get("SplitType") or "None",
            strategy=request.get("BatchStrategy") or "SingleRecord",
            max_payload_bytes=int(request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)) * MEGABYTE,
            concurrency=max(1, int(request.get("MaxConcurrentTransforms") or 1)),
            assemble_with=output.get("AssembleWith") or "None",
            content_type=source.get("ContentType"),
            accept=output.get("Accept"),
            timeout=float(client.get("InvocationsTimeoutInSeconds") or DEFAULT_INVOCATION_TIMEOUT),
            retries=int(client.get("InvocationsMaxRetries", DEFAULT_INVOCATION_RETRIES)),
            gzip=source.get("CompressionType") == "Gzip",
            processing=DataProcessing.from_request(request),
        )

    def environment(self) -> dict[str, str]:
        """What AWS tells a container serving a batch transform."""
        return {"SAGEMAKER_BATCH": "true", "SAGEMAKER_MAX_PAYLOAD_IN_MB": str(self.max_payload_bytes // MEGABYTE),
                "SAGEMAKER_BATCH_STRATEGY": self.strategy.upper().replace("RECORD", "_RECORD"),
                "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": str(self.concurrency)}


class _Stopped(Exception):
    """StopTransformJob arrived (or another object failed): the objects not yet written are not written."""


@dataclass
class _Halt:
    """What the job's workers check between requests: a stop, or a failure elsewhere in the job."""

    stop: StopSignal
    failed: threading.Event = field(default_factory=threading.Event)

    @property
    def requested(self) -> bool:
        return self.stop.requested or self.failed.is_set()


def _first_failure(futures: list[concurrent.futures.Future[None]], halt: _Halt) -> str | None:
    """Wait for every object; the first failure (in completion order) halts the rest and is returned."""
    failure = None
    for future in concurrent.futures.as_completed(futures):
        try:
            future.result()
        except _Stopped:
            continue
        except (TransformDataError, s3io.DataError) as error:
            if failure is None:
                failure = str(error)
                halt.failed.set()
                for pending in futures:
                    pending.cancel()
        except concurrent.futures.CancelledError:
            continue
    return failure


class TransformJobBackend(QueuedJobBackend[TransformJob, tuple[str, str | None]]):
    """Every transform job of one account, across regions.

    Args:
        settings: account, directories, S3 endpoint and stop grace (shared with training).
        store: durable record store.
        runner: brings the model's serve container up.
        scheduler: the shared job scheduler (a transform takes one of the machine's job slots).
        endpoints: where models are found (CreateModel's records).
        logs: ships the model container's output to CloudWatch Logs; optional.
        startup_timeout_seconds: how long the container's ``/ping`` may take to answer.
    """

    def __init__(self, settings: BackendSettings, store: RecordStore, runner: Runner, scheduler: Scheduler,
                 endpoints: EndpointBackend, logs: CloudWatchLogShipper | None = None,
                 startup_timeout_seconds: float = 60.0) -> None:
        self.settings = settings
        self.runner = runner
        self.scheduler = scheduler
        self.endpoints = endpoints
        self.logs = logs
        self.startup_timeout_seconds = startup_timeout_seconds
        super().__init__(RecordTable(store, KIND, TransformJob.from_dict), settings.stop_grace_seconds,
                         "transform job")

    # -- API operations -------------------------------------------------------------
    def create_transform_job(self, region: str, request: dict[str, Any]) -> TransformJob:
        """CreateTransformJob: checked, recorded InProgress, queued.

        Raises:
            ValidationError: the model does not exist, or the request asks what mlharbor does not do.
        """
        if self.endpoints.models.find((region, request["ModelName"])) is None:
            arn = model_arn(region, self.settings.account_id, request["ModelName"])
            raise ValidationError(f'Could not find model "{arn}".')
        check_transform_request(request)
        check_instance_quota(request["TransformResources"], self.settings.max_instance_count,
                             "transform job usage")
        name = request["TransformJobName"]
        job = TransformJob(name=name, arn=transform_job_arn(region, self.settings.account_id, name), region=region,
                           request=request)
        self.jobs.add(job, "Job name must be unique within an AWS account and region, and a job with this name "
                           "already exists")
        self.scheduler.submit((region, name), kind="transform")
        return job

    describe_transform_job = QueuedJobBackend.describe
    list_transform_jobs = QueuedJobBackend.list
    stop_transform_job = QueuedJobBackend.stop

    # -- start-up and running ----------------------------------------------------------
    def recover(self) -> None:
        """Queue every unfinished job again: a stopping one ends Stopped, a started one runs from the start."""
        for job in sorted((j for j in self.jobs.all() if not j.is_terminal), key=lambda j: j.creation_time):
            with self._lock:
                if job.status == STOPPING:
                    self.end(job, (STOPPED, None))
                    continue
                job.started = False
                job.objects_done = job.records_done = 0
                self.jobs.save(job)
            self.scheduler.submit((job.region, job.name), kind="transform")

    def mark_started(self, job: TransformJob, now: float) -> None:
        job.transform_start_time = now

    def mark_ended(self, job: TransformJob, now: float) -> None:
        job.transform_end_time = now

    def execute(self, job: TransformJob, stop: StopSignal) -> tuple[str, str | None]:
        return self._transform(job, stop)

    def crashed(self, reason: str) -> tuple[str, str | None]:
        return FAILED, reason

    def flush_logs(self) -> None:
        if self.logs is not None:
            self.logs.flush()

    def workdir(self, job: TransformJob) -> Path:
        return self.settings.data_dir / "transform" / job.region / job.name / uuid.uuid4().hex[:8]

    # -- one job -----------------------------------------------------------------------
    def _transform(self, job: TransformJob, stop: StopSignal) -> tuple[str, str | None]:
        """Serve the model, send every object through it, write the outputs; ``(status, FailureReason)``."""
        settings = TransformSettings.from_request(job.request)
        model = self.endpoints.models.find((job.region, job.request["ModelName"]))
        if model is None:
            return FAILED, f"ClientError: Could not find model \"{job.request['ModelName']}\"."
        s3 = s3io.s3_client(self.settings.s3_endpoint_url, job.region)
        source = job.request["TransformInput"]["DataSource"]["S3DataSource"]
        try:
            objects = s3io.channel_objects(s3, source["S3Uri"], source["S3DataType"])
        except s3io.DataError as error:
            return FAILED, str(error)
        if not objects:
            return FAILED, f"ClientError: No S3 objects found under S3 URL \"{source['S3Uri']}\"."
        workdir = self.workdir(job)
        handle = self._serve(job, model.request, settings, workdir)
        if isinstance(handle, str):
            shutil.rmtree(workdir, ignore_errors=True)
            return FAILED, handle
        output = s3io.S3Location.parse(job.request["TransformOutput"]["S3OutputPath"])
        halt = _Halt(stop)
        try:
            # objects side by side (SplitType None: an object is one request) and their requests through one pool:
            # at most MaxConcurrentTransforms requests in flight, at most as many objects in memory
            with concurrent.futures.ThreadPoolExecutor(settings.concurrency,
                                                       thread_name_prefix=f"transform-{job.name}") as pool, \
                    concurrent.futures.ThreadPoolExecutor(settings.concurrency,
                                                          thread_name_prefix=f"objects-{job.name}") as objects_pool:
                futures = [objects_pool.submit(self._one_object, job, s3, handle, pool, settings, location,
                                               output.child(relative + ".out"), halt)
                           for location, relative in objects]
                failure = _first_failure(futures, halt)
        finally:
            handle.stop()
            shutil.rmtree(workdir, ignore_errors=True)  # the model's copy; a transform keeps nothing on disk
        if failure is not None:
            return FAILED, failure
        return (STOPPED, None) if stop.requested else (COMPLETED, None)

    def _serve(self, job: TransformJob, model_request: dict[str, Any], settings: TransformSettings,
               workdir: Path) -> ServingHandle | str:
        """The model's container, up and answering ``/ping``; or the ``FailureReason`` why not."""
        container = primary_container(model_request) or {}
        environment = {**(container.get("Environment") or {}), **(job.request.get("Environment") or {}),
                       **settings.environment()}
        request = ServingRequest(
            endpoint_name=job.name, variant_name="transform", image=container.get("Image", ""),
            model_data_url=container.get("ModelDataUrl"), environment=environment, workdir=workdir,
            s3_endpoint_url=self.settings.s3_endpoint_url, region=job.region,
            graph_endpoint_url=self.settings.graph_endpoint_url,
            startup_timeout_seconds=self.startup_timeout_seconds,
        )
        stream = f"{job.name}/i-{hashlib.sha256(str(workdir).encode()).hexdigest()[:17]}"
        try:
            return self.runner.serve(request, lambda line: self._log(job, stream, line))
        except ServingError as error:
            return f"ClientError: {error}"

    def _one_object(self, job: TransformJob, s3: Any, handle: ServingHandle,
                    pool: concurrent.futures.ThreadPoolExecutor, settings: TransformSettings,
                    location: s3io.S3Location, destination: s3io.S3Location, stop: _Halt) -> None:
        """Transform one input object into ``destination``.

        Raises:
            TransformDataError: a record failed (the message names the object and the record).
            _Stopped: a stop arrived.
        """
        if stop.requested:
            raise _Stopped
        body = _read(s3, location)
        if settings.gzip:
            try:
                body = gzip.decompress(body)
            except OSError as error:
                raise TransformDataError(f"ClientError: {location.uri} is not gzip data (CompressionType Gzip): "
                                         f"{error}") from None
        records = split_records(body, settings.split_type)
        try:
            requests = list(batches(records, settings.strategy, settings.max_payload_bytes))
            filtered = [(first, group, [settings.processing.filter_input(r) for r in group])
                        for first, group in requests]
        except TransformDataError as error:
            raise TransformDataError(f"ClientError: {location.uri}: {error}") from None
        futures = [pool.submit(self._invoke, handle, settings, payload(sent), stop) for _, _, sent in filtered]
        parts: list[bytes] = []
        try:
            for (first, group, _), future in zip(filtered, futures, strict=True):
                answered = future.result()
                where = _records_named(location, first, len(group), settings)
                if isinstance(answered, str):
                    if stop.requested:
                        raise _Stopped
                    raise TransformDataError(f"ClientError: {where}: {answered}")
                try:
                    parts += settings.processing.finish(group, answered)
                except TransformDataError as error:
                    raise TransformDataError(f"ClientError: {where}: {error}") from None
        finally:
            for future in futures:
                future.cancel()
        if stop.requested:
            raise _Stopped
        try:
            s3.put_object(Bucket=destination.bucket, Key=destination.key, Body=assemble(parts, settings.assemble_with),
                          **({"ContentType": settings.accept} if settings.accept else {}))
        except Exception as error:
            raise s3io.DataError(f"ClientError: could not write {destination.uri}: {error}") from None
        with self._lock:
            job.objects_done += 1
            job.records_done += len(records)
            job.last_modified_time = time.time()
            self.jobs.save(job)

    @staticmethod
    def _invoke(handle: ServingHandle, settings: TransformSettings, body: bytes, stop: _Halt) -> bytes | str:
        """One request to ``/invocations``, retried as ``InvocationsMaxRetries`` says; the body, or why not."""
        reason = ""
        for _ in range(settings.retries + 1):
            if stop.requested:
                return "the job was stopped"
            try:
                result = serving.invoke(handle.url, body, settings.content_type, settings.accept,
                                        timeout=settings.timeout)
            except ServingError as error:
                reason = str(error)
                continue
            if 200 <= result.status < 300:
                return result.body
            reason = f"the model container answered {result.status}: {result.body.decode(errors='replace')[:300]}"
            if result.status < 500:
                break  # the request itself is wrong: a retry gets the same answer
        return reason

    # -- internals -----------------------------------------------------------------
    def end(self, job: TransformJob, outcome: tuple[str, str | None]) -> None:
        status, reason = outcome
        job.status = STOPPED if job.status in (STOPPING, STOPPED) else status
        if job.status == FAILED and reason:
            job.failure_reason = reason[:1024]
        self.stamp_end(job, time.time())
        self.jobs.save(job)

    def _log(self, job: TransformJob, stream: str, line: str) -> None:
        if self.logs is not None:
            self.logs.write(job.region, TRANSFORM_LOG_GROUP, stream, line)


def _read(s3: Any, location: s3io.S3Location) -> bytes:
    try:
        return bytes(s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read())
    except Exception as error:
        raise s3io.DataError(f"ClientError: could not read {location.uri}: {error}") from None


def _records_named(location: s3io.S3Location, first: int, count: int, settings: TransformSettings) -> str:
    """``s3://b/in.csv record 3`` (or ``records 3-7``): where a failure happened, as a user finds it."""
    if settings.split_type == "None":
        return location.uri
    if count == 1:
        return f"{location.uri} record {first + 1}"
    return f"{location.uri} records {first + 1}-{first + count}"


def check_transform_request(request: dict[str, Any]) -> None:
    """Constraints of CreateTransformJob the service model cannot express, and what mlharbor does not do.

    Raises:
        ValidationError: with the member and the rule.
    """
    source = request["TransformInput"]["DataSource"].get("S3DataSource")
    if source is None:
        raise ValidationError("TransformInput.DataSource.S3DataSource is required.")
    if source["S3DataType"] == "AugmentedManifestFile":
        raise ValidationError("TransformInput.DataSource.S3DataSource.S3DataType AugmentedManifestFile is not "
                              "supported by mlharbor (S3Prefix and ManifestFile are).")
    split = request["TransformInput"].get("SplitType") or "None"
    if split not in _SUPPORTED_SPLITS:
        raise ValidationError(f"TransformInput.SplitType {split} is not supported by mlharbor (None and Line are).")
    if request.get("BatchStrategy") == "MultiRecord" and split == "None":
        raise ValidationError("BatchStrategy MultiRecord needs TransformInput.SplitType Line: with SplitType None "
                              "each object is one record.")
    for member, uri in (("TransformInput.DataSource.S3DataSource.S3Uri", source["S3Uri"]),
                        ("TransformOutput.S3OutputPath", request["TransformOutput"]["S3OutputPath"])):
        if not uri.startswith("s3://") or len(uri) <= len("s3://"):
            raise ValidationError(f"{member} must be an s3:// URI, not {uri!r}.")
    if request.get("MaxPayloadInMB", 0) > MAX_PAYLOAD_MB:
        raise ValidationError(f"MaxPayloadInMB cannot be greater than {MAX_PAYLOAD_MB} MB.")
    if request.get("MaxPayloadInMB") == 0 and split != "None":
        raise ValidationError("MaxPayloadInMB 0 (streaming) is not supported with SplitType Line.")
    try:
        DataProcessing.from_request(request).check()
    except TransformDataError as error:
        raise ValidationError(str(error)) from None

