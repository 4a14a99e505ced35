"""A control plane killed with SIGKILL comes back with every job, none left InProgress forever."""

from __future__ import annotations

import signal
import time

import pytest

from tests.conftest import (
    ROLE,
    process_alive,
    processes_with_env,
    script_job,
    start_harbor,
    wait_for_file,
    wait_for_status,
)

SLEEP_AND_RECORD_PID = (
    "import argparse, os, time\n"
    "parser = argparse.ArgumentParser(); parser.add_argument('--pidfile'); args = parser.parse_args()\n"
    "open(args.pidfile, 'w').write(str(os.getpid()))\n"
    "time.sleep(300)\n"
)


@pytest.mark.slow
def test_sigkill_and_restart_keeps_records_and_reconciles_jobs(tmp_path):
    data_dir = tmp_path / "data"
    first = start_harbor(data_dir, "--max-concurrent-jobs", "1", "--stop-grace-seconds", "2")
    try:
        sagemaker, s3 = first.client("sagemaker"), first.client("s3")
        s3.create_bucket(Bucket="restart-bucket")
        done = script_job(s3, "restart-bucket", "print('done')\n")
        sagemaker.create_training_job(**done)
        assert wait_for_status(sagemaker, done["TrainingJobName"])["TrainingJobStatus"] == "Completed"

        pidfile = tmp_path / "sleeper.pid"
        mark = f"restart-{pidfile.parent.name}"
        running = script_job(s3, "restart-bucket", SLEEP_AND_RECORD_PID, HyperParameters={"pidfile": str(pidfile)},
                             Environment={"TEST_MARK": mark})
        sagemaker.create_training_job(**running)
        queued = script_job(s3, "restart-bucket", "print('queued then ran')\n")
        sagemaker.create_training_job(**queued)
        wait_for_file(pidfile)
        job_pids = processes_with_env("TEST_MARK", mark)  # host pids: in a PID namespace os.getpid() is the job's own
        assert job_pids
        processing_name = f"proc-{running['TrainingJobName']}"
        sagemaker.create_processing_job(
            ProcessingJobName=processing_name, RoleArn=ROLE,
            AppSpecification={"ImageUri": "mlharbor/pytorch",
                              "ContainerEntrypoint": ["python3", "-c", "import time; time.sleep(300)"]},
            ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large",
                                                   "VolumeSizeInGB": 1}},
        )
        assert sagemaker.describe_training_job(TrainingJobName=queued["TrainingJobName"])["SecondaryStatus"] == "Starting"
    finally:
        first.kill(signal.SIGKILL)

    second = start_harbor(data_dir, "--max-concurrent-jobs", "1")
    try:
        sagemaker = second.client("sagemaker")
        names = {s["TrainingJobName"] for s in sagemaker.list_training_jobs(MaxResults=100)["TrainingJobSummaries"]}
        assert {done["TrainingJobName"], running["TrainingJobName"], queued["TrainingJobName"]} <= names

        assert sagemaker.describe_training_job(TrainingJobName=done["TrainingJobName"])["TrainingJobStatus"] == "Completed"
        interrupted = sagemaker.describe_training_job(TrainingJobName=running["TrainingJobName"])
        assert interrupted["TrainingJobStatus"] == "Failed"
        assert "control plane stopped while this job was running" in interrupted["FailureReason"]
        deadline = time.monotonic() + 15
        while left := [pid for pid in job_pids if process_alive(pid)]:
            assert time.monotonic() < deadline, f"job processes {left} outlived their control plane"
            time.sleep(0.2)
        # the processing job was queued behind the sleeper (capacity 1): it is queued again, not lost
        processing = sagemaker.describe_processing_job(ProcessingJobName=processing_name)
        assert processing["ProcessingJobStatus"] == "InProgress"
        # the queued job was never started: it runs now, its code still in the (journaled) S3
        requeued = wait_for_status(sagemaker, queued["TrainingJobName"])
        assert requeued["TrainingJobStatus"] == "Completed", requeued.get("FailureReason")
        assert requeued["SecondaryStatusTransitions"][0]["Status"] == "Starting"
        sagemaker.stop_processing_job(ProcessingJobName=processing_name)
    finally:
        second.kill()


@pytest.mark.slow
def test_sigterm_with_a_running_and_a_queued_job_exits_and_ends_the_job(tmp_path):
    """A graceful stop does not wait on the worker thread watching a running job: the job dies with the
    control plane, and the next one fails it as interrupted."""
    data_dir = tmp_path / "data"
    harbor = start_harbor(data_dir, "--max-concurrent-jobs", "1")
    mark = "sigterm-running"
    try:
        s3, sagemaker = harbor.client("s3"), harbor.client("sagemaker")
        s3.create_bucket(Bucket="sigterm-jobs")
        pidfile = tmp_path / "job.pid"
        running = script_job(s3, "sigterm-jobs", SLEEP_AND_RECORD_PID, Environment={"TEST_MARK": mark},
                             HyperParameters={"pidfile": str(pidfile)})
        sagemaker.create_training_job(**running)
        queued = script_job(s3, "sigterm-jobs", "print('queued')\n")
        sagemaker.create_training_job(**queued)
        wait_for_file(pidfile)
        job_pids = processes_with_env("TEST_MARK", mark)
        assert job_pids, "no job process found to outlive the control plane"
        assert harbor.kill(signal.SIGTERM, timeout=60) == 0  # a hang here is the defect
        deadline = time.monotonic() + 15
        while left := [pid for pid in job_pids if process_alive(pid)]:
            assert time.monotonic() < deadline, f"job processes {left} outlived their control plane"
            time.sleep(0.2)
    finally:
        if harbor.process.poll() is None:
            harbor.kill(signal.SIGKILL)
    again = start_harbor(data_dir, "--max-concurrent-jobs", "1")
    try:
        interrupted = again.client("sagemaker").describe_training_job(TrainingJobName=running["TrainingJobName"])
        assert interrupted["TrainingJobStatus"] == "Failed"
        # the queued job never started: the stop dropped it from the queue, the next control plane runs it
        requeued = wait_for_status(again.client("sagemaker"), queued["TrainingJobName"])
        assert requeued["TrainingJobStatus"] == "Completed", requeued.get("FailureReason")
    finally:
        again.kill()
