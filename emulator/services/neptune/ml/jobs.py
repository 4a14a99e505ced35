"""Neptune ML's jobs and endpoints: accept a request, create the SageMaker work behind it, follow it to the end.

This module knows nothing of HTTP: it takes the request members as the neptunedata model names them, raises the
graph server's errors, and talks to SageMaker and S3 through boto3 on the edge. Each unfinished record has one
follower thread that polls its current SageMaker resource and moves the record on (the training's prepare job,
then its tuning job); a restarted graph server starts the followers again from the stage each record kept, and
a step whose SageMaker resource already exists is followed, not created twice.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emulator.services.neptune import errors
from emulator.services.neptune.ml import programs as p
from emulator.services.neptune.ml import records as r
from emulator.services.neptune.ml import sagemaker_requests as sm
from emulator.services.neptune.ml.clients import EdgeClients
from emulator.services.neptune.ml.programs import Programs
from emulator.services.neptune.ml.records import MlRecord, SageMakerResource
from emulator.services.neptune.ml.store import MlStore

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 0.5
_NOT_FOUND_CODES = ("ValidationException", "ResourceNotFound", "ResourceNotFoundException")
_KIND_NAMES = {r.DATA_PROCESSING: "data processing job", r.MODEL_TRAINING: "model training job",
               r.MODEL_TRANSFORM: "model transform job", r.ENDPOINT: "ML endpoint"}


class MlJobs:
    """The Neptune ML backend: records in ``store``, SageMaker work through ``clients``.

    Args:
        store: where records persist.
        clients: boto3 SageMaker and S3 on the edge.
        programs: the image and entrypoints the SageMaker jobs run.
        poll_interval: seconds between two looks at a running SageMaker resource.
    """

    def __init__(self, store: MlStore, clients: EdgeClients, programs: Programs = p.DEFAULT_PROGRAMS,
                 poll_interval: float = POLL_INTERVAL_S) -> None:
        self.store = store
        self.clients = clients
        self.programs = programs
        self.poll_interval = poll_interval
        self._lock = threading.RLock()
        self._followers: dict[tuple[str, str], threading.Thread] = {}
        self._stopping = threading.Event()

    # -- lifecycle ------------------------------------------------------------------------
    def resume(self) -> None:
        """Follow again every record a previous run of the server left unfinished."""
        for record in self.store.all():
            if not record.finished:
                self._follow(record)

    def shutdown(self) -> None:
        self._stopping.set()
        for thread in list(self._followers.values()):
            thread.join(timeout=5)

    # -- reading ----------------------------------------------------------------------------
    def get(self, kind: str, ml_id: str) -> MlRecord:
        record = self.store.get(kind, ml_id)
        if record is None:
            raise errors.MLResourceNotFound(f"No {_KIND_NAMES[kind]} found with id {ml_id}")
        return record

    def list_ids(self, kind: str, max_items: int) -> list[str]:
        return self.store.ids(kind, max_items)

    # -- StartMLDataProcessingJob -----------------------------------------------------------
    def start_data_processing(self, request: dict[str, Any]) -> MlRecord:
        params = dict(request)
        previous_id = params.get("previousDataProcessingJobId")
        if previous_id:  # incremental: the earlier job's settings, unless given again
            previous = self._completed(r.DATA_PROCESSING, previous_id, "previousDataProcessingJobId")
            params = {**_reusable(previous.params), **params}
        params.setdefault("configFileName", p.DEFAULT_CONFIG_FILE)
        params.setdefault("modelType", p.DEFAULT_MODEL_TYPE)
        params.setdefault("processingInstanceType", p.DEFAULT_PROCESSING_INSTANCE)
        params.setdefault("processingTimeOutInSeconds", p.DEFAULT_TIMEOUT_S)
        if params["modelType"] not in p.MODEL_TYPES:
            raise errors.InvalidParameter(f"Invalid modelType {params['modelType']!r}: expected one of "
                                          f"{', '.join(p.MODEL_TYPES)}")
        _check_s3("inputDataS3Location", params["inputDataS3Location"])
        _check_s3("processedDataS3Location", params["processedDataS3Location"])
        record = self._new(r.DATA_PROCESSING, params, stage="processing")
        return self._launch(record, self._ensure_data_processing)

    def _ensure_data_processing(self, record: MlRecord) -> None:
        name = r.sagemaker_name(record.id)
        self._ensure_processing(record, "processingJob", name,
                                lambda: sm.data_processing_job(name, record.params, self.programs),
                                record.params["processedDataS3Location"])

    # -- StartMLModelTrainingJob ------------------------------------------------------------
    def start_model_training(self, request: dict[str, Any]) -> MlRecord:
        params = dict(request)
        previous_id = params.get("previousModelTrainingJobId")
        if previous_id:
            previous = self._completed(r.MODEL_TRAINING, previous_id, "previousModelTrainingJobId")
            params = {**_reusable(previous.params), **params}
        data = self._completed(r.DATA_PROCESSING, params["dataProcessingJobId"], "dataProcessingJobId")
        params.setdefault("baseProcessingInstanceType", p.DEFAULT_PROCESSING_INSTANCE)
        params.setdefault("trainingInstanceType", p.DEFAULT_TRAINING_INSTANCE)
        params.setdefault("trainingTimeOutInSeconds", p.DEFAULT_TIMEOUT_S)
        params.setdefault("maxHPONumberOfTrainingJobs", p.DEFAULT_MAX_HPO_JOBS)
        params.setdefault("maxHPOParallelTrainingJobs", p.DEFAULT_MAX_HPO_PARALLEL)
        params.setdefault("enableManagedSpotTraining", False)
        for name in ("maxHPONumberOfTrainingJobs", "maxHPOParallelTrainingJobs"):
            if params[name] < 1:
                raise errors.InvalidParameter(f"{name} must be at least 1, got {params[name]}")
        _check_s3("trainModelS3Location", params["trainModelS3Location"])
        record = self._new(r.MODEL_TRAINING, params, stage="prepare")
        record.outputs["data"] = data.params["processedDataS3Location"]
        record.outputs["model_type"] = data.params["modelType"]
        return self._launch(record, self._ensure_prepare)

    def _ensure_prepare(self, record: MlRecord) -> None:
        name = r.sagemaker_name(record.id, "prepare")
        self._ensure_processing(record, "processingJob", name,
                                lambda: sm.prepare_job(name, record.params, record.outputs["data"], self.programs),
                                sm.prepare_output(record.params))

    def _ensure_tuning(self, record: MlRecord) -> None:
        name = r.sagemaker_name(record.id, max_len=r.MAX_TUNING_NAME)
        client = self.clients.sagemaker
        try:
            described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        except ClientError as error:
            if not _not_found(error):
                raise
            spec = self._read_json(sm.s3_join(sm.prepare_output(record.params), p.TUNING_SPEC))
            request = sm.tuning_job(name, record.params, record.outputs["data"], spec, self.programs)
            arn = client.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
            described = {"HyperParameterTuningJobArn": arn, "HyperParameterTuningJobStatus": r.IN_PROGRESS}
        record.resources["hpoJob"] = SageMakerResource(
            name, described["HyperParameterTuningJobArn"], described["HyperParameterTuningJobStatus"],
            sm.s3_join(record.params["trainModelS3Location"], "output"))

    # -- StartMLModelTransformJob -----------------------------------------------------------
    def start_model_transform(self, request: dict[str, Any]) -> MlRecord:
        params = dict(request)
        _check_s3("modelTransformOutputS3Location", params["modelTransformOutputS3Location"])
        params.setdefault("baseProcessingInstanceType", p.DEFAULT_PROCESSING_INSTANCE)
        outputs: dict[str, str] = {}
        if params.get("mlModelTrainingJobId"):
            training = self._completed(r.MODEL_TRAINING, params["mlModelTrainingJobId"], "mlModelTrainingJobId")
            outputs["model_data_url"] = training.outputs["model_data_url"]
            outputs["data"] = training.outputs["data"]
            outputs["model_type"] = training.outputs.get("model_type", p.DEFAULT_MODEL_TYPE)
            outputs["source_name"], outputs["source_arn"] = training.models[0]["name"], training.models[0]["arn"]
        elif params.get("trainingJobName"):
            outputs.update(self._training_job_outputs(params["trainingJobName"]))
        else:
            raise errors.MissingParameter("Either mlModelTrainingJobId (with dataProcessingJobId) or trainingJobName "
                                          "is required")
        if params.get("dataProcessingJobId"):
            data = self._completed(r.DATA_PROCESSING, params["dataProcessingJobId"], "dataProcessingJobId")
            outputs["data"] = data.params["processedDataS3Location"]
            outputs["model_type"] = data.params["modelType"]
        record = self._new(r.MODEL_TRANSFORM, params, stage="transform")
        record.outputs.update(outputs)
        record.models = [{"name": outputs["source_name"], "arn": outputs["source_arn"]}]
        return self._launch(record, self._ensure_transform)

    def _training_job_outputs(self, job_name: str) -> dict[str, str]:
        try:
            job = self.clients.sagemaker.describe_training_job(TrainingJobName=job_name)
        except ClientError as error:
            raise errors.MLResourceNotFound(f"No SageMaker training job named {job_name}: "
                                            f"{_message(error)}") from None
        if job["TrainingJobStatus"] != r.COMPLETED:
            raise errors.BadRequest(f"SageMaker training job {job_name} is {job['TrainingJobStatus']}, not Completed")
        channels = {c["ChannelName"]: c for c in job.get("InputDataConfig", [])}
        if p.GRAPH_CHANNEL not in channels:
            raise errors.BadRequest(f"SageMaker training job {job_name} has no '{p.GRAPH_CHANNEL}' channel: give "
                                    "dataProcessingJobId")
        return {"model_data_url": job["ModelArtifacts"]["S3ModelArtifacts"],
                "data": channels[p.GRAPH_CHANNEL]["DataSource"]["S3DataSource"]["S3Uri"],
                "source_name": job_name, "source_arn": job["TrainingJobArn"]}

    def _ensure_transform(self, record: MlRecord) -> None:
        name = r.sagemaker_name(record.id, "transform")
        self._ensure_processing(
            record, "remoteModelTransformJob", name,
            lambda: sm.transform_job(name, record.params, record.outputs["data"], record.outputs["model_data_url"],
                                     self.programs),
            record.params["modelTransformOutputS3Location"])

    # -- CreateMLEndpoint ---------------------------------------------------------------------
    def create_endpoint(self, request: dict[str, Any]) -> MlRecord:
        params = dict(request)
        ml_id = params.get("id") or time.strftime("neptune-ml-endpoint-%Y%m%d%H%M%S-", time.gmtime()) + \
            uuid.uuid4().hex[:6]
        if not r.SAGEMAKER_NAME.match(ml_id):
            raise errors.InvalidParameter(f"Invalid id {ml_id!r}: an ML endpoint id must match "
                                          f"{r.SAGEMAKER_NAME.pattern} (it names the SageMaker endpoint)")
        params["id"] = ml_id
        training_id, transform_id = params.get("mlModelTrainingJobId"), params.get("mlModelTransformJobId")
        if bool(training_id) == bool(transform_id):
            raise errors.InvalidParameter("Exactly one of mlModelTrainingJobId and mlModelTransformJobId is required")
        if training_id:
            source = self._completed(r.MODEL_TRAINING, training_id, "mlModelTrainingJobId")
        else:
            source = self._completed(r.MODEL_TRANSFORM, transform_id, "mlModelTransformJobId")
        model_data_url = (source.outputs["model_data_url"] if training_id
                          else sm.s3_join(source.params["modelTransformOutputS3Location"], "model.tar.gz"))
        default_model = "kge" if source.outputs.get("model_type") == "kge" else "rgcn"
        params.setdefault("modelName", default_model)
        params.setdefault("instanceType", p.DEFAULT_ENDPOINT_INSTANCE)
        params.setdefault("instanceCount", 1)
        if params["modelName"] not in p.MODEL_NAMES:
            raise errors.InvalidParameter(f"Invalid modelName {params['modelName']!r}: expected one of "
                                          f"{', '.join(p.MODEL_NAMES)}")
        if params["instanceCount"] < 1:
            raise errors.InvalidParameter(f"instanceCount must be at least 1, got {params['instanceCount']}")
        with self._lock:
            existing = self.store.get(r.ENDPOINT, ml_id)
            if params.get("update"):
                if existing is None:
                    raise errors.MLResourceNotFound(f"No ML endpoint found with id {ml_id} to update")
                return self._update_endpoint(existing, params, model_data_url)
            if existing is not None:
                raise errors.BadRequest(f"An ML endpoint with id {ml_id} already exists (update=true updates it)")
            record = MlRecord(r.ENDPOINT, ml_id, params, int(time.time() * 1000), status=r.ENDPOINT_CREATING,
                              stage="endpoint")
            record.outputs["model_data_url"] = model_data_url
            self.store.put(record)
        try:
            self._deploy(record, ml_id, ml_id, create=True)
        except (ClientError, BotoCoreError) as error:
            self._undeploy(record, models=True)
            self.store.delete(r.ENDPOINT, ml_id)
            raise errors.BadRequest(f"SageMaker refused the endpoint: {_message(error)}") from None
        self._follow(record)
        return record

    def _update_endpoint(self, record: MlRecord, params: dict[str, Any], model_data_url: str) -> MlRecord:
        version = int(record.outputs.get("version", "1")) + 1
        name = r.sagemaker_name(record.id, f"v{version}")
        record.params = {**record.params, **params}
        record.outputs.update({"model_data_url": model_data_url, "version": str(version)})
        try:
            self._deploy(record, name, name, create=False)
        except (ClientError, BotoCoreError) as error:
            raise errors.BadRequest(f"SageMaker refused the endpoint update: {_message(error)}") from None
        record.status = r.ENDPOINT_UPDATING
        record.resources["endpoint"].status = r.ENDPOINT_UPDATING
        record.stage = "endpoint"
        self.store.put(record)
        self._follow(record)
        return record

    def _deploy(self, record: MlRecord, model_name: str, config_name: str, create: bool) -> None:
        client = self.clients.sagemaker
        model, config = sm.endpoint_resources(model_name, config_name, record.params, record.outputs["model_data_url"],
                                              self.programs)
        client.create_model(**model)
        record.sagemaker_models.append(model_name)
        config_arn = client.create_endpoint_config(**config)["EndpointConfigArn"]
        record.sagemaker_configs.append(config_name)
        record.configs["endpointConfig"] = {"name": config_name, "arn": config_arn}
        if create:
            arn = client.create_endpoint(EndpointName=record.id, EndpointConfigName=config_name)["EndpointArn"]
            record.resources["endpoint"] = SageMakerResource(record.id, arn, r.ENDPOINT_CREATING)
            record.arn = arn
        else:
            client.update_endpoint(EndpointName=record.id, EndpointConfigName=config_name)
        self.store.put(record)

    # -- DeleteMLEndpoint ---------------------------------------------------------------------
    def delete_endpoint(self, ml_id: str, clean: bool) -> str:
        record = self.get(r.ENDPOINT, ml_id)
        self._undeploy(record, models=clean)
        self.store.delete(r.ENDPOINT, ml_id)
        return "Deleting"

    def _undeploy(self, record: MlRecord, models: bool) -> None:
        client = self.clients.sagemaker
        calls: list[tuple[Callable[..., Any], dict[str, str]]] = [(client.delete_endpoint, {"EndpointName": record.id})]
        calls += [(client.delete_endpoint_config, {"EndpointConfigName": name}) for name in record.sagemaker_configs]
        if models:
            calls += [(client.delete_model, {"ModelName": name}) for name in record.sagemaker_models]
        for call, kwargs in calls:
            try:
                call(**kwargs)
            except ClientError as error:
                if not _not_found(error):
                    log.warning("deleting %s of ML endpoint %s: %s", kwargs, record.id, _message(error))

    # -- CancelML*Job -------------------------------------------------------------------------
    def cancel(self, kind: str, ml_id: str, clean: bool) -> str:
        with self._lock:
            record = self.get(kind, ml_id)
            if record.finished:
                if clean:
                    self._delete_artifacts(record)
                return record.status
            record.cancel_requested = True
            record.clean = clean
            record.status = r.STOPPING
            self.store.put(record)
        for resource in record.resources.values():
            self._stop(resource)
        return record.status

    def _stop(self, resource: SageMakerResource) -> None:
        client = self.clients.sagemaker
        try:
            if resource.arn.split(":")[-1].startswith("hyper-parameter-tuning-job/"):
                client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=resource.name)
            else:
                client.stop_processing_job(ProcessingJobName=resource.name)
        except ClientError as error:  # already finished: the follower reports what it ended as
            log.info("stopping %s: %s", resource.name, _message(error))

    def _delete_artifacts(self, record: MlRecord) -> None:
        location = {r.DATA_PROCESSING: "processedDataS3Location", r.MODEL_TRAINING: "trainModelS3Location",
                    r.MODEL_TRANSFORM: "modelTransformOutputS3Location"}[record.kind]
        bucket, _, prefix = record.params[location][len("s3://"):].partition("/")
        s3 = self.clients.s3
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})

    # -- the shared steps -------------------------------------------------------------------
    def _new(self, kind: str, params: dict[str, Any], stage: str) -> MlRecord:
        ml_id = params.get("id") or str(uuid.uuid4())
        if not r.SAGEMAKER_NAME.match(ml_id):
            raise errors.InvalidParameter(f"Invalid id {ml_id!r}: expected letters, digits and hyphens, at most "
                                          f"{r.MAX_NAME} characters ({r.SAGEMAKER_NAME.pattern})")
        params["id"] = ml_id
        with self._lock:
            if self.store.get(kind, ml_id) is not None:
                raise errors.BadRequest(f"A {_KIND_NAMES[kind]} with id {ml_id} already exists")
            record = MlRecord(kind, ml_id, params, int(time.time() * 1000), stage=stage)
            self.store.put(record)
        return record

    def _launch(self, record: MlRecord, ensure_first: Callable[[MlRecord], None]) -> MlRecord:
        """Create the first SageMaker job now (a refusal is the caller's error), then follow it."""
        try:
            ensure_first(record)
        except (ClientError, BotoCoreError) as error:
            self.store.delete(record.kind, record.id)
            raise errors.BadRequest(f"SageMaker refused the job: {_message(error)}") from None
        first = next(iter(record.resources.values()))
        record.arn = first.arn
        self.store.put(record)
        self._follow(record)
        return record

    def _ensure_processing(self, record: MlRecord, member: str, name: str, build: Callable[[], dict[str, Any]],
                           output: str) -> None:
        client = self.clients.sagemaker
        try:
            described = client.describe_processing_job(ProcessingJobName=name)
            arn, status = described["ProcessingJobArn"], described["ProcessingJobStatus"]
        except ClientError as error:
            if not _not_found(error):
                raise
            arn, status = client.create_processing_job(**build())["ProcessingJobArn"], r.IN_PROGRESS
        record.resources[member] = SageMakerResource(name, arn, status, output)

    def _save(self, record: MlRecord) -> None:
        """Store a follower's copy, keeping a cancel that arrived while the follower looked at SageMaker."""
        with self._lock:
            stored = self.store.get(record.kind, record.id)
            if stored is None:
                return  # deleted meanwhile (DeleteMLEndpoint)
            if stored.cancel_requested and not record.cancel_requested:
                record.cancel_requested, record.clean = True, stored.clean
                if not record.finished:
                    record.status = r.STOPPING
            self.store.put(record)

    def _completed(self, kind: str, ml_id: str, member: str) -> MlRecord:
        record = self.store.get(kind, ml_id)
        if record is None:
            raise errors.MLResourceNotFound(f"No {_KIND_NAMES[kind]} found with id {ml_id} ({member})")
        if record.status != r.COMPLETED:
            raise errors.BadRequest(f"The {_KIND_NAMES[kind]} {ml_id} ({member}) is {record.status}, not Completed")
        return record

    def _read_json(self, uri: str) -> dict[str, Any]:
        bucket, _, key = uri[len("s3://"):].partition("/")
        body = self.clients.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        value = json.loads(body)
        if not isinstance(value, dict):
            raise ValueError(f"{uri} is not a JSON object")
        return value

    # -- following ------------------------------------------------------------------------------
    def _follow(self, record: MlRecord) -> None:
        key = (record.kind, record.id)
        with self._lock:
            running = self._followers.get(key)
            if running is not None and running.is_alive():
                return
            thread = threading.Thread(target=self._run, args=key, name=f"neptune-ml-{record.kind}-{record.id}",
                                      daemon=True)
            self._followers[key] = thread
            thread.start()

    def _run(self, kind: str, ml_id: str) -> None:
        while not self._stopping.is_set():
            record = self.store.get(kind, ml_id)
            if record is None or record.finished:
                return
            try:
                done = self._step(record)
            except Exception as error:  # a broken step fails the job with its reason; the server keeps serving
                log.exception("Neptune ML %s %s failed", kind, ml_id)
                done = self._fail(record, f"{type(error).__name__}: {_message(error)}")
            if done:
                return
            self._stopping.wait(self.poll_interval)

    def _step(self, record: MlRecord) -> bool:
        """Look once at the record's current SageMaker resource; True when the record is finished."""
        if record.kind == r.ENDPOINT:
            return self._step_endpoint(record)
        if record.stage == "tuning" and "hpoJob" not in record.resources:
            if record.cancel_requested:
                return self._finish(record, r.STOPPED)
            self._ensure_tuning(record)
            self._save(record)
        member = {"processing": "processingJob", "prepare": "processingJob", "tuning": "hpoJob",
                  "transform": "remoteModelTransformJob"}[record.stage]
        resource = record.resources.get(member)
        if resource is None:  # the server stopped between accepting the job and creating its SageMaker job
            {"processing": self._ensure_data_processing, "prepare": self._ensure_prepare,
             "transform": self._ensure_transform}[record.stage](record)
            self._save(record)
            return False
        status, reason = self._describe(resource)
        if status != resource.status or reason != resource.failure_reason:
            resource.status, resource.failure_reason = status, reason
            self._save(record)
        if status == r.COMPLETED:
            if record.stage == "prepare":
                record.stage = "tuning"
                self._save(record)
                return False
            if record.stage == "tuning":
                self._collect_best_model(record, resource)
            return self._finish(record, r.COMPLETED)
        if status == r.FAILED:
            return self._fail(record, f"SageMaker job {resource.name} failed: {reason or 'no reason given'}")
        if status == r.STOPPED:
            return self._finish(record, r.STOPPED)
        return False

    def _describe(self, resource: SageMakerResource) -> tuple[str, str | None]:
        client = self.clients.sagemaker
        if resource.arn.split(":")[-1].startswith("hyper-parameter-tuning-job/"):
            described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=resource.name)
            return described["HyperParameterTuningJobStatus"], described.get("FailureReason")
        described = client.describe_processing_job(ProcessingJobName=resource.name)
        return described["ProcessingJobStatus"], described.get("FailureReason")

    def _collect_best_model(self, record: MlRecord, tuning: SageMakerResource) -> None:
        client = self.clients.sagemaker
        described = client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=tuning.name)
        best = described.get("BestTrainingJob")
        if not best:
            raise RuntimeError(f"tuning job {tuning.name} completed without a best training job")
        job = client.describe_training_job(TrainingJobName=best["TrainingJobName"])
        record.models = [{"name": job["TrainingJobName"], "arn": job["TrainingJobArn"]}]
        record.outputs["model_data_url"] = job["ModelArtifacts"]["S3ModelArtifacts"]

    def _step_endpoint(self, record: MlRecord) -> bool:
        resource = record.resources["endpoint"]
        described = self.clients.sagemaker.describe_endpoint(EndpointName=resource.name)
        status, reason = described["EndpointStatus"], described.get("FailureReason")
        if status != resource.status or reason != resource.failure_reason or status != record.status:
            resource.status, resource.failure_reason, record.status = status, reason, status
            record.failure_reason = reason
            self._save(record)
        return status in r.ENDPOINT_SETTLED

    def _finish(self, record: MlRecord, status: str) -> bool:
        stored = self.store.get(record.kind, record.id)
        if stored is not None and stored.clean and status != r.COMPLETED:
            # before the final status: whoever sees Stopped finds the artifacts gone
            try:
                self._delete_artifacts(record)
            except (ClientError, BotoCoreError) as error:
                log.warning("cleaning the artifacts of %s %s: %s", record.kind, record.id, _message(error))
        record.status = status
        record.stage = "done"
        self._save(record)
        return True

    def _fail(self, record: MlRecord, reason: str) -> bool:
        record.failure_reason = reason
        for resource in record.resources.values():
            if resource.status not in r.JOB_FINISHED and resource.status:
                self._stop(resource)
        if record.resources:
            last = list(record.resources.values())[-1]
            last.failure_reason = last.failure_reason or reason
        return self._finish(record, r.FAILED)


def _reusable(params: dict[str, Any]) -> dict[str, Any]:
    """An earlier job's settings a later one inherits: all but its identity and its data locations."""
    own = {"id", "previousDataProcessingJobId", "previousModelTrainingJobId", "inputDataS3Location",
           "processedDataS3Location", "dataProcessingJobId", "trainModelS3Location"}
    return {key: value for key, value in params.items() if key not in own}


def _check_s3(member: str, uri: str) -> None:
    if not uri.startswith("s3://") or not uri[len("s3://"):].split("/", 1)[0]:
        raise errors.InvalidParameter(f"Invalid {member} {uri!r}: expected s3://bucket/prefix")


def _not_found(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    return code in _NOT_FOUND_CODES and ("not found" in message.lower() or "does not exist" in message.lower()
                                         or code != "ValidationException")


def _message(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Message") or error)
    return str(error)
