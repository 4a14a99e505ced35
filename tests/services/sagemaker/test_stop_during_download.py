"""StopTrainingJob during Downloading stops the job there: the channel's remaining objects are not
fetched first (the stop used to be looked at only once every host's data was down)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import training_request, wait_for_status

OBJECTS = 1500


def test_a_job_stopped_while_downloading_stops_before_its_data_is_down(harbor, sagemaker, s3, bucket):
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda index: s3.put_object(Bucket=bucket, Key=f"many/obj-{index:05d}", Body=b"x" * 64),
                      range(OBJECTS)))
    request = training_request(bucket, InputDataConfig=[{"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/many/", "S3DataDistributionType": "FullyReplicated"}}}])
    name = request["TrainingJobName"]
    channel = harbor.data_dir / "jobs" / "us-east-1" / name
    sagemaker.create_training_job(**request)
    deadline = time.monotonic() + 120
    while not any(channel.rglob("obj-*")):
        assert time.monotonic() < deadline, sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"]
        time.sleep(0.02)
    sagemaker.stop_training_job(TrainingJobName=name)

    ended = wait_for_status(sagemaker, name)
    downloaded = len(list(channel.rglob("obj-*")))
    assert ended["TrainingJobStatus"] == "Stopped" and ended["SecondaryStatus"] == "Stopped"
    assert downloaded < OBJECTS, "the whole channel was downloaded before the stop was honoured"
    # the record says what happened: it never trained, produced no model, and its history ends stopped
    history = [transition["Status"] for transition in ended["SecondaryStatusTransitions"]]
    assert "Training" not in history and history[-1] == "Stopped"
    assert "Downloading" in history
    # DescribeTrainingJob always names where the model goes (botocore marks it required); nothing is there
    bucket_name, key = ended["ModelArtifacts"]["S3ModelArtifacts"][len("s3://"):].split("/", 1)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket_name, Prefix=key)
    time.sleep(1)
    assert len(list(channel.rglob("obj-*"))) == downloaded  # nothing kept downloading after the end
