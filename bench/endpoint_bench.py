"""Endpoint benchmark (issue 7): InvokeEndpoint through the edge beside the serving container called directly.

Two workloads: an echo handler (nothing but protocol cost) and a small TorchScript MLP. Each is
deployed on a real ``mlharbor up`` (a subprocess, as users run it); the run then measures, side by
side, with the same HTTP stack underneath (urllib3, which botocore uses):

- *InvokeEndpoint*: boto3 ``sagemaker-runtime`` client (SigV4 signing, the edge, our forwarding);
- *direct*: a ``urllib3.PoolManager`` POST to the serving process's own ``/invocations``.

Sequential latency (p50/p99 over ``REQUESTS`` calls) and throughput (``CLIENTS`` client processes in
parallel for ``SECONDS``; the median of ``ROUNDS`` alternating rounds) for both; the target is
InvokeEndpoint throughput ≥ 70% of direct.

The whole run is repeated for each HTTP server the edge can be carried by (``edge_server``:
waitress, the default, cheroot, and Werkzeug's development server it replaced), one ``mlharbor up``
each, and a last table puts their ratios side by side. ``--servers waitress,cheroot`` runs fewer.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import urllib3

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.training_bench import client, percentile  # noqa: E402
from emulator.edge.wsgi_server import SERVER_KINDS  # noqa: E402
from emulator.testing import (  # noqa: E402
    ROLE,
    RunningHarbor,
    model_archive,  # noqa: E402
    start_harbor,
)

REQUESTS = 500
WARMUP = 50
CLIENTS = 4
SECONDS = 3.0
ROUNDS = 3
PAYLOAD = json.dumps([[float(i) for i in range(16)] for _ in range(4)]).encode()
HANDLER = b"""
import json
def model_fn(model_dir):
    return None
def input_fn(body, content_type):
    return json.loads(body)
def predict_fn(rows, model):
    return [sum(row) for row in rows]
def output_fn(prediction, accept):
    return json.dumps(prediction), "application/json"
"""


#: per client: each call's seconds, throughput (req/s), the client's CPU ms per call
Measured = dict[str, tuple[list[float], float, float]]


@dataclass(frozen=True)
class Workload:
    """One model to serve and one request to send it."""

    label: str
    files: dict[str, bytes]
    payload: bytes


def echo_workload() -> Workload:
    """A handler doing almost nothing: what is measured is pure protocol and forwarding cost."""
    return Workload("echo handler (protocol overhead only)", {"code/inference.py": HANDLER}, PAYLOAD)


def mlp_workload() -> Workload:
    """A small TorchScript MLP (128→1024→1024→10, batch 16) served by the toolkit defaults."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(128, 1024), torch.nn.ReLU(), torch.nn.Linear(1024, 1024),
                                torch.nn.ReLU(), torch.nn.Linear(1024, 10))
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.trace(model.eval(), torch.zeros(1, 128)), buffer)
    payload = json.dumps(torch.rand(16, 128).round(decimals=3).tolist()).encode()
    return Workload("TorchScript MLP, batch 16 (default handlers)", {"model.pt": buffer.getvalue()}, payload)


def deploy(endpoint: str, name: str, files: dict[str, bytes]) -> str:
    """Model + config + endpoint named ``name``; returns once InService."""
    s3, sagemaker = client("s3", endpoint), client("sagemaker", endpoint)
    s3.put_object(Bucket="bench-endpoint", Key=f"{name}/model.tar.gz", Body=model_archive(files))
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/pytorch", "ModelDataUrl": f"s3://bench-endpoint/{name}/model.tar.gz"})
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5})
    return name


def latencies(call: Callable[[], bytes]) -> tuple[list[float], float]:
    """Each sequential call's seconds, and the client's own CPU milliseconds per call (its share of a
    machine whose CPUs the client, the edge and the serve process all take from)."""
    for _ in range(WARMUP):
        call()
    times = []
    cpu_started = time.process_time()
    for _ in range(REQUESTS):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return times, (time.process_time() - cpu_started) * 1000 / REQUESTS


def _count_calls(make_call: Callable[[], Callable[[], bytes]], start_at: float, results: Any) -> None:
    call = make_call()
    count = 0
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + SECONDS
    while time.time() < deadline:
        call()
        count += 1
    results.put(count)


def throughput(make_call: Callable[[], Callable[[], bytes]]) -> float:
    """Requests/s of ``CLIENTS`` client processes (one client each, made by ``make_call``) calling for
    ``SECONDS``: processes, so the client side's own GIL does not decide the number."""
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    start_at = time.time() + 1.0
    workers = [context.Process(target=_count_calls, args=(make_call, start_at, results)) for _ in range(CLIENTS)]
    for worker in workers:
        worker.start()
    total = sum(results.get(timeout=SECONDS + 60) for _ in workers)
    for worker in workers:
        worker.join()
    return total / SECONDS


def measure(harbor: RunningHarbor, name: str, workload: Workload) -> tuple[Measured, float]:
    """Latencies and throughput of InvokeEndpoint (boto3) and of the variant's own ``/invocations``, and
    the edge process's CPU milliseconds per InvokeEndpoint during the throughput rounds: unlike the
    ratio, it hardly moves when other work shares the machine."""
    deploy(harbor.endpoint, name, workload.files)
    pid_file = next(harbor.data_dir.glob(f"endpoints/us-east-1/{name}/*/serving.json"))
    direct_url = json.loads(pid_file.read_text())["url"] + "/invocations"
    headers = {"Content-Type": "application/json"}

    def boto_call() -> Callable[[], bytes]:
        runtime = client("sagemaker-runtime", harbor.endpoint)

        def call() -> bytes:
            return bytes(runtime.invoke_endpoint(EndpointName=name, Body=workload.payload,
                                                 ContentType="application/json")["Body"].read())
        return call

    def direct_call() -> Callable[[], bytes]:
        pool = urllib3.PoolManager(retries=False)

        def call() -> bytes:
            response = pool.request("POST", direct_url, body=workload.payload, headers=headers)
            if response.status != 200:
                raise RuntimeError(response.data)
            return bytes(response.data)
        return call

    if boto_call()() != direct_call()():
        raise RuntimeError("InvokeEndpoint and the direct call answered differently")
    (boto_times, boto_cpu), (direct_times, direct_cpu) = latencies(boto_call()), latencies(direct_call())
    # rounds alternate, so load that drifts during the run weighs on both sides alike; the median counts
    boto_rates, direct_rates = [], []
    edge = psutil.Process(harbor.process.pid)
    edge_cpu = 0.0
    for _ in range(ROUNDS):
        before = edge.cpu_times()
        boto_rates.append(throughput(boto_call))
        after = edge.cpu_times()
        edge_cpu += (after.user - before.user) + (after.system - before.system)
        direct_rates.append(throughput(direct_call))
    results = {"InvokeEndpoint (boto3)": (boto_times, statistics.median(boto_rates), boto_cpu),
               "direct /invocations": (direct_times, statistics.median(direct_rates), direct_cpu)}
    client("sagemaker", harbor.endpoint).delete_endpoint(EndpointName=name)
    return results, edge_cpu * 1000 / (sum(boto_rates) * SECONDS)


def report(workload: Workload, results: Measured, edge_cpu_ms: float) -> float:
    """Print one workload's table; returns InvokeEndpoint's throughput as a fraction of direct."""
    print(f"  {workload.label}")
    print(f"    {'':<24}{'p50 ms':>9}{'p99 ms':>9}{f'req/s ({CLIENTS} clients)':>24}{'client CPU ms':>15}")
    for label, (times, rate, client_cpu) in results.items():
        p50, p99 = percentile(times, 0.5) * 1000, percentile(times, 0.99) * 1000
        print(f"    {label:<24}{p50:>9.2f}{p99:>9.2f}{rate:>24.0f}{client_cpu:>15.2f}")
    rates = [rate for _, rate, _ in results.values()]
    ratio = rates[0] / rates[1]
    verdict = "meets" if ratio >= 0.7 else "MISSES"
    print(f"    InvokeEndpoint throughput = {ratio:.0%} of direct ({verdict} the >=70% target); "
          f"edge CPU {edge_cpu_ms:.2f} ms per InvokeEndpoint")
    return ratio


def bench_server(server: str, workloads: list[tuple[str, Workload]]) -> dict[str, tuple[float, float]]:
    """Every workload on one ``mlharbor up`` whose edge runs on ``server``; each one's ratio and edge CPU."""
    print(f" edge server: {server}", flush=True)
    ratios = {}
    with tempfile.TemporaryDirectory() as directory:
        harbor = start_harbor(Path(directory) / "harbor", env={"MLHARBOR_EDGE_SERVER": server})
        try:
            client("s3", harbor.endpoint).create_bucket(Bucket="bench-endpoint")
            for name, workload in workloads:
                results, edge_cpu_ms = measure(harbor, name, workload)
                ratios[name] = (report(workload, results, edge_cpu_ms), edge_cpu_ms)
        finally:
            harbor.kill()
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", default=",".join(SERVER_KINDS),
                        help=f"edge servers to compare, in order (default {','.join(SERVER_KINDS)})")
    servers = parser.parse_args().servers.split(",")
    workloads = [("echo", echo_workload()), ("mlp", mlp_workload())]
    print(f"endpoint bench ({os.cpu_count()} CPUs; edge, serve process and clients share them): mlharbor/pytorch "
          "serve on the process runner; client HTTP stack urllib3 for both (boto3 sagemaker-runtime's, and a "
          "urllib3.PoolManager direct to the serve process)")
    ratios = {server: bench_server(server, workloads) for server in servers}
    print("  by edge server: InvokeEndpoint throughput as a share of direct /invocations (target >=70%), "
          "and the edge's CPU ms per InvokeEndpoint")
    print(f"    {'edge server':<14}" + "".join(f"{name + ' %':>10}{name + ' ms':>10}" for name, _ in workloads))
    for server, by_workload in ratios.items():
        print(f"    {server:<14}" + "".join(f"{by_workload[name][0]:>10.0%}{by_workload[name][1]:>10.2f}"
                                            for name, _ in workloads))


if __name__ == "__main__":
    main()
