"""The ``train`` program of ``mlharbor/xgboost``: SageMaker's XGBoost algorithm, or script mode.

Script mode (a ``sagemaker_program`` hyperparameter, as the sagemaker SDK's ``XGBoost`` estimator
sends): the user's script runs through the sagemaker-training toolkit, as in ``mlharbor/pytorch``.
Algorithm mode (https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost_hyperparameters.html):
``num_round`` rounds on channel ``train`` (``validation`` optional), every other documented
hyperparameter passed to ``xgboost.train``; each round is logged as AWS's image logs it
(``[3]#011train-rmse:0.51#011validation-rmse:0.62``), so the image's metric definitions (see
``containers/registry.py``) find ``validation:<metric>``. The model is saved as ``xgboost-model``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import xgboost as xgb

from containers.contract import JobPaths, hyperparameters
from containers.contract.failure import write_failure
from containers.xgboost.data import DataFormatError, content_kind, read_channel
from containers.xgboost.metrics import default_metric, round_line

MODEL_FILE = "xgboost-model"
#: hyperparameters the image reads itself (the rest go to xgboost)
_IMAGE_OWN = {"num_round", "early_stopping_rounds", "csv_weights", "save_model_on_termination", "_kfold",
              "_num_cv_round", "use_dask_gpu_training", "_tuning_objective_metric", "num_class_ignored"}


class ClientError(ValueError):
    """The request (hyperparameters, data) is wrong; the message is the job's FailureReason."""


def xgboost_params(hps: dict[str, Any]) -> dict[str, Any]:
    """The hyperparameters xgboost reads: numbers as numbers, ``eval_metric`` as a list.

    Raises:
        ClientError: ``num_round`` missing or not a positive integer.
    """
    params: dict[str, Any] = {}
    for key, value in hps.items():
        if key.startswith("sagemaker_") or key in _IMAGE_OWN:
            continue
        params[key] = _number(value)
    if "eval_metric" in params:
        params["eval_metric"] = [m.strip() for m in str(hps["eval_metric"]).split(",") if m.strip()]
    params.setdefault("objective", "reg:squarederror")
    params.setdefault("eval_metric", [default_metric(str(params["objective"]))])
    params.setdefault("verbosity", 1)
    return params


def _number(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            pass
    return value


def num_round(hps: dict[str, Any]) -> int:
    if "num_round" not in hps:
        raise ClientError("Missing required hyperparameter: num_round")
    try:
        rounds = int(str(hps["num_round"]))
    except ValueError:
        raise ClientError(f"Hyperparameter num_round: {hps['num_round']!r} is not an integer") from None
    if rounds < 1:
        raise ClientError("Hyperparameter num_round must be at least 1")
    return rounds


def channel_content_types(paths: JobPaths) -> dict[str, str | None]:
    """Each channel's ``ContentType`` from ``inputdataconfig.json``."""
    if not paths.input_data_config_file.is_file():
        return {}
    config = json.loads(paths.input_data_config_file.read_text())
    return {name: entry.get("ContentType") for name, entry in config.items()}


def train_algorithm(paths: JobPaths, hps: dict[str, Any]) -> Path:
    """Algorithm mode: train, log each round, save ``xgboost-model``; returns its path.

    Raises:
        ClientError: bad hyperparameters or data.
    """
    rounds = num_round(hps)
    params = xgboost_params(hps)
    types = channel_content_types(paths)
    if not paths.channel_dir("train").is_dir():
        raise ClientError("Channel 'train' is required (channels given: "
                          f"{sorted(p.name for p in paths.input_data_dir.glob('*'))})")
    try:
        kind = content_kind(types.get("train"))
        evals = [(read_channel(paths.channel_dir("train"), kind), "train")]
        if paths.channel_dir("validation").is_dir():
            evals.append((read_channel(paths.channel_dir("validation"), content_kind(types.get("validation"))),
                          "validation"))
    except DataFormatError as error:
        raise ClientError(str(error)) from None
    early = hps.get("early_stopping_rounds")
    try:
        booster = xgb.train(params, evals[0][0], num_boost_round=rounds, evals=evals, verbose_eval=False,
                            early_stopping_rounds=int(early) if early not in (None, "") and len(evals) > 1 else None,
                            callbacks=[_RoundLogger()])
    except xgb.core.XGBoostError as error:
        raise ClientError(f"XGBoost could not train with these hyperparameters: {str(error).splitlines()[0]}"
                          ) from None
    paths.model_dir.mkdir(parents=True, exist_ok=True)
    target = paths.model_dir / MODEL_FILE
    booster.save_model(str(target))
    return target


class _RoundLogger(xgb.callback.TrainingCallback):
    """Prints each round's metrics on one line, as AWS's image does."""

    def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, dict[str, list[float]]]) -> bool:
        results = [(channel, metric, float(values[-1])) for channel, metrics in evals_log.items()
                   for metric, values in metrics.items()]
        print(round_line(epoch, results), flush=True)
        return False


def main() -> None:
    paths = JobPaths.from_env()
    hps = hyperparameters.decode(hyperparameters.read_file(paths))
    if "sagemaker_program" in hps:
        from containers.pytorch.train import main as script_mode

        script_mode()  # the toolkit runs the user's script and reports its failure itself
        return
    try:
        target = train_algorithm(paths, hps)
    except ClientError as error:
        write_failure(paths, f"ClientError: {error}")
        print(f"ClientError: {error}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    print(f"saved {target.name} ({os.path.getsize(target)} bytes)", flush=True)


if __name__ == "__main__":
    main()
