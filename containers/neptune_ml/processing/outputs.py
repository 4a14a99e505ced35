"""Features encoded per type, and every output file written (the layout is in the package docstring)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy

from containers.neptune_ml import features
from containers.neptune_ml.processing.config import FeatureSpec, ProcessingError
from containers.neptune_ml.processing.tables import Cells

FORMAT = "mlharbor-neptune-ml/1"


def encode_features(specs: list[FeatureSpec], columns: dict[str, Cells], count: int,
                    where: str) -> tuple[numpy.ndarray, list[dict[str, Any]]]:
    """The type's feature matrix [count, D] and its feature_transforms entries, in column order."""
    blocks, transforms = [], []
    seen: set[str] = set()
    for spec in specs:
        if spec.column in seen:
            continue
        seen.add(spec.column)
        if spec.column not in columns:
            raise ProcessingError(f"{where}: feature {spec.name!r} reads column {spec.column!r}, which no file has")
        values = columns[spec.column]
        try:
            encoder = features.fit(spec.type, spec.options, values)
            blocks.append(features.apply(encoder, values))
        except features.FeatureError as error:
            raise ProcessingError(f"{where}: feature {spec.name!r} ({spec.type}): {error}") from None
        transforms.append({"property": spec.column, "encoder": encoder})
    matrix = numpy.concatenate(blocks, axis=1) if blocks else numpy.zeros((count, 0), dtype=numpy.float32)
    return matrix.astype(numpy.float32), transforms


def safe_name(name: str) -> str:
    """A type name as a file name; one that cannot be a file name fails the job rather than escape the output."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ProcessingError(f"the type name {name!r} cannot be a file name")
    return name


def write_json(path: Path, document: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")


def write_arrays(path: Path, arrays: dict[str, numpy.ndarray]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        numpy.savez(handle, **arrays)
