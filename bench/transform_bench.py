"""Batch transform benchmark (issue 15): records/s of a transform job beside the same records sent to the
model container's ``/invocations`` directly.

One ``mlharbor up`` (a subprocess, as users run it) serves a small model on the ``mlharbor/sklearn``
image (each CSV row's sum). ``RECORDS`` CSV rows in ``OBJECTS`` S3 objects are transformed with
``SplitType Line`` for each strategy (SingleRecord, and MultiRecord with ``MaxPayloadInMB 1`` over
``MULTI_RECORD_FACTOR`` times as many records), with
``MaxConcurrentTransforms`` = ``CONCURRENCY``; then the same requests (same records per request, same
concurrency) go straight to an endpoint's serve process with urllib3. Two transform rates: *job*, from
CreateTransformJob to Completed as the waiter sees it (container start and S3 included), and *steady*:
``TransformStartTime``-``TransformEndTime`` less that of a one-record job of the same strategy (the
container's start-up, which a transform pays once), over the records beyond that one. The ratio is
steady / direct (1.0: the transform machinery costs nothing beyond the container's own work).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import sys
import tempfile
import time
from pathlib import Path

import urllib3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.training_bench import client  # noqa: E402
from emulator.services.sagemaker.transform_data import MEGABYTE, batches, payload  # noqa: E402
from emulator.testing import ROLE, model_archive, start_harbor  # noqa: E402

RECORDS = 4000
#: MultiRecord packs ~1 MB per request: as many records again as it takes to last seconds, not milliseconds
MULTI_RECORD_FACTOR = 50
OBJECTS = 4
CONCURRENCY = 4
BUCKET = "bench-transform"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
HANDLER = b"""
import numpy as np
def model_fn(model_dir):
    return None
def input_fn(body, content_type):
    return np.array([[float(v) for v in line.split(",")] for line in body.decode().splitlines()])
def predict_fn(rows, model):
    return rows.sum(axis=1)
def output_fn(prediction, accept):
    return "".join(f"{v:g}\\n" for v in prediction), "text/csv"
"""


def setup(endpoint: str) -> None:
    """The model and an endpoint serving it (whose serve process the direct calls go to)."""
    s3, sagemaker = client("s3", endpoint), client("sagemaker", endpoint)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="model/model.tar.gz", Body=model_archive({"code/inference.py": HANDLER}))
    sagemaker.create_model(ModelName="bench", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": f"s3://{BUCKET}/model/model.tar.gz"})
    sagemaker.create_endpoint_config(EndpointConfigName="bench", ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "bench", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName="bench", EndpointConfigName="bench")
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName="bench", WaiterConfig={"Delay": 0.5})
    s3.put_object(Bucket=BUCKET, Key="one/part.csv", Body=b"1,2,3\n")


def put_records(endpoint: str, prefix: str, records: int, objects: int) -> list[list[bytes]]:
    """``records`` CSV rows in ``objects`` objects under ``prefix``; returns each object's rows."""
    s3 = client("s3", endpoint)
    contents = []
    for index in range(objects):
        rows = [f"{i},{i % 7},{index}".encode() for i in range(records // objects)]
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/part-{index}.csv", Body=b"\n".join(rows) + b"\n")
        contents.append(rows)
    return contents


def transform_seconds(endpoint: str, strategy: str, concurrency: int, prefix: str) -> tuple[float, float]:
    """``(job seconds, run seconds)`` of one transform job over every object under ``prefix``."""
    sagemaker = client("sagemaker", endpoint)
    name = f"bench-{strategy.lower()}-{int(time.time() * 1000) % 10**8}"
    request = {"TransformJobName": name, "ModelName": "bench", "BatchStrategy": strategy, "MaxPayloadInMB": 1,
               "MaxConcurrentTransforms": concurrency,
               "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                  "S3Uri": f"s3://{BUCKET}/{prefix}/"}},
                                  "ContentType": "text/csv", "SplitType": "Line"},
               "TransformOutput": {"S3OutputPath": f"s3://{BUCKET}/out/{name}", "AssembleWith": "Line",
                                   "Accept": "text/csv"},
               "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}
    started = time.perf_counter()
    sagemaker.create_transform_job(**request)
    sagemaker.get_waiter("transform_job_completed_or_stopped").wait(TransformJobName=name,
                                                                    WaiterConfig={"Delay": 0.1, "MaxAttempts": 6000})
    job_seconds = time.perf_counter() - started
    described = sagemaker.describe_transform_job(TransformJobName=name)
    if described["TransformJobStatus"] != "Completed":
        raise RuntimeError(f"{name}: {described['TransformJobStatus']} {described.get('FailureReason')}")
    run_seconds = described["TransformEndTime"].timestamp() - described["TransformStartTime"].timestamp()
    return job_seconds, run_seconds


def direct_rate(url: str, contents: list[list[bytes]], strategy: str, concurrency: int) -> float:
    """Records/s of the same requests posted to the serve process's ``/invocations`` by ``concurrency`` threads."""
    pool = urllib3.PoolManager(maxsize=concurrency)
    # the very requests the transform sends: its own batching of each object's records
    bodies = [payload(group) for rows in contents for _, group in batches(rows, strategy, MEGABYTE)]
    count = sum(len(rows) for rows in contents)

    def post(body: bytes) -> None:
        response = pool.request("POST", url + "/invocations", body=body,
                                headers={"Content-Type": "text/csv", "Accept": "text/csv"})
        if response.status != 200:
            raise RuntimeError(f"direct /invocations answered {response.status}")

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as executor:
        list(executor.map(post, bodies))
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--records", type=int, default=RECORDS)
    parser.add_argument("--objects", type=int, default=OBJECTS)
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlharbor-transform-bench-") as scratch:
        harbor = start_harbor(Path(scratch) / "data")
        try:
            setup(harbor.endpoint)
            pid_file = next(harbor.data_dir.glob("endpoints/us-east-1/bench/*/serving.json"))
            url = json.loads(pid_file.read_text())["url"]
            print(f"batch transform: CSV records in {args.objects} objects, MaxConcurrentTransforms "
                  f"{args.concurrency} (records/s; ratio = steady transform / direct /invocations)", flush=True)
            print(f"  {'strategy':<13} {'records':>8} {'job':>9} {'steady':>9} {'direct':>9} {'ratio':>6} "
                  f"{'start-up s':>10}", flush=True)
            for strategy, count in (("SingleRecord", args.records),
                                    ("MultiRecord", args.records * MULTI_RECORD_FACTOR)):
                contents = put_records(harbor.endpoint, strategy.lower(), count, args.objects)
                records = sum(len(rows) for rows in contents)
                _, startup = transform_seconds(harbor.endpoint, strategy, args.concurrency, prefix="one")
                job, run = transform_seconds(harbor.endpoint, strategy, args.concurrency, prefix=strategy.lower())
                steady = (records - 1) / max(run - startup, 1e-3)
                direct = direct_rate(url, contents, strategy, args.concurrency)
                print(f"  {strategy:<13} {records:>8} {records / job:>9.0f} {steady:>9.0f} {direct:>9.0f} "
                      f"{steady / direct:>6.2f} {startup:>10.2f}", flush=True)
        finally:
            harbor.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
