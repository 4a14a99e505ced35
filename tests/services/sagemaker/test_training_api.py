"""A real training job end to end: the waiter and its timed transitions (the API itself: tests/api)."""

from __future__ import annotations

from tests.conftest import script_job

QUICK = "print('hello from the job')\n"


def test_waiter_completes_and_transitions_are_timed_in_order(sagemaker, s3, bucket):
    request = script_job(s3, bucket, QUICK)
    sagemaker.create_training_job(**request)
    waiter = sagemaker.get_waiter("training_job_completed_or_stopped")
    waiter.wait(TrainingJobName=request["TrainingJobName"], WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    final = sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    statuses = [t["Status"] for t in final["SecondaryStatusTransitions"]]
    assert statuses == ["Starting", "Downloading", "Training", "Uploading", "Completed"]
    starts = [t["StartTime"] for t in final["SecondaryStatusTransitions"]]
    assert starts == sorted(starts)
    for transition in final["SecondaryStatusTransitions"][:-1]:
        assert transition["EndTime"] >= transition["StartTime"]
    assert final["TrainingEndTime"] >= final["TrainingStartTime"]
    assert final["TrainingTimeInSeconds"] >= 1
