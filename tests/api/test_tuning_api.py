"""Hyperparameter tuning jobs over real boto3, in process: the tuner launches real training jobs through the
control plane (a FakeRunner stands in for their processes, and each test writes the metric lines a trial
prints through the training backend's own log-line entry), so strategies, limits, early stopping,
completion criteria and the wire shapes are all checked without a job process."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import ROLE, FakeRunner, InProcessHarbor, create_app, unique_name

METRIC = "validation:loss"
METRIC_LINE = "val_loss={}"


def definition(bucket: str, **overrides: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AlgorithmSpecification": {"TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File",
                                   "MetricDefinitions": [{"Name": METRIC, "Regex": r"val_loss=([0-9.eE+-]+)"}]},
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/tuning"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 300},
        "StaticHyperParameters": {"epochs": "9"},
    }
    out.update(overrides)
    return out


def tuning_request(bucket: str, strategy: str = "Random", max_jobs: int | None = 4, parallel: int = 2,
                   objective: str = "Minimize", ranges: dict[str, Any] | None = None, **config: Any) -> dict[str, Any]:
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    return {
        "HyperParameterTuningJobName": unique_name("tune")[:32].rstrip("-"),
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": objective, "MetricName": METRIC},
            "ResourceLimits": limits,
            "ParameterRanges": ranges if ranges is not None else {
                "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1",
                                               "ScalingType": "Logarithmic"}],
                "IntegerParameterRanges": [{"Name": "layers", "MinValue": "1", "MaxValue": "4"}],
                "CategoricalParameterRanges": [{"Name": "act", "Values": ["relu", "tanh"]}],
            },
            **config,
        },
        "TrainingJobDefinition": definition(bucket),
    }


def error_of(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def until(check: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def trials(sagemaker: Any, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    return sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100, SortBy="CreationTime", SortOrder="Ascending",
        **kwargs)["TrainingJobSummaries"]


def trial_started(sagemaker: Any, runner: FakeRunner, name: str, number: int) -> str:
    """The training job name of trial ``number`` (1-based), once the runner has it."""
    found = until(lambda: len(trials(sagemaker, name)) >= number and trials(sagemaker, name)[number - 1],
                  what=f"trial {number} of {name}")
    runner.wait_started(found["TrainingJobName"])
    return found["TrainingJobName"]


def report(harbor: InProcessHarbor, job_name: str, *values: float) -> None:
    """What a trial prints: one metric line per epoch, through the training backend's log-line entry."""
    job = harbor.control.training.jobs.get(harbor.region, job_name)
    for value in values:
        harbor.control.training.log_line(job, "algo-1", METRIC_LINE.format(value))


def run_trial(harbor: InProcessHarbor, runner: FakeRunner, sagemaker: Any, name: str, number: int,
              *values: float, fail: bool = False) -> str:
    job_name = trial_started(sagemaker, runner, name, number)
    report(harbor, job_name, *values)
    if fail:
        runner.fail(job_name)
    else:
        runner.complete(job_name)
    return job_name


def settled(sagemaker: Any, name: str, timeout: float = 20) -> dict[str, Any]:
    def ended() -> dict[str, Any] | None:
        out = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        return out if out["HyperParameterTuningJobStatus"] in ("Completed", "Failed", "Stopped") else None
    return until(ended, timeout, f"{name} to end")


def test_trials_are_real_training_jobs_named_tagged_and_limited_to_the_parallel_count(
        sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=3, parallel=2)
    name = request["HyperParameterTuningJobName"]
    arn = sagemaker.create_hyper_parameter_tuning_job(**request)["HyperParameterTuningJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/{name}"
    first, second = (trial_started(sagemaker, fake_runner, name, n) for n in (1, 2))
    time.sleep(0.6)  # a few tuner ticks: a third must not start while two run
    assert len(trials(sagemaker, name)) == 2
    for number, job_name in enumerate((first, second), 1):
        assert re.fullmatch(rf"{name}-00{number}-[0-9a-f]{{8}}", job_name)
        described = sagemaker.describe_training_job(TrainingJobName=job_name)
        assert described["TuningJobArn"] == arn
        hps = described["HyperParameters"]
        assert hps["epochs"] == "9" and 0.0001 <= float(hps["lr"]) <= 0.1
        assert 1 <= int(hps["layers"]) <= 4 and hps["act"] in ("relu", "tanh")
        assert described["AlgorithmSpecification"]["MetricDefinitions"][0]["Name"] == METRIC
        tags = sagemaker.list_tags(ResourceArn=described["TrainingJobArn"])["Tags"]
        assert {"Key": "sagemaker:tuning-job-name", "Value": name} in tags
    described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert described["HyperParameterTuningJobStatus"] == "InProgress"
    assert described["TrainingJobStatusCounters"]["InProgress"] == 2
    assert described["ObjectiveStatusCounters"]["Pending"] == 2
    assert described["TrainingJobDefinition"]["StaticHyperParameters"] == {"epochs": "9"}
    report(harbor, first, 0.5)
    fake_runner.complete(first)
    trial_started(sagemaker, fake_runner, name, 3)  # capacity freed: the third trial starts


def test_best_training_job_and_counters_with_a_failed_trial_counted_not_fatal(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=4, parallel=1)
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    run_trial(harbor, fake_runner, sagemaker, name, 1, 0.9, 0.7)
    best = run_trial(harbor, fake_runner, sagemaker, name, 2, 0.5, 0.3)
    run_trial(harbor, fake_runner, sagemaker, name, 3, 0.8, fail=True)
    run_trial(harbor, fake_runner, sagemaker, name, 4, 0.6, 0.4)
    described = settled(sagemaker, name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["TrainingJobStatusCounters"] == {"Completed": 3, "InProgress": 0, "RetryableError": 0,
                                                      "NonRetryableError": 1, "Stopped": 0}
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 3, "Pending": 0, "Failed": 1}
    top = described["BestTrainingJob"]
    assert top["TrainingJobName"] == best
    assert top["FinalHyperParameterTuningJobObjectiveMetric"] == {"Type": "Minimize", "MetricName": METRIC,
                                                                  "Value": pytest.approx(0.3)}
    assert set(top["TunedHyperParameters"]) == {"lr", "layers", "act"}
    assert "HyperParameterTuningEndTime" in described
    by_value = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="FinalObjectiveMetricValue", SortOrder="Ascending")
    values = [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in by_value["TrainingJobSummaries"]]
    assert values == pytest.approx([0.3, 0.4, 0.7])  # the failed trial has no value and is not listed
    failed = trials(sagemaker, name, StatusEquals="Failed")
    assert len(failed) == 1 and failed[0]["ObjectiveStatus"] == "Failed"


def test_maximize_picks_the_highest_final_value(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=2, parallel=1, objective="Maximize")
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    high = run_trial(harbor, fake_runner, sagemaker, name, 1, 0.2, 0.9)
    run_trial(harbor, fake_runner, sagemaker, name, 2, 0.95, 0.5)  # its final value counts, not its peak
    assert settled(sagemaker, name)["BestTrainingJob"]["TrainingJobName"] == high


def test_grid_runs_every_categorical_combination_once(sagemaker, bucket, harbor, fake_runner):
    fake_runner.default_outcome = "Completed"
    ranges = {"CategoricalParameterRanges": [{"Name": "act", "Values": ["relu", "tanh", "gelu"]},
                                             {"Name": "opt", "Values": ["sgd", "adam"]}]}
    request = tuning_request(bucket, strategy="Grid", max_jobs=None, parallel=3, ranges=ranges)
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    described = settled(sagemaker, name)
    combos = {(t["TunedHyperParameters"]["act"], t["TunedHyperParameters"]["opt"]) for t in trials(sagemaker, name)}
    assert len(trials(sagemaker, name)) == 6 and len(combos) == 6
    # no trial printed the metric: every objective failed, so the tuning job did too
    assert described["HyperParameterTuningJobStatus"] == "Failed"
    assert described["ObjectiveStatusCounters"]["Failed"] == 6


@pytest.mark.parametrize(("change", "words"), [
    (lambda r: r["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"].update(MetricName="accuracy"),
     "[accuracy], isn't valid"),
    (lambda r: r["HyperParameterTuningJobConfig"].update(Strategy="Grid"), "takes only categorical"),
    (lambda r: r["HyperParameterTuningJobConfig"].update(Strategy="Hyperband", TrainingJobEarlyStoppingType="Auto"),
     "must be Off with the Hyperband"),
    (lambda r: (r["HyperParameterTuningJobConfig"].update(Strategy="Hyperband"),
                r["TrainingJobDefinition"].update(StaticHyperParameters={})), "MaxResource is not specified"),
    (lambda r: r["HyperParameterTuningJobConfig"].update(StrategyConfig={"HyperbandStrategyConfig": {}}),
     "only with the Hyperband"),
    (lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"][0].update(
        MinValue="0"), "greater than 0"),
    (lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0].update(
        ScalingType="ReverseLogarithmic"), "only for continuous"),
    (lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0].update(
        MinValue="5"), "must not be greater than"),
    (lambda r: r["TrainingJobDefinition"]["StaticHyperParameters"].update(lr="0.1"), "both tuned and"),
    (lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"]["IntegerParameterRanges"][0].update(
        MaxValue="lots"), "is not a number"),
    (lambda r: r["HyperParameterTuningJobConfig"]["ParameterRanges"]["ContinuousParameterRanges"][0].update(
        MaxValue="1e400"), "not a finite number"),
    (lambda r: (r["HyperParameterTuningJobConfig"].update(Strategy="Grid", ParameterRanges={
        "CategoricalParameterRanges": [{"Name": f"p{i}", "Values": ["a", "b", "c"]} for i in range(10)]}),
        r["HyperParameterTuningJobConfig"]["ResourceLimits"].pop("MaxNumberOfTrainingJobs")),
     "would launch 59049 training jobs"),
    (lambda r: r["HyperParameterTuningJobConfig"]["ResourceLimits"].update(MaxParallelTrainingJobs=9),
     "MaxParallelTrainingJobs must not be greater"),
    (lambda r: r.update(TrainingJobDefinitions=[r["TrainingJobDefinition"]]), "Exactly one of"),
    (lambda r: r["TrainingJobDefinition"].update(EnableManagedSpotTraining=True), "MaxWaitTimeInSeconds"),
])
def test_contradictory_requests_get_a_validation_exception_at_create(raw_sagemaker, bucket, change, words):
    request = tuning_request(bucket)
    change(request)
    code, message = error_of(raw_sagemaker.create_hyper_parameter_tuning_job, **request)
    assert code == "ValidationException"
    assert words in message
    assert raw_sagemaker.list_hyper_parameter_tuning_jobs()["HyperParameterTuningJobSummaries"] == []


def test_the_service_model_validates_every_operation(raw_sagemaker, bucket):
    request = tuning_request(bucket)
    request["HyperParameterTuningJobConfig"]["Strategy"] = "Genetic"
    code, message = error_of(raw_sagemaker.create_hyper_parameter_tuning_job, **request)
    assert code == "ValidationException" and "strategy" in message and "enum value set" in message
    code, message = error_of(raw_sagemaker.describe_hyper_parameter_tuning_job, HyperParameterTuningJobName="nope")
    assert (code, message) == ("ResourceNotFound", "Amazon SageMaker can't find a tuning job with name nope")
    for call in (raw_sagemaker.stop_hyper_parameter_tuning_job,
                 raw_sagemaker.list_training_jobs_for_hyper_parameter_tuning_job):
        assert error_of(call, HyperParameterTuningJobName="nope")[0] == "ResourceNotFound"
    code, _ = error_of(raw_sagemaker.list_training_jobs_for_hyper_parameter_tuning_job,
                       HyperParameterTuningJobName="x", MaxResults=0)
    assert code == "ValidationException"


def test_duplicate_names_list_and_paging(sagemaker, bucket):
    first = tuning_request(bucket, max_jobs=1, parallel=1)
    sagemaker.create_hyper_parameter_tuning_job(**first)
    code, _ = error_of(sagemaker.create_hyper_parameter_tuning_job, **first)
    assert code == "ResourceInUse"
    second = tuning_request(bucket, max_jobs=1, parallel=1)
    sagemaker.create_hyper_parameter_tuning_job(**second)
    listed = sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=1)
    names = [s["HyperParameterTuningJobName"] for s in listed["HyperParameterTuningJobSummaries"]]
    assert names == [min(first["HyperParameterTuningJobName"], second["HyperParameterTuningJobName"])]
    rest = sagemaker.list_hyper_parameter_tuning_jobs(MaxResults=1, NextToken=listed["NextToken"])
    summary = rest["HyperParameterTuningJobSummaries"][0]
    assert summary["Strategy"] == "Random" and summary["ResourceLimits"]["MaxNumberOfTrainingJobs"] == 1


def test_stop_stops_the_running_trials(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=6, parallel=2)
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    running = [trial_started(sagemaker, fake_runner, name, n) for n in (1, 2)]
    sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    assert sagemaker.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["HyperParameterTuningJobStatus"] in ("Stopping", "Stopped")
    described = settled(sagemaker, name)
    assert described["HyperParameterTuningJobStatus"] == "Stopped"
    assert described["TrainingJobStatusCounters"]["Stopped"] == 2
    assert [sagemaker.describe_training_job(TrainingJobName=n)["TrainingJobStatus"] for n in running] == ["Stopped"] * 2
    assert len(trials(sagemaker, name)) == 2
    code, _ = error_of(sagemaker.stop_hyper_parameter_tuning_job, HyperParameterTuningJobName=name)
    assert code == "ValidationException"


def test_target_objective_value_ends_the_tuning_job_early(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=10, parallel=1,
                             TuningJobCompletionCriteria={"TargetObjectiveMetricValue": 0.1})
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    run_trial(harbor, fake_runner, sagemaker, name, 1, 0.5)
    run_trial(harbor, fake_runner, sagemaker, name, 2, 0.05)
    described = settled(sagemaker, name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert len(trials(sagemaker, name)) == 2


def test_best_objective_not_improving_ends_the_tuning_job(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=10, parallel=1, TuningJobCompletionCriteria={
        "BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 3}})
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    for number, value in enumerate((0.2, 0.5, 0.6, 0.7), 1):
        run_trial(harbor, fake_runner, sagemaker, name, number, value)
    described = settled(sagemaker, name)
    assert len(trials(sagemaker, name)) == 4
    assert described["TuningJobCompletionDetails"]["NumberOfTrainingJobsObjectiveNotImproving"] == 3


def test_early_stopping_auto_stops_a_trial_worse_than_the_median(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=4, parallel=1, TrainingJobEarlyStoppingType="Auto")
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    for number in (1, 2, 3):
        run_trial(harbor, fake_runner, sagemaker, name, number, 0.5, 0.4, 0.3)
    laggard = trial_started(sagemaker, fake_runner, name, 4)
    report(harbor, laggard, 0.9, 0.9)  # worse than the median running average at step 2
    until(lambda: sagemaker.describe_training_job(TrainingJobName=laggard)["TrainingJobStatus"] == "Stopped",
          what="the median rule to stop the laggard")
    described = settled(sagemaker, name)
    assert described["TrainingJobStatusCounters"]["Stopped"] == 1
    assert described["ObjectiveStatusCounters"]["Succeeded"] == 4  # an early-stopped trial's value counts


def test_hyperband_stops_trials_at_max_resource_and_below_the_rung(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, strategy="Hyperband", max_jobs=3, parallel=3,
                             StrategyConfig={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 3}})
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    names = [trial_started(sagemaker, fake_runner, name, n) for n in (1, 2, 3)]
    for job_name, value in zip(names[:2], (0.1, 0.2), strict=True):
        report(harbor, job_name, value)  # fewer than η = 3 at the rung: both go on
        time.sleep(0.6)  # a few tuner ticks: each is judged on reaching the rung
    report(harbor, names[2], 0.9)  # the third at rung 1 and not in the best third: stopped
    until(lambda: sagemaker.describe_training_job(TrainingJobName=names[2])["TrainingJobStatus"] == "Stopped",
          what="the rung to stop the worst")
    report(harbor, names[0], 0.08, 0.05)  # reached MaxResource: stopped, its value counts
    until(lambda: sagemaker.describe_training_job(TrainingJobName=names[0])["TrainingJobStatus"] == "Stopped",
          what="MaxResource to stop the first")
    assert sagemaker.describe_training_job(TrainingJobName=names[1])["TrainingJobStatus"] == "InProgress"
    fake_runner.complete(names[1])
    described = settled(sagemaker, name)
    assert described["BestTrainingJob"]["TrainingJobName"] == names[0]


def test_several_training_definitions_take_turns(sagemaker, bucket, harbor, fake_runner):
    fake_runner.default_outcome = "Completed"
    request = tuning_request(bucket, max_jobs=4, parallel=1)
    config = request["HyperParameterTuningJobConfig"]
    objective, ranges = config.pop("HyperParameterTuningJobObjective"), config.pop("ParameterRanges")
    base = request.pop("TrainingJobDefinition")
    request["TrainingJobDefinitions"] = [
        {**base, "DefinitionName": "small", "TuningObjective": objective, "HyperParameterRanges": ranges},
        {**base, "DefinitionName": "wide", "TuningObjective": objective,
         "HyperParameterRanges": {"CategoricalParameterRanges": [{"Name": "width", "Values": ["64", "128"]}]}},
    ]
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    settled(sagemaker, name)
    listed = trials(sagemaker, name)
    assert [t["TrainingJobDefinitionName"] for t in listed] == ["small", "wide", "small", "wide"]
    assert set(listed[1]["TunedHyperParameters"]) == {"width"}


def test_warm_start_needs_an_ended_parent_and_reports_the_overall_best(sagemaker, raw_sagemaker, bucket, harbor,
                                                                        fake_runner):
    parent = tuning_request(bucket, max_jobs=1, parallel=1)
    parent_name = parent["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**parent)
    child = tuning_request(bucket, strategy="Bayesian", max_jobs=1, parallel=1, WarmStartConfig=None)
    child["HyperParameterTuningJobConfig"].pop("WarmStartConfig")
    child["WarmStartConfig"] = {"ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent_name}],
                                "WarmStartType": "IdenticalDataAndAlgorithm"}
    code, message = error_of(raw_sagemaker.create_hyper_parameter_tuning_job, **child)
    assert code == "ValidationException" and "InProgress" in message
    parent_best = run_trial(harbor, fake_runner, sagemaker, parent_name, 1, 0.01)
    settled(sagemaker, parent_name)
    sagemaker.create_hyper_parameter_tuning_job(**child)
    run_trial(harbor, fake_runner, sagemaker, child["HyperParameterTuningJobName"], 1, 0.5)
    described = settled(sagemaker, child["HyperParameterTuningJobName"])
    assert described["OverallBestTrainingJob"]["TrainingJobName"] == parent_best
    assert described["WarmStartConfig"]["WarmStartType"] == "IdenticalDataAndAlgorithm"


def test_a_restart_resumes_the_tuning_job_where_it_was(tmp_path, bucket):
    runner = FakeRunner()
    config = {"data_dir": str(tmp_path / "data"), "stop_grace_seconds": 1}
    first = create_app(config, runner=runner)
    try:
        client = first.client("sagemaker")
        first.client("s3").create_bucket(Bucket=bucket)
        request = tuning_request(bucket, max_jobs=3, parallel=1)
        name = request["HyperParameterTuningJobName"]
        client.create_hyper_parameter_tuning_job(**request)
        done = run_trial(first, runner, client, name, 1, 0.4)
        interrupted = trial_started(client, runner, name, 2)
    finally:
        first.stop()
    runner.reset()
    second = create_app(config, runner=runner)
    try:
        client = second.client("sagemaker")
        # the trial that was running when the control plane went is failed (counted), the tuner carries on
        third = run_trial(second, runner, client, name, 3, 0.2)
        described = settled(client, name)
        assert described["HyperParameterTuningJobStatus"] == "Completed"
        assert [t["TrainingJobName"] for t in trials(client, name)] == [done, interrupted, third]
        assert described["TrainingJobStatusCounters"]["RetryableError"] == 1
        assert described["BestTrainingJob"]["TrainingJobName"] == third
    finally:
        second.stop()


def test_max_runtime_ends_the_tuning_job_and_stops_its_running_trial(sagemaker, bucket, harbor, fake_runner):
    request = tuning_request(bucket, max_jobs=5, parallel=1)
    request["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 120
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    run_trial(harbor, fake_runner, sagemaker, name, 1, 0.3)
    running = trial_started(sagemaker, fake_runner, name, 2)
    # two minutes of tuning, as a restarted control plane counts them (the wait itself is no test's business)
    harbor.control.tuning.jobs.get(harbor.region, name).runtime_seconds = 120
    described = settled(sagemaker, name)
    assert described["HyperParameterTuningJobStatus"] == "Completed"
    assert described["ConsumedResources"]["RuntimeInSeconds"] >= 120
    assert sagemaker.describe_training_job(TrainingJobName=running)["TrainingJobStatus"] == "Stopped"
    assert len(trials(sagemaker, name)) == 2


def test_built_in_image_metric_definitions_give_the_objective(sagemaker, bucket, monkeypatch):
    from containers import registry

    xgboost = registry.BuiltinImage(name="mlharbor/metric-demo", description="test", train_module="x")
    object.__setattr__(xgboost, "metric_definitions", ({"Name": "validation:rmse",
                                                        "Regex": r"validation-rmse:([0-9.]+)"},))
    monkeypatch.setattr("emulator.services.sagemaker.tuning_validation.resolve",
                        lambda image: xgboost if image == "mlharbor/metric-demo" else registry.resolve(image))
    request = tuning_request(bucket, max_jobs=1, parallel=1)
    request["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["MetricName"] = "validation:rmse"
    request["TrainingJobDefinition"]["AlgorithmSpecification"] = {"TrainingImage": "mlharbor/metric-demo",
                                                                  "TrainingInputMode": "File"}
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    trial = until(lambda: trials(sagemaker, name), what="the trial")[0]
    described = sagemaker.describe_training_job(TrainingJobName=trial["TrainingJobName"])
    assert described["AlgorithmSpecification"]["MetricDefinitions"] == [
        {"Name": "validation:rmse", "Regex": r"validation-rmse:([0-9.]+)"}]


def test_checkpoints_spot_and_the_sdk_resource_config_reach_the_trials(sagemaker, bucket, fake_runner):
    request = tuning_request(bucket, max_jobs=1, parallel=1)
    base = request["TrainingJobDefinition"]
    base.pop("ResourceConfig")
    base.update(EnableManagedSpotTraining=True,
                StoppingCondition={"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 600},
                CheckpointConfig={"S3Uri": f"s3://{bucket}/checkpoints", "LocalPath": "/opt/ml/checkpoints"},
                HyperParameterTuningResourceConfig={"InstanceConfigs": [
                    {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5}]})
    name = request["HyperParameterTuningJobName"]
    sagemaker.create_hyper_parameter_tuning_job(**request)
    trial = until(lambda: trials(sagemaker, name), what="the trial")[0]
    described = sagemaker.describe_training_job(TrainingJobName=trial["TrainingJobName"])
    assert described["EnableManagedSpotTraining"] is True
    assert described["StoppingCondition"]["MaxWaitTimeInSeconds"] == 600
    assert described["CheckpointConfig"]["S3Uri"] == f"s3://{bucket}/checkpoints"
    assert described["ResourceConfig"] == {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 5}
