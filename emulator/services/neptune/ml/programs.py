"""What Neptune ML runs on SageMaker: the one built-in image and its programs (the Neptune ML contract, section 1),
and Neptune's defaults for the SageMaker resources (instance types, volumes, time-outs)."""

from __future__ import annotations

from dataclasses import dataclass

IMAGE = "mlharbor/neptune-ml"
PROCESSING_ENTRYPOINT = ("python3", "-m", "containers.neptune_ml.processing")
PREPARE_ENTRYPOINT = ("python3", "-m", "containers.neptune_ml.prepare")
TRANSFORM_ENTRYPOINT = ("python3", "-m", "containers.neptune_ml.transform")

#: the paths inside a processing job (the contract's sections 3 and 5)
PROCESSING_INPUT = "/opt/ml/processing/input"
PROCESSING_OUTPUT = "/opt/ml/processing/output"
PREPARE_DATA_INPUT = "/opt/ml/processing/input/data"
TRANSFORM_MODEL_INPUT = "/opt/ml/processing/input/model"
#: the training channel holding the processed graph (SM_CHANNEL_GRAPH)
GRAPH_CHANNEL = "graph"
TUNING_SPEC = "tuning-spec.json"

#: Neptune's documented defaults (the neptunedata model's documentation of each member)
DEFAULT_CONFIG_FILE = "training-data-configuration.json"
DEFAULT_MODEL_TYPE = "heterogeneous"
MODEL_TYPES = ("heterogeneous", "kge")
#: "the smallest ml.r5 type whose memory is ten times the exported data": the smallest, for the graphs one machine holds
DEFAULT_PROCESSING_INSTANCE = "ml.r5.large"
DEFAULT_TRAINING_INSTANCE = "ml.p3.2xlarge"
DEFAULT_ENDPOINT_INSTANCE = "ml.m5.xlarge"
DEFAULT_TIMEOUT_S = 86_400
DEFAULT_MAX_HPO_JOBS = 2
DEFAULT_MAX_HPO_PARALLEL = 2
#: "0: Neptune ML chooses the volume size": SageMaker needs one
DEFAULT_VOLUME_GB = 30
#: Neptune takes the role from the cluster's parameter group; a cluster of one machine has this one
DEFAULT_SAGEMAKER_ROLE = "arn:aws:iam::123456789012:role/NeptuneMLSageMakerRole"
#: CreateMLEndpoint's modelName: rgcn for heterogeneous graphs, kge (or one of its models) for knowledge graphs
MODEL_NAMES = ("rgcn", "kge", "transe", "distmult", "rotate")


@dataclass(frozen=True)
class Programs:
    """The images and entrypoints the orchestration starts; one value, so a test can run stand-in programs.

    Args:
        image: the processing jobs' image (data processing, prepare, transform).
        processing / prepare / transform: their ``ContainerEntrypoint``.
        training_image: the tuning job's trials (the image's own ``train``).
        serving_image: the endpoint's container.
        metric_definitions: ``MetricDefinitions`` for the trials; none: the built-in image's own.
    """

    image: str = IMAGE
    processing: tuple[str, ...] = PROCESSING_ENTRYPOINT
    prepare: tuple[str, ...] = PREPARE_ENTRYPOINT
    transform: tuple[str, ...] = TRANSFORM_ENTRYPOINT
    training_image: str = IMAGE
    serving_image: str = IMAGE
    metric_definitions: tuple[tuple[str, str], ...] = ()


DEFAULT_PROGRAMS = Programs()
