"""The training-job state machine on its own (pure)."""

from __future__ import annotations

import pytest

from emulator.services.sagemaker import states
from emulator.services.sagemaker.records import TrainingJob


def new_job() -> TrainingJob:
    job = TrainingJob(name="j", arn="arn", region="us-east-1", request={})
    states.enter(job, "Starting", "Launching requested ML instances", 1.0)
    return job


def test_happy_path_closes_each_transition_when_the_next_begins():
    job = new_job()
    states.enter(job, "Downloading", "Downloading input data", 2.0)
    states.enter(job, "Training", "Training in progress", 3.0)
    states.enter(job, "Uploading", "Uploading generated training model", 5.0)
    states.finish(job, "Completed", 6.0)
    assert (job.status, job.secondary_status) == ("Completed", "Completed")
    assert [(t.status, t.start_time, t.end_time) for t in job.transitions] == [
        ("Starting", 1.0, 2.0), ("Downloading", 2.0, 3.0), ("Training", 3.0, 5.0),
        ("Uploading", 5.0, 6.0), ("Completed", 6.0, 6.0),
    ]
    assert (job.training_start_time, job.training_end_time) == (3.0, 6.0)


def test_a_stopping_job_ends_stopped_whatever_the_runner_saw():
    job = new_job()
    states.begin_stop(job, 2.0)
    assert job.status == "Stopping"
    states.finish(job, "Completed", 3.0)
    assert (job.status, job.secondary_status, job.failure_reason) == ("Stopped", "Stopped", None)


def test_failure_reason_is_cut_to_1024_characters():
    job = new_job()
    states.finish(job, "Failed", 2.0, "x" * 5000)
    assert job.status == "Failed" and len(job.failure_reason) == 1024


def test_max_runtime_exceeded_is_a_stopped_job():
    job = new_job()
    states.finish(job, "MaxRuntimeExceeded", 2.0)
    assert (job.status, job.secondary_status) == ("Stopped", "MaxRuntimeExceeded")


def test_an_ended_job_cannot_move_again():
    job = new_job()
    states.finish(job, "Completed", 2.0)
    with pytest.raises(states.IllegalTransition):
        states.enter(job, "Training", "again", 3.0)
    with pytest.raises(states.IllegalTransition):
        states.finish(job, "Failed", 3.0)
    with pytest.raises(states.IllegalTransition):
        states.begin_stop(job, 3.0)


def test_records_survive_a_round_trip_through_their_dict_form():
    job = new_job()
    states.enter(job, "Downloading", "Downloading input data", 2.0)
    assert TrainingJob.from_dict(job.to_dict()) == job
