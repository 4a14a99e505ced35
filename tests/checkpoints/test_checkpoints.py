"""Checkpoints every few seconds to the artifact store; stop, spot interruption, retry and resume.

Every job here runs the real ``mlharbor/pytorch`` container with a torch script that saves a
checkpoint each epoch and resumes from the newest one (``epoch_trainer.py``), once on a server
with the process runner and once on one with the Docker runner: the same contract for both.
"""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest
import torch

from tests.conftest import REPO, RUNNER_KINDS, read_tar, script_job, start_harbor, wait_for_status

TRAINER = (Path(__file__).parent / "epoch_trainer.py").read_text()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=RUNNER_KINDS)
def ckpt_harbor(request, tmp_path_factory):
    if request.param == "docker":
        request.getfixturevalue("docker_images")
    running = start_harbor(
        tmp_path_factory.mktemp("ckpt-harbor"), "--runner", request.param,
        "--checkpoint-interval-seconds", "1", "--stop-grace-seconds", "5",
        "--max-concurrent-jobs", "3", env={"MLHARBOR_SPOT_RESTART_DELAY_SECONDS": "3"},
    )
    yield running
    running.kill()


@pytest.fixture(scope="module")
def clients(ckpt_harbor):
    s3 = ckpt_harbor.client("s3")
    s3.create_bucket(Bucket="ckpt-tests")
    return ckpt_harbor.client("sagemaker"), s3


def epoch_job(s3, epochs: int, epoch_seconds: float, checkpoint_uri: str | None = None, **overrides):
    hyperparameters = {"epochs": str(epochs), "epoch-seconds": str(epoch_seconds)}
    request = script_job(s3, "ckpt-tests", TRAINER, HyperParameters=hyperparameters, **overrides)
    if checkpoint_uri:
        request["CheckpointConfig"] = {"S3Uri": checkpoint_uri}
    return request


def download(harbor, item_id: str) -> dict[str, bytes]:
    raw = harbor.internal(f"/artifacts/{item_id}/download")
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        return {member.name: archive.extractfile(member).read() for member in archive.getmembers() if member.isfile()}


def stored_epoch(harbor, item_id: str) -> int:
    return torch.load(io.BytesIO(download(harbor, item_id)["state.pt"]))["epoch"]


def checkpoint_sets(harbor, job: str) -> list[dict]:
    return [item for item in harbor.artifacts(job) if item["kind"] == "checkpoint"]


def wait_for_stored_epoch(harbor, job: str, epoch: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sets = checkpoint_sets(harbor, job)
        if sets:
            newest = stored_epoch(harbor, sets[-1]["item_id"])
            if newest >= epoch:
                return newest
        time.sleep(0.3)
    raise TimeoutError(f"{job}: no checkpoint of epoch {epoch} was stored")


def run_json(s3, description) -> dict:
    return json.loads(read_tar(s3, description["ModelArtifacts"]["S3ModelArtifacts"])["run.json"])


def test_checkpoints_are_copied_while_the_job_runs_and_mirrored_to_s3(ckpt_harbor, clients):
    sagemaker, s3 = clients
    request = epoch_job(s3, epochs=8, epoch_seconds=0.5, checkpoint_uri="s3://ckpt-tests/mirror/run-1")
    name = request["TrainingJobName"]
    sagemaker.create_training_job(**request)
    wait_for_stored_epoch(ckpt_harbor, name, 2)
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
    final = wait_for_status(sagemaker, name)
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    sets = checkpoint_sets(ckpt_harbor, name)
    assert len(sets) >= 2
    assert stored_epoch(ckpt_harbor, sets[-1]["item_id"]) == 8
    mirrored = s3.get_object(Bucket="ckpt-tests", Key="mirror/run-1/state.pt")["Body"].read()
    assert torch.load(io.BytesIO(mirrored))["epoch"] == 8
    assert any(item["kind"] == "model" for item in ckpt_harbor.artifacts(name))


def test_a_stopped_job_keeps_its_last_checkpoint_and_a_new_job_resumes_from_it(ckpt_harbor, clients):
    sagemaker, s3 = clients
    uri = "s3://ckpt-tests/shared/lineage-1"
    first = epoch_job(s3, epochs=30, epoch_seconds=0.3, checkpoint_uri=uri)
    sagemaker.create_training_job(**first)
    wait_for_stored_epoch(ckpt_harbor, first["TrainingJobName"], 3)
    sagemaker.stop_training_job(TrainingJobName=first["TrainingJobName"])
    stopped = wait_for_status(sagemaker, first["TrainingJobName"])
    assert stopped["TrainingJobStatus"] == "Stopped"
    last = stored_epoch(ckpt_harbor, checkpoint_sets(ckpt_harbor, first["TrainingJobName"])[-1]["item_id"])
    assert 3 <= last < 30

    second = epoch_job(s3, epochs=30, epoch_seconds=0.01, checkpoint_uri=uri)
    sagemaker.create_training_job(**second)
    final = wait_for_status(sagemaker, second["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    run = run_json(s3, final)
    assert run["first_epoch_this_attempt"] == last + 1
    assert run["epochs_this_attempt"][-1] == 30


def test_spot_interruption_resumes_from_the_checkpointed_epoch(ckpt_harbor, clients):
    sagemaker, s3 = clients
    request = epoch_job(s3, epochs=25, epoch_seconds=0.3, EnableManagedSpotTraining=True,
                        StoppingCondition={"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 600})
    name = request["TrainingJobName"]
    sagemaker.create_training_job(**request)
    wait_for_stored_epoch(ckpt_harbor, name, 3)
    interrupted = subprocess.run([sys.executable, "-m", "emulator.cli", "interrupt", name, "--endpoint",
                                  ckpt_harbor.endpoint], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert interrupted.returncode == 0, interrupted.stderr
    final = wait_for_status(sagemaker, name)
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    statuses = [t["Status"] for t in final["SecondaryStatusTransitions"]]
    cut = statuses.index("Interrupted")
    assert statuses[cut - 1] == "Training"
    assert statuses[cut + 1 : cut + 4] == ["Starting", "Downloading", "Training"]
    assert statuses[-1] == "Completed"
    run = run_json(s3, final)
    assert run["first_epoch_this_attempt"] > 3  # resumed, not from epoch 1
    assert run["epochs_this_attempt"] == list(range(run["first_epoch_this_attempt"], 26))
    assert final["BillableTimeInSeconds"] < final["TrainingTimeInSeconds"]


def test_max_wait_time_is_enforced_across_interruptions(ckpt_harbor, clients):
    sagemaker, s3 = clients
    request = epoch_job(s3, epochs=200, epoch_seconds=0.2, EnableManagedSpotTraining=True,
                        StoppingCondition={"MaxRuntimeInSeconds": 10, "MaxWaitTimeInSeconds": 10})
    name = request["TrainingJobName"]
    sagemaker.create_training_job(**request)
    wait_for_stored_epoch(ckpt_harbor, name, 1)
    ckpt_harbor.internal(f"/training-jobs/{name}/interrupt", method="POST")
    final = wait_for_status(sagemaker, name, timeout=60)
    assert (final["TrainingJobStatus"], final["SecondaryStatus"]) == ("Stopped", "MaxWaitTimeExceeded")


def test_only_a_running_spot_job_can_be_interrupted(ckpt_harbor, clients):
    sagemaker, s3 = clients
    request = epoch_job(s3, epochs=1, epoch_seconds=0.0)
    sagemaker.create_training_job(**request)
    wait_for_status(sagemaker, request["TrainingJobName"])
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "interrupt", request["TrainingJobName"],
                             "--endpoint", ckpt_harbor.endpoint], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 1
    assert "ValidationException" in result.stderr and "managed spot" in result.stderr


@pytest.mark.parametrize("runner", RUNNER_KINDS)
def test_sigkill_of_the_control_plane_loses_no_stored_checkpoint_and_the_job_retries(tmp_path, request, runner):
    if runner == "docker":  # the containers outlive the killed server; the next one reaps them
        request.getfixturevalue("docker_images")
    data_dir = tmp_path / "data"
    first = start_harbor(data_dir, "--runner", runner, "--checkpoint-interval-seconds", "1",
                         "--checkpoint-keep-last", "100")
    try:
        sagemaker, s3 = first.client("sagemaker"), first.client("s3")
        s3.create_bucket(Bucket="ckpt-tests")
        request = epoch_job(s3, epochs=40, epoch_seconds=0.3, checkpoint_uri="s3://ckpt-tests/kill/run",
                            RetryStrategy={"MaximumRetryAttempts": 1})
        name = request["TrainingJobName"]
        sagemaker.create_training_job(**request)
        wait_for_stored_epoch(first, name, 4)
        deadline = time.monotonic() + 30
        while len(checkpoint_sets(first, name)) < 2:  # at least two sets reported before the kill
            assert time.monotonic() < deadline, "a second checkpoint set was never stored"
            time.sleep(0.3)
        reported = {item["item_id"]: download(first, item["item_id"]) for item in checkpoint_sets(first, name)}
    finally:
        first.kill(signal.SIGKILL)

    second = start_harbor(data_dir, "--runner", runner, "--checkpoint-interval-seconds", "1",
                          "--checkpoint-keep-last", "100")
    try:
        listed = {item["item_id"] for item in checkpoint_sets(second, name)}
        assert set(reported) <= listed
        for item_id, files in reported.items():
            assert download(second, item_id) == files
        sagemaker, s3 = second.client("sagemaker"), second.client("s3")
        final = wait_for_status(sagemaker, name)
        assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
        run = run_json(s3, final)
        newest_before_kill = max(torch.load(io.BytesIO(files["state.pt"]))["epoch"] for files in reported.values())
        assert run["first_epoch_this_attempt"] > newest_before_kill
        assert run["epochs_this_attempt"][-1] == 40
        messages = [t["StatusMessage"] for t in final["SecondaryStatusTransitions"]]
        assert any("after the control plane stopped" in message for message in messages)
    finally:
        second.kill()


def test_artifacts_cli_lists_and_fetches_a_checkpoint_set(ckpt_harbor, clients, tmp_path):
    sagemaker, s3 = clients
    request = epoch_job(s3, epochs=2, epoch_seconds=0.0)
    sagemaker.create_training_job(**request)
    assert wait_for_status(sagemaker, request["TrainingJobName"])["TrainingJobStatus"] == "Completed"

    def mlharbor(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "emulator.cli", "artifacts", *args, "--endpoint",
                               ckpt_harbor.endpoint], capture_output=True, text=True, cwd=REPO, timeout=60)

    listed = mlharbor("list", request["TrainingJobName"], "--region", "us-east-1")
    assert listed.returncode == 0, listed.stderr
    ids = [line.split()[0] for line in listed.stdout.splitlines()[1:]]
    checkpoint = next(item for item in ids if "/checkpoints/" in item)
    assert f"123456789012/us-east-1/{request['TrainingJobName']}/model" in ids  # account/region/job: see store.py
    elsewhere = mlharbor("list", request["TrainingJobName"], "--region", "eu-west-1")
    assert elsewhere.returncode == 0 and len(elsewhere.stdout.splitlines()) == 1  # the header alone
    fetched = mlharbor("get", checkpoint, "--dest", str(tmp_path / "out"))
    assert fetched.returncode == 0, fetched.stderr
    assert torch.load(tmp_path / "out" / "state.pt")["epoch"] == 2
    missing = mlharbor("get", "no-such/checkpoints/x", "--dest", str(tmp_path / "none"))
    assert missing.returncode == 1 and "No stored artifact" in missing.stderr


def test_a_job_restores_from_checkpoint_s3uri_when_the_store_has_none(ckpt_harbor, clients):
    sagemaker, s3 = clients
    # a checkpoint made elsewhere (on AWS, say) and uploaded: the store has never seen this lineage
    seed = epoch_job(s3, epochs=5, epoch_seconds=0.0)
    sagemaker.create_training_job(**seed)
    seeded = wait_for_status(sagemaker, seed["TrainingJobName"])
    assert seeded["TrainingJobStatus"] == "Completed", seeded.get("FailureReason")
    state = download(ckpt_harbor, checkpoint_sets(ckpt_harbor, seed["TrainingJobName"])[-1]["item_id"])["state.pt"]
    s3.put_object(Bucket="ckpt-tests", Key="uploaded/run-9/state.pt", Body=state)

    request = epoch_job(s3, epochs=8, epoch_seconds=0.0, checkpoint_uri="s3://ckpt-tests/uploaded/run-9")
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    assert run_json(s3, final)["first_epoch_this_attempt"] == 6
