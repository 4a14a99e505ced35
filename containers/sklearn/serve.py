"""The ``serve`` program of ``mlharbor/sklearn``: the SageMaker scikit-learn container's conventions.

As in AWS's container (sagemaker-scikit-learn-container, on the sagemaker-inference toolkit), the user's
module is ``SAGEMAKER_PROGRAM`` from ``SAGEMAKER_SUBMIT_DIRECTORY``: an ``s3://…/sourcedir.tar.gz``
(what the sagemaker SDK's ``SKLearnModel`` sets; fetched once at start), a directory, or else
``code/`` inside the model. It must define ``model_fn(model_dir)``; ``input_fn``, ``predict_fn`` and
``output_fn`` default to: JSON / CSV / NPY in as a numpy array, ``model.predict(data)``, JSON / CSV / NPY
out (``transform_fn`` replaces all three).
https://sagemaker.readthedocs.io/en/stable/frameworks/sklearn/using_sklearn.html#deploy-a-scikit-learn-model
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from containers.pytorch.serve import PROGRAM_ENV, SUBMIT_DIRECTORY_ENV, handler_path, load_handler_module
from containers.serving import InvocationError, serve

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"


def fetch_submit_directory(uri: str, target: Path) -> Path:
    """``s3://…/sourcedir.tar.gz`` extracted into ``target`` (the S3 endpoint comes from the environment)."""
    import boto3

    bucket, _, key = uri[len("s3://"):].partition("/")
    archive = io.BytesIO(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())
    target.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=archive) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, filter="data")
        else:  # Debian bookworm's 3.11.2 predates extraction filters: only plain members inside target
            members = [m for m in tar.getmembers() if (m.isfile() or m.isdir()) and _inside(target, m.name)]
            tar.extractall(target, members=members)
    return target


def _inside(target: Path, name: str) -> bool:
    resolved = (target / name).resolve()
    return resolved == target.resolve() or target.resolve() in resolved.parents


def user_module(model_dir: Path, environ: dict[str, str] | None = None) -> ModuleType | None:
    """The user's handler module, wherever the SDK put it; ``None`` when there is none."""
    env = dict(os.environ if environ is None else environ)
    submit = env.get(SUBMIT_DIRECTORY_ENV, "")
    if submit.startswith("s3://"):
        directory = fetch_submit_directory(submit, model_dir.parent / f"{model_dir.name}-code")
        path = directory / (env.get(PROGRAM_ENV) or "inference.py")
        return load_handler_module(path) if path.is_file() else None
    found = handler_path(model_dir, env)
    return load_handler_module(found) if found is not None else None


# -- the toolkit's defaults ----------------------------------------------------------------
def default_input_fn(body: bytes, content_type: str) -> Any:
    """JSON, CSV or NPY → a numpy array (the sagemaker-inference toolkit's decoders)."""
    import numpy as np

    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        if kind == JSON:
            return np.array(json.loads(body or b"null"))
        if kind == CSV:
            rows = [line for line in body.decode().splitlines() if line.strip()]
            return np.array([[float(v) for v in line.split(",")] for line in rows])
        if kind == NPY:
            return np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvocationError(f"cannot decode the {kind} body: {error}") from None
    raise InvocationError(f"Content type {content_type} is not supported by this framework. "
                          f"Supported: {JSON}, {CSV}, {NPY}", status=415)


def default_predict_fn(data: Any, model: Any) -> Any:
    return model.predict(data)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """An array → JSON (default), CSV (one row per line) or NPY."""
    import numpy as np

    kind = accept.split(";", 1)[0].strip().lower()
    array = np.asarray(prediction)
    if kind in (JSON, "*/*", ""):
        return json.dumps(array.tolist()).encode(), JSON
    if kind == CSV:
        rows = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
        return "".join(",".join(str(v) for v in row) + "\n" for row in rows.tolist()).encode(), CSV
    if kind == NPY:
        buffer = io.BytesIO()
        np.save(buffer, array)
        return buffer.getvalue(), NPY
    raise InvocationError(f"Accept {accept} is not supported. Supported: {JSON}, {CSV}, {NPY}", status=406)


@dataclass
class ScriptPredictor:
    """The user's functions, or the defaults, around one loaded model.

    Args:
        model: what ``model_fn`` returned.
        module: the user's module (``None``: the defaults only).
        defaults: ``input_fn`` / ``predict_fn`` / ``output_fn`` replacing the scikit-learn ones (xgboost's).
    """

    model: Any
    module: ModuleType | None
    defaults: dict[str, Any] = field(default_factory=dict)

    def _function(self, name: str, default: Any) -> Any:
        return getattr(self.module, name, None) or self.defaults.get(name) or default

    def predict(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        transform = getattr(self.module, "transform_fn", None)
        if transform is not None:
            return as_response(transform(self.model, body, content_type, accept), accept)
        data = self._function("input_fn", default_input_fn)(body, content_type)
        prediction = self._function("predict_fn", default_predict_fn)(data, self.model)
        return as_response(self._function("output_fn", default_output_fn)(prediction, accept), accept)


def as_response(value: Any, accept: str) -> tuple[bytes, str]:
    """``output_fn`` may return bytes, a string, or ``(body, content_type)``."""
    if isinstance(value, tuple) and len(value) == 2:
        body, content_type = value
    else:
        body, content_type = value, accept if accept not in ("*/*", "") else JSON
    if isinstance(body, str):
        body = body.encode()
    return bytes(body), str(content_type)


def load(model_dir: Path) -> ScriptPredictor:
    """Import the user's module and run its ``model_fn`` once, before ``/ping`` opens."""
    module = user_module(model_dir)
    model_fn = getattr(module, "model_fn", None)
    if model_fn is None:
        raise NotImplementedError("the scikit-learn container needs a model_fn(model_dir) in the entry point "
                                  f"({PROGRAM_ENV}); none was found")
    return ScriptPredictor(model_fn(str(model_dir)), module)


def main() -> None:
    serve(load)


if __name__ == "__main__":
    main()
