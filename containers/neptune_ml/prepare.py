"""The model-training preparation program (a processing job): the HPO file and the processed data's target ->
``tuning-spec.json``, which the Neptune ML API turns into the SageMaker tuning job verbatim.

``python3 -m containers.neptune_ml.prepare --max-hpo-jobs N --max-parallel N [--custom-params '<json>']``;
input ``/opt/ml/processing/input/data`` (data processing's output: ``metadata.json``,
``model-HPO-configuration.json``), output ``/opt/ml/processing/output``. ``--custom-params`` is the request's
``customModelTrainingParameters``: its ``hyperparameters`` object (mlharbor's extension) fixes parameters for every
trial; a custom model directory given as processing input ``/opt/ml/processing/input/custom`` with its own
``model-hpo-configuration.json`` replaces the data's HPO file (Neptune's custom models ship one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from containers.contract import JobPaths
from containers.contract.failure import fail
from containers.neptune_ml.hpo import HpoConfigError, tuning_spec

HPO_FILE = "model-HPO-configuration.json"
SPEC_FILE = "tuning-spec.json"
INPUT = "/opt/ml/processing/input/data"
CUSTOM_INPUT = "/opt/ml/processing/input/custom"
OUTPUT = "/opt/ml/processing/output"


def find_hpo_file(directory: Path) -> Path | None:
    """Neptune spells it ``model-HPO-configuration.json``; a custom model's ``model-hpo-configuration.json``."""
    if not directory.is_dir():
        return None
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.name.lower() == HPO_FILE.lower():
            return path
    return None


def prepare(data_dir: Path, output_dir: Path, max_jobs: int, custom: dict[str, Any] | None = None,
            custom_dir: Path | None = None) -> dict[str, Any]:
    """Write ``tuning-spec.json`` into ``output_dir`` and return it.

    Raises:
        HpoConfigError: no or a malformed HPO file or metadata.
    """
    metadata_path = data_dir / "metadata.json"
    if not metadata_path.is_file():
        raise HpoConfigError(f"no metadata.json in {data_dir} (expected data processing's output)")
    task = (json.loads(metadata_path.read_text()).get("target") or {}).get("task")
    hpo_path = (find_hpo_file(custom_dir) if custom_dir is not None else None) or find_hpo_file(data_dir)
    if hpo_path is None:
        raise HpoConfigError(f"no {HPO_FILE} in {data_dir}")
    try:
        config = json.loads(hpo_path.read_text())
    except ValueError as error:
        raise HpoConfigError(f"{hpo_path.name} is not JSON: {error}") from None
    overrides = (custom or {}).get("hyperparameters") or {}
    if not isinstance(overrides, dict):
        raise HpoConfigError("customModelTrainingParameters.hyperparameters must be an object")
    spec = tuning_spec(config, task, max_jobs, overrides)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / SPEC_FILE).write_text(json.dumps(spec, indent=2))
    return spec


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="containers.neptune_ml.prepare")
    parser.add_argument("--max-hpo-jobs", type=int, default=2)
    parser.add_argument("--max-parallel", type=int, default=2)
    parser.add_argument("--custom-params", default="")
    args = parser.parse_args(argv)
    paths = JobPaths.from_env()
    try:
        custom = json.loads(args.custom_params) if args.custom_params else None
        if custom is not None and not isinstance(custom, dict):
            raise HpoConfigError("--custom-params must be a JSON object")
        custom_dir = paths.processing_path(CUSTOM_INPUT)
        spec = prepare(paths.processing_path(INPUT), paths.processing_path(OUTPUT), args.max_hpo_jobs, custom,
                       custom_dir if custom_dir.is_dir() else None)
    except (HpoConfigError, ValueError, OSError) as error:
        fail(paths, f"mlharbor/neptune-ml prepare: {error}")
        return 1
    print(f"tuning {spec['tiers_tuned']} tier(s), objective {spec['objective']['MetricName']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
