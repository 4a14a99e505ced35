"""A ready ``sagemaker.Session`` for the local edge (needs the ``sagemaker`` SDK installed).

The SDK works against mlharbor with its endpoint configured, given two things this module
does for you: a ``default_bucket`` (without one the SDK asks STS for the account on AWS's own
host to name ``sagemaker-<region>-<account>``), and telemetry turned off (SDK v2 otherwise
sends usage pings to an AWS-owned S3 host; offline they only cost time). Everything else goes
through a boto3 session whose clients all default to the edge::

    from sdk.sagemaker_session import sagemaker_session
    from sagemaker.pytorch import PyTorch
    est = PyTorch(entry_point="train.py", source_dir="src", role=ROLE, instance_count=1,
                  instance_type="ml.m5.large", framework_version="2.1", py_version="py310",
                  sagemaker_session=sagemaker_session())
    est.fit({"training": "s3://bucket/data"})

Drop this module (and ``endpoint_url``) to run the same code on AWS.
"""

from __future__ import annotations

from typing import Any

from sdk.session import session

DEFAULT_BUCKET = "mlharbor-sagemaker"

#: SDK defaults config (the schema of ``~/.config/sagemaker/config.yaml``) with telemetry off;
#: the same ``TelemetryOptOut: true`` in that file (or ``SAGEMAKER_USER_CONFIG_OVERRIDE``) opts out elsewhere.
TELEMETRY_OPT_OUT_CONFIG: dict[str, Any] = {
    "SchemaVersion": "1.0",
    "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}},
}


def sagemaker_session(default_bucket: str = DEFAULT_BUCKET, endpoint: str | None = None,
                      region: str | None = None, telemetry: bool = False) -> Any:
    """A ``sagemaker.Session`` whose every client talks to the local edge.

    Args:
        default_bucket: where the SDK uploads code and writes outputs (created if missing).
        endpoint: the edge URL (default: ``AWS_ENDPOINT_URL``, else ``http://127.0.0.1:4600``).
        region: the region (default: the environment's, else ``us-east-1``).
        telemetry: leave the SDK's telemetry on (off by default: there is no AWS to send it to).
    """
    import sagemaker

    boto_session = session(region, endpoint)
    return sagemaker.Session(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        sagemaker_runtime_client=boto_session.client("sagemaker-runtime"),
        default_bucket=default_bucket,
        sagemaker_config=None if telemetry else TELEMETRY_OPT_OUT_CONFIG,
    )
