"""A ready session and execution role for the sagemaker SDK v3 (``sagemaker>=3``) on the local edge.

SDK v3 (``sagemaker.train.ModelTrainer``, ``sagemaker.serve.ModelBuilder``,
``sagemaker.train.tuner.HyperparameterTuner``) runs against mlharbor unchanged given five things
this module does for you:

* every client on the edge: v3 names AWS's regional STS host explicitly (``Session.account_id``
  passes ``endpoint_url=https://sts.<region>.amazonaws.com``), so :class:`EdgeSession` sends a
  client to the edge even when an AWS host is named;
* the environment: v3's resource layer (``sagemaker.core.resources``: a job's ``wait(logs=True)``,
  its CloudWatch Logs reader) makes its own ``boto3.Session()`` from the environment, whatever session
  the caller gave, so :func:`use_edge_environment` sets ``AWS_ENDPOINT_URL`` to the edge and a
  region and (dummy) credentials where the environment has none;
* a ``default_bucket`` (otherwise v3 asks STS for the account to name ``sagemaker-<region>-<account>``
  and checks the bucket's owner);
* telemetry off (the same ``TelemetryOptOut`` SDK defaults config as v2's helper);
* an execution role IAM holds: v3 validates the role before a job or a model (``iam:GetRole``, its
  trust policy, ``iam:SimulatePrincipalPolicy``), and :func:`execution_role` creates one in the
  edge's IAM that trusts ``sagemaker.amazonaws.com``. With it the validation passes as it would on
  AWS for an allowed role, and ``SAGEMAKER_VALIDATE_ROLE=false`` is not needed (it still works:
  it skips the validation for any role ARN)::

    from sdk.sagemaker_v3 import execution_role, sagemaker_session

    session = sagemaker_session()  # before importing sagemaker.train/.serve: they make clients at import

    from sagemaker.core.training.configs import InputData, SourceCode
    from sagemaker.train import ModelTrainer

    trainer = ModelTrainer(training_image=PYTORCH_IMAGE, source_code=SourceCode(source_dir="src",
                           entry_script="train.py"), role=execution_role(session), sagemaker_session=session)
    trainer.train(input_data_config=[InputData(channel_name="train", data_source="s3://bucket/data")])

Drop this module (and ``endpoint_url``) to run the same code on AWS.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

from sdk.sagemaker_session import DEFAULT_BUCKET, TELEMETRY_OPT_OUT_CONFIG
from sdk.session import LocalSession, endpoint_url, session

#: the role :func:`execution_role` creates when missing
EXECUTION_ROLE_NAME = "mlharbor-sagemaker-execution"
#: who may assume it: SageMaker, as v3's validation checks for training and serving roles
SAGEMAKER_TRUST_POLICY: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}


def is_aws_host(url: str) -> bool:
    """Whether ``url`` names one of AWS's own hosts (``….amazonaws.com``, ``….amazonaws.com.cn``)."""
    host = urlsplit(url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


class EdgeSession(LocalSession):
    """A boto3 session whose every client goes to the edge, even one made for an AWS host by name."""

    def client(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("endpoint_url") and is_aws_host(kwargs["endpoint_url"]):
            kwargs["endpoint_url"] = self.endpoint
        return super().client(*args, **kwargs)


def edge_session(region: str | None = None, endpoint: str | None = None) -> EdgeSession:
    """A boto3 :class:`EdgeSession` with the region and credentials :func:`sdk.session.session` picks."""
    made = session(region, endpoint, session_class=EdgeSession)
    assert isinstance(made, EdgeSession)
    return made


def use_edge_environment(boto_session: LocalSession) -> None:
    """Point the boto3 sessions v3 makes by itself at the edge: ``AWS_ENDPOINT_URL`` is the edge's URL,
    and the region and credentials are ``boto_session``'s where the environment names none."""
    os.environ["AWS_ENDPOINT_URL"] = boto_session.endpoint
    if not (os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION")):
        os.environ["AWS_DEFAULT_REGION"] = boto_session.region_name
    if not os.environ.get("AWS_ACCESS_KEY_ID"):
        credentials = boto_session.get_credentials().get_frozen_credentials()
        os.environ["AWS_ACCESS_KEY_ID"] = credentials.access_key
        os.environ["AWS_SECRET_ACCESS_KEY"] = credentials.secret_key


def sagemaker_session(default_bucket: str = DEFAULT_BUCKET, endpoint: str | None = None,
                      region: str | None = None, telemetry: bool = False, environment: bool = True) -> Any:
    """A v3 ``sagemaker.core.helper.session_helper.Session`` whose every client talks to the local edge.

    Args:
        default_bucket: where the SDK uploads code and writes outputs (created if missing).
        endpoint: the edge URL (default: ``AWS_ENDPOINT_URL``, else ``http://127.0.0.1:4600``).
        region: the region (default: the environment's, else ``us-east-1``).
        telemetry: leave the SDK's telemetry on (off by default: there is no AWS to send it to).
        environment: call :func:`use_edge_environment` (v3's job waiters and log readers need it).
    """
    from sagemaker.core.helper.session_helper import Session

    boto_session = edge_session(region, endpoint_url(endpoint))
    if environment:
        use_edge_environment(boto_session)
    return Session(
        boto_session=boto_session,
        sagemaker_client=boto_session.client("sagemaker"),
        sagemaker_runtime_client=boto_session.client("sagemaker-runtime"),
        default_bucket=default_bucket,
        sagemaker_config=None if telemetry else TELEMETRY_OPT_OUT_CONFIG,
    )


def execution_role(sagemaker_session: Any = None, name: str = EXECUTION_ROLE_NAME) -> str:
    """The ARN of an execution role in the edge's IAM that SageMaker may assume (created if missing).

    Args:
        sagemaker_session: a session from :func:`sagemaker_session` (or any object with a
            ``boto_session``); a new one when ``None``.
        name: the role's name.
    """
    boto_session = (sagemaker_session or _new_session()).boto_session
    iam = boto_session.client("iam")
    try:
        return iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(SAGEMAKER_TRUST_POLICY),
                                  Description="SageMaker execution role for jobs and models on mlharbor")
        return created["Role"]["Arn"]


_new_session = sagemaker_session  # execution_role's parameter shadows the function's name
