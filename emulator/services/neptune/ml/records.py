"""The records of Neptune ML's jobs and endpoints, and the SageMaker names derived from their ids.

A record is what GetML* reports and what survives a restart of the graph server: the request as
accepted (defaults filled in), the stage the orchestration is at, and the SageMaker resources
that back it, named as the neptunedata model's output members name them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

#: the four families of Neptune ML resources, as the URL paths name them
DATA_PROCESSING = "dataprocessing"
MODEL_TRAINING = "modeltraining"
MODEL_TRANSFORM = "modeltransform"
ENDPOINT = "endpoints"
KINDS = (DATA_PROCESSING, MODEL_TRAINING, MODEL_TRANSFORM, ENDPOINT)

#: Neptune reports the backing SageMaker job's status strings
IN_PROGRESS = "InProgress"
COMPLETED = "Completed"
FAILED = "Failed"
STOPPING = "Stopping"
STOPPED = "Stopped"
JOB_FINISHED = frozenset({COMPLETED, FAILED, STOPPED})
#: an endpoint's statuses are SageMaker's EndpointStatus
ENDPOINT_CREATING = "Creating"
ENDPOINT_UPDATING = "Updating"
ENDPOINT_IN_SERVICE = "InService"
ENDPOINT_SETTLED = frozenset({ENDPOINT_IN_SERVICE, FAILED})

#: SageMaker's name pattern (processing jobs, models, endpoint configs, endpoints; tuning jobs: 32 characters)
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
MAX_NAME = 63
MAX_TUNING_NAME = 32


@dataclass
class SageMakerResource:
    """One SageMaker resource behind a Neptune ML record (neptunedata's ``MlResourceDefinition``)."""

    name: str
    arn: str = ""
    status: str = ""
    output_location: str | None = None
    failure_reason: str | None = None

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name, "arn": self.arn, "status": self.status}
        if self.output_location:
            body["outputLocation"] = self.output_location
        if self.failure_reason:
            body["failureReason"] = self.failure_reason
        return body


@dataclass
class MlRecord:
    """A Neptune ML job (data processing, model training, model transform) or an ML endpoint.

    Args:
        kind: one of :data:`KINDS`.
        id: the Neptune ML id (given, or generated).
        params: the accepted request with Neptune's defaults filled in.
        created_ms: creation time, epoch milliseconds (``creationTimeInMillis``).
        status: the status GetML* reports.
        stage: where the orchestration is (``processing``, ``prepare``, ``tuning``, ``transform``, ``endpoint``,
            ``done``), so a restarted server resumes following the right SageMaker resource.
        arn: the ARN the Start/Create call answered with (the first SageMaker resource's).
        resources: the SageMaker resources by the output member naming them (``processingJob``, ``hpoJob``,
            ``remoteModelTransformJob``, ``endpoint``).
        configs: ``MlConfigDefinition`` members by name (``endpointConfig``).
        models: ``mlModels`` (training) or ``models`` (transform): ``{"name", "arn"}`` each.
        outputs: what later steps read: ``model_data_url`` (the model.tar.gz an endpoint serves), ``data``.
        sagemaker_models / sagemaker_configs: an ML endpoint's SageMaker Models and EndpointConfigs, every
            version (DeleteMLEndpoint deletes them).
        cancel_requested / clean: CancelML* was called (with ``clean=true``: delete the S3 artifacts).
    """

    kind: str
    id: str
    params: dict[str, Any]
    created_ms: int
    status: str = IN_PROGRESS
    stage: str = ""
    arn: str = ""
    resources: dict[str, SageMakerResource] = field(default_factory=dict)
    configs: dict[str, dict[str, str]] = field(default_factory=dict)
    models: list[dict[str, str]] = field(default_factory=list)
    outputs: dict[str, str] = field(default_factory=dict)
    failure_reason: str | None = None
    sagemaker_models: list[str] = field(default_factory=list)
    sagemaker_configs: list[str] = field(default_factory=list)
    cancel_requested: bool = False
    clean: bool = False

    @property
    def finished(self) -> bool:
        if self.kind == ENDPOINT:
            return self.status in ENDPOINT_SETTLED
        return self.status in JOB_FINISHED

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MlRecord:
        resources = {key: SageMakerResource(**value) for key, value in data.pop("resources", {}).items()}
        return cls(resources=resources, **data)


def sagemaker_name(ml_id: str, suffix: str = "", max_len: int = MAX_NAME) -> str:
    """The SageMaker name for a Neptune ML id (and an optional suffix), within SageMaker's pattern and length.

    An id that already fits is used as it is (``X`` backs ML endpoint ``X``); a longer or odd one is cut and
    given a digest of the whole id, so two ids never share a name.
    """
    base = re.sub(r"[^A-Za-z0-9-]", "-", ml_id).strip("-") or "neptune-ml"
    full = f"{base}-{suffix}" if suffix else base
    if len(full) <= max_len and SAGEMAKER_NAME.match(full) and full.replace("-", "") and base == ml_id:
        return full
    digest = hashlib.sha1(f"{ml_id}\0{suffix}".encode()).hexdigest()[:8]
    tail = f"-{digest}" + (f"-{suffix}" if suffix else "")
    return base[: max_len - len(tail)].rstrip("-") + tail
