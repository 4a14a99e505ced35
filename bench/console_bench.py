"""Console benchmark: the training-jobs page beside the ListTrainingJobs call that feeds it.

N completed training jobs (10,000 by default) are written to a data dir's record store, then one
``mlharbor up`` loads them. Timed, median of R requests each, over loopback HTTP with a warm connection:

* ``ListTrainingJobs`` (boto3, MaxResults 50, newest first): the API's page;
* ``GET /_console/training-jobs?size=50`` (sorted by creation time, newest first): the console's page of
  the same 50 rows, rendered as HTML.

Target: page <= 1.5x the API call.

Then, on a fresh server, the time from CreateTrainingJob to the job's first own log line, read at once
by the console's live log stream (its server-sent events, as the page's EventSource reads them) and by
``mlharbor logs -f`` (a subprocess), for the same job; median over J jobs.

Last, the chart: P metric values (100,000 by default) put for one stored job with PutMetricData, then the
server time of the metrics the page plots, and, where Debian's Chromium and Playwright are installed, the
time from opening the job's page in headless Chromium to its chart drawn with every point.

``python bench/console_bench.py --small`` uses 1,000 jobs, J = 1 and P = 10,000.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator.services.sagemaker.arns import training_job_arn  # noqa: E402
from emulator.services.sagemaker.records import StatusTransition, TrainingJob  # noqa: E402
from emulator.services.sagemaker.store import RecordStore  # noqa: E402
from emulator.services.sagemaker.training import KIND  # noqa: E402
from emulator.testing import ROLE, script_job, start_harbor  # noqa: E402

MARKER = "first-line-of-the-job"
SCRIPT = f"""
import time
print("{MARKER}", flush=True)
time.sleep(3)
"""

REGION, ACCOUNT = "us-east-1", "123456789012"


def seed_jobs(data_dir: Path, count: int) -> None:
    """``count`` completed jobs, written straight to the record store the server loads at start."""
    store = RecordStore(data_dir / "records.sqlite3")
    start = time.time() - count * 60
    for index in range(count):
        name = f"bench-job-{index:05d}"
        created = start + index * 60
        request = {"TrainingJobName": name, "RoleArn": ROLE,
                   "AlgorithmSpecification": {"TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File"},
                   "OutputDataConfig": {"S3OutputPath": "s3://bench/output"},
                   "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
                   "StoppingCondition": {"MaxRuntimeInSeconds": 300}}
        job = TrainingJob(name=name, arn=training_job_arn(REGION, ACCOUNT, name), region=REGION, request=request,
                          status="Completed", secondary_status="Completed", creation_time=created,
                          last_modified_time=created + 30, training_start_time=created + 1,
                          training_end_time=created + 30, started=True, attempts=1,
                          transitions=[StatusTransition("Completed", created + 30, "Training job completed")])
        store.put(KIND, REGION, name, job.to_dict())
    store.close()


def median_seconds(call, repeats: int) -> float:  # type: ignore[no-untyped-def]
    call()  # warm: connection, template compilation
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def first_line_on_page(endpoint: str, name: str, created: float, out: dict[str, float]) -> None:
    url = f"{endpoint}/_console/training-jobs/{name}/logs"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/event-stream"}),
                                timeout=120) as stream:
        for raw in stream:
            if MARKER.encode() in raw:
                out["page"] = time.perf_counter() - created
                return


def first_line_from_cli(endpoint: str, name: str, created: float, out: dict[str, float]) -> None:
    command = [sys.executable, "-m", "emulator.cli", "logs", "-f", name, "--endpoint", endpoint]
    with subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}) as process:
        assert process.stdout is not None
        for line in process.stdout:
            if MARKER in line:
                out["cli"] = time.perf_counter() - created
                break
        process.terminate()


def time_to_first_line(harbor, jobs: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
    s3.create_bucket(Bucket="console-bench")
    page_times, cli_times = [], []
    for _ in range(jobs):
        request = script_job(s3, "console-bench", SCRIPT)
        sagemaker.create_training_job(**request)
        created = time.perf_counter()
        out: dict[str, float] = {}
        readers = [threading.Thread(target=reader, args=(harbor.endpoint, request["TrainingJobName"], created, out))
                   for reader in (first_line_on_page, first_line_from_cli)]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(180)
        page_times.append(out["page"])
        cli_times.append(out["cli"])
    return statistics.median(page_times), statistics.median(cli_times)


def put_points(harbor, job: str, points: int) -> None:  # type: ignore[no-untyped-def]
    # botocore gzips a large PutMetricData body; the edge answers that with BadGzipFile (left alone: not the console)
    cloudwatch = harbor.client("cloudwatch", disable_request_compression=True)
    start = time.time() - points
    for first in range(0, points, 1000):
        cloudwatch.put_metric_data(Namespace="/aws/sagemaker/TrainingJobs", MetricData=[
            {"MetricName": "train:loss", "Dimensions": [{"Name": "TrainingJobName", "Value": job}],
             "Timestamp": start + index, "Value": 1.0 / (index + 1)}
            for index in range(first, min(points, first + 1000))])


def chart_in_browser(url: str, points: int) -> float | None:
    """Seconds from opening the page to its chart drawn with ``points`` points; ``None`` without a browser."""
    chromium = Path("/usr/bin/chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if not chromium.exists():
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(url)
        page.locator(f".chart[data-points='{points}'] canvas").wait_for(timeout=120_000)
        seconds = time.perf_counter() - started
        browser.close()
    return seconds


def main() -> int:
    small = "--small" in sys.argv
    count, repeats, jobs, points = (1_000, 10, 1, 10_000) if small else (10_000, 20, 5, 100_000)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        seed_jobs(data_dir, count)
        harbor = start_harbor(data_dir, timeout=180)
        try:
            sagemaker = harbor.client("sagemaker")
            api = median_seconds(lambda: sagemaker.list_training_jobs(MaxResults=50, SortBy="CreationTime",
                                                                        SortOrder="Descending"), repeats)
            url = harbor.endpoint + "/_console/training-jobs?size=50&sort=created&order=desc"

            def page() -> None:
                with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "text/html"})) as answer:
                    body = answer.read()
                assert b"bench-job-" in body

            html = median_seconds(page, repeats)
            put_points(harbor, "bench-job-00000", points)
            series_url = harbor.endpoint + "/_console/training-jobs/bench-job-00000/metrics.json"
            series = median_seconds(lambda: urllib.request.urlopen(series_url).read(), 5)
            drawn = chart_in_browser(harbor.endpoint + "/_console/training-jobs/bench-job-00000", points)
        finally:
            harbor.kill()
    print(f"console: {count} training jobs stored; median of {repeats}")
    print(f"  ListTrainingJobs (50 rows)        {api * 1000:8.1f} ms")
    print(f"  /_console/training-jobs (50 rows) {html * 1000:8.1f} ms   ratio {html / api:.2f}x (target <= 1.5x)")
    print(f"  chart series, {points} points       {series * 1000:8.1f} ms   (server, metrics.json)")
    if drawn is None:
        print("  chart drawn in Chromium            skipped (no /usr/bin/chromium or playwright)")
    else:
        print(f"  chart drawn in Chromium            {drawn * 1000:8.1f} ms   (page open to {points} points plotted)")
    with tempfile.TemporaryDirectory() as tmp:
        harbor = start_harbor(Path(tmp))
        try:
            page_first, cli_first = time_to_first_line(harbor, jobs)
        finally:
            harbor.kill()
    print(f"  first log line, console live log  {page_first * 1000:8.1f} ms   "
          f"(CreateTrainingJob to the line; median of {jobs})")
    print(f"  first log line, mlharbor logs -f  {cli_first * 1000:8.1f} ms   "
          f"ratio page/cli {page_first / cli_first:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
