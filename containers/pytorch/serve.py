"""The ``serve`` program of ``mlharbor/pytorch``: the sagemaker-pytorch-inference convention.

As in AWS's PyTorch inference container (sagemaker-pytorch-inference-toolkit), the user's
handler module is ``code/inference.py`` inside ``model.tar.gz`` (where the sagemaker SDK's
``PyTorchModel(entry_point=…)`` puts it), or ``SAGEMAKER_PROGRAM`` in
``SAGEMAKER_SUBMIT_DIRECTORY``. It may define ``model_fn(model_dir)``,
``input_fn(body, content_type)``, ``predict_fn(data, model)``, ``output_fn(prediction, accept)``
or ``transform_fn(model, body, content_type, accept)``; what it leaves out falls back to the
toolkit's defaults: ``model.pt`` loaded with ``torch.jit.load``, JSON / CSV / NPY in, JSON / CSV /
NPY out. https://sagemaker.readthedocs.io/en/stable/frameworks/pytorch/using_pytorch.html#the-sagemaker-pytorch-model-server
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from containers import contract
from containers.serving import InvocationError, serve

#: The SDK's variables naming the handler script and where it lives.
PROGRAM_ENV = "SAGEMAKER_PROGRAM"
SUBMIT_DIRECTORY_ENV = "SAGEMAKER_SUBMIT_DIRECTORY"
DEFAULT_PROGRAM = "inference.py"
DEFAULT_MODEL_FILE = "model.pt"

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"


def handler_path(model_dir: Path, environ: dict[str, str] | None = None) -> Path | None:
    """Where the user's handler module is, if there is one.

    ``SAGEMAKER_SUBMIT_DIRECTORY`` pointing under ``/opt/ml/model`` is read relative to the
    actual model directory (the process runner's model directory is not ``/opt/ml/model``).
    """
    env = os.environ if environ is None else environ
    program = env.get(PROGRAM_ENV) or DEFAULT_PROGRAM
    submit = env.get(SUBMIT_DIRECTORY_ENV, "")
    model_prefix = str(contract.DEFAULT_BASE_DIR / "model")
    if submit.startswith(model_prefix):
        directory = model_dir / submit[len(model_prefix):].lstrip("/")
    elif submit and not submit.startswith("s3://") and Path(submit).is_dir():
        directory = Path(submit)
    else:
        directory = model_dir / "code"
    path = directory / program
    return path if path.is_file() else None


def load_handler_module(path: Path) -> ModuleType:
    """Import the user's handler with its directory on ``sys.path`` (for its own helpers)."""
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


# -- the toolkit's defaults ----------------------------------------------------------------
def default_model_fn(model_dir: str) -> Any:
    """``model.pt`` as TorchScript (the toolkit's default since PyTorch 1.x images)."""
    import torch

    path = Path(model_dir) / DEFAULT_MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no model_fn in inference.py and no {DEFAULT_MODEL_FILE} in the model directory")
    return torch.jit.load(str(path), map_location="cpu")


def default_input_fn(body: bytes, content_type: str) -> Any:
    """JSON, CSV or NPY → a float tensor."""
    import numpy as np
    import torch

    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        if kind == JSON:
            array = np.array(json.loads(body or b"null"), dtype=np.float32)
        elif kind == CSV:
            text = body.decode()
            array = np.array([[float(v) for v in line.split(",")] for line in text.splitlines() if line.strip()],
                             dtype=np.float32)
        elif kind == NPY:
            array = np.load(io.BytesIO(body), allow_pickle=False)
        else:
            raise InvocationError(f"Content type {content_type} is not supported by this framework. "
                                  f"Supported: {JSON}, {CSV}, {NPY}", status=415)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvocationError(f"cannot decode the {kind} body: {error}") from None
    return torch.from_numpy(array)


def default_predict_fn(data: Any, model: Any) -> Any:
    import torch

    if hasattr(model, "eval"):
        model.eval()
    with torch.no_grad():
        return model(data)


def default_output_fn(prediction: Any, accept: str) -> tuple[bytes, str]:
    """A tensor / array / plain value → JSON (default), CSV or NPY."""
    import numpy as np

    if hasattr(prediction, "detach"):
        prediction = prediction.detach().cpu().numpy()
    kind = accept.split(";", 1)[0].strip().lower()
    if kind in (JSON, "*/*", ""):
        value = prediction.tolist() if isinstance(prediction, np.ndarray) else prediction
        return json.dumps(value).encode(), JSON
    if kind == CSV:
        rows = np.atleast_2d(np.asarray(prediction))
        return "\n".join(",".join(str(v) for v in row) for row in rows).encode(), CSV
    if kind == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction))
        return buffer.getvalue(), NPY
    raise InvocationError(f"Accept {accept} is not supported. Supported: {JSON}, {CSV}, {NPY}", status=406)


@dataclass
class HandlerPredictor:
    """The user's functions (or the defaults) around one loaded model."""

    model: Any
    module: ModuleType | None

    def _function(self, name: str, default: Any) -> Any:
        return getattr(self.module, name, None) or default

    def predict(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        transform = getattr(self.module, "transform_fn", None)
        if transform is not None:
            return _as_response(transform(self.model, body, content_type, accept), accept)
        data = self._function("input_fn", default_input_fn)(body, content_type)
        prediction = self._function("predict_fn", default_predict_fn)(data, self.model)
        output = getattr(self.module, "output_fn", None)
        if output is None:
            return default_output_fn(prediction, accept)
        return _as_response(output(prediction, accept), accept)


def _as_response(value: Any, accept: str) -> tuple[bytes, str]:
    """``output_fn`` may return bytes, a string, or ``(body, content_type)`` as the toolkit allows."""
    if isinstance(value, tuple) and len(value) == 2:
        body, content_type = value
    else:
        body, content_type = value, accept if accept not in ("*/*", "") else JSON
    if isinstance(body, str):
        body = body.encode()
    return bytes(body), str(content_type)


def load(model_dir: Path) -> HandlerPredictor:
    """Import the handler (if any) and run its ``model_fn`` (or the default) once, before ``/ping`` opens."""
    path = handler_path(model_dir)
    module = load_handler_module(path) if path is not None else None
    model_fn = getattr(module, "model_fn", None) or default_model_fn
    return HandlerPredictor(model_fn(str(model_dir)), module)


def main() -> None:
    serve(load)


if __name__ == "__main__":
    main()
