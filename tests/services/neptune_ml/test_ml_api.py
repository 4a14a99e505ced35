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
        assert listing()["ids"] == []


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
