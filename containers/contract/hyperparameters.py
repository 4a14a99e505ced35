"""Hyperparameters as a job reads them: ``hyperparameters.json`` and ``SM_HPS``, one rule for both.

The runner writes ``hyperparameters.json`` (string → string, as the request sent them) and
``SM_HPS`` (each value JSON-decoded where it is JSON: the sagemaker SDK sends ``"\\"train.py\\""``);
:func:`decode` is that rule, the sagemaker-training toolkit's ``read_hyperparameters``, so a job
reads the same values from either.
https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html#your-algorithms-training-algo-running-container-hyperparameters
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from containers.contract import SM_HPS, JobPaths


def decode(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """Each value JSON-decoded where it is JSON, else kept as the string it is."""
    decoded: dict[str, Any] = {}
    for key, value in hyperparameters.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def read_file(paths: JobPaths) -> dict[str, Any]:
    """``hyperparameters.json`` as the runner wrote it (``{}`` when there is none).

    Raises:
        ValueError: the file is not a JSON object.
    """
    if not paths.hyperparameters_file.is_file():
        return {}
    try:
        raw = json.loads(paths.hyperparameters_file.read_text())
    except ValueError as error:
        raise ValueError(f"{paths.hyperparameters_file.name} is not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise ValueError("hyperparameters must be a JSON object")
    return raw


def read(paths: JobPaths, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The job's hyperparameters, decoded: ``SM_HPS`` when set, else :func:`decode` of ``hyperparameters.json``.

    Raises:
        ValueError: ``SM_HPS`` or the file is not a JSON object.
    """
    environ = os.environ if environ is None else environ
    if not environ.get(SM_HPS):
        return decode(read_file(paths))
    try:
        decoded = json.loads(environ[SM_HPS])
    except ValueError as error:
        raise ValueError(f"{SM_HPS} is not JSON: {error}") from None
    if not isinstance(decoded, dict):
        raise ValueError("hyperparameters must be a JSON object")
    return decoded
