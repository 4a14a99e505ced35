"""The container contract, run against both runners: the /opt/ml tree, the environment, uploads,
failure files, MaxRuntime, stop and spot interruption. Each test takes ``contract_runner`` and so
runs once with the process runner and once with the Docker runner (real containers).

https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlsplit

from emulator.runners.base import CheckpointSpec, RunRequest, StopSignal, parse_channels
from emulator.runners.docker.runner import DockerRunner
from emulator.runners.lifecycle import TreeRunner
from tests.conftest import wait_for_file
from tests.runners.conftest import (
    BackgroundRun,
    RecordingEvents,
    S3Fixture,
    host_file,
    job_processes,
    job_view,
    make_request,
    python_entrypoint,
    run_in_background,
)

REPORT_ENV = """
import json, os
import boto3
boto3.client("s3").put_object(Bucket=os.environ["MY_BUCKET"], Key="from-the-job.txt", Body=b"written by the job")
names = [k for k in os.environ if k.startswith(("SM_", "AWS_", "S3_", "TRAINING_JOB_", "SAGEMAKER_", "MY_"))]
report = {k: os.environ[k] for k in names}
root = os.environ["SM_CHANNEL_TRAINING"]
report["files"] = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w").write(json.dumps(report))
open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "extra.txt"), "w").write("side output")
print("hello from the job")
"""


def test_tree_config_files_environment_and_uploads(contract_runner, moto_s3, events, tmp_path):
    moto_s3.put("data/train/a.csv", "1,2\n")
    moto_s3.put("data/train/sub/b.csv", "3,4\n")
    moto_s3.put("data/trainextra/more.csv", "x")  # matches the key prefix too: S3Prefix takes it
    request = make_request(
        moto_s3, tmp_path,
        entrypoint=python_entrypoint(REPORT_ENV),
        hyperparameters={"epochs": "5", "name": '"gcn"', "sagemaker_program": '"train.py"'},
        channels=parse_channels([{"ChannelName": "training", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{moto_s3.bucket}/data/train",
            "S3DataDistributionType": "FullyReplicated"}}}]),
        environment={"MY_SETTING": "42", "MY_BUCKET": moto_s3.bucket},
    )
    outcome = contract_runner.run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    assert outcome.exit_code == 0
    assert events.status_names == ["Downloading", "Training", "Uploading"]
    assert ("algo-1", "hello from the job") in events.lines

    tree = job_view(contract_runner, request.workdir / "algo-1")
    config = request.workdir / "algo-1" / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == request.hyperparameters
    assert json.loads((config / "inputdataconfig.json").read_text()) == {"training": {
        "TrainingInputMode": "File", "S3DistributionType": "FullyReplicated", "RecordWrapperType": "None",
        "ContentType": "text/csv"}}
    resources = json.loads((config / "resourceconfig.json").read_text())
    assert (resources["current_host"], resources["hosts"], resources["network_interface_name"]) == (
        "algo-1", ["algo-1"], "eth0")

    model_uri = f"s3://{moto_s3.bucket}/output/{request.job_name}/output/model.tar.gz"
    assert outcome.model_artifacts == model_uri
    report = json.loads(moto_s3.read_tar(model_uri)["report.json"])
    # a "directory" prefix without its trailing slash is stripped whole (the sagemaker SDK's upload_data
    # URIs have none); an object that only shares the prefix's letters keeps its name from the last "/"
    assert report["files"] == ["a.csv", "sub/b.csv", "trainextra/more.csv"]
    assert report["SAGEMAKER_BASE_DIR"] == str(tree)
    assert report["SM_MODEL_DIR"] == str(tree / "model")
    assert report["SM_CHANNEL_TRAINING"] == str(tree / "input" / "data" / "training")
    assert report["SM_OUTPUT_DATA_DIR"] == str(tree / "output" / "data")
    assert json.loads(report["SM_CHANNELS"]) == ["training"]
    assert json.loads(report["SM_HOSTS"]) == ["algo-1"] and report["SM_CURRENT_HOST"] == "algo-1"
    # values decoded as the toolkit decodes them; sagemaker_* stay out of the user's hyperparameters
    assert json.loads(report["SM_HPS"]) == {"epochs": 5, "name": "gcn"}
    assert report["SM_HP_EPOCHS"] == "5" and report["SM_HP_NAME"] == "gcn"
    assert json.loads(report["SM_USER_ARGS"]) == ["--epochs", "5", "--name", "gcn"]
    assert json.loads(report["SM_FRAMEWORK_PARAMS"]) == {"sagemaker_program": "train.py"}
    assert int(report["SM_NUM_CPUS"]) >= 1 and report["SM_NUM_GPUS"].isdigit()
    training_env = json.loads(report["SM_TRAINING_ENV"])
    assert training_env["job_name"] == request.job_name
    assert training_env["channel_input_dirs"] == {"training": report["SM_CHANNEL_TRAINING"]}
    assert json.loads(report["SM_INPUT_DATA_CONFIG"])["training"]["ContentType"] == "text/csv"
    assert report["TRAINING_JOB_NAME"] == request.job_name and report["TRAINING_JOB_ARN"] == request.job_arn
    assert report["MY_SETTING"] == "42"
    assert report["AWS_ENDPOINT_URL"] == report["S3_ENDPOINT_URL"]
    if isinstance(contract_runner, DockerRunner):  # the job reached S3 through its network's gateway
        assert urlsplit(report["AWS_ENDPOINT_URL"]).hostname not in ("127.0.0.1", "localhost")
    else:
        assert report["AWS_ENDPOINT_URL"] == moto_s3.endpoint
    written = moto_s3.client.get_object(Bucket=moto_s3.bucket, Key="from-the-job.txt")["Body"].read()
    assert written == b"written by the job"
    assert report["AWS_ACCESS_KEY_ID"] and report["AWS_DEFAULT_REGION"] == "us-east-1"

    output = moto_s3.read_tar(f"s3://{moto_s3.bucket}/output/{request.job_name}/output/output.tar.gz")
    assert output["extra.txt"] == b"side output"
    assert not any(request.workdir.glob("*.json"))  # no pid file or container record is left


def test_checkpoint_local_path_is_honoured_inside_the_tree(contract_runner, moto_s3, events, tmp_path):
    source = "import os; open(os.path.join(os.environ['SM_CHECKPOINT_DIR'], 'c.pt'), 'w').write('x')"
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source),
                           checkpoint=CheckpointSpec(local_path="/opt/ml/my-checkpoints"))
    outcome = contract_runner.run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    assert (request.workdir / "algo-1" / "my-checkpoints" / "c.pt").read_text() == "x"


def test_the_failure_file_becomes_the_failure_reason(contract_runner, moto_s3, events, tmp_path):
    source = (
        "import os, sys\n"
        "open(os.path.join(os.environ['SAGEMAKER_BASE_DIR'], 'output', 'failure'), 'w').write('bad data: ' + 'x' * 2000)\n"
        "sys.exit(1)\n"
    )
    outcome = contract_runner.run(make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source)),
                                  events, StopSignal())
    assert outcome.outcome == "Failed" and outcome.exit_code == 1
    assert outcome.failure_reason == "AlgorithmError: " + ("bad data: " + "x" * 2000)[:1024]
    assert "Uploading" not in events.status_names


def test_a_non_zero_exit_fails_with_the_code_and_the_last_lines(contract_runner, moto_s3, events, tmp_path):
    source = "import sys; print('loading'); print('cannot go on', file=sys.stderr); sys.exit(3)"
    outcome = contract_runner.run(make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source)),
                                  events, StopSignal())
    assert outcome.outcome == "Failed" and outcome.exit_code == 3
    assert outcome.failure_reason.startswith("AlgorithmError: ")
    assert "exited with code 3" in outcome.failure_reason and "cannot go on" in outcome.failure_reason


def test_max_runtime_ends_the_job_and_still_uploads_the_model(contract_runner, moto_s3, events, tmp_path):
    source = (
        "import os, time\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'partial.txt'), 'w').write('so far')\n"
        "time.sleep(120)\n"
    )
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source), max_runtime_seconds=2)
    started = time.monotonic()
    outcome = contract_runner.run(request, events, StopSignal(grace_seconds=1))
    assert outcome.outcome == "MaxRuntimeExceeded"
    assert time.monotonic() - started < 20
    assert moto_s3.read_tar(outcome.model_artifacts)["partial.txt"] == b"so far"


def test_an_unknown_image_fails_before_anything_runs(contract_runner, moto_s3, events, tmp_path):
    outcome = contract_runner.run(make_request(moto_s3, tmp_path, image="someone/else:1.0"), events, StopSignal())
    assert outcome.outcome == "Failed"
    assert outcome.failure_reason.startswith("CannotStartContainerError: ")
    assert "someone/else:1.0" in outcome.failure_reason
    assert events.statuses == []


#: a job line that tells the test it is running (the file lies in its tree on this machine)
READY = "open(os.path.join(os.environ['SAGEMAKER_BASE_DIR'], 'output', 'ready'), 'w').write('1')\n"


def start_until_ready(runner: TreeRunner, moto_s3: S3Fixture, events: RecordingEvents, tmp_path: Path, source: str,
                      grace: float) -> tuple[RunRequest, BackgroundRun]:
    """Start ``source`` on a helper thread and return once it has written its ready file."""
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source))
    run = run_in_background(runner, request, events, StopSignal(grace_seconds=grace))
    wait_for_file(host_file(request, "output/ready"))
    return request, run


def test_stop_sends_sigterm_and_the_model_saved_in_the_grace_is_uploaded(contract_runner, moto_s3, events, tmp_path):
    source = (
        "import os, signal, sys, time\n"
        "def save(*_):\n"
        "    open(os.path.join(os.environ['SM_MODEL_DIR'], 'final.txt'), 'w').write('saved on SIGTERM')\n"
        "    sys.exit(0)\n"
        "signal.signal(signal.SIGTERM, save)\n"
        f"{READY}"
        "time.sleep(120)\n"
    )
    request, run = start_until_ready(contract_runner, moto_s3, events, tmp_path, source, grace=30)
    started = time.monotonic()
    run.stop.request()
    outcome = run.outcome()
    assert outcome.outcome == "Stopped"
    assert time.monotonic() - started < 15  # it exited on SIGTERM, well before the grace ran out
    assert moto_s3.read_tar(outcome.model_artifacts)["final.txt"] == b"saved on SIGTERM"
    assert events.status_names == ["Downloading", "Training", "Uploading"]


def test_a_job_ignoring_sigterm_is_killed_after_the_grace_with_its_children(contract_runner, moto_s3, events,
                                                                            tmp_path):
    source = (
        "import os, signal, subprocess, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen(['sleep', '300'])\n"
        f"{READY}"
        "time.sleep(300)\n"
    )
    request, run = start_until_ready(contract_runner, moto_s3, events, tmp_path, source, grace=1.5)
    assert len(job_processes(request.job_name)) >= 1
    started = time.monotonic()
    run.stop.request()
    outcome = run.outcome()
    assert outcome.outcome == "Stopped"
    assert time.monotonic() - started >= 1.4  # the grace was given
    assert job_processes(request.job_name) == []  # the job and its child, on this machine's /proc
    assert not any(request.workdir.glob("*.json"))


def test_a_spot_interruption_ends_the_run_without_uploading(contract_runner, moto_s3, events, tmp_path):
    source = (
        "import os, time\n"
        f"{READY}"
        "time.sleep(120)\n"
    )
    request, run = start_until_ready(contract_runner, moto_s3, events, tmp_path, source, grace=5)
    run.stop.request("interrupt")
    outcome = run.outcome()
    assert outcome.outcome == "Interrupted" and outcome.model_artifacts is None
    assert "Uploading" not in events.status_names


def test_max_wait_time_ends_a_spot_run(contract_runner, moto_s3, events, tmp_path):
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint("import time; time.sleep(120)"),
                           max_wait_seconds=1.5)
    started = time.monotonic()
    outcome = contract_runner.run(request, events, StopSignal(grace_seconds=1))
    assert outcome.outcome == "MaxWaitTimeExceeded"
    assert time.monotonic() - started < 30
