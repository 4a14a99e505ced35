"""The container contract's shared pieces: one failure-file writer, one hyperparameter reader."""

from __future__ import annotations

import json

import pytest

from containers.contract import SM_HPS, JobPaths
from containers.contract.failure import write_failure
from containers.contract.hyperparameters import decode, read


def test_the_first_failure_reason_is_kept(tmp_path):
    paths = JobPaths(tmp_path)
    assert write_failure(paths, "AlgorithmError: the real reason")
    assert not write_failure(paths, "mlharbor/gnn: a generic reason from further out")
    assert paths.failure_file.read_text() == "AlgorithmError: the real reason"


def test_every_built_in_reports_failures_through_the_one_writer():
    from containers.contract import failure
    from containers.gnn import train as gnn_train
    from containers.graph_etl import process
    from containers.image_classifier import train as classifier_train
    from containers.neptune_ml import prepare, train, transform
    from containers.neptune_ml.processing import __main__ as neptune_processing

    for module in (gnn_train, classifier_train, train):
        assert module.write_failure is write_failure, module.__name__
    for module in (process, prepare, transform, neptune_processing):  # stderr and the failure file, in one call
        assert module.fail is failure.fail, module.__name__


def test_hyperparameters_read_the_same_from_sm_hps_or_the_file(tmp_path):
    paths = JobPaths(tmp_path)
    sent = {"epochs": "3", "lr": "0.5", "sagemaker_program": '"train.py"', "name": "gcn"}
    paths.hyperparameters_file.parent.mkdir(parents=True)
    paths.hyperparameters_file.write_text(json.dumps(sent))
    from_file = read(paths, {})
    assert from_file == {"epochs": 3, "lr": 0.5, "sagemaker_program": "train.py", "name": "gcn"} == decode(sent)
    assert read(paths, {SM_HPS: json.dumps(from_file)}) == from_file
    assert read(JobPaths(tmp_path / "none"), {}) == {}


@pytest.mark.parametrize("environ, text", [({SM_HPS: "not json"}, None), ({}, "[1, 2]")])
def test_hyperparameters_that_are_not_an_object_are_refused(tmp_path, environ, text):
    paths = JobPaths(tmp_path)
    if text is not None:
        paths.hyperparameters_file.parent.mkdir(parents=True)
        paths.hyperparameters_file.write_text(text)
    with pytest.raises(ValueError):
        read(paths, environ)
