"""The ``serve`` program of ``mlharbor/neptune-ml``: the Neptune ML endpoint's ``POST /invocations``.

The model directory (``model.tar.gz`` unpacked, as :mod:`.artifacts` lays it out) loads once; each request is
contract section 6's JSON, answered by :class:`containers.neptune_ml.inference.Inference`. A request the model
cannot answer gets HTTP 400 ``{"error": "<message>"}`` (InvokeEndpoint surfaces it as ModelError).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from containers.neptune_ml import inference
from containers.serving import InvocationError, serve


def _error(message: str, status: int = 400) -> InvocationError:
    return InvocationError(json.dumps({"error": message}), status, "application/json")


@dataclass
class NeptuneMLPredictor:
    engine: inference.Inference

    def predict(self, body: bytes, content_type: str, accept: str) -> tuple[bytes, str]:
        if "json" not in content_type.lower():
            raise _error(f"content type {content_type!r} is not supported; send application/json", 415)
        try:
            request = json.loads(body or b"null")
        except ValueError as error:
            raise _error(f"body is not JSON: {error}") from None
        try:
            answer = self.engine.answer(request)
        except inference.RequestError as error:
            raise _error(str(error)) from None
        return json.dumps(answer).encode(), "application/json"


def load(model_dir: Path) -> NeptuneMLPredictor:
    engine = inference.load(model_dir)
    print(f"loaded {engine.config['model']} for {engine.task} "
          f"({sum(len(t.ids) for t in engine.graph.nodes.values())} vertices)", flush=True)
    return NeptuneMLPredictor(engine)


if __name__ == "__main__":
    serve(load)
