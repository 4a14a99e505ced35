"""The ``mlharbor/sklearn`` serve program's defaults (the sagemaker-inference toolkit's), in this process."""

from __future__ import annotations

import io
import json
import types

import numpy as np
import pytest

from containers.serving import InvocationError
from containers.sklearn.serve import ScriptPredictor, default_input_fn, default_output_fn, load


class Doubler:
    def predict(self, data):
        return np.asarray(data).sum(axis=1) * 2


def test_defaults_decode_csv_json_npy_and_call_predict():
    predictor = ScriptPredictor(Doubler(), None)
    assert predictor.predict(b"1,2\n3,4\n", "text/csv", "application/json") == (b"[6.0, 14.0]", "application/json")
    assert predictor.predict(b"[[1, 1]]", "application/json", "text/csv") == (b"4\n", "text/csv")
    buffer = io.BytesIO()
    np.save(buffer, np.array([[0.5, 0.5]]))
    body, kind = predictor.predict(buffer.getvalue(), "application/x-npy", "application/x-npy")
    assert kind == "application/x-npy" and np.load(io.BytesIO(body)).tolist() == [2.0]


def test_unsupported_types_are_refused_with_the_status_the_toolkit_uses():
    with pytest.raises(InvocationError) as caught:
        default_input_fn(b"x", "image/png")
    assert caught.value.status == 415
    with pytest.raises(InvocationError) as caught:
        default_output_fn(np.array([1]), "image/png")
    assert caught.value.status == 406


def test_the_users_functions_replace_the_defaults_one_by_one():
    module = types.SimpleNamespace(input_fn=lambda body, content_type: json.loads(body)["rows"],
                                   output_fn=lambda prediction, accept: (json.dumps({"y": prediction.tolist()}), accept))
    predictor = ScriptPredictor(Doubler(), module)  # type: ignore[arg-type]
    body, _ = predictor.predict(b'{"rows": [[1, 2]]}', "application/json", "application/json")
    assert json.loads(body) == {"y": [6]}


def test_a_model_without_model_fn_fails_to_load_saying_so(tmp_path, monkeypatch):
    monkeypatch.delenv("SAGEMAKER_SUBMIT_DIRECTORY", raising=False)
    monkeypatch.delenv("SAGEMAKER_PROGRAM", raising=False)
    with pytest.raises(NotImplementedError, match="model_fn"):
        load(tmp_path)
