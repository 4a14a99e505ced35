"""SDK v3 ``ModelTrainer``: source code, an input channel, ``train(wait=True, logs=True)`` against mlharbor."""

from __future__ import annotations

import io
import json
import logging
import tarfile
from typing import Any

import pytest


def test_train_completes_with_the_model_the_script_wrote(trained: Any, session: Any) -> None:
    job = trained._latest_training_job
    job.refresh()
    assert job.training_job_status == "Completed"
    bucket, key = job.model_artifacts.s3_model_artifacts.removeprefix("s3://").split("/", 1)
    archive = session.boto_session.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        model = json.load(tar.extractfile("model.json"))
        assert "code/inference.py" in tar.getnames()
    assert model == {"rows": 3, "scale": 2.0}  # the channel's 3 rows, the hyperparameter passed as --scale 2


def test_the_job_is_what_v3_asked_for(trained: Any, session: Any) -> None:
    name = trained._latest_training_job.training_job_name
    described = session.sagemaker_client.describe_training_job(TrainingJobName=name)
    assert described["TrainingJobName"].startswith("sdk3-trainer-")
    assert {c["ChannelName"] for c in described["InputDataConfig"]} >= {"train", "code", "sm_drivers"}
    assert described["HyperParameters"]["scale"] == "2"


def test_logs_true_streams_the_jobs_cloudwatch_lines(session: Any, role: str, train_data: str,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    from sagemaker.core.training.configs import Compute, InputData, SourceCode
    from sagemaker.train import ModelTrainer

    from tests.sdk3.conftest import PYTORCH_TRAINING, SOURCE

    trainer = ModelTrainer(training_image=PYTORCH_TRAINING, role=role, sagemaker_session=session,
                           source_code=SourceCode(source_dir=str(SOURCE), entry_script="train.py"),
                           compute=Compute(instance_type="ml.m5.large", instance_count=1),
                           hyperparameters={"scale": 5}, base_job_name="sdk3-logs")
    with caplog.at_level(logging.INFO):
        trainer.train(input_data_config=[InputData(channel_name="train", data_source=train_data)], wait=True,
                      logs=True)
    shown = caplog.text
    assert "rows=3" in shown and "validation:score=15.0" in shown  # the script's own lines, read back from logs
