"""ARNs of the SageMaker resources mlharbor keeps, built in one place."""

from __future__ import annotations


def sagemaker_arn(region: str, account_id: str, resource_type: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<type>/<name>``; SageMaker lower-cases the name."""
    return f"arn:aws:sagemaker:{region}:{account_id}:{resource_type}/{name.lower()}"


def training_job_arn(region: str, account_id: str, name: str) -> str:
    return sagemaker_arn(region, account_id, "training-job", name)


def processing_job_arn(region: str, account_id: str, name: str) -> str:
    return sagemaker_arn(region, account_id, "processing-job", name)


def model_arn(region: str, account_id: str, name: str) -> str:
    return sagemaker_arn(region, account_id, "model", name)


def endpoint_config_arn(region: str, account_id: str, name: str) -> str:
    return sagemaker_arn(region, account_id, "endpoint-config", name)


def endpoint_arn(region: str, account_id: str, name: str) -> str:
    return sagemaker_arn(region, account_id, "endpoint", name)
