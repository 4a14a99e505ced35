"""Docker runner benchmark: a no-op job's create→Completed latency, Docker beside process, in one run.

One server (process runner by default); each round creates one job per runner, choosing the
Docker runner per job with ``Environment: MLHARBOR_RUNNER=docker``, so machine noise hits both
alike. The job is the same no-op as ``training_bench.py``: ``mlharbor/pytorch`` script mode
running ``pass`` (the toolkit downloads the source from S3, then runs it). The images are
built first (cached: seconds when nothing changed) and that time is reported apart.

Target (issue 6): Docker no-op p50 under 3 s with the images built.
"""

from __future__ import annotations

import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.training_bench import NOOP, client, percentile  # noqa: E402
from emulator.edge.server import Harbor  # noqa: E402
from emulator.images.build import ImageBuilder  # noqa: E402
from emulator.runners.docker.engine import DockerUnavailable, docker_client  # noqa: E402
from emulator.runners.selecting import RUNNER_ENV  # noqa: E402
from emulator.testing import script_job  # noqa: E402

ROUNDS = 15
RUNNERS = ("process", "docker")


def one_job(sagemaker: Any, s3: Any, runner: str) -> float:
    request = script_job(s3, "bench-docker", NOOP, Environment={RUNNER_ENV: runner})
    started = time.perf_counter()
    sagemaker.create_training_job(**request)
    while True:
        description = sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])
        if description["TrainingJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        time.sleep(0.01)
    if description["TrainingJobStatus"] != "Completed":
        raise SystemExit(f"{runner} no-op job ended {description['TrainingJobStatus']}: "
                         f"{description.get('FailureReason')}")
    return time.perf_counter() - started


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    print("== docker runner (issue 6) ==", flush=True)
    try:
        engine = docker_client()
    except DockerUnavailable as error:
        print(f"skipped: {error}")
        return
    started = time.perf_counter()
    ImageBuilder(engine).build_all(["mlharbor/pytorch"])
    build_seconds = time.perf_counter() - started
    latencies: dict[str, list[float]] = {runner: [] for runner in RUNNERS}
    with tempfile.TemporaryDirectory() as directory:
        harbor = Harbor({"data_dir": directory, "port": 0, "graph_port": 0, "max_concurrent_jobs": 2})
        harbor.start()
        try:
            sagemaker, s3 = client("sagemaker", harbor.endpoint_url), client("s3", harbor.endpoint_url)
            s3.create_bucket(Bucket="bench-docker")
            for runner in RUNNERS:  # warm-up: first imports, first container of the image
                one_job(sagemaker, s3, runner)
            for _ in range(ROUNDS):
                for runner in RUNNERS:
                    latencies[runner].append(one_job(sagemaker, s3, runner))
        finally:
            harbor.stop()

    print(f"images (mlharbor/pytorch and its base) ready in {build_seconds:.1f} s")
    print(f"no-op job create→Completed, {ROUNDS} interleaved rounds:")
    p50 = {runner: statistics.median(values) for runner, values in latencies.items()}
    for runner in RUNNERS:
        values = latencies[runner]
        print(f"  {runner:8} p50 {p50[runner] * 1000:6.0f} ms   p90 {percentile(values, 0.9) * 1000:6.0f} ms")
    print(f"  docker / process p50 ratio {p50['docker'] / p50['process']:.1f}x   "
          f"(target docker p50 < 3000 ms: {'met' if p50['docker'] < 3 else 'MISSED'})")


if __name__ == "__main__":
    main()
