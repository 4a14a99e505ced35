"""The end-to-end demo behind ``make demo``: plain boto3 and the sdk against a local mlharbor.

1. start ``mlharbor up`` on the defaults (or use the one already answering there),
2. put a generated two-class data set in S3,
3. run ``examples/scripts/classifier.py`` as a training job in ``mlharbor/pytorch``,
   printing status transitions and the job's log lines live,
4. print the final metric and the model artifact's S3 URI.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sdk  # noqa: E402

BUCKET = "mlharbor-demo"


def healthy(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/_mlharbor/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def ensure_server(endpoint: str) -> subprocess.Popen[bytes] | None:
    """Use a running mlharbor, else start one on the defaults and wait until it is healthy."""
    if healthy(endpoint):
        print(f"using the mlharbor already running at {endpoint}")
        return None
    print("starting mlharbor up (edge endpoint, control plane, graph server) ...")
    process = subprocess.Popen([sys.executable, "-m", "emulator.cli", "up"], cwd=REPO)
    deadline = time.monotonic() + 120
    while not healthy(endpoint):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("mlharbor up did not start; is port 4600 or 8182 taken?")
        time.sleep(0.3)
    return process


def two_moons(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        label = rng.randint(0, 1)
        angle = rng.uniform(0, math.pi)
        x = math.cos(angle) + (1.0 if label else 0.0) + rng.gauss(0, 0.15)
        y = math.sin(angle) * (-1 if label else 1) + (0.5 if label else 0.0) + rng.gauss(0, 0.15)
        rows.append(f"{x:.4f},{y:.4f},{label}")
    return rows


def main() -> int:
    endpoint = sdk.endpoint_url()
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoint)
    server = ensure_server(endpoint)
    try:
        s3 = sdk.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="moons/train.csv", Body="\n".join(two_moons(800, 1)).encode())
        s3.put_object(Bucket=BUCKET, Key="moons/val.csv", Body="\n".join(two_moons(200, 2)).encode())
        print(f"uploaded s3://{BUCKET}/moons/ (train.csv 800 rows, val.csv 200 rows)")

        estimator = sdk.Estimator(
            image_uri="mlharbor/pytorch",
            output_path=f"s3://{BUCKET}/models",
            entry_point=str(REPO / "examples" / "scripts" / "classifier.py"),
            hyperparameters={"epochs": 60, "hidden": 32, "lr": 0.05},
            base_job_name="demo-classifier",
        )
        started = time.monotonic()
        name = estimator.fit({"training": f"s3://{BUCKET}/moons/"})
        description = estimator.describe()
        lines = [line for line in _job_log(name) if line.startswith("epoch=")]
        print()
        print(f"job            {name}")
        print(f"status         {description['TrainingJobStatus']} ({time.monotonic() - started:.1f} s)")
        print("transitions    " + " -> ".join(t["Status"] for t in description["SecondaryStatusTransitions"]))
        print(f"final metric   {lines[-1] if lines else '(none logged)'}")
        print(f"model artifact {estimator.model_data}")
        return 0 if description["TrainingJobStatus"] == "Completed" else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


def _job_log(name: str) -> list[str]:
    from sdk.logs import LogTail

    return [line for _, line in LogTail(sdk.client("logs"), name).read_new()]


if __name__ == "__main__":
    sys.exit(main())
