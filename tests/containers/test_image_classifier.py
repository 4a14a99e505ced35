"""``mlharbor/image-classifier`` end to end: digits as PNGs in S3 → training job → model.tar.gz → /invocations.

Every job runs through a real ``mlharbor up`` (the session's ``harbor``). The reference job
trains for :data:`EPOCHS` epochs; the stop and spot tests train with the same
hyperparameters, get cut off, resume from their checkpoint and must log exactly the epochs
the reference logged (training is deterministic given the seed, and the checkpoint carries
the optimiser and RNG state), so a resume that restarted, skipped or replayed an epoch fails.
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from containers.image_classifier.dataset import DIGIT_MAX_VALUE, DatasetLocation, upload_digits
from containers.image_classifier.images import read_image_folder
from containers.image_classifier.model import ImageCNN
from tests.conftest import REPO, ROLE, read_tar, unique_name, wait_for_status

pytestmark = pytest.mark.slow

EPOCHS = 30
#: Small batches make an epoch last long enough (about 0.2 s) for a stop to land mid-run.
HYPERPARAMETERS = {"batch-size": "8", "lr": "0.001", "seed": "7"}
#: Images of each digit uploaded (of about 180): 600 PNGs keep S3 transfers short.
PER_LABEL = 60
METRICS = [{"Name": name, "Regex": rf"{name}=([0-9.]+)"} for name in ("train_loss", "val_acc", "test_acc")]
#: Chance is 0.1; a pipeline that mislabels, scrambles or ignores the images stays far below this.
ACCURACY_FLOOR = 0.9
_EPOCH_LINE = re.compile(r"^epoch=(\d+) (train_loss=\S+ val_acc=\S+)")


@pytest.fixture(scope="module")
def digits(harbor) -> tuple[str, DatasetLocation]:
    s3 = harbor.client("s3")
    bucket = f"digits-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    started = time.monotonic()
    location = upload_digits(s3, bucket, "datasets/digits", per_label=PER_LABEL)
    print(f"uploaded {location.train_count + location.test_count} digits in {time.monotonic() - started:.1f}s")
    return bucket, location


@pytest.fixture(scope="module")
def tiny_digits(harbor, digits) -> DatasetLocation:
    """30 digits, for jobs that are meant to fail before they learn anything."""
    bucket, _ = digits
    return upload_digits(harbor.client("s3"), bucket, "datasets/tiny-digits", per_label=3)


def classifier_job(bucket: str, location: DatasetLocation, epochs: int | str, **overrides: Any) -> dict[str, Any]:
    """A CreateTrainingJob request for the built-in image classifier on the digits."""
    def channel(name: str, uri: str) -> dict[str, Any]:
        return {"ChannelName": name, "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}

    request: dict[str, Any] = {
        "TrainingJobName": unique_name("digits"),
        "AlgorithmSpecification": {"TrainingImage": "mlharbor/image-classifier", "TrainingInputMode": "File",
                                   "MetricDefinitions": METRICS},
        "RoleArn": ROLE,
        "HyperParameters": {**HYPERPARAMETERS, "epochs": str(epochs)},
        "InputDataConfig": [channel("train", location.train_uri), channel("test", location.test_uri)],
        "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    }
    request.update(overrides)
    return request


def log_lines(harbor, job: str) -> list[str]:
    """Every log line of the job so far, all attempts (streams) in order."""
    logs = harbor.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=job + "/")["logStreams"]
    lines: list[str] = []
    for stream in sorted(streams, key=lambda s: s["creationTime"]):
        events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                     logStreamName=stream["logStreamName"], startFromHead=True)["events"]
        lines += [event["message"] for event in events]
    return lines


def epoch_lines(lines: list[str]) -> dict[int, str]:
    """Epoch number → its metrics (timing left out)."""
    return {int(m.group(1)): m.group(2) for line in lines if (m := _EPOCH_LINE.match(line))}


def wait_for_epoch(harbor, job: str, epoch: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if max(epoch_lines(log_lines(harbor, job)), default=0) >= epoch:
            return
        time.sleep(0.2)
    raise TimeoutError(f"{job} never logged epoch {epoch}")


def final_metrics(description: dict[str, Any]) -> dict[str, float]:
    return {item["MetricName"]: item["Value"] for item in description.get("FinalMetricDataList", [])}


@pytest.fixture(scope="module")
def reference(harbor, digits) -> dict[str, Any]:
    """One complete, uninterrupted training run: its description, log lines and wall time."""
    bucket, location = digits
    sagemaker = harbor.client("sagemaker")
    request = classifier_job(bucket, location, EPOCHS)
    started = time.monotonic()
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"], timeout=300)
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    elapsed = time.monotonic() - started
    print(f"reference job: {elapsed:.1f}s wall, TrainingTimeInSeconds={final.get('TrainingTimeInSeconds')}, "
          f"metrics={final_metrics(final)}")
    return {"description": final, "lines": log_lines(harbor, request["TrainingJobName"]), "seconds": elapsed}


def test_the_classifier_learns_the_digits_from_s3_images(reference, digits):
    _, location = digits
    metrics = final_metrics(reference["description"])
    assert metrics["test_acc"] >= ACCURACY_FLOOR
    assert metrics["val_acc"] >= ACCURACY_FLOOR
    assert list(epoch_lines(reference["lines"])) == list(range(1, EPOCHS + 1))
    header = next(line for line in reference["lines"] if line.startswith("labels="))
    assert f"train_images={location.train_count - round(location.train_count * 0.1)}" in header
    assert f"test_images={location.test_count}" in header
    assert not any(line.startswith("resumed") for line in reference["lines"])


def test_model_tar_gz_holds_the_trained_network_and_its_config(reference, harbor, digits, tmp_path):
    """The artifact alone, loaded outside the harbor, classifies the held-out images as the job said."""
    bucket, location = digits
    files = read_tar(harbor.client("s3"), reference["description"]["ModelArtifacts"]["S3ModelArtifacts"])
    assert set(files) == {"model.pt", "config.json"}
    config = json.loads(files["config.json"])
    assert config["labels"] == [str(d) for d in range(10)] and config["image_size"] == 8
    assert config["epochs_trained"] == EPOCHS
    model = ImageCNN(10, channels=tuple(config["channels"]), hidden=config["hidden"])
    model.load_state_dict(torch.load(io.BytesIO(files["model.pt"]), weights_only=True))
    model.eval()

    s3 = harbor.client("s3")
    test_dir = tmp_path / "test"
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="datasets/digits/test/"):
        for item in page["Contents"]:
            target = test_dir / item["Key"].removeprefix("datasets/digits/test/")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())
    folder = read_image_folder(test_dir, 8)
    assert len(folder) == location.test_count
    with torch.no_grad():
        predicted = model(torch.from_numpy(folder.images).unsqueeze(1)).argmax(dim=1).numpy()
    accuracy = float((predicted == folder.targets).mean())
    assert accuracy == pytest.approx(config["metrics"]["test_acc"], abs=1e-6)
    assert accuracy >= ACCURACY_FLOOR


def newest_mirrored_epoch(s3, bucket: str, prefix: str) -> int:
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]
    epochs = [int(m.group(1)) for key in keys if (m := re.search(r"/epoch-(\d+)\.pt$", key))]
    assert epochs, f"no checkpoint was mirrored under s3://{bucket}/{prefix}: {keys}"
    return max(epochs)


def test_a_stopped_job_resumes_from_its_checkpoint_in_a_new_job(reference, harbor, digits):
    bucket, location = digits
    sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
    prefix = f"checkpoints/{uuid.uuid4().hex[:8]}"
    checkpoint = {"S3Uri": f"s3://{bucket}/{prefix}"}
    first = classifier_job(bucket, location, 100_000, CheckpointConfig=checkpoint)
    sagemaker.create_training_job(**first)
    wait_for_epoch(harbor, first["TrainingJobName"], 3)
    sagemaker.stop_training_job(TrainingJobName=first["TrainingJobName"])
    stopped = wait_for_status(sagemaker, first["TrainingJobName"])
    assert stopped["TrainingJobStatus"] == "Stopped"
    kept = newest_mirrored_epoch(s3, bucket, prefix)
    ran = epoch_lines(log_lines(harbor, first["TrainingJobName"]))
    assert 3 <= kept == max(ran) <= EPOCHS - 2, "the stop did not land soon after epoch 3"

    second = classifier_job(bucket, location, kept + 2, CheckpointConfig=checkpoint)
    sagemaker.create_training_job(**second)
    final = wait_for_status(sagemaker, second["TrainingJobName"], timeout=300)
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    lines = log_lines(harbor, second["TrainingJobName"])
    assert any(line.startswith(f"resumed from epoch {kept} ") for line in lines)
    resumed = epoch_lines(lines)
    assert list(resumed) == [kept + 1, kept + 2]
    expected = epoch_lines(reference["lines"])
    assert all(ran[epoch] == expected[epoch] for epoch in ran)  # the stopped job trained like the reference
    assert all(resumed[epoch] == expected[epoch] for epoch in resumed)  # and its successor carried on exactly


def test_a_spot_interruption_resumes_and_ends_with_the_uninterrupted_model(reference, harbor, digits):
    bucket, location = digits
    sagemaker = harbor.client("sagemaker")
    request = classifier_job(bucket, location, EPOCHS, EnableManagedSpotTraining=True,
                             StoppingCondition={"MaxRuntimeInSeconds": 600, "MaxWaitTimeInSeconds": 900})
    name = request["TrainingJobName"]
    sagemaker.create_training_job(**request)
    wait_for_epoch(harbor, name, 3)
    harbor.internal(f"/training-jobs/{name}/interrupt", method="POST")
    final = wait_for_status(sagemaker, name, timeout=300)
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    assert "Interrupted" in [t["Status"] for t in final["SecondaryStatusTransitions"]]
    lines = log_lines(harbor, name)
    resumed_at = [int(m.group(1)) for line in lines if (m := re.match(r"resumed from epoch (\d+) ", line))]
    assert len(resumed_at) == 1 and 3 <= resumed_at[0] < EPOCHS
    assert epoch_lines(lines) == epoch_lines(reference["lines"])
    assert final_metrics(final)["test_acc"] == final_metrics(reference["description"])["test_acc"]


@pytest.mark.parametrize(("hyperparameters", "reason"), [
    ({"epochs": "2", "learning-rate": "0.1"}, "ClientError: unknown hyperparameter 'learning-rate'"),
    ({"epochs": "0"}, "ClientError: epochs must lie in [1, 100000]"),
])
def test_bad_hyperparameters_fail_the_job_with_a_client_error(harbor, digits, tiny_digits, hyperparameters, reason):
    bucket, _ = digits
    sagemaker = harbor.client("sagemaker")
    request = classifier_job(bucket, tiny_digits, 1)
    request["HyperParameters"] = hyperparameters
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Failed"
    assert reason in final["FailureReason"]


def test_a_file_that_is_no_image_fails_the_job_and_names_the_file(harbor, digits, tiny_digits):
    bucket, _ = digits
    s3, sagemaker = harbor.client("s3"), harbor.client("sagemaker")
    prefix = f"broken-{uuid.uuid4().hex[:6]}"
    for label in ("0", "1"):
        s3.put_object(Bucket=bucket, Key=f"{prefix}/train/{label}/a.png", Body=b"\x89PNG but not really")
    request = classifier_job(bucket, tiny_digits, 1)
    request["InputDataConfig"] = [{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/{prefix}/train/"}}}]
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Failed"
    assert "ClientError: 0/a.png: not an image format" in final["FailureReason"]


# -- serving --------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def post(url: str, body: bytes, content_type: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def served(reference, harbor, tmp_path_factory):
    """``python -m containers.image_classifier.serve`` on the reference job's extracted model.tar.gz."""
    model_dir = tmp_path_factory.mktemp("model")
    files = read_tar(harbor.client("s3"), reference["description"]["ModelArtifacts"]["S3ModelArtifacts"])
    for name, data in files.items():
        (model_dir / name).write_bytes(data)
    port = free_port()
    log_path = model_dir.parent / "serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "containers.image_classifier.serve"], cwd=REPO,
                                   stdout=log, stderr=subprocess.STDOUT,
                                   env={**os.environ, "SM_MODEL_DIR": str(model_dir),
                                        "SAGEMAKER_BIND_TO_PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    try:
        while True:
            assert process.poll() is None, Path(log_path).read_text()
            try:
                with urllib.request.urlopen(base + "/ping", timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            assert time.monotonic() - started < 60, "serve never answered /ping"
            time.sleep(0.1)
        print(f"serve ready in {time.monotonic() - started:.1f}s")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def test_digits(digits, harbor) -> list[tuple[int, bytes]]:
    """(label, PNG) of 50 held-out digits, as stored in S3."""
    bucket, _ = digits
    s3 = harbor.client("s3")
    keys = sorted(item["Key"] for item in
                  s3.list_objects_v2(Bucket=bucket, Prefix="datasets/digits/test/")["Contents"])[::2][:50]
    return [(int(key.split("/")[-2]), s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for key in keys]


def test_invocations_classify_real_digit_pngs(served, test_digits):
    correct = 0
    for label, png in test_digits:
        status, body = post(served + "/invocations", png, "image/png")
        assert status == 200, body
        answer = json.loads(body)
        probabilities = answer["probabilities"]
        assert len(probabilities) == 10 and abs(sum(probabilities) - 1) < 1e-3
        assert answer["predicted_label"] == int(np.argmax(probabilities))
        correct += answer["predicted_label"] == label
    assert correct / len(test_digits) >= ACCURACY_FLOOR


def test_a_large_dark_on_white_photo_of_a_digit_gets_the_same_answer(served, test_digits):
    _, png = test_digits[0]
    small = np.asarray(Image.open(io.BytesIO(png)))
    large = Image.fromarray(255 - np.kron(small, np.ones((16, 16), dtype=np.uint8))).convert("RGB")  # 128×128
    buffer = io.BytesIO()
    large.save(buffer, format="JPEG", quality=95)
    _, original = post(served + "/invocations", png, "image/png")
    status, body = post(served + "/invocations", buffer.getvalue(), "application/x-image")
    assert status == 200, body
    assert json.loads(body)["predicted_label"] == json.loads(original)["predicted_label"]


def test_json_pixels_in_the_digits_own_scale(served, test_digits):
    label_pngs = test_digits[:5]
    grids = [np.rint(np.asarray(Image.open(io.BytesIO(png)), dtype=np.float64) * DIGIT_MAX_VALUE / 255).tolist()
             for _, png in label_pngs]
    status, body = post(served + "/invocations", json.dumps({"instances": grids, "max_value": 16}).encode(),
                        "application/json")
    assert status == 200, body
    batch = [p["predicted_label"] for p in json.loads(body)["predictions"]]
    singles = [json.loads(post(served + "/invocations", png, "image/png")[1])["predicted_label"]
               for _, png in label_pngs]
    assert batch == singles


def test_bad_requests_get_a_clear_error(served):
    status, body = post(served + "/invocations", b"definitely not a png", "image/png")
    assert status == 400 and b"not an image format" in body
    status, body = post(served + "/invocations", b'{"pixels": [[1, 2], [3]]}', "application/json")
    assert status == 400 and b"rectangular" in body
    status, body = post(served + "/invocations", b"1,2,3", "text/csv")
    assert status == 415 and b"unsupported Content-Type" in body
