"""The 16 neptunedata ML operations through boto3, backed by real mlharbor SageMaker work.

The graph server under test runs in this process, pointed at a real ``mlharbor up`` (its edge serves
SageMaker and S3); its Neptune ML programs are the stand-ins of :mod:`ml_api_stubs` on ``mlharbor/pytorch``,
so these tests show the orchestration (which jobs, which inputs and outputs, which states) and not the models.
One test runs against the ``mlharbor up`` graph server itself: the routes are wired there too.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.services.neptune import GraphServer
from emulator.services.neptune.ml import programs
from tests.conftest import upload_script
from tests.services.neptune_ml.ml_api_stubs import STEP_PROGRAM, train_source

STUB_PROGRAMS = programs.Programs(
    image="mlharbor/pytorch",
    processing=("python3", "/opt/ml/processing/input/step.py", "processing"),
    prepare=("python3", "/opt/ml/processing/input/data/step.py", "prepare"),
    transform=("python3", "/opt/ml/processing/input/data/step.py", "transform"),
    training_image="mlharbor/pytorch",
    serving_image="mlharbor/pytorch",
    metric_definitions=(("validation:acc", r"validation:acc=([0-9.]+)"),),
)
FINISHED = ("Completed", "Failed", "Stopped")


def neptune_client(url: str, validate: bool = True) -> Any:
    return boto3.client("neptunedata", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(retries={"max_attempts": 1}, parameter_validation=validate))


def start_graph(data_dir: Path, edge: str, monkeypatch: pytest.MonkeyPatch) -> GraphServer:
    monkeypatch.setattr(programs, "DEFAULT_PROGRAMS", STUB_PROGRAMS)
    server = GraphServer(data_dir=data_dir, port=0, s3_endpoint_url=edge, region="us-east-1")
    server.start()
    server.ml_jobs.poll_interval = 0.3
    return server


@pytest.fixture(scope="module")
def module_patch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def graph(harbor: Any, tmp_path_factory: pytest.TempPathFactory, module_patch: pytest.MonkeyPatch) -> Iterator[GraphServer]:
    server = start_graph(tmp_path_factory.mktemp("ml-graph"), harbor.endpoint, module_patch)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def neptune(graph: GraphServer) -> Any:
    return neptune_client(graph.url)


@pytest.fixture
def exported(s3: Any, bucket: str) -> dict[str, Any]:
    """A stand-in export under s3://bucket/export/: the step program, its plan and a configuration file."""
    def write(**plan: Any) -> str:
        prefix = f"export-{uuid.uuid4().hex[:6]}"
        plan.setdefault("submit_directory", upload_script(s3, bucket, train_source()))
        s3.put_object(Bucket=bucket, Key=f"{prefix}/step.py", Body=STEP_PROGRAM.encode())
        s3.put_object(Bucket=bucket, Key=f"{prefix}/stub.json", Body=json.dumps(plan).encode())
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{plan.get('config', 'training-data-configuration.json')}",
                      Body=b'{"version": "v2.0", "graph": {"nodes": [], "edges": []}}')
        return f"s3://{bucket}/{prefix}/"
    return {"bucket": bucket, "write": write}


def wait(get: Any, ml_id: str, until: tuple[str, ...] = FINISHED, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        answer = get(id=ml_id)
        if answer["status"] in until:
            return answer
        if time.monotonic() > deadline:
            raise TimeoutError(f"{ml_id} still {answer['status']}: {answer}")
        time.sleep(0.3)


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["code"], response["detailedMessage"]


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


# -- errors, on the mlharbor up graph server ------------------------------------------------------------------

def test_unknown_ids_are_ml_resource_not_found_on_the_up_graph_server(harbor: Any) -> None:
    client = neptune_client(harbor.graph)
    calls = [client.get_ml_data_processing_job, client.get_ml_model_training_job, client.get_ml_model_transform_job,
             client.get_ml_endpoint, client.cancel_ml_data_processing_job, client.cancel_ml_model_training_job,
             client.cancel_ml_model_transform_job, client.delete_ml_endpoint]
    for call in calls:
        with pytest.raises(client.exceptions.MLResourceNotFoundException) as caught:
            call(id="no-such-id")
        status, code, message = error_of(caught)
        assert (status, code) == (404, "MLResourceNotFoundException") and "no-such-id" in message
        assert caught.value.response["requestId"]
    for listing in (client.list_ml_data_processing_jobs, client.list_ml_model_training_jobs,
                    client.list_ml_model_transform_jobs, client.list_ml_endpoints):
        # the up server is the session's: other tests (the console's browser tier) leave their records on it
        ids = listing()["ids"]
        assert isinstance(ids, list) and all(isinstance(i, str) for i in ids) and "no-such-id" not in ids


def test_bad_requests_get_neptune_errors(neptune: Any, graph: GraphServer) -> None:
    raw = neptune_client(graph.url, validate=False)
    with pytest.raises(ClientError) as caught:
        raw.start_ml_data_processing_job(inputDataS3Location="s3://b/in")
    assert error_of(caught)[:2] == (400, "MissingParameterException")
    assert "processedDataS3Location" in error_of(caught)[2]
    with pytest.raises(ClientError) as caught:
        raw.list_ml_endpoints(maxItems=0)
    assert error_of(caught)[:2] == (400, "InvalidParameterException")
    assert "maxItems" in error_of(caught)[2]
    with pytest.raises(ClientError) as caught:
        raw.start_ml_data_processing_job(inputDataS3Location="s3://b/in", processedDataS3Location="s3://b/out",
                                         processingTimeOutInSeconds="soon")
    assert error_of(caught)[:2] == (400, "InvalidParameterException")
    with pytest.raises(neptune.exceptions.InvalidParameterException) as caught:
        neptune.start_ml_data_processing_job(inputDataS3Location="s3://b/in", processedDataS3Location="s3://b/out",
                                             modelType="gcn")
    assert "modelType" in error_of(caught)[2]
    with pytest.raises(neptune.exceptions.InvalidParameterException):
        neptune.start_ml_data_processing_job(inputDataS3Location="/local/in", processedDataS3Location="s3://b/out")
    with pytest.raises(neptune.exceptions.MLResourceNotFoundException) as caught:
        neptune.start_ml_model_training_job(dataProcessingJobId="never-ran", trainModelS3Location="s3://b/model")
    assert "never-ran" in error_of(caught)[2]
    with pytest.raises(neptune.exceptions.InvalidParameterException) as caught:
        neptune.create_ml_endpoint(id="under_score", mlModelTrainingJobId="x")
    with pytest.raises(neptune.exceptions.InvalidParameterException):
        neptune.create_ml_endpoint(mlModelTrainingJobId="a", mlModelTransformJobId="b")
    request = urllib.request.Request(graph.url + "/ml/dataprocessing", data=b"{not json", method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as http_error:
        urllib.request.urlopen(request, timeout=10)
    body = json.loads(http_error.value.read())
    assert http_error.value.code == 400 and body["code"] == "BadRequestException" and body["detailedMessage"]


# -- data processing -------------------------------------------------------------------------------------------

def test_data_processing_runs_a_processing_job_with_neptunes_defaults(neptune: Any, sagemaker: Any, s3: Any,
                                                                      exported: dict[str, Any]) -> None:
    source = exported["write"]()
    out = f"s3://{exported['bucket']}/processed-{uuid.uuid4().hex[:6]}/"
    started = neptune.start_ml_data_processing_job(inputDataS3Location=source, processedDataS3Location=out)
    ml_id = started["id"]
    assert uuid.UUID(ml_id)  # the default id is a UUID
    assert started["arn"] == f"arn:aws:sagemaker:us-east-1:123456789012:processing-job/{ml_id}"
    assert started["creationTimeInMillis"] > 1_600_000_000_000
    answer = wait(neptune.get_ml_data_processing_job, ml_id)
    assert answer["status"] == "Completed", answer
    assert answer["processingJob"] == {"name": ml_id, "arn": started["arn"], "status": "Completed",
                                       "outputLocation": out}
    job = sagemaker.describe_processing_job(ProcessingJobName=ml_id)
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.r5.large"
    assert job["StoppingCondition"]["MaxRuntimeInSeconds"] == 86_400
    assert job["AppSpecification"]["ContainerArguments"] == [
        "--config-file-name", "training-data-configuration.json", "--model-type", "heterogeneous", "--seed", "0"]
    assert [i["S3Input"]["LocalPath"] for i in job["ProcessingInputs"]] == ["/opt/ml/processing/input"]
    bucket, prefix = out[5:].split("/", 1)
    metadata = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "metadata.json")["Body"].read())
    assert metadata["args"][:2] == ["--config-file-name", "training-data-configuration.json"]
    assert ml_id in neptune.list_ml_data_processing_jobs(maxItems=1024)["ids"]


def test_a_failed_processing_job_fails_the_ml_job_with_its_reason(neptune: Any, exported: dict[str, Any]) -> None:
    source = exported["write"](fail="labels missing")
    ml_id = f"dp-fail-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_data_processing_job(id=ml_id, inputDataS3Location=source,
                                         processedDataS3Location=f"s3://{exported['bucket']}/never/")
    answer = wait(neptune.get_ml_data_processing_job, ml_id)
    assert answer["status"] == "Failed"
    assert answer["processingJob"]["status"] == "Failed"
    assert "planted failure: labels missing" in answer["processingJob"]["failureReason"]
    with pytest.raises(neptune.exceptions.BadRequestException) as caught:  # a duplicate id
        neptune.start_ml_data_processing_job(id=ml_id, inputDataS3Location=source, processedDataS3Location=source)
    assert "already exists" in error_of(caught)[2]
    with pytest.raises(neptune.exceptions.BadRequestException) as caught:  # training needs a Completed job
        neptune.start_ml_model_training_job(dataProcessingJobId=ml_id, trainModelS3Location=source)
    assert "Failed, not Completed" in error_of(caught)[2]


def test_incremental_processing_reuses_the_previous_jobs_settings(neptune: Any, sagemaker: Any,
                                                                   exported: dict[str, Any]) -> None:
    source = exported["write"](config="my-config.json")
    first = f"dp-first-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_data_processing_job(id=first, inputDataS3Location=source, configFileName="my-config.json",
                                         modelType="kge", processingInstanceType="ml.r5.xlarge",
                                         processedDataS3Location=f"s3://{exported['bucket']}/{first}/")
    assert wait(neptune.get_ml_data_processing_job, first)["status"] == "Completed"
    second = f"dp-second-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_data_processing_job(id=second, inputDataS3Location=source, previousDataProcessingJobId=first,
                                         processedDataS3Location=f"s3://{exported['bucket']}/{second}/")
    assert wait(neptune.get_ml_data_processing_job, second)["status"] == "Completed"
    job = sagemaker.describe_processing_job(ProcessingJobName=second)
    assert job["AppSpecification"]["ContainerArguments"][:4] == ["--config-file-name", "my-config.json",
                                                                 "--model-type", "kge"]
    assert job["ProcessingResources"]["ClusterConfig"]["InstanceType"] == "ml.r5.xlarge"


def test_cancel_with_clean_stops_the_job_and_deletes_its_output(neptune: Any, s3: Any,
                                                                exported: dict[str, Any]) -> None:
    bucket = exported["bucket"]
    source = exported["write"](sleep=120)
    ml_id = f"dp-cancel-{uuid.uuid4().hex[:6]}"
    s3.put_object(Bucket=bucket, Key=f"{ml_id}/out/old-part.csv", Body=b"stale")
    neptune.start_ml_data_processing_job(id=ml_id, inputDataS3Location=source,
                                         processedDataS3Location=f"s3://{bucket}/{ml_id}/out/")
    time.sleep(2)
    assert neptune.cancel_ml_data_processing_job(id=ml_id, clean=True)["status"] == "Stopping"
    answer = wait(neptune.get_ml_data_processing_job, ml_id)
    assert answer["status"] == "Stopped" and answer["processingJob"]["status"] == "Stopped"
    assert keys(s3, bucket, f"{ml_id}/out/") == []
    assert neptune.cancel_ml_data_processing_job(id=ml_id)["status"] == "Stopped"  # a finished job stays as it is


# -- training, transform, endpoints: the whole chain -----------------------------------------------------------

@pytest.fixture(scope="module")
def processed(neptune: Any, s3: Any, harbor: Any) -> dict[str, str]:
    """One Completed data processing job the chain tests share."""
    bucket = f"ml-chain-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    plan = {"submit_directory": upload_script(s3, bucket, train_source())}
    for key, body in (("export/step.py", STEP_PROGRAM.encode()), ("export/stub.json", json.dumps(plan).encode()),
                      ("export/training-data-configuration.json", b"{}")):
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    ml_id = f"dp-chain-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_data_processing_job(id=ml_id, inputDataS3Location=f"s3://{bucket}/export/",
                                         processedDataS3Location=f"s3://{bucket}/processed/")
    assert wait(neptune.get_ml_data_processing_job, ml_id)["status"] == "Completed"
    return {"bucket": bucket, "id": ml_id}


@pytest.fixture(scope="module")
def trained(neptune: Any, processed: dict[str, str]) -> dict[str, Any]:
    ml_id = f"train-{uuid.uuid4().hex[:6]}"
    started = neptune.start_ml_model_training_job(
        id=ml_id, dataProcessingJobId=processed["id"], trainModelS3Location=f"s3://{processed['bucket']}/model/",
        trainingInstanceType="ml.m5.large", maxHPONumberOfTrainingJobs=3)
    answer = wait(neptune.get_ml_model_training_job, ml_id, timeout=400)
    return {**processed, "data_id": processed["id"], "id": ml_id, "started": started, "answer": answer}


@pytest.mark.slow
def test_training_is_a_prepare_job_then_a_tuning_job_whose_best_trial_is_the_model(
        trained: dict[str, Any], sagemaker: Any, s3: Any) -> None:
    answer, ml_id, bucket = trained["answer"], trained["id"], trained["bucket"]
    assert answer["status"] == "Completed", answer
    prepare = answer["processingJob"]
    assert prepare["name"] == f"{ml_id}-prepare" and prepare["status"] == "Completed"
    assert trained["started"]["arn"] == prepare["arn"]
    assert prepare["outputLocation"] == f"s3://{bucket}/model/prepare"
    assert keys(s3, bucket, "model/prepare/") == ["model/prepare/tuning-spec.json"]
    hpo = answer["hpoJob"]
    assert hpo["status"] == "Completed" and ":hyper-parameter-tuning-job/" in hpo["arn"]
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=hpo["name"])
    config, definition = tuning["HyperParameterTuningJobConfig"], tuning["TrainingJobDefinition"]
    assert config["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 3
    assert config["ResourceLimits"]["MaxParallelTrainingJobs"] == 2  # Neptune's default
    assert config["RandomSeed"] == 0  # a pipeline run repeats: the trials draw the same hyperparameters
    assert config["HyperParameterTuningJobObjective"] == {"Type": "Maximize", "MetricName": "validation:acc"}
    assert definition["StaticHyperParameters"]["prepare-args"] == "--max-hpo-jobs 3 --max-parallel 2"
    assert definition["InputDataConfig"][0]["ChannelName"] == "graph"
    assert definition["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{bucket}/processed/"
    assert definition["OutputDataConfig"]["S3OutputPath"] == f"s3://{bucket}/model/output"
    assert definition["CheckpointConfig"]["S3Uri"] == f"s3://{bucket}/model/checkpoints"
    assert definition["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert tuning["TrainingJobStatusCounters"]["Completed"] == 3
    best = tuning["BestTrainingJob"]
    assert answer["mlModels"] == [{"name": best["TrainingJobName"], "arn": best["TrainingJobArn"]}]



@pytest.mark.slow
def test_transform_and_endpoints_serve_the_trained_model(neptune: Any, trained: dict[str, Any], sagemaker: Any,
                                                         harbor: Any) -> None:
    assert trained["answer"]["status"] == "Completed"
    bucket = trained["bucket"]
    transform_id = f"transform-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_model_transform_job(id=transform_id, mlModelTrainingJobId=trained["id"],
                                         modelTransformOutputS3Location=f"s3://{bucket}/transformed/")
    transform = wait(neptune.get_ml_model_transform_job, transform_id)
    assert transform["status"] == "Completed", transform
    remote = transform["remoteModelTransformJob"]
    assert remote["name"] == f"{transform_id}-transform" and remote["status"] == "Completed"
    assert transform["models"] == trained["answer"]["mlModels"]
    job = sagemaker.describe_processing_job(ProcessingJobName=remote["name"])
    assert {i["InputName"]: i["S3Input"]["S3Uri"] for i in job["ProcessingInputs"]} == {
        "data": f"s3://{bucket}/processed/",
        "model": sagemaker.describe_training_job(TrainingJobName=transform["models"][0]["name"])[
            "ModelArtifacts"]["S3ModelArtifacts"]}

    endpoint_id = f"ep-{uuid.uuid4().hex[:6]}"
    created = neptune.create_ml_endpoint(id=endpoint_id, mlModelTrainingJobId=trained["id"], instanceType="ml.m5.large")
    assert created["arn"] == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{endpoint_id}"
    answer = wait(neptune.get_ml_endpoint, endpoint_id, until=("InService", "Failed"))
    assert answer["status"] == "InService", answer
    assert answer["endpoint"] == {"name": endpoint_id, "arn": created["arn"], "status": "InService"}
    assert answer["endpointConfig"]["name"] == endpoint_id
    config = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint_id)["ProductionVariants"][0]
    assert (config["InstanceType"], config["InitialInstanceCount"]) == ("ml.m5.large", 1)
    runtime = harbor.client("sagemaker-runtime")

    def ask() -> dict[str, Any]:
        body = runtime.invoke_endpoint(EndpointName=endpoint_id, ContentType="application/json",
                                       Body=json.dumps({"nodes": ["n1"]}))["Body"].read()
        return json.loads(body)

    first = ask()
    assert first["asked"] == {"nodes": ["n1"]} and first["model"]["transformed"] is False
    with pytest.raises(neptune.exceptions.BadRequestException):
        neptune.create_ml_endpoint(id=endpoint_id, mlModelTrainingJobId=trained["id"])

    neptune.create_ml_endpoint(id=endpoint_id, mlModelTransformJobId=transform_id, update=True)
    updated = wait(neptune.get_ml_endpoint, endpoint_id, until=("InService", "Failed"))
    assert updated["status"] == "InService" and updated["endpointConfig"]["name"] == f"{endpoint_id}-v2"
    assert ask()["model"]["transformed"] is True  # the transform's model.tar.gz now serves
    assert endpoint_id in neptune.list_ml_endpoints()["ids"]

    assert neptune.delete_ml_endpoint(id=endpoint_id, clean=True)["status"] == "Deleting"
    with pytest.raises(neptune.exceptions.MLResourceNotFoundException):
        neptune.get_ml_endpoint(id=endpoint_id)
    for describe, name in ((sagemaker.describe_endpoint, {"EndpointName": endpoint_id}),
                           (sagemaker.describe_model, {"ModelName": endpoint_id}),
                           (sagemaker.describe_model, {"ModelName": f"{endpoint_id}-v2"}),
                           (sagemaker.describe_endpoint_config, {"EndpointConfigName": endpoint_id})):
        with pytest.raises(ClientError):
            describe(**name)




@pytest.mark.slow
def test_incremental_training_and_a_transform_of_a_sagemaker_training_job(neptune: Any, trained: dict[str, Any],
                                                                          sagemaker: Any) -> None:
    assert trained["answer"]["status"] == "Completed"
    bucket = trained["bucket"]
    ml_id = f"train-again-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_model_training_job(id=ml_id, previousModelTrainingJobId=trained["id"],
                                        dataProcessingJobId=trained["data_id"],
                                        trainModelS3Location=f"s3://{bucket}/model-2/")
    answer = wait(neptune.get_ml_model_training_job, ml_id, timeout=400)
    assert answer["status"] == "Completed", answer
    tuning = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=answer["hpoJob"]["name"])
    assert tuning["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 3  # inherited
    assert tuning["TrainingJobDefinition"]["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert tuning["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"] == f"s3://{bucket}/model-2/output"

    best = answer["mlModels"][0]["name"]
    transform_id = f"transform-by-name-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_model_transform_job(id=transform_id, trainingJobName=best,
                                         modelTransformOutputS3Location=f"s3://{bucket}/by-name/")
    transform = wait(neptune.get_ml_model_transform_job, transform_id)
    assert transform["status"] == "Completed", transform
    assert transform["models"] == answer["mlModels"]
    with pytest.raises(neptune.exceptions.MLResourceNotFoundException):
        neptune.start_ml_model_transform_job(trainingJobName="no-such-training-job",
                                             modelTransformOutputS3Location=f"s3://{bucket}/none/")
    with pytest.raises(neptune.exceptions.MissingParameterException):
        neptune.start_ml_model_transform_job(modelTransformOutputS3Location=f"s3://{bucket}/none/")

def test_cancelling_a_training_stops_its_prepare_job_and_clean_deletes_the_model_location(
        neptune: Any, s3: Any, exported: dict[str, Any]) -> None:
    bucket = exported["bucket"]
    data_id = f"dp-slowprep-{uuid.uuid4().hex[:6]}"
    neptune.start_ml_data_processing_job(id=data_id, inputDataS3Location=exported["write"](sleep_prepare=120),
                                         processedDataS3Location=f"s3://{bucket}/{data_id}/")
    assert wait(neptune.get_ml_data_processing_job, data_id)["status"] == "Completed"
    ml_id = f"train-cancel-{uuid.uuid4().hex[:6]}"
    s3.put_object(Bucket=bucket, Key=f"{ml_id}/model/earlier/model.tar.gz", Body=b"old")
    neptune.start_ml_model_training_job(id=ml_id, dataProcessingJobId=data_id,
                                        trainModelS3Location=f"s3://{bucket}/{ml_id}/model")
    time.sleep(2)
    assert neptune.cancel_ml_model_training_job(id=ml_id, clean=True)["status"] == "Stopping"
    answer = wait(neptune.get_ml_model_training_job, ml_id)
    assert answer["status"] == "Stopped" and answer["processingJob"]["status"] == "Stopped"
    assert "hpoJob" not in answer and "mlModels" not in answer
    assert keys(s3, bucket, f"{ml_id}/model/") == []

# -- listing and restarts --------------------------------------------------------------------------------------

def test_lists_are_newest_first_and_cut_at_max_items(neptune: Any, exported: dict[str, Any]) -> None:
    source = exported["write"]()
    started = []
    for n in range(3):
        ml_id = f"dp-list-{n}-{uuid.uuid4().hex[:4]}"
        neptune.start_ml_data_processing_job(id=ml_id, inputDataS3Location=source,
                                             processedDataS3Location=f"s3://{exported['bucket']}/{ml_id}/")
        started.append(ml_id)
        time.sleep(0.01)  # distinct creation times
    assert neptune.list_ml_data_processing_jobs(maxItems=2)["ids"] == started[::-1][:2]
    everything = neptune.list_ml_data_processing_jobs(maxItems=1024)["ids"]
    assert everything[:3] == started[::-1]
    assert len(neptune.list_ml_data_processing_jobs()["ids"]) == min(10, len(everything))  # the default is 10
    for ml_id in started:
        wait(neptune.get_ml_data_processing_job, ml_id)


def test_a_restarted_graph_server_keeps_its_records_and_follows_running_jobs(
        harbor: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exported: dict[str, Any]) -> None:
    source = exported["write"](sleep=8)
    ml_id = f"dp-restart-{uuid.uuid4().hex[:6]}"
    server = start_graph(tmp_path / "graph", harbor.endpoint, monkeypatch)
    try:
        client = neptune_client(server.url)
        started = client.start_ml_data_processing_job(id=ml_id, inputDataS3Location=source,
                                                      processedDataS3Location=f"s3://{exported['bucket']}/restart/")
        assert client.get_ml_data_processing_job(id=ml_id)["status"] == "InProgress"
    finally:
        server.stop()
    server = start_graph(tmp_path / "graph", harbor.endpoint, monkeypatch)
    try:
        client = neptune_client(server.url)
        assert client.list_ml_data_processing_jobs()["ids"] == [ml_id]
        answer = wait(client.get_ml_data_processing_job, ml_id)
        assert answer["status"] == "Completed", answer
        assert answer["processingJob"]["arn"] == started["arn"]
    finally:
        server.stop()
    sagemaker = harbor.client("sagemaker")
    assert len(sagemaker.list_processing_jobs(NameContains=ml_id)["ProcessingJobSummaries"]) == 1
