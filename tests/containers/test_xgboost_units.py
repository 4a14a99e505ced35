"""The ``mlharbor/xgboost`` image's pieces, in this process: hyperparameters, formats, round lines and the
registry's metric definitions matching them."""

from __future__ import annotations

import re

import pytest

from containers.registry import resolve
from containers.xgboost.data import DataFormatError, content_kind, parse
from containers.xgboost.metrics import round_line
from containers.xgboost.serve import default_output_fn
from containers.xgboost.train import ClientError, num_round, xgboost_params


def test_hyperparameters_become_xgboost_params():
    params = xgboost_params({"num_round": "10", "eta": "0.2", "max_depth": "5", "objective": "binary:logistic",
                             "eval_metric": "auc,logloss", "sagemaker_region": '"us-east-1"'})
    assert params["eta"] == 0.2 and params["max_depth"] == 5 and params["eval_metric"] == ["auc", "logloss"]
    assert "num_round" not in params and "sagemaker_region" not in params
    assert xgboost_params({"objective": "multi:softprob"})["eval_metric"] == ["mlogloss"]
    with pytest.raises(ClientError, match="num_round"):
        num_round({})


def test_the_registry_definitions_match_the_round_lines():
    line = round_line(4, [("train", "rmse", 0.5), ("validation", "rmse", 0.625), ("validation", "auc", 0.9)])
    assert line == "[4]#011train-rmse:0.50000#011validation-rmse:0.62500#011validation-auc:0.90000"
    definitions = {d["Name"]: d["Regex"] for d in resolve("mlharbor/xgboost").metric_definitions}
    assert float(re.match(definitions["validation:rmse"], line).group(1)) == 0.625
    assert float(re.match(definitions["train:rmse"], line).group(1)) == 0.5
    assert re.match(definitions["validation:mae"], line) is None


@pytest.mark.parametrize("uri", ["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                                 "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:3.0-5",
                                 "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"])
def test_aws_xgboost_uris_resolve_to_the_builtin(uri):
    assert resolve(uri).name == "mlharbor/xgboost"


def test_aws_sklearn_uri_resolves_to_the_builtin():
    uri = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
    assert resolve(uri).name == "mlharbor/sklearn"


def test_formats():
    assert content_kind("text/csv; label_size=1") == "csv" and content_kind(None) == "libsvm"
    with pytest.raises(DataFormatError):
        content_kind("application/x-parquet")
    features, labels = parse(b"1,0.5,2\n0,1,1\n", "csv", labelled=True)
    assert labels.tolist() == [1, 0] and features.shape == (2, 2)
    sparse, _ = parse(b"1 0:1.5 3:2\n", "libsvm", labelled=True)
    assert sparse.shape == (1, 4)


def test_outputs_one_prediction_per_line_or_json():
    assert default_output_fn([0.25, 0.5], "text/csv") == (b"0.25\n0.5\n", "text/csv")
    assert default_output_fn([[0.1, 0.9]], "text/csv")[0] == b"0.1,0.9\n"
    assert default_output_fn([0.5], "application/json")[0] == b'{"predictions": [{"score": 0.5}]}'


def test_the_image_base_holds_xgboost_and_scikit_learn():
    from emulator.images.build import job_requirements

    names = {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0] for requirement in job_requirements()}
    assert {"xgboost-cpu", "scikit-learn"} <= names


def test_a_request_without_accept_gets_csv_as_from_aws_xgboost(tmp_path):
    import numpy as np
    import xgboost as xgb
    from werkzeug.test import Client

    from containers.serving import wsgi_app
    from containers.xgboost.serve import CSV, AlgorithmPredictor

    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(np.array([[0.0], [1.0]]), label=np.array([0.0, 1.0])), 2)
    app = Client(wsgi_app(AlgorithmPredictor(booster, None), default_accept=CSV))
    response = app.post("/invocations", data=b"0\n1\n", headers={"Content-Type": "text/csv"})
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    assert len(response.get_data().splitlines()) == 2
