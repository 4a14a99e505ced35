"""HPO tiers -> tuning-spec.json: Neptune's tier thresholds, scaling, defaults for untuned tiers, fixed params,
overrides from customModelTrainingParameters, and the prepare program's files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from containers.neptune_ml.hpo import HpoConfigError, tiers_for, tuning_spec

HPO = {"models": [{"model": "rgcn", "task_type": "node_class", "eval_metric": {"metric": "acc"}, "eval_comparison": ">",
                   "1-tier-param": [{"param": "num-hidden", "range": [16, 128], "type": "int", "inc_strategy": "power2"},
                                    {"param": "num-epochs", "range": [50, 300], "inc_strategy": "linear",
                                     "inc_val": 50, "type": "int"},
                                    {"param": "lr", "range": [0.001, 0.05], "type": "float", "inc_strategy": "log"}],
                   "2-tier-param": [{"param": "dropout", "range": [0.0, 0.6], "type": "float",
                                     "inc_strategy": "linear", "inc_val": 0.1}],
                   "3-tier-param": [{"param": "weight-decay", "range": [0.0, 0.001], "type": "float",
                                     "inc_strategy": "linear", "inc_val": 0.0005},
                                    {"param": "self-loop", "range": [True, False], "type": "bool"}],
                   "fixed-param": [{"param": "num-bases", "type": "int", "default": 0},
                                   {"param": "layers", "type": "int", "default": 2}]}]}


def names(spec, kind):
    return [r["Name"] for r in spec["parameter_ranges"][kind]]


@pytest.mark.parametrize(("jobs", "tiers"), [(2, 1), (9, 1), (10, 2), (50, 2), (51, 3)])
def test_tiers_follow_neptunes_thresholds(jobs, tiers):
    assert tiers_for(jobs) == tiers


def test_one_tier_tunes_tier_one_and_defaults_the_rest():
    spec = tuning_spec(HPO, "node_class", 2)
    assert spec["objective"] == {"Type": "Maximize", "MetricName": "validation:acc"} and spec["tiers_tuned"] == 1
    hidden = spec["parameter_ranges"]["IntegerParameterRanges"][0]
    assert hidden == {"Name": "num-hidden", "MinValue": "16", "MaxValue": "128", "ScalingType": "Logarithmic"}
    assert spec["parameter_ranges"]["ContinuousParameterRanges"][0]["ScalingType"] == "Logarithmic"
    static = spec["static_hyperparameters"]
    assert static["task"] == "node_class" and static["model"] == "rgcn"
    assert static["dropout"] == "0.3" and static["weight-decay"] == "0.0005" and static["self-loop"] == "true"
    assert static["num-bases"] == "0" and static["layers"] == "2"


def test_all_tiers_with_many_jobs_and_overrides_win():
    spec = tuning_spec(HPO, "node_class", 60, {"lr": 0.02})
    assert names(spec, "ContinuousParameterRanges") == ["dropout", "weight-decay"]
    assert spec["parameter_ranges"]["ContinuousParameterRanges"][1]["ScalingType"] == "Linear"
    assert names(spec, "CategoricalParameterRanges") == ["self-loop"]
    assert spec["static_hyperparameters"]["lr"] == "0.02"


def test_regression_minimises_and_a_single_value_range_is_static():
    config = {"models": [{"model": "rgcn", "task_type": "node_regression", "eval_metric": {"metric": "rmse"},
                          "eval_comparison": "<", "1-tier-param": [{"param": "num-hidden", "range": [32, 32],
                                                                    "type": "int"}]}]}
    spec = tuning_spec(config, "node_regression", 5)
    assert spec["objective"] == {"Type": "Minimize", "MetricName": "validation:rmse"}
    assert spec["static_hyperparameters"]["num-hidden"] == "32" and not names(spec, "IntegerParameterRanges")
    with pytest.raises(HpoConfigError, match='needs "models"'):
        tuning_spec({}, "node_class", 2)


def test_prepare_program_writes_the_tuning_spec(tmp_path: Path):
    data = tmp_path / "processing" / "input" / "data"
    data.mkdir(parents=True)
    (data / "metadata.json").write_text(json.dumps({"target": {"task": "node_class"}}))
    (data / "model-HPO-configuration.json").write_text(json.dumps(HPO))
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-m", "containers.neptune_ml.prepare", "--max-hpo-jobs", "12",
                           "--max-parallel", "2", "--custom-params", json.dumps({"hyperparameters": {"layers": 1}})],
                          env={"SAGEMAKER_BASE_DIR": str(tmp_path), "PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    spec = json.loads((tmp_path / "processing" / "output" / "tuning-spec.json").read_text())
    assert spec["tiers_tuned"] == 2 and spec["static_hyperparameters"]["layers"] == "1"
    (data / "model-HPO-configuration.json").unlink()
    failed = subprocess.run([sys.executable, "-m", "containers.neptune_ml.prepare"],
                            env={"SAGEMAKER_BASE_DIR": str(tmp_path), "PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)
    # the reason goes to the failure file (FailureReason), as every built-in program reports one
    assert failed.returncode == 1 and "no model-HPO-configuration.json" in (tmp_path / "output" / "failure").read_text()
    assert "no model-HPO-configuration.json" in failed.stderr and not (tmp_path / "output" / "message").exists()
