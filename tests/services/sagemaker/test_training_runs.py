"""Training jobs really run: data in from S3, a real torch model out, failures and limits honoured."""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Iterator

import pytest
import torch
from botocore.exceptions import ClientError

from tests.conftest import RunningHarbor, read_tar, script_job, start_harbor, wait_for_file, wait_for_status

TRAIN_LINEAR = r'''
import argparse, json, os
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=1)
parser.add_argument("--lr", type=float, default=0.1)
args = parser.parse_args()

rows = []
channel = os.environ["SM_CHANNEL_TRAINING"]
for name in sorted(os.listdir(channel)):
    with open(os.path.join(channel, name)) as handle:
        rows += [[float(v) for v in line.split(",")] for line in handle if line.strip()]
data = torch.tensor(rows)
x, y = data[:, :1], data[:, 1:]
model = torch.nn.Linear(1, 1)
optimiser = torch.optim.SGD(model.parameters(), lr=args.lr)
for epoch in range(args.epochs):
    optimiser.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimiser.step()
    print(f"epoch={epoch} train_loss={loss.item():.6f}", flush=True)
torch.save(model.state_dict(), os.path.join(os.environ["SM_MODEL_DIR"], "model.pt"))
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "metrics.json"), "w") as handle:
    json.dump({"final_loss": loss.item(), "epochs": args.epochs, "hosts": json.loads(os.environ["SM_HOSTS"])}, handle)
'''


@pytest.mark.slow
def test_script_mode_trains_a_torch_model_from_s3_data(sagemaker, s3, bucket, harbor):
    lines = "\n".join(f"{x},{2 * x + 1}" for x in range(-5, 6))
    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=lines.encode())
    request = script_job(
        s3, bucket, TRAIN_LINEAR,
        HyperParameters={"epochs": "200", "lr": "0.02"},
        InputDataConfig=[{"ChannelName": "training", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/data/train/",
            "S3DataDistributionType": "FullyReplicated"}}}],
    )
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    model_uri = final["ModelArtifacts"]["S3ModelArtifacts"]
    assert model_uri == f"s3://{bucket}/output/{request['TrainingJobName']}/output/model.tar.gz"
    state = torch.load(io.BytesIO(read_tar(s3, model_uri)["model.pt"]))
    assert abs(state["weight"].item() - 2.0) < 0.1 and abs(state["bias"].item() - 1.0) < 0.2
    outputs = read_tar(s3, model_uri.replace("model.tar.gz", "output.tar.gz"))
    assert b'"epochs": 200' in outputs["metrics.json"]
    assert b'"hosts": ["algo-1"]' in outputs["metrics.json"]
    logs = harbor.client("logs")
    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=request["TrainingJobName"] + "/")["logStreams"]
    assert len(streams) == 1 and streams[0]["logStreamName"].startswith(request["TrainingJobName"] + "/algo-1-")
    events = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs",
                                 logStreamName=streams[0]["logStreamName"], startFromHead=True)["events"]
    assert sum("train_loss=" in event["message"] for event in events) == 200


def test_failure_file_becomes_the_failure_reason(sagemaker, s3, bucket):
    source = (
        "import os, sys\n"
        "base = os.environ['SAGEMAKER_BASE_DIR']\n"
        "open(os.path.join(base, 'output', 'failure'), 'w').write('bad input: column x missing' + 'y' * 2000)\n"
        "sys.exit(2)\n"
    )
    request = script_job(s3, bucket, source)
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert (final["TrainingJobStatus"], final["SecondaryStatus"]) == ("Failed", "Failed")
    assert "bad input: column x missing" in final["FailureReason"]
    assert len(final["FailureReason"]) <= 1024


def test_a_crashing_script_fails_the_job_with_its_error(sagemaker, s3, bucket):
    request = script_job(s3, bucket, "raise RuntimeError('the model exploded')\n")
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Failed"
    assert "the model exploded" in final["FailureReason"]


def test_missing_input_data_fails_the_job_clearly(sagemaker, s3, bucket):
    request = script_job(
        s3, bucket, "print('never')\n",
        InputDataConfig=[{"ChannelName": "training", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/nothing-here/"}}}],
    )
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Failed"
    assert "nothing-here" in final["FailureReason"]


def test_max_runtime_is_enforced(sagemaker, s3, bucket):
    request = script_job(s3, bucket, "import time\ntime.sleep(120)\n",
                         StoppingCondition={"MaxRuntimeInSeconds": 3})
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"], timeout=90)
    assert (final["TrainingJobStatus"], final["SecondaryStatus"]) == ("Stopped", "MaxRuntimeExceeded")


def test_hard_coded_opt_ml_paths_work_without_docker(sagemaker, s3, bucket):
    source = "open('/opt/ml/model/where.txt', 'w').write(open('/opt/ml/input/config/resourceconfig.json').read())\n"
    request = script_job(s3, bucket, source)
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    written = read_tar(s3, final["ModelArtifacts"]["S3ModelArtifacts"])["where.txt"]
    assert b'"current_host": "algo-1"' in written


#: a job that marks its start, notes how many jobs had started and ended by then, and holds its slot
#: until the test writes its ``.go`` file; the markers are files, so nothing depends on clocks
HELD_JOB = """
import json, os, pathlib, time
probe, me = pathlib.Path(os.environ["PROBE_DIR"]), os.environ["PROBE_NAME"]
(probe / f"{me}.started").touch()
seen = {"started": len(list(probe.glob("*.started"))), "ended": len(list(probe.glob("*.ended")))}
(probe / f"{me}.tmp").write_text(json.dumps(seen))
(probe / f"{me}.tmp").rename(probe / f"{me}.seen")
while not (probe / f"{me}.go").exists():
    time.sleep(0.05)
(probe / f"{me}.ended").touch()
"""


@pytest.mark.slow
def test_exactly_capacity_jobs_run_at_once_and_the_rest_wait_in_order(capacity_harbor, tmp_path):
    """Capacity 2, four held jobs: the first two run together, the others wait ``InProgress``/``Starting``
    and each starts only after a slot's job ended, in submission order."""
    harbor, bucket, capacity = capacity_harbor, "capacity", 2
    sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
    names = []
    for index in range(capacity + 2):
        request = script_job(s3, bucket, HELD_JOB, Environment={"PROBE_DIR": str(tmp_path), "PROBE_NAME": f"j{index}"})
        sagemaker.create_training_job(**request)
        names.append(request["TrainingJobName"])
    marks = [f"j{index}" for index in range(len(names))]

    try:
        for mark in marks[:capacity]:
            wait_for_file(tmp_path / f"{mark}.seen", timeout=120)
        for name, mark in zip(names[capacity:], marks[capacity:], strict=True):
            described = sagemaker.describe_training_job(TrainingJobName=name)
            assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("InProgress", "Starting")
            assert not (tmp_path / f"{mark}.started").exists(), f"{mark} started beyond capacity"

        for released, mark in enumerate(marks):
            wait_for_file(tmp_path / f"{mark}.seen", timeout=120)
            seen = json.loads((tmp_path / f"{mark}.seen").read_text())
            # job k starts once k - capacity + 1 jobs ended (FIFO: the earlier ones, released in order)
            assert seen["ended"] >= max(0, released - capacity + 1), (mark, seen)
            (tmp_path / f"{mark}.go").touch()
        for name in names:
            assert wait_for_status(sagemaker, name)["TrainingJobStatus"] == "Completed"
        seen = [json.loads((tmp_path / f"{mark}.seen").read_text()) for mark in marks]
        assert max(entry["started"] - entry["ended"] for entry in seen) == capacity
    finally:  # a failing check must not leave held jobs for the harbor's shutdown
        for mark in marks:
            (tmp_path / f"{mark}.go").touch()


@pytest.fixture
def capacity_harbor(tmp_path_factory) -> Iterator[RunningHarbor]:
    """A harbor of its own that runs two jobs at once, with a bucket ``capacity``."""
    harbor = start_harbor(tmp_path_factory.mktemp("capacity"), "--max-concurrent-jobs", "2")
    try:
        harbor.client("s3").create_bucket(Bucket="capacity")
        yield harbor
    finally:
        if harbor.process.poll() is None:
            harbor.kill()


def test_metric_definitions_give_final_metrics_and_cloudwatch_data(sagemaker, s3, bucket, harbor):
    source = "for step in range(5):\n    print(f'step={step} train_loss={1.0 / (step + 1):.4f} acc={step * 0.2:.2f}')\n"
    request = script_job(s3, bucket, source)
    request["AlgorithmSpecification"]["MetricDefinitions"] = [
        {"Name": "train:loss", "Regex": r"train_loss=([0-9.]+)"},
        {"Name": "train:acc", "Regex": r"acc=([0-9.]+)"},
        {"Name": "never", "Regex": r"not-in-any-line=([0-9.]+)"},
    ]
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    metrics = {entry["MetricName"]: entry["Value"] for entry in final["FinalMetricDataList"]}
    assert metrics == {"train:loss": 0.2, "train:acc": 0.8}
    cloudwatch = harbor.client("cloudwatch")
    statistics = cloudwatch.get_metric_statistics(
        Namespace="/aws/sagemaker/TrainingJobs", MetricName="train:loss",
        Dimensions=[{"Name": "TrainingJobName", "Value": request["TrainingJobName"]}],
        StartTime=final["CreationTime"] - datetime.timedelta(minutes=5),
        EndTime=final["TrainingEndTime"] + datetime.timedelta(minutes=5), Period=60,
        Statistics=["Minimum", "Maximum", "SampleCount"],
    )["Datapoints"]
    assert sum(point["SampleCount"] for point in statistics) == 5
    assert min(point["Minimum"] for point in statistics) == 0.2
    assert max(point["Maximum"] for point in statistics) == 1.0


def test_a_metric_regex_that_does_not_compile_is_rejected(sagemaker, s3, bucket):
    request = script_job(s3, bucket, "print('x')\n")
    request["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "bad", "Regex": "loss=([0-9.]+"}]
    with pytest.raises(ClientError) as caught:
        sagemaker.create_training_job(**request)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "not a valid regular expression" in caught.value.response["Error"]["Message"]


def test_jobs_find_the_graph_server_through_their_environment(sagemaker, s3, bucket, harbor):
    """``MLHARBOR_GRAPH_ENDPOINT`` is the running graph server's Gremlin websocket; a job's own
    ``Environment`` still wins."""
    source = (
        "import os, pathlib\n"
        "pathlib.Path(os.environ['SM_MODEL_DIR'], 'graph.txt').write_text(os.environ['MLHARBOR_GRAPH_ENDPOINT'])\n"
    )
    plain = script_job(s3, bucket, source)
    overridden = script_job(s3, bucket, source, Environment={"MLHARBOR_GRAPH_ENDPOINT": "ws://elsewhere:8182/gremlin"})
    sagemaker.create_training_job(**plain)
    sagemaker.create_training_job(**overridden)
    seen = {}
    for request in (plain, overridden):
        description = wait_for_status(sagemaker, request["TrainingJobName"])
        assert description["TrainingJobStatus"] == "Completed", description.get("FailureReason")
        seen[request["TrainingJobName"]] = read_tar(s3, description["ModelArtifacts"]["S3ModelArtifacts"])["graph.txt"]
    assert seen[plain["TrainingJobName"]] == (harbor.graph.replace("http://", "ws://") + "/gremlin").encode()
    assert seen[overridden["TrainingJobName"]] == b"ws://elsewhere:8182/gremlin"
