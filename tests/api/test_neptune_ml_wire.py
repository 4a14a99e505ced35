"""Neptune ML's wire and SageMaker requests without a server: the routes match botocore's model, the names
derived from ML ids fit SageMaker, and the tuning job is the prepare step's spec verbatim."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiohttp import web

from emulator.services.neptune.ml import programs, records, sagemaker_requests
from emulator.services.neptune.ml.responses import service_model
from emulator.services.neptune.ml.routes import add_ml_routes

SPEC = {"objective": {"Type": "Minimize", "MetricName": "validation:rmse"}, "strategy": "Bayesian",
        "parameter_ranges": {"IntegerParameterRanges": [{"Name": "num-hidden", "MinValue": "16", "MaxValue": "128",
                                                         "ScalingType": "Logarithmic"}],
                             "ContinuousParameterRanges": [], "CategoricalParameterRanges": []},
        "static_hyperparameters": {"task": "node_regression", "num-bases": 0}, "tiers_tuned": 1}


def test_the_sixteen_ml_operations_are_routed_where_botocore_sends_them(tmp_path: Path) -> None:
    app = web.Application()
    with ThreadPoolExecutor(1) as executor:
        jobs = add_ml_routes(app, tmp_path, None, "us-east-1", executor)
        served = {(route.method, route.resource.canonical) for route in app.router.routes() if route.method != "HEAD"}
        jobs.shutdown()
    model = service_model()
    wanted = {(model.operation_model(name).http["method"], model.operation_model(name).http["requestUri"])
              for name in model.operation_names if re.search(r"ML(DataProcessing|ModelTraining|ModelTransform|"
                                                             r"Endpoint)", name)}
    assert len(wanted) == 16
    assert served == wanted


def test_sagemaker_names_fit_their_patterns_and_never_collide() -> None:
    assert records.sagemaker_name("my-endpoint") == "my-endpoint"
    assert records.sagemaker_name("job1", "prepare") == "job1-prepare"
    uuid_id = "3f6d0c2e-8f5b-4a8e-9c9d-1b2c3d4e5f60"
    tuning = records.sagemaker_name(uuid_id, max_len=records.MAX_TUNING_NAME)
    assert len(tuning) <= 32 and records.SAGEMAKER_NAME.match(tuning)
    other = records.sagemaker_name(uuid_id[:-1] + "1", max_len=records.MAX_TUNING_NAME)
    assert other != tuning
    odd = records.sagemaker_name("a_b", "transform")
    assert records.SAGEMAKER_NAME.match(odd) and odd != records.sagemaker_name("a-b", "transform")
    long_name = records.sagemaker_name("x" * 63, "prepare")
    assert len(long_name) <= 63 and long_name.endswith("-prepare")


def test_the_tuning_job_takes_the_spec_verbatim_and_neptunes_training_settings() -> None:
    params = {"trainModelS3Location": "s3://b/model/", "trainingInstanceType": "ml.p3.2xlarge",
              "trainingTimeOutInSeconds": 3600, "maxHPONumberOfTrainingJobs": 10, "maxHPOParallelTrainingJobs": 2,
              "enableManagedSpotTraining": True}
    request = sagemaker_requests.tuning_job("t1", params, "s3://b/processed/", SPEC, programs.DEFAULT_PROGRAMS)
    config, definition = request["HyperParameterTuningJobConfig"], request["TrainingJobDefinition"]
    assert config["HyperParameterTuningJobObjective"] == SPEC["objective"]
    assert config["ParameterRanges"] == {"IntegerParameterRanges": SPEC["parameter_ranges"]["IntegerParameterRanges"]}
    assert config["ResourceLimits"] == {"MaxNumberOfTrainingJobs": 10, "MaxParallelTrainingJobs": 2}
    assert config["RandomSeed"] == sagemaker_requests.TUNING_SEED  # the same draws each run
    assert definition["StaticHyperParameters"] == {"task": "node_regression", "num-bases": "0"}
    assert definition["AlgorithmSpecification"] == {"TrainingImage": "mlharbor/neptune-ml", "TrainingInputMode": "File"}
    assert definition["InputDataConfig"][0]["ChannelName"] == "graph"
    assert definition["EnableManagedSpotTraining"] is True
    assert definition["StoppingCondition"] == {"MaxRuntimeInSeconds": 3600, "MaxWaitTimeInSeconds": 3600}
    assert definition["OutputDataConfig"] == {"S3OutputPath": "s3://b/model/output"}
    assert definition["CheckpointConfig"] == {"S3Uri": "s3://b/model/checkpoints"}
    assert definition["ResourceConfig"]["VolumeSizeInGB"] == programs.DEFAULT_VOLUME_GB


def test_the_processing_jobs_follow_the_contracts_paths() -> None:
    params = {"id": "d", "inputDataS3Location": "s3://b/export/", "processedDataS3Location": "s3://b/processed/",
              "configFileName": "training-data-configuration.json", "modelType": "kge",
              "processingInstanceType": "ml.r5.large", "processingTimeOutInSeconds": 86_400}
    job = sagemaker_requests.data_processing_job("d", params, programs.DEFAULT_PROGRAMS)
    assert job["AppSpecification"] == {
        "ImageUri": "mlharbor/neptune-ml", "ContainerEntrypoint": ["python3", "-m", "containers.neptune_ml.processing"],
        "ContainerArguments": ["--config-file-name", "training-data-configuration.json", "--model-type", "kge",
                               "--seed", "0"]}
    assert job["ProcessingInputs"][0]["S3Input"]["LocalPath"] == "/opt/ml/processing/input"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"] == {
        "S3Uri": "s3://b/processed/", "LocalPath": "/opt/ml/processing/output", "S3UploadMode": "EndOfJob"}
    transform = sagemaker_requests.transform_job(
        "t", {"modelTransformOutputS3Location": "s3://b/out/", "baseProcessingInstanceType": "ml.r5.large"},
        "s3://b/processed/", "s3://b/model/output/job/output/model.tar.gz", programs.DEFAULT_PROGRAMS)
    assert "ContainerArguments" not in transform["AppSpecification"]
    assert {i["InputName"]: i["S3Input"]["LocalPath"] for i in transform["ProcessingInputs"]} == {
        "data": "/opt/ml/processing/input/data", "model": "/opt/ml/processing/input/model"}


def test_a_custom_models_directory_reaches_the_prepare_step() -> None:
    params = {"trainModelS3Location": "s3://b/model", "maxHPONumberOfTrainingJobs": 2, "maxHPOParallelTrainingJobs": 2,
              "baseProcessingInstanceType": "ml.r5.large", "trainingTimeOutInSeconds": 60,
              "customModelTrainingParameters": {"sourceS3DirectoryPath": "s3://b/my-model/"}}
    job = sagemaker_requests.prepare_job("p", params, "s3://b/processed/", programs.DEFAULT_PROGRAMS)
    assert {i["InputName"]: (i["S3Input"]["S3Uri"], i["S3Input"]["LocalPath"]) for i in job["ProcessingInputs"]} == {
        "data": ("s3://b/processed/", "/opt/ml/processing/input/data"),
        "custom": ("s3://b/my-model/", "/opt/ml/processing/input/custom")}
    assert job["AppSpecification"]["ContainerArguments"] == [
        "--max-hpo-jobs", "2", "--max-parallel", "2", "--custom-params", '{"sourceS3DirectoryPath": "s3://b/my-model/"}']
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == "s3://b/model/prepare"
