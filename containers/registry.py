"""The built-in container images and how the process runner starts each one.

An image name resolves with or without a tag (``mlharbor/pytorch``, ``mlharbor/pytorch:2.1``).
In the process runner a built-in's ``train`` is a Python module run by the image's interpreter:
the job's own environment (see ``emulator/runners/local/job_env.py``), which sees the server's packages
(torch, the toolkit) but installs into itself; the Docker runner runs the image itself.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinImage:
    """One built-in image.

    Args:
        name: the image name without tag.
        description: one line for ``mlharbor images``.
        train_module: the module whose ``__main__`` is the container's ``train``.
        serve_module: the module serving ``/ping`` and ``/invocations``, if the image serves.
        process_module: the default program of a processing job (else ``train_module``).
        metric_definitions: the metrics the image's own training prints, as SageMaker's built-in algorithms
            declare them (``{"Name": "validation:rmse", "Regex": ...}``): a training or tuning job on the
            image finds them without ``MetricDefinitions`` of its own.
    """

    name: str
    description: str
    train_module: str
    serve_module: str | None = None
    process_module: str | None = None
    metric_definitions: tuple[dict[str, str], ...] = ()

    def train_command(self, python: str = sys.executable) -> list[str]:
        """The container's ``train``, run by ``python`` (the job's interpreter)."""
        return [python, "-m", self.train_module]

    def serve_command(self) -> list[str]:
        """The container's ``serve``: answers ``/ping`` and ``/invocations`` (see containers/serving.py)."""
        if self.serve_module is None:
            raise UnknownImageError(f"image {self.name!r} does not serve")
        return [sys.executable, "-m", self.serve_module]

    def process_command(self, python: str = sys.executable) -> list[str]:
        """A processing job without ``ContainerEntrypoint`` runs the image's default program."""
        return [python, "-m", self.process_module or self.train_module]

    def local_argv(self, entrypoint: list[str], python: str = sys.executable) -> list[str]:
        """``ContainerEntrypoint`` as run by the process runner: the image's ``python`` is ``python``."""
        if entrypoint and entrypoint[0] in ("python", "python3"):
            return [python, *entrypoint[1:]]
        return list(entrypoint)


BUILTIN_IMAGES: tuple[BuiltinImage, ...] = (
    BuiltinImage(
        name="mlharbor/pytorch",
        description="script mode: runs sagemaker_program from sagemaker_submit_directory (torch 2.13 CPU)",
        train_module="containers.pytorch.train",
        serve_module="containers.pytorch.serve",
    ),
    BuiltinImage(
        name="mlharbor/image-classifier",
        description="small CNN on labelled images in S3 (<channel>/<label>/<n>.png); serves image/png or JSON",
        train_module="containers.image_classifier.train",
        serve_module="containers.image_classifier.serve",
    ),
    BuiltinImage(
        name="mlharbor/graph-etl",
        description="processing: raw node/edge CSV -> Neptune bulk-load CSV + feature/label/split files",
        train_module="containers.graph_etl.process",
        process_module="containers.graph_etl.process",
    ),
    BuiltinImage(
        name="mlharbor/gnn",
        description="PyTorch Geometric node classification (GCN, GAT, GraphSAGE); topology over gremlinpython",
        train_module="containers.gnn.train",
        serve_module="containers.gnn.serve",
    ),
    BuiltinImage(
        name="mlharbor/neptune-ml",
        description="Neptune ML: data processing, heterogeneous R-GCN / link prediction / KGE training, "
                    "model transform and the inference endpoint",
        train_module="containers.neptune_ml.train",
        serve_module="containers.neptune_ml.serve",
        process_module="containers.neptune_ml.processing",
    ),
)


def _xgboost_metric_definitions() -> tuple[dict[str, str], ...]:
    """``train:<m>`` and ``validation:<m>`` for each eval metric, matching the lines AWS's image prints
    (``[3]#011train-rmse:0.51#011validation-rmse:0.62``; ``#011`` is how CloudWatch shows a tab)."""
    from containers.xgboost.metrics import EVAL_METRICS

    number = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
    return tuple(
        {"Name": f"{channel}:{metric}", "Regex": rf".*\[[0-9]+\].*#011{channel}-{metric}:{number}"}
        for metric in EVAL_METRICS
        for channel in ("train", "validation")
    )


BUILTIN_IMAGES += (
    BuiltinImage(
        name="mlharbor/xgboost",
        description="SageMaker's XGBoost: algorithm mode (CSV/libsvm channels, text/csv and libsvm serving) "
                    "or script mode (xgboost 3.2 CPU)",
        train_module="containers.xgboost.train",
        serve_module="containers.xgboost.serve",
        metric_definitions=_xgboost_metric_definitions(),
    ),
    BuiltinImage(
        name="mlharbor/sklearn",
        description="SageMaker's scikit-learn: script mode for training, serving (model_fn/input_fn/predict_fn/"
                    "output_fn) and processing",
        train_module="containers.sklearn.train",
        serve_module="containers.sklearn.serve",
    ),
)

def _neptune_ml_metric_definitions() -> tuple[dict[str, str], ...]:
    """What ``containers.neptune_ml.train`` prints: ``validation:<m>=<v>`` per epoch and once more (the best) at the
    end, ``test:<m>=<v>`` at the end, ``train_loss=<x>`` per epoch."""
    number = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
    named = tuple({"Name": f"{split}:{metric}", "Regex": rf"{split}:{metric}={number}"}
                  for split in ("validation", "test") for metric in ("acc", "rmse", "mrr", "auc"))
    return (*named, {"Name": "train_loss", "Regex": rf"train_loss={number}"})


BUILTIN_IMAGES += (
    BuiltinImage(
        name="mlharbor/neptune-ml",
        description="Neptune ML: data processing, R-GCN / KGE training on the processed graph, HPO preparation, "
                    "model transform, and the inference endpoint",
        train_module="containers.neptune_ml.train",
        serve_module="containers.neptune_ml.serve",
        process_module="containers.neptune_ml.processing",
        metric_definitions=_neptune_ml_metric_definitions(),
    ),
)

_BY_NAME = {image.name: image for image in BUILTIN_IMAGES}

#: AWS Deep Learning Container repositories (any account, region and tag) served by a built-in.
#: The sagemaker SDK's framework estimators send these URIs as ``TrainingImage``.
_DLC_REPOSITORIES = {
    "pytorch-training": "mlharbor/pytorch",
    "pytorch-inference": "mlharbor/pytorch",
    # image_uris.retrieve("xgboost" | "sklearn", region, version): one repository for training and serving
    "sagemaker-xgboost": "mlharbor/xgboost",
    "xgboost": "mlharbor/xgboost",
    "sagemaker-scikit-learn": "mlharbor/sklearn",
}
_ECR_HOST = re.compile(r"^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/")


class UnknownImageError(LookupError):
    """The image is not one of the built-ins."""


def image_name(reference: str) -> str:
    """``registry/name:tag`` or ``name@sha256:…`` → ``registry/name``."""
    without_digest = reference.split("@", 1)[0]
    last_slash = without_digest.rfind("/")
    colon = without_digest.rfind(":")
    return without_digest[:colon] if colon > last_slash else without_digest


def resolve(reference: str) -> BuiltinImage:
    """The built-in image a ``TrainingImage`` names: a built-in's own name, or an AWS DLC URI.

    Raises:
        UnknownImageError: it names no built-in (the message lists them).
    """
    name = image_name(reference)
    if _ECR_HOST.match(name):
        name = _DLC_REPOSITORIES.get(name.split("/", 1)[1], name)
    image = _BY_NAME.get(name)
    if image is None:
        known = ", ".join(sorted(_BY_NAME))
        raise UnknownImageError(f"image {reference!r} is not a built-in image (built-ins: {known})")
    return image
