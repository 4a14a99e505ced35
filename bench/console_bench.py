"""Console benchmark: the training-jobs page beside the ListTrainingJobs call that feeds it.

N completed training jobs (10,000 by default) are written to a data dir's record store, then one
``mlharbor up`` loads them. Timed, median of R requests each, over loopback HTTP with a warm connection:

* ``ListTrainingJobs`` (boto3, MaxResults 50, newest first): the API's page;
* ``GET /_console/training-jobs?size=50`` (sorted by creation time, newest first): the console's page of
  the same 50 rows, rendered as HTML.

Target: page <= 1.5x the API call. ``python bench/console_bench.py --small`` uses 1,000 jobs.
Not measured yet: the time to the first log line on the page beside ``mlharbor logs -f``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator.services.sagemaker.arns import training_job_arn  # noqa: E402
from emulator.services.sagemaker.records import StatusTransition, TrainingJob  # noqa: E402
from emulator.services.sagemaker.store import RecordStore  # noqa: E402
from emulator.services.sagemaker.training import KIND  # noqa: E402
from emulator.testing import ROLE, start_harbor  # noqa: E402

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


def main() -> int:
    small = "--small" in sys.argv
    count, repeats = (1_000, 10) if small else (10_000, 20)
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
        finally:
            harbor.kill()
    print(f"console: {count} training jobs stored; median of {repeats}")
    print(f"  ListTrainingJobs (50 rows)        {api * 1000:8.1f} ms")
    print(f"  /_console/training-jobs (50 rows) {html * 1000:8.1f} ms   ratio {html / api:.2f}x (target <= 1.5x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
