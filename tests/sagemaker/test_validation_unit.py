"""The botocore-model validator on its own (pure): message format and paths."""

from __future__ import annotations

import pytest

from emulator.aws.errors import SerializationError, ValidationError
from emulator.aws.json_protocol import load_service_model, snake_case
from emulator.aws.validation import aws_member_path, validate_request

MODEL = load_service_model("sagemaker")


def test_snake_case_names_handlers_like_moto():
    assert snake_case("CreateTrainingJob") == "create_training_job"
    assert snake_case("DescribeEndpointConfig") == "describe_endpoint_config"
    assert snake_case("CreateAutoMLJob") == "create_auto_ml_job"


def test_member_paths_are_lower_camel_case():
    assert aws_member_path("", "TrainingJobName") == "trainingJobName"
    assert aws_member_path("resourceConfig", "InstanceCount") == "resourceConfig.instanceCount"


def test_valid_request_passes_unchanged():
    params = {"TrainingJobName": "ok-name"}
    assert validate_request(MODEL.operation_model("DescribeTrainingJob"), params) == params


def test_every_violation_is_counted_once():
    with pytest.raises(ValidationError) as caught:
        validate_request(MODEL.operation_model("DescribeTrainingJob"), {"TrainingJobName": ""})
    message = caught.value.message
    assert message.startswith("2 validation errors detected: ")
    assert message.count("Value '' at 'trainingJobName'") == 2


def test_map_entries_are_checked():
    params = {"TrainingJobName": "a", "RoleArn": "arn:aws:iam::123456789012:role/r",
              "OutputDataConfig": {"S3OutputPath": "s3://b/o"}, "HyperParameters": {"k": "v" * 3000}}
    with pytest.raises(ValidationError) as caught:
        validate_request(MODEL.operation_model("CreateTrainingJob"), params)
    assert "at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: [" in caught.value.message


def test_booleans_are_not_numbers():
    with pytest.raises(SerializationError):
        validate_request(MODEL.operation_model("ListTrainingJobs"), {"MaxResults": True})
