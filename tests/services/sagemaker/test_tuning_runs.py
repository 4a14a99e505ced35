"""Tuning jobs with real trial processes on a real ``mlharbor up``: each trial prints its objective per epoch,
Stop ends the running trial processes, and a killed control plane's tuning job is carried on by the next."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest

from tests.conftest import ROLE, script_job, start_harbor

pytestmark = pytest.mark.slow

#: a trial: "--offset" is tuned; prints one objective value per epoch, sleeping "--pause" seconds between them
TRIAL = (
    "import sys, time\n"
    "args = dict(zip(sys.argv[1::2], sys.argv[2::2]))\n"
    "x = float(args['--offset'])\n"
    "for epoch in range(int(args.get('--epochs', '2'))):\n"
    "    time.sleep(float(args.get('--pause', '0')))\n"
    "    print(f'epoch={epoch} score={(x - 0.3) ** 2 + 1.0 / (epoch + 1):.5f}', flush=True)\n"
)


def tuning_request(s3: Any, bucket: str, name: str, max_jobs: int, **static: str) -> dict[str, Any]:
    template = script_job(s3, bucket, TRIAL, HyperParameters=static)
    definition = {member: template[member] for member in ("OutputDataConfig", "ResourceConfig", "StoppingCondition")}
    definition.update(RoleArn=ROLE, StaticHyperParameters=template["HyperParameters"], AlgorithmSpecification={
        **template["AlgorithmSpecification"], "MetricDefinitions": [{"Name": "score", "Regex": r"score=([0-9.]+)"}]})
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian", "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "score"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 1},
            "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "offset", "MinValue": "0", "MaxValue": "1"}]},
        },
        "TrainingJobDefinition": definition,
    }


def describe(sagemaker: Any, name: str) -> dict[str, Any]:
    return sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


def wait_until(check: Any, timeout: float = 180) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError("timed out")


def trials(sagemaker: Any, name: str) -> list[dict[str, Any]]:
    return sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, SortBy="CreationTime", SortOrder="Ascending")["TrainingJobSummaries"]


def test_real_trials_score_from_their_logs_and_a_restart_carries_on(tmp_path):
    data_dir = tmp_path / "data"
    first = start_harbor(data_dir, "--max-concurrent-jobs", "2", "--stop-grace-seconds", "1")
    try:
        sagemaker, s3 = first.client("sagemaker"), first.client("s3")
        s3.create_bucket(Bucket="tuning-runs")
        # each trial runs a few seconds: the second is running when the control plane is killed
        request = tuning_request(s3, "tuning-runs", "restart-tuning", 3, pause="2")
        sagemaker.create_hyper_parameter_tuning_job(**request)
        first_trial = wait_until(lambda: [t for t in trials(sagemaker, "restart-tuning")
                                          if t["TrainingJobStatus"] == "Completed"])[0]
        # the objective is the last epoch's printed value: (x - 0.3)^2 + 1/2
        x = float(first_trial["TunedHyperParameters"]["offset"])
        assert first_trial["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(
            (x - 0.3) ** 2 + 0.5, abs=1e-4)
        wait_until(lambda: len(trials(sagemaker, "restart-tuning")) >= 2)
    finally:
        first.kill(signal.SIGKILL)
    second = start_harbor(data_dir, "--max-concurrent-jobs", "2", "--stop-grace-seconds", "1")
    try:
        sagemaker = second.client("sagemaker")
        ended = wait_until(lambda: (d := describe(sagemaker, "restart-tuning"))["HyperParameterTuningJobStatus"]
                           != "InProgress" and d)
        assert ended["HyperParameterTuningJobStatus"] == "Completed"
        listed = trials(sagemaker, "restart-tuning")
        assert len(listed) == 3 and listed[0]["TrainingJobName"] == first_trial["TrainingJobName"]
        counters = ended["TrainingJobStatusCounters"]
        assert counters["Completed"] + counters["RetryableError"] == 3 and counters["Completed"] >= 2
        assert ended["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] < 0.6
    finally:
        second.kill()


def test_stop_ends_the_running_trial_process(tmp_path):
    harbor = start_harbor(tmp_path / "data", "--max-concurrent-jobs", "2", "--stop-grace-seconds", "1")
    try:
        sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
        s3.create_bucket(Bucket="tuning-stop")
        sagemaker.create_hyper_parameter_tuning_job(**tuning_request(s3, "tuning-stop", "stop-tuning", 5,
                                                                     pause="60", epochs="5"))
        running = wait_until(lambda: [t for t in trials(sagemaker, "stop-tuning") if sagemaker.describe_training_job(
            TrainingJobName=t["TrainingJobName"])["SecondaryStatus"] == "Training"])[0]
        sagemaker.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="stop-tuning")
        ended = wait_until(lambda: (d := describe(sagemaker, "stop-tuning"))["HyperParameterTuningJobStatus"]
                           == "Stopped" and d, timeout=60)
        assert ended["TrainingJobStatusCounters"]["Stopped"] == 1
        assert sagemaker.describe_training_job(TrainingJobName=running["TrainingJobName"])["TrainingJobStatus"] == \
            "Stopped"
        assert len(trials(sagemaker, "stop-tuning")) == 1
    finally:
        harbor.kill()
