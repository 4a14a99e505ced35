"""``mlharbor/pytorch`` script mode through the process runner: a real torch script from a sourcedir.tar.gz.

https://sagemaker.readthedocs.io/en/stable/frameworks/pytorch/using_pytorch.html#prepare-a-pytorch-training-script
"""

from __future__ import annotations

import io
import json

import pytest
import torch

from emulator.runners.base import StopSignal, parse_channels
from emulator.runners.local.process import ProcessRunner
from tests.runners.conftest import make_request

TRAIN = """
import argparse, json, os
import torch

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int)
parser.add_argument("--lr", type=float)
parser.add_argument("--model-name")
parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
args = parser.parse_args()

rows = [line.split(",") for line in open(os.path.join(args.train, "points.csv")).read().split()]
x = torch.tensor([[float(a)] for a, _ in rows])
y = torch.tensor([[float(b)] for _, b in rows])
model = torch.nn.Linear(1, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
for epoch in range(args.epochs):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
print(f"final loss: {loss.item():.6f}")
torch.save(model.state_dict(), os.path.join(args.model_dir, "model.pt"))
json.dump({"name": args.model_name, "epochs": args.epochs}, open(os.path.join(args.model_dir, "meta.json"), "w"))
"""


@pytest.fixture(scope="module")
def runner() -> ProcessRunner:
    return ProcessRunner(checkpoint_interval=0)


def test_a_torch_script_trains_from_a_sourcedir_with_sdk_encoded_hyperparameters(runner, moto_s3, events, tmp_path):
    # y = 2x + 1 on a few points: 300 full-batch SGD steps fit it closely
    moto_s3.put("data/points/points.csv", "\n".join(f"{x},{2 * x + 1}" for x in (-1.0, -0.5, 0.0, 0.5, 1.0)))
    sourcedir = moto_s3.put_sourcedir({"train.py": TRAIN})
    # what the sagemaker SDK sends: every value JSON-encoded
    hyperparameters = {key: json.dumps(value) for key, value in {
        "sagemaker_program": "train.py", "sagemaker_submit_directory": sourcedir,
        "epochs": 300, "lr": 0.1, "model-name": "line"}.items()}
    request = make_request(moto_s3, tmp_path, image="mlharbor/pytorch:2.1", hyperparameters=hyperparameters,
                           channels=parse_channels([{"ChannelName": "train", "DataSource": {"S3DataSource": {
                               "S3DataType": "S3Prefix", "S3Uri": f"s3://{moto_s3.bucket}/data/points/"}}}]))
    outcome = runner.run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason + "\n" + events.text()
    assert "final loss" in events.text()

    files = moto_s3.read_tar(outcome.model_artifacts)
    assert json.loads(files["meta.json"]) == {"name": "line", "epochs": 300}
    state = torch.load(io.BytesIO(files["model.pt"]), weights_only=True)
    assert state["weight"].shape == (1, 1)
    assert state["weight"].item() == pytest.approx(2.0, abs=0.05)
    assert state["bias"].item() == pytest.approx(1.0, abs=0.05)


def test_plain_string_hyperparameters_and_a_script_error_in_the_failure_reason(runner, moto_s3, events, tmp_path):
    source = "import sys\nprint('about to fail')\nraise ValueError('learning rate must be positive')\n"
    request = make_request(moto_s3, tmp_path, hyperparameters={
        "sagemaker_program": "train.py", "sagemaker_submit_directory": moto_s3.put_sourcedir({"train.py": source})})
    outcome = runner.run(request, events, StopSignal())
    assert outcome.outcome == "Failed" and outcome.exit_code != 0
    assert outcome.failure_reason.startswith("AlgorithmError: ")
    assert "learning rate must be positive" in outcome.failure_reason
    assert "about to fail" in events.text()
