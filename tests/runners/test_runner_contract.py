"""ProcessRunner on its own: the /opt/ml tree, the environment, uploads and how a run ends.

https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-running-container.html
"""

from __future__ import annotations

import json
import time

import pytest

from emulator.runners.base import StopSignal
from emulator.runners.process import ProcessRunner
from tests.runners.conftest import make_request, python_entrypoint

REPORT_ENV = """
import json, os
names = [k for k in os.environ if k.startswith(("SM_", "AWS_", "S3_", "TRAINING_JOB_", "SAGEMAKER_", "MY_"))]
report = {k: os.environ[k] for k in names}
root = os.environ["SM_CHANNEL_TRAINING"]
report["files"] = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w").write(json.dumps(report))
open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "extra.txt"), "w").write("side output")
print("hello from the job")
"""


@pytest.fixture(scope="module")
def fallback_runner() -> ProcessRunner:
    """No mount namespace: the job finds its tree through SAGEMAKER_BASE_DIR and SM_* only."""
    return ProcessRunner(use_namespace=False, checkpoint_interval=0)


def test_tree_config_files_environment_and_uploads(fallback_runner, moto_s3, events, tmp_path):
    moto_s3.put("data/train/a.csv", "1,2\n")
    moto_s3.put("data/train/sub/b.csv", "3,4\n")
    moto_s3.put("data/trainextra/more.csv", "x")  # matches the key prefix too: S3Prefix takes it
    request = make_request(
        moto_s3, tmp_path,
        entrypoint=python_entrypoint(REPORT_ENV),
        hyperparameters={"epochs": "5", "name": '"gcn"', "sagemaker_program": '"train.py"'},
        input_data_config=[{"ChannelName": "training", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{moto_s3.bucket}/data/train",
            "S3DataDistributionType": "FullyReplicated"}}}],
        environment={"MY_SETTING": "42"},
    )
    outcome = fallback_runner.run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    assert outcome.exit_code == 0
    assert events.status_names == ["Downloading", "Training", "Uploading"]
    assert ("algo-1", "hello from the job") in events.lines

    tree = request.workdir / "algo-1"
    config = tree / "input" / "config"
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
    assert report["AWS_ENDPOINT_URL"] == report["S3_ENDPOINT_URL"] == moto_s3.endpoint
    assert report["AWS_ACCESS_KEY_ID"] and report["AWS_DEFAULT_REGION"] == "us-east-1"

    output = moto_s3.read_tar(f"s3://{moto_s3.bucket}/output/{request.job_name}/output/output.tar.gz")
    assert output["extra.txt"] == b"side output"
    assert not (request.workdir / "processes.json").exists()


def test_checkpoint_local_path_is_honoured_inside_the_tree(fallback_runner, moto_s3, events, tmp_path):
    source = "import os; open(os.path.join(os.environ['SM_CHECKPOINT_DIR'], 'c.pt'), 'w').write('x')"
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source),
                           checkpoint_config={"LocalPath": "/opt/ml/my-checkpoints"})
    outcome = fallback_runner.run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    assert (request.workdir / "algo-1" / "my-checkpoints" / "c.pt").read_text() == "x"


def test_the_failure_file_becomes_the_failure_reason(fallback_runner, moto_s3, events, tmp_path):
    source = (
        "import os, sys\n"
        "open(os.path.join(os.environ['SAGEMAKER_BASE_DIR'], 'output', 'failure'), 'w').write('bad data: ' + 'x' * 2000)\n"
        "sys.exit(1)\n"
    )
    outcome = fallback_runner.run(make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source)),
                                  events, StopSignal())
    assert outcome.outcome == "Failed" and outcome.exit_code == 1
    assert outcome.failure_reason == "AlgorithmError: " + ("bad data: " + "x" * 2000)[:1024]
    assert "Uploading" not in events.status_names


def test_a_non_zero_exit_fails_with_the_code_and_the_last_lines(fallback_runner, moto_s3, events, tmp_path):
    source = "import sys; print('loading'); print('cannot go on', file=sys.stderr); sys.exit(3)"
    outcome = fallback_runner.run(make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source)),
                                  events, StopSignal())
    assert outcome.outcome == "Failed" and outcome.exit_code == 3
    assert outcome.failure_reason.startswith("AlgorithmError: ")
    assert "exited with code 3" in outcome.failure_reason and "cannot go on" in outcome.failure_reason


def test_max_runtime_ends_the_job_and_still_uploads_the_model(fallback_runner, moto_s3, events, tmp_path):
    source = (
        "import os, time\n"
        "open(os.path.join(os.environ['SM_MODEL_DIR'], 'partial.txt'), 'w').write('so far')\n"
        "time.sleep(120)\n"
    )
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source), max_runtime_seconds=2)
    started = time.monotonic()
    outcome = fallback_runner.run(request, events, StopSignal(grace_seconds=1))
    assert outcome.outcome == "MaxRuntimeExceeded"
    assert time.monotonic() - started < 20
    assert moto_s3.read_tar(outcome.model_artifacts)["partial.txt"] == b"so far"


def test_an_unknown_image_fails_naming_the_builtins(fallback_runner, moto_s3, events, tmp_path):
    outcome = fallback_runner.run(make_request(moto_s3, tmp_path, image="someone/else:1.0"), events, StopSignal())
    assert outcome.outcome == "Failed"
    assert "someone/else:1.0" in outcome.failure_reason and "mlharbor/pytorch" in outcome.failure_reason
    assert events.statuses == []
