"""The metric definitions a training job is measured by: its own, else its built-in image's.

SageMaker's built-in algorithms (XGBoost among them) publish ``validation:<metric>`` without the
request naming any ``MetricDefinitions``; a built-in image declares the same in
:attr:`containers.registry.BuiltinImage.metric_definitions`.
"""

from __future__ import annotations

from typing import Any

from containers.registry import UnknownImageError, resolve


def metric_definitions(algorithm: dict[str, Any]) -> list[dict[str, str]] | None:
    """``AlgorithmSpecification.MetricDefinitions``, or the built-in image's when it names none."""
    if algorithm.get("MetricDefinitions"):
        return list(algorithm["MetricDefinitions"])
    image = algorithm.get("TrainingImage")
    if not image:
        return None
    try:
        return list(resolve(image).metric_definitions) or None
    except UnknownImageError:
        return None
