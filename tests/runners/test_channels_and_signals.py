"""The process runner's contract details, through real jobs: channels, hyperparameters, signals."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from emulator.runners.s3io import DataError, channel_path
from tests.conftest import process_alive, processes_with_env, read_tar, script_job, wait_for_file, wait_for_status

LIST_CHANNEL = (
    "import argparse, json, os\n"
    "parser = argparse.ArgumentParser(); parser.add_argument('--report'); args = parser.parse_args()\n"
    "root = os.environ['SM_CHANNEL_TRAINING']\n"
    "found = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)\n"
    "host = os.environ['SM_CURRENT_HOST']\n"
    "open(os.path.join(args.report, host + '.json'), 'w').write(json.dumps({'files': found, 'hosts': json.loads(os.environ['SM_HOSTS'])}))\n"
)


def channel(uri: str, data_type: str = "S3Prefix", distribution: str = "FullyReplicated") -> list[dict]:
    return [{"ChannelName": "training", "DataSource": {"S3DataSource": {
        "S3DataType": data_type, "S3Uri": uri, "S3DataDistributionType": distribution}}}]


def test_manifest_file_channel_takes_exactly_the_listed_keys(sagemaker, s3, bucket, tmp_path):
    for name in ("a.csv", "b.csv", "sub/c.csv"):
        s3.put_object(Bucket=bucket, Key=f"pool/{name}", Body=name.encode())
    manifest = [{"prefix": f"s3://{bucket}/pool/"}, "a.csv", "sub/c.csv"]
    s3.put_object(Bucket=bucket, Key="manifests/train.manifest", Body=json.dumps(manifest).encode())
    request = script_job(s3, bucket, LIST_CHANNEL, HyperParameters={"report": str(tmp_path)},
                         InputDataConfig=channel(f"s3://{bucket}/manifests/train.manifest", "ManifestFile"))
    sagemaker.create_training_job(**request)
    assert wait_for_status(sagemaker, request["TrainingJobName"])["TrainingJobStatus"] == "Completed"
    assert json.loads((tmp_path / "algo-1.json").read_text())["files"] == ["a.csv", "sub/c.csv"]


def test_sharded_by_s3_key_splits_objects_across_hosts(sagemaker, s3, bucket, tmp_path):
    for index in range(5):
        s3.put_object(Bucket=bucket, Key=f"shards/part-{index}.csv", Body=b"x")
    request = script_job(
        s3, bucket, LIST_CHANNEL, HyperParameters={"report": str(tmp_path)},
        InputDataConfig=channel(f"s3://{bucket}/shards/", distribution="ShardedByS3Key"),
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1},
    )
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    first = json.loads((tmp_path / "algo-1.json").read_text())
    second = json.loads((tmp_path / "algo-2.json").read_text())
    assert first["hosts"] == second["hosts"] == ["algo-1", "algo-2"]
    assert first["files"] == ["part-0.csv", "part-2.csv", "part-4.csv"]
    assert second["files"] == ["part-1.csv", "part-3.csv"]


def test_an_s3_key_that_climbs_out_of_its_channel_fails_the_job(sagemaker, s3, bucket, tmp_path):
    s3.put_object(Bucket=bucket, Key="evil/../../escaped.txt", Body=b"boo")
    request = script_job(s3, bucket, "print('must not run')\n", InputDataConfig=channel(f"s3://{bucket}/evil/"))
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Failed"
    assert "outside its channel directory" in final["FailureReason"]


def test_channel_paths_refuse_every_escape(tmp_path):
    assert channel_path(tmp_path, "a/b.csv") == tmp_path / "a" / "b.csv"
    assert channel_path(tmp_path, "a//b") == tmp_path / "a" / "b"  # S3 allows empty segments; harmless here
    for bad in ("../x", "a/../../x", "/etc/passwd", "", "./../x"):
        with pytest.raises(DataError):
            channel_path(tmp_path, bad)


def test_json_encoded_hyperparameters_as_the_sagemaker_sdk_sends_them(sagemaker, s3, bucket, tmp_path):
    source = (
        "import argparse, json, os\n"
        "parser = argparse.ArgumentParser(); parser.add_argument('--epochs', type=int); parser.add_argument('--name')\n"
        "args = parser.parse_args()\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'args.json'), 'w').write(json.dumps(vars(args)))\n"
    )
    request = script_job(s3, bucket, source)
    hyperparameters = request["HyperParameters"]
    request["HyperParameters"] = {key: json.dumps(value) for key, value in hyperparameters.items()}
    request["HyperParameters"].update({"epochs": "3", "name": json.dumps("gcn")})
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    args = read_tar(s3, final["ModelArtifacts"]["S3ModelArtifacts"])["args.json"]
    assert json.loads(args) == {"epochs": 3, "name": "gcn"}


def _wait_for_training(sagemaker, name: str) -> None:
    deadline = time.monotonic() + 60
    while sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_stop_sends_sigterm_first_and_the_job_saves_its_model(sagemaker, s3, bucket, tmp_path):
    ready = tmp_path / "ready"
    source = (
        "import os, signal, sys, time\n"
        "def save(*_):\n"
        "    open(os.path.join(os.environ['SM_MODEL_DIR'], 'saved-on-sigterm.txt'), 'w').write('ok')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, save)\n"
        f"open({str(ready)!r}, 'w').write('1')\n"
        "time.sleep(120)\n"
    )
    request = script_job(s3, bucket, source)
    sagemaker.create_training_job(**request)
    wait_for_file(ready)
    sagemaker.stop_training_job(TrainingJobName=request["TrainingJobName"])
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Stopped"
    assert read_tar(s3, final["ModelArtifacts"]["S3ModelArtifacts"])["saved-on-sigterm.txt"] == b"ok"


def test_a_job_ignoring_sigterm_is_killed_after_the_grace_period(sagemaker, s3, bucket, tmp_path):
    pidfile = tmp_path / "pid"
    source = (
        "import os, signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        f"open({str(pidfile)!r}, 'w').write(str(os.getpid()))\n"
        "time.sleep(300)\n"
    )
    mark = f"sigterm-{uuid.uuid4().hex}"
    request = script_job(s3, bucket, source, Environment={"TEST_MARK": mark})
    sagemaker.create_training_job(**request)
    wait_for_file(pidfile)
    job_pids = processes_with_env("TEST_MARK", mark)  # host pids: in a PID namespace os.getpid() is the job's own
    assert job_pids
    started = time.monotonic()
    sagemaker.stop_training_job(TrainingJobName=request["TrainingJobName"])
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Stopped"
    assert time.monotonic() - started >= 2.5  # the session server's grace is 3 s
    assert not any(process_alive(pid) for pid in job_pids)
