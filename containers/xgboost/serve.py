"""The ``serve`` program of ``mlharbor/xgboost``: SageMaker's XGBoost inference.

Algorithm mode (https://docs.aws.amazon.com/sagemaker/latest/dg/xgboost.html#InputOutput-XGBoost):
``xgboost-model`` from the model directory answers ``text/csv`` (features only, one row per line) and
``text/libsvm`` requests; the response is ``text/csv`` (one prediction per line, a row of class
probabilities for ``multi:softprob``), ``application/json`` (``{"predictions": [{"score": …}]}``) or
``application/jsonlines``. Script mode (``SAGEMAKER_PROGRAM`` set, as the SDK's ``XGBoostModel`` does):
the user's ``model_fn``/``input_fn``/``predict_fn``/``output_fn``, each defaulting to the above.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from containers.pytorch.serve import PROGRAM_ENV
from containers.serving import InvocationError, serve
from containers.sklearn.serve import ScriptPredictor, as_response, user_module
from containers.xgboost.data import DataFormatError, content_kind, parse
from containers.xgboost.train import MODEL_FILE

CSV = "text/csv"
JSON = "application/json"
JSONLINES = "application/jsonlines"


def default_model_fn(model_dir: str) -> Any:
    """``xgboost-model`` (any format xgboost saves) as a ``Booster``."""
    import xgboost as xgb

    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        found = [p.name for p in Path(model_dir).iterdir()] if Path(model_dir).is_dir() else []
        raise FileNotFoundError(f"no {MODEL_FILE} in the model directory (it holds {found})")
    booster = xgb.Booster()
    booster.load_model(str(path))
    return booster


def default_input_fn(body: bytes, content_type: str) -> Any:
    """CSV or libsvm rows (no label) → a ``DMatrix``."""
    import xgboost as xgb

    try:
        features, _ = parse(body, content_kind(content_type, default="csv"), labelled=False)
    except DataFormatError as error:
        raise InvocationError(str(error), status=415) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise InvocationError(f"cannot decode the {content_type} body: {error}") from None
    return xgb.DMatrix(features)


def default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data, validate_features=False)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    import numpy as np

    kind = (accept or CSV).split(";", 1)[0].strip().lower()
    rows = np.asarray(prediction).tolist()
    if kind in (CSV, "*/*", ""):
        lines = [",".join(str(v) for v in row) if isinstance(row, list) else str(row) for row in rows]
        return "".join(line + "\n" for line in lines).encode(), CSV
    if kind == JSON:
        return json.dumps({"predictions": [{"score": row} for row in rows]}).encode(), JSON
    if kind in (JSONLINES, "application/x-jsonlines"):
        return "".join(json.dumps({"score": row}) + "\n" for row in rows).encode(), JSONLINES
    raise InvocationError(f"Accept {accept} is not supported. Supported: {CSV}, {JSON}, {JSONLINES}", status=406)


_DEFAULTS = {"input_fn": default_input_fn, "predict_fn": default_predict_fn, "output_fn": default_output_fn}


class AlgorithmPredictor(ScriptPredictor):
    """Algorithm mode: the defaults only, ``text/csv`` out unless asked otherwise."""

    def predict(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        prediction = default_predict_fn(default_input_fn(body, content_type), self.model)
        return as_response(default_output_fn(prediction, CSV if accept in ("", "*/*") else accept), CSV)


def load(model_dir: Path) -> ScriptPredictor:
    """Script mode when ``SAGEMAKER_PROGRAM`` names a module, else algorithm mode."""
    module = user_module(model_dir) if os.environ.get(PROGRAM_ENV) else None
    if module is None:
        return AlgorithmPredictor(default_model_fn(str(model_dir)), None)
    model_fn = getattr(module, "model_fn", None) or default_model_fn
    return ScriptPredictor(model_fn(str(model_dir)), module, dict(_DEFAULTS))


def main() -> None:
    serve(load, default_accept=CSV)  # AWS's XGBoost answers CSV when a request names no Accept


if __name__ == "__main__":
    main()
