"""Valid SageMaker requests and the small S3 steps they need, for tests and benchmarks alike."""

from __future__ import annotations

import io
import tarfile
import uuid
from typing import Any

from botocore.exceptions import WaiterError

ROLE = "arn:aws:iam::123456789012:role/mlharbor-tests"


def unique_name(prefix: str = "job") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def training_request(bucket: str, **overrides: Any) -> dict[str, Any]:
    """A valid CreateTrainingJob request for the built-in PyTorch image; override any member."""
    request: dict[str, Any] = {
        "TrainingJobName": unique_name(),
        "AlgorithmSpecification": {"TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
    }
    request.update(overrides)
    return request


def wait_until_settled(client: Any, waiter: str, status_member: str, timeout: float, **params: Any) -> None:
    """Run botocore's ``waiter`` until it stops; a failure state ends the wait too (a test looks at why).

    Raises:
        WaiterError: the waiter gave up without reading ``status_member`` (the call itself failed).
    """
    delay = 0.3
    try:
        client.get_waiter(waiter).wait(**params, WaiterConfig={"Delay": delay, "MaxAttempts": int(timeout / delay) + 1})
    except WaiterError as error:
        if status_member not in (error.last_response or {}):
            raise


def wait_for_status(sagemaker: Any, name: str, timeout: float = 180) -> dict[str, Any]:
    """Wait (botocore's waiter) until the job ends; returns the final description."""
    wait_until_settled(sagemaker, "training_job_completed_or_stopped", "TrainingJobStatus", timeout,
                       TrainingJobName=name)
    description = sagemaker.describe_training_job(TrainingJobName=name)
    if description["TrainingJobStatus"] not in ("Completed", "Failed", "Stopped"):
        raise TimeoutError(f"{name} still {description['TrainingJobStatus']} after {timeout}s")
    return description


def model_archive(files: dict[str, bytes]) -> bytes:
    """A ``.tar.gz`` of ``files`` (name -> bytes), as ``model.tar.gz`` or ``sourcedir.tar.gz``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def upload_script(s3: Any, bucket: str, source: str, name: str = "train.py") -> str:
    """Pack ``source`` as ``sourcedir.tar.gz`` in S3 (script mode); returns its URI."""
    key = f"code/{uuid.uuid4().hex[:8]}/sourcedir.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_archive({name: source.encode()}))
    return f"s3://{bucket}/{key}"


def script_job(s3: Any, bucket: str, source: str, **overrides: Any) -> dict[str, Any]:
    """A CreateTrainingJob request running ``source`` in ``mlharbor/pytorch`` script mode."""
    hyperparameters = {
        "sagemaker_program": "train.py",
        "sagemaker_submit_directory": upload_script(s3, bucket, source),
        **overrides.pop("HyperParameters", {}),
    }
    return training_request(bucket, HyperParameters=hyperparameters, **overrides)
