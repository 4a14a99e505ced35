"""Batch transform runs over real boto3 against a real harbor: the model's serve container over S3 objects.

The model is a scikit-learn-image handler (``code/inference.py`` in ``model.tar.gz``) that scales each
CSV row's sum, so every output is checkable by hand and no training job is needed.
"""

from __future__ import annotations

import gzip
import json
import signal
import time
from typing import Any

import pytest

from emulator.testing.requests import model_archive, wait_until_settled
from tests.conftest import ROLE, start_harbor, unique_name

HANDLER = """
import json, os, threading, time
import numpy as np
IN_FLIGHT = {"now": 0, "most": 0}
LOCK = threading.Lock()
def model_fn(model_dir):
    return {"factor": float(open(os.path.join(model_dir, "factor.txt")).read())}
def input_fn(body, content_type):
    if os.environ.get("SLOW"):
        with LOCK:
            IN_FLIGHT["now"] += 1
            IN_FLIGHT["most"] = max(IN_FLIGHT["most"], IN_FLIGHT["now"])
        time.sleep(float(os.environ["SLOW"]))
        with LOCK:
            IN_FLIGHT["now"] -= 1
    if "json" in content_type:
        return np.array([json.loads(line) for line in body.decode().splitlines()])
    return np.array([[float(v) for v in line.split(",")] for line in body.decode().splitlines()])
def predict_fn(data, model):
    return data.sum(axis=1) * model["factor"]
def output_fn(prediction, accept):
    if accept == "text/x-in-flight":
        return str(IN_FLIGHT["most"]), accept
    if accept == "application/json":
        return "\\n".join(json.dumps({"score": float(v)}) for v in prediction), accept
    return "".join(f"{v:g}\\n" for v in prediction), "text/csv"
"""


def create_model(sagemaker: Any, s3: Any, bucket: str, environment: dict[str, str] | None = None) -> str:
    key = f"models/{unique_name('m')}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_archive({"code/inference.py": HANDLER.encode(),
                                                               "factor.txt": b"10"}))
    name = unique_name("model")
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        "ModelDataUrl": f"s3://{bucket}/{key}", "Environment": environment or {}})
    return name


def transform(sagemaker: Any, bucket: str, model: str, prefix: str, wait: bool = True,
              **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": unique_name("tj"),
        "ModelName": model,
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                           "S3Uri": f"s3://{bucket}/{prefix}/in/"}},
                           "ContentType": "text/csv", "SplitType": "Line"},
        "TransformOutput": {"S3OutputPath": f"s3://{bucket}/{prefix}/out", "AssembleWith": "Line",
                            "Accept": "text/csv"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    request.update(overrides)
    sagemaker.create_transform_job(**request)
    if wait:
        # a Failed job ends the wait too: the test reads why
        wait_until_settled(sagemaker, "transform_job_completed_or_stopped", "TransformJobStatus", 120,
                           TransformJobName=request["TransformJobName"])
    return sagemaker.describe_transform_job(TransformJobName=request["TransformJobName"])


def read(s3: Any, bucket: str, key: str) -> str:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()


@pytest.fixture(scope="module")
def model(sagemaker, s3, bucket_module) -> str:
    return create_model(sagemaker, s3, bucket_module)


@pytest.fixture(scope="module")
def bucket_module(s3) -> str:
    name = unique_name("transform")
    s3.create_bucket(Bucket=name)
    return name


def test_every_object_gets_its_out_file_one_result_per_line(sagemaker, s3, bucket_module, model):
    bucket = bucket_module
    s3.put_object(Bucket=bucket, Key="p1/in/a.csv", Body=b"1,2\n3,4\n")
    s3.put_object(Bucket=bucket, Key="p1/in/sub/b.csv", Body=b"0.5,0.5\n")
    described = transform(sagemaker, bucket, model, "p1", BatchStrategy="MultiRecord", MaxPayloadInMB=1,
                          MaxConcurrentTransforms=2)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert read(s3, bucket, "p1/out/a.csv.out") == "30\n70\n"
    assert read(s3, bucket, "p1/out/sub/b.csv.out") == "10\n"
    assert described["TransformStartTime"] <= described["TransformEndTime"]


def test_input_filter_join_and_output_filter_keep_the_id_beside_the_prediction(sagemaker, s3, bucket_module, model):
    bucket = bucket_module
    s3.put_object(Bucket=bucket, Key="p2/in/rows.csv", Body=b"id-1,1,1\nid-2,2,2\nid-3,0,1\n")
    described = transform(sagemaker, bucket, model, "p2", BatchStrategy="SingleRecord", MaxConcurrentTransforms=3,
                          DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"})
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert read(s3, bucket, "p2/out/rows.csv.out") == "id-1,20\nid-2,40\nid-3,10\n"


def test_json_lines_join_under_sagemaker_output_from_a_manifest(sagemaker, s3, bucket_module, model):
    bucket = bucket_module
    s3.put_object(Bucket=bucket, Key="p3/data/x.jsonl",
                  Body=b'{"id": "a", "features": [1, 2]}\n{"id": "b", "features": [3, 3]}\n')
    s3.put_object(Bucket=bucket, Key="p3/data/ignored.jsonl", Body=b'{"id": "z", "features": [0]}\n')
    s3.put_object(Bucket=bucket, Key="p3/manifest.json",
                  Body=json.dumps([{"prefix": f"s3://{bucket}/p3/data/"}, "x.jsonl"]).encode())
    described = transform(
        sagemaker, bucket, model, "p3", BatchStrategy="MultiRecord",
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "ManifestFile",
                                                        "S3Uri": f"s3://{bucket}/p3/manifest.json"}},
                        "ContentType": "application/jsonlines", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{bucket}/p3/out/", "AssembleWith": "Line",
                         "Accept": "application/json"},
        DataProcessing={"InputFilter": "$.features", "JoinSource": "Input",
                        "OutputFilter": "$['id','SageMakerOutput']"})
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    lines = [json.loads(line) for line in read(s3, bucket, "p3/out/x.jsonl.out").splitlines()]
    assert lines == [{"id": "a", "SageMakerOutput": {"score": 30.0}}, {"id": "b", "SageMakerOutput": {"score": 60.0}}]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="p3/out/ignored")


def test_split_none_sends_each_object_whole_and_assemble_none_writes_the_answer_as_is(sagemaker, s3, bucket_module,
                                                                                      model):
    bucket = bucket_module
    s3.put_object(Bucket=bucket, Key="p4/in/whole.csv", Body=b"1,1\n2,2")
    described = transform(sagemaker, bucket, model, "p4",
                          TransformInput={"DataSource": {"S3DataSource": {
                              "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/p4/in/"}},
                              "ContentType": "text/csv", "SplitType": "None"},
                          TransformOutput={"S3OutputPath": f"s3://{bucket}/p4/out", "Accept": "text/csv"})
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert read(s3, bucket, "p4/out/whole.csv.out") == "20\n40\n"


def test_max_concurrent_transforms_sends_objects_side_by_side(sagemaker, s3, bucket_module):
    bucket = bucket_module
    slow = create_model(sagemaker, s3, bucket, environment={"SLOW": "0.5"})
    for index in range(4):
        s3.put_object(Bucket=bucket, Key=f"p8/in/{index}.csv", Body=b"1,1\n")
    described = transform(sagemaker, bucket, slow, "p8", MaxConcurrentTransforms=4,
                          TransformInput={"DataSource": {"S3DataSource": {
                              "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/p8/in/"}},
                              "ContentType": "text/csv", "SplitType": "None"},
                          TransformOutput={"S3OutputPath": f"s3://{bucket}/p8/out", "Accept": "text/x-in-flight"})
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    most = max(int(read(s3, bucket, f"p8/out/{index}.csv.out")) for index in range(4))
    assert most >= 2  # one object at a time would never have two requests in the model at once


def test_gzip_objects_are_inflated_before_they_are_split(sagemaker, s3, bucket_module, model):
    bucket = bucket_module
    s3.put_object(Bucket=bucket, Key="p7/in/rows.csv.gz", Body=gzip.compress(b"1,1\n2,3\n"))
    described = transform(sagemaker, bucket, model, "p7", BatchStrategy="MultiRecord",
                          TransformInput={"DataSource": {"S3DataSource": {
                              "S3DataType": "S3Prefix", "S3Uri": f"s3://{bucket}/p7/in/"}},
                              "ContentType": "text/csv", "SplitType": "Line", "CompressionType": "Gzip"})
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert read(s3, bucket, "p7/out/rows.csv.gz.out") == "20\n50\n"


def test_a_record_the_model_refuses_fails_the_job_naming_object_and_record(sagemaker, s3, bucket_module, model):
    bucket = bucket_module
    s3.put_object(Bucket=bucket, Key="p5/in/bad.csv", Body=b"1,2\nnot,a-number\n3,4\n")
    described = transform(sagemaker, bucket, model, "p5", BatchStrategy="SingleRecord")
    assert described["TransformJobStatus"] == "Failed"
    reason = described["FailureReason"]
    assert f"s3://{bucket}/p5/in/bad.csv record 2" in reason, reason
    assert "500" in reason or "could not convert" in reason


def test_stop_ends_a_running_transform_stopped(sagemaker, s3, bucket_module):
    bucket = bucket_module
    slow = create_model(sagemaker, s3, bucket, environment={"SLOW": "1"})
    s3.put_object(Bucket=bucket, Key="p6/in/many.csv", Body=b"1,1\n" * 30)
    described = transform(sagemaker, bucket, slow, "p6", wait=False, BatchStrategy="SingleRecord")
    name = described["TransformJobName"]
    deadline = time.monotonic() + 60
    while sagemaker.describe_transform_job(TransformJobName=name).get("TransformStartTime") is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    time.sleep(2)
    sagemaker.stop_transform_job(TransformJobName=name)
    assert sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"] in ("Stopping", "Stopped")
    sagemaker.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=name,
                                                                    WaiterConfig={"Delay": 0.3, "MaxAttempts": 200})
    assert sagemaker.describe_transform_job(TransformJobName=name)["TransformJobStatus"] == "Stopped"
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="p6/out/")


@pytest.mark.slow
def test_a_transform_survives_a_restart_of_the_server(tmp_path):
    data_dir = tmp_path / "data"
    first = start_harbor(data_dir)
    sagemaker, s3 = first.client("sagemaker"), first.client("s3")
    bucket = unique_name("restart")
    s3.create_bucket(Bucket=bucket)
    model = create_model(sagemaker, s3, bucket, environment={"SLOW": "0.5"})
    s3.put_object(Bucket=bucket, Key="r/in/a.csv", Body=b"1,2\n" * 8)
    name = transform(sagemaker, bucket, model, "r", wait=False, BatchStrategy="SingleRecord")["TransformJobName"]
    deadline = time.monotonic() + 60
    while sagemaker.describe_transform_job(TransformJobName=name).get("TransformStartTime") is None:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    first.kill(signal.SIGTERM)
    second = start_harbor(data_dir)
    try:
        sagemaker = second.client("sagemaker")
        assert sagemaker.describe_transform_job(TransformJobName=name)["ModelName"] == model
        sagemaker.get_waiter("transform_job_completed_or_stopped").wait(
            TransformJobName=name, WaiterConfig={"Delay": 0.3, "MaxAttempts": 300})
        assert read(second.client("s3"), bucket, "r/out/a.csv.out") == "30\n" * 8
    finally:
        second.kill()
