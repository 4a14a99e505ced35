"""Foundation benchmarks, measured side by side in one run.

1. A no-op training job's create→Completed latency (p50/p95 over 20 jobs) beside the bare
   cost of running the same script directly with the same interpreter.
2. DescribeTrainingJob requests/s with 1,000 jobs stored, beside two references taken with
   the same boto3 client settings: a bare Flask route returning a canned Describe response
   (the floor: HTTP + botocore cost only) and moto's own SageMaker Describe.

Targets (issue 2): no-op p50 under 1 s; Describe at 80% of the floor or better.
"""

from __future__ import annotations

import json
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from flask import Flask, Response

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator.config import DEFAULT_CONFIG  # noqa: E402
from emulator.edge.server import Harbor, serving_limits  # noqa: E402
from emulator.edge.wsgi_server import bind  # noqa: E402
from emulator.services.sagemaker.records import TrainingJob  # noqa: E402
from emulator.services.sagemaker.store import RecordStore  # noqa: E402
from emulator.services.sagemaker.training import KIND  # noqa: E402
from emulator.testing import ROLE, script_job, training_request  # noqa: E402

NOOP = "pass\n"
JOBS = 20
STORED = 1000
REQUESTS = 400


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench", config=Config(retries={"max_attempts": 1}),
    )


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def noop_latency(endpoint: str) -> list[float]:
    sagemaker, s3 = client("sagemaker", endpoint), client("s3", endpoint)
    s3.create_bucket(Bucket="bench-noop")
    latencies = []
    for _ in range(JOBS):
        request = script_job(s3, "bench-noop", NOOP)
        started = time.perf_counter()
        sagemaker.create_training_job(**request)
        while True:
            status = sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])["TrainingJobStatus"]
            if status in ("Completed", "Failed", "Stopped"):
                break
            time.sleep(0.01)
        latencies.append(time.perf_counter() - started)
        if status != "Completed":
            raise SystemExit(f"no-op job ended {status}")
    return latencies


def bare_script_cost() -> list[float]:
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "train.py"
        script.write_text(NOOP)
        costs = []
        for _ in range(JOBS):
            started = time.perf_counter()
            subprocess.run([sys.executable, str(script)], check=True)
            costs.append(time.perf_counter() - started)
    return costs


def seed_jobs(data_dir: Path, template: dict[str, Any]) -> None:
    """Store 1,000 finished jobs directly in the record store (running them would take hours)."""
    store = RecordStore(data_dir / "records.sqlite3")
    now = time.time()
    for index in range(STORED):
        name = f"stored-{index:04d}"
        job = TrainingJob(name=name, arn=f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
                          region="us-east-1", request={**template, "TrainingJobName": name}, status="Completed",
                          secondary_status="Completed", creation_time=now - index, last_modified_time=now)
        store.put(KIND, job.region, job.name, job.to_dict())
    store.close()


def describe_rate(sagemaker: Any, name: str) -> float:
    for _ in range(20):
        sagemaker.describe_training_job(TrainingJobName=name)
    started = time.perf_counter()
    for _ in range(REQUESTS):
        sagemaker.describe_training_job(TrainingJobName=name)
    return REQUESTS / (time.perf_counter() - started)


def canned_floor(description: dict[str, Any]) -> tuple[str, Any]:
    app = Flask("floor")
    body = json.dumps(description, default=lambda value: value.timestamp()).encode()

    @app.post("/")
    def canned() -> Response:
        return Response(body, content_type="application/x-amz-json-1.1")

    # the same HTTP server as the edge's, so the floor differs from it only in what runs behind
    server = bind(DEFAULT_CONFIG["edge_server"], "127.0.0.1", 0, app, serving_limits(DEFAULT_CONFIG))
    threading.Thread(target=server.serve, daemon=True).start()
    return f"http://127.0.0.1:{server.port}", server


def moto_reference() -> tuple[str, Any]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return f"http://{host}:{port}", server


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's server logs every request
    print("== training jobs (issue 2) ==", flush=True)
    with tempfile.TemporaryDirectory() as directory:
        data_dir = Path(directory)
        seed_jobs(data_dir, training_request("bench-bucket"))
        harbor = Harbor({"data_dir": str(data_dir), "port": 0, "graph_port": 0, "max_concurrent_jobs": 2})
        harbor.start()
        try:
            latencies = noop_latency(harbor.endpoint_url)
            bare = bare_script_cost()
            sagemaker = client("sagemaker", harbor.endpoint_url)
            stored = len(list(harbor.control.training.list_training_jobs("us-east-1", _all())[0]))
            description = sagemaker.describe_training_job(TrainingJobName="stored-0500")
            description.pop("ResponseMetadata")
            floor_url, floor_server = canned_floor(description)
            moto_url, moto_server = moto_reference()
            moto = client("sagemaker", moto_url)
            moto.create_training_job(**training_request("bench-bucket", TrainingJobName="moto-job", RoleArn=ROLE))
            floor = client("sagemaker", floor_url)
            rates: dict[str, list[float]] = {"mlharbor": [], "floor": [], "moto": []}
            for _ in range(3):  # interleaved rounds, so machine noise hits all three alike
                rates["mlharbor"].append(describe_rate(sagemaker, "stored-0500"))
                rates["floor"].append(describe_rate(floor, "stored-0500"))
                rates["moto"].append(describe_rate(moto, "moto-job"))
            floor_server.close()
            moto_server.stop()
        finally:
            harbor.stop()

    p50, p95 = statistics.median(latencies), percentile(latencies, 0.95)
    bare_p50 = statistics.median(bare)
    print(f"no-op job create→Completed over {JOBS} jobs: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
          f"(target p50 < 1000 ms: {'met' if p50 < 1 else 'MISSED'})")
    print(f"bare script run (same interpreter):       p50 {bare_p50 * 1000:.0f} ms  → ratio {p50 / bare_p50:.1f}x")
    best = {key: max(values) for key, values in rates.items()}
    print(f"DescribeTrainingJob with {stored} jobs stored, one boto3 client thread, best of 3 rounds of {REQUESTS}:")
    print(f"  mlharbor {best['mlharbor']:7.0f} req/s   ({best['mlharbor'] / best['floor']:.0%} of floor; target ≥ 80%: "
          f"{'met' if best['mlharbor'] >= 0.8 * best['floor'] else 'MISSED'})")
    print(f"  floor    {best['floor']:7.0f} req/s   (bare Flask route, canned response)")
    print(f"  moto     {best['moto']:7.0f} req/s   ({best['moto'] / best['floor']:.0%} of floor)")


def _all() -> Any:
    from emulator.core.paging import ListQuery

    return ListQuery(max_results=10_000)


if __name__ == "__main__":
    main()
