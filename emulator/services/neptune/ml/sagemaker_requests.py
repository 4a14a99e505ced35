"""The SageMaker requests behind each Neptune ML step, built from a record's accepted parameters (pure functions).

Data processing, the training's preparation and the model transform are processing jobs on the Neptune ML
image; the training proper is a hyperparameter tuning job whose trials are training jobs; an ML endpoint is a
Model, an EndpointConfig and an Endpoint (https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning.html).
"""

from __future__ import annotations

import json
from typing import Any

from emulator.services.neptune.ml import programs as p
from emulator.services.neptune.ml.programs import Programs


def s3_join(prefix: str, *parts: str) -> str:
    """``s3://b/p/`` + ``a`` -> ``s3://b/p/a``."""
    return "/".join([prefix.rstrip("/"), *(part.strip("/") for part in parts)])


def _volume(size: int | None) -> int:
    return size if size else p.DEFAULT_VOLUME_GB


def _processing_input(name: str, uri: str, local_path: str) -> dict[str, Any]:
    return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local_path, "S3DataType": "S3Prefix",
                                           "S3InputMode": "File"}}


def _network(params: dict[str, Any]) -> dict[str, Any]:
    if params.get("subnets") and params.get("securityGroupIds"):
        return {"NetworkConfig": {"VpcConfig": {"Subnets": params["subnets"],
                                                "SecurityGroupIds": params["securityGroupIds"]}}}
    return {}


def _processing_job(name: str, params: dict[str, Any], image: str, entrypoint: tuple[str, ...],
                    arguments: list[str], inputs: list[dict[str, Any]], output_uri: str, instance_type: str,
                    volume_gb: int | None, timeout_s: int) -> dict[str, Any]:
    cluster: dict[str, Any] = {"InstanceCount": 1, "InstanceType": instance_type, "VolumeSizeInGB": _volume(volume_gb)}
    if params.get("volumeEncryptionKMSKey"):
        cluster["VolumeKmsKeyId"] = params["volumeEncryptionKMSKey"]
    outputs: dict[str, Any] = {"Outputs": [{"OutputName": "output", "S3Output": {
        "S3Uri": output_uri, "LocalPath": p.PROCESSING_OUTPUT, "S3UploadMode": "EndOfJob"}}]}
    if params.get("s3OutputEncryptionKMSKey"):
        outputs["KmsKeyId"] = params["s3OutputEncryptionKMSKey"]
    app: dict[str, Any] = {"ImageUri": image, "ContainerEntrypoint": list(entrypoint)}
    if arguments:  # SageMaker refuses an empty list
        app["ContainerArguments"] = arguments
    return {
        "ProcessingJobName": name,
        "RoleArn": params.get("sagemakerIamRoleArn") or p.DEFAULT_SAGEMAKER_ROLE,
        "AppSpecification": app,
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": outputs,
        "ProcessingResources": {"ClusterConfig": cluster},
        "StoppingCondition": {"MaxRuntimeInSeconds": timeout_s},
        **_network(params),
    }


def data_processing_job(name: str, params: dict[str, Any], programs: Programs) -> dict[str, Any]:
    """The processing job of StartMLDataProcessingJob (contract section 3)."""
    arguments = ["--config-file-name", params["configFileName"], "--model-type", params["modelType"], "--seed", "0"]
    return _processing_job(
        name, params, programs.image, programs.processing, arguments,
        [_processing_input("input", params["inputDataS3Location"], p.PROCESSING_INPUT)],
        params["processedDataS3Location"], params["processingInstanceType"],
        params.get("processingInstanceVolumeSizeInGB"), params["processingTimeOutInSeconds"])


def prepare_job(name: str, params: dict[str, Any], processed_data: str, programs: Programs) -> dict[str, Any]:
    """The processing job that turns the HPO configuration into ``tuning-spec.json`` (contract section 5)."""
    arguments = ["--max-hpo-jobs", str(params["maxHPONumberOfTrainingJobs"]),
                 "--max-parallel", str(params["maxHPOParallelTrainingJobs"])]
    if params.get("customModelTrainingParameters"):
        arguments += ["--custom-params", json.dumps(params["customModelTrainingParameters"])]
    inputs = [_processing_input("data", processed_data, p.PREPARE_DATA_INPUT)]
    custom = params.get("customModelTrainingParameters") or {}
    if custom.get("sourceS3DirectoryPath"):  # a custom model's directory, with its own HPO configuration
        inputs.append(_processing_input("custom", custom["sourceS3DirectoryPath"], p.PREPARE_CUSTOM_INPUT))
    return _processing_job(
        name, params, programs.image, programs.prepare, arguments, inputs,
        prepare_output(params), params["baseProcessingInstanceType"], None, params["trainingTimeOutInSeconds"])


def prepare_output(params: dict[str, Any]) -> str:
    return s3_join(params["trainModelS3Location"], "prepare")


#: the seed of the hyperparameter draws of every model training's tuning job
TUNING_SEED = 0


def tuning_job(name: str, params: dict[str, Any], processed_data: str, spec: dict[str, Any],
               programs: Programs) -> dict[str, Any]:
    """The hyperparameter tuning job made verbatim from the prepare step's ``tuning-spec.json``."""
    timeout = params["trainingTimeOutInSeconds"]
    stopping: dict[str, Any] = {"MaxRuntimeInSeconds": timeout}
    if params["enableManagedSpotTraining"]:
        stopping["MaxWaitTimeInSeconds"] = timeout
    resources: dict[str, Any] = {"InstanceType": params["trainingInstanceType"], "InstanceCount": 1,
                                 "VolumeSizeInGB": _volume(params.get("trainingInstanceVolumeSizeInGB"))}
    if params.get("volumeEncryptionKMSKey"):
        resources["VolumeKmsKeyId"] = params["volumeEncryptionKMSKey"]
    output: dict[str, Any] = {"S3OutputPath": s3_join(params["trainModelS3Location"], "output")}
    if params.get("s3OutputEncryptionKMSKey"):
        output["KmsKeyId"] = params["s3OutputEncryptionKMSKey"]
    definition: dict[str, Any] = {
        "StaticHyperParameters": {str(k): str(v) for k, v in (spec.get("static_hyperparameters") or {}).items()},
        "AlgorithmSpecification": _algorithm(programs),
        "RoleArn": params.get("sagemakerIamRoleArn") or p.DEFAULT_SAGEMAKER_ROLE,
        "InputDataConfig": [{"ChannelName": p.GRAPH_CHANNEL, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": processed_data, "S3DataDistributionType": "FullyReplicated"}}}],
        "OutputDataConfig": output,
        "ResourceConfig": resources,
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": bool(params["enableManagedSpotTraining"]),
        "CheckpointConfig": {"S3Uri": s3_join(params["trainModelS3Location"], "checkpoints")},
    }
    if params.get("subnets") and params.get("securityGroupIds"):
        definition["VpcConfig"] = {"Subnets": params["subnets"], "SecurityGroupIds": params["securityGroupIds"]}
    config: dict[str, Any] = {
        "Strategy": spec.get("strategy") or "Bayesian",
        "HyperParameterTuningJobObjective": spec["objective"],
        "ResourceLimits": {"MaxNumberOfTrainingJobs": params["maxHPONumberOfTrainingJobs"],
                           "MaxParallelTrainingJobs": params["maxHPOParallelTrainingJobs"]},
        "TrainingJobEarlyStoppingType": "Off",
        # the same draws every time, as the processing step's --seed 0: a pipeline run repeats (the job's name,
        # which SageMaker's seed would come from otherwise, holds the model training job's own id)
        "RandomSeed": TUNING_SEED,
    }
    ranges = {key: value for key, value in (spec.get("parameter_ranges") or {}).items() if value}
    if ranges:
        config["ParameterRanges"] = ranges
    return {"HyperParameterTuningJobName": name, "HyperParameterTuningJobConfig": config,
            "TrainingJobDefinition": definition}


def _algorithm(programs: Programs) -> dict[str, Any]:
    algorithm: dict[str, Any] = {"TrainingImage": programs.training_image, "TrainingInputMode": "File"}
    if programs.metric_definitions:
        algorithm["MetricDefinitions"] = [{"Name": name, "Regex": regex} for name, regex in programs.metric_definitions]
    return algorithm


def transform_job(name: str, params: dict[str, Any], processed_data: str, model_data_url: str,
                  programs: Programs) -> dict[str, Any]:
    """The processing job of StartMLModelTransformJob: a trained model over (re-)processed data."""
    return _processing_job(
        name, params, programs.image, programs.transform, [],
        [_processing_input("data", processed_data, p.PREPARE_DATA_INPUT),
         _processing_input("model", model_data_url, p.TRANSFORM_MODEL_INPUT)],
        params["modelTransformOutputS3Location"], params["baseProcessingInstanceType"],
        params.get("baseProcessingInstanceVolumeSizeInGB"), p.DEFAULT_TIMEOUT_S)


def endpoint_resources(model_name: str, config_name: str, params: dict[str, Any], model_data_url: str,
                       programs: Programs) -> tuple[dict[str, Any], dict[str, Any]]:
    """CreateModel and CreateEndpointConfig for an ML endpoint (the endpoint itself names the config)."""
    model = {"ModelName": model_name, "ExecutionRoleArn": params.get("sagemakerIamRoleArn") or p.DEFAULT_SAGEMAKER_ROLE,
             "PrimaryContainer": {"Image": programs.serving_image, "ModelDataUrl": model_data_url,
                                  "Environment": {"NEPTUNE_ML_MODEL_NAME": params["modelName"]}}}
    config: dict[str, Any] = {"EndpointConfigName": config_name, "ProductionVariants": [{
        "VariantName": "AllTraffic", "ModelName": model_name, "InstanceType": params["instanceType"],
        "InitialInstanceCount": params["instanceCount"]}]}
    if params.get("volumeEncryptionKMSKey"):
        config["KmsKeyId"] = params["volumeEncryptionKMSKey"]
    return model, config
