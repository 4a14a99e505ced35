"""SDK v3 tuning (``sagemaker.train.tuner.HyperparameterTuner`` over a ``ModelTrainer``) against mlharbor."""

from __future__ import annotations

from typing import Any

OBJECTIVE = "validation:score"
METRICS = [{"Name": OBJECTIVE, "Regex": r"validation:score=([0-9.]+)"}]


def test_tuner_runs_real_trials_and_finds_the_best(session: Any, role: str, train_data: str) -> None:
    from sagemaker.core.parameter import ContinuousParameter
    from sagemaker.core.training.configs import Compute, InputData, SourceCode
    from sagemaker.train import ModelTrainer
    from sagemaker.train.tuner import HyperparameterTuner

    from tests.sdk3.conftest import PYTORCH_TRAINING, SOURCE

    trainer = ModelTrainer(training_image=PYTORCH_TRAINING, role=role, sagemaker_session=session,
                           source_code=SourceCode(source_dir=str(SOURCE), entry_script="train.py"),
                           compute=Compute(instance_type="ml.m5.large", instance_count=1),
                           hyperparameters={"scale": 1}, base_job_name="sdk3-tune")
    tuner = HyperparameterTuner(model_trainer=trainer, objective_metric_name=OBJECTIVE, metric_definitions=METRICS,
                                hyperparameter_ranges={"scale": ContinuousParameter(1.0, 5.0)}, strategy="Random",
                                objective_type="Maximize", max_jobs=3, max_parallel_jobs=2, random_seed=7,
                                base_tuning_job_name="sdk3-tune")
    tuner.tune(inputs=[InputData(channel_name="train", data_source=train_data)], wait=True)

    described = session.sagemaker_client.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=tuner.latest_tuning_job.hyper_parameter_tuning_job_name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 3
    trials = session.sagemaker_client.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=described["HyperParameterTuningJobName"])["TrainingJobSummaries"]
    scores = {t["TrainingJobName"]: t["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for t in trials}
    best = tuner.best_training_job()
    assert scores[best] == max(scores.values())
    # each trial ran the script with its own scale: the objective is 3 rows times that scale
    for trial in trials:
        scale = float(trial["TunedHyperParameters"]["scale"])
        assert 1.0 <= scale <= 5.0
        assert abs(scores[trial["TrainingJobName"]] - 3 * scale) < 1e-3
    # v3's analytics: one row per trial, the objective as FinalObjectiveValue
    frame = tuner.analytics().dataframe()
    assert sorted(frame["TrainingJobName"]) == sorted(scores)
    assert dict(zip(frame["TrainingJobName"], frame["FinalObjectiveValue"], strict=True)) == scores
