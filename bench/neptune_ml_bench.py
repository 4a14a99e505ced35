"""Neptune ML benchmark (issue 16): Gremlin inference queries, and the orchestration overhead of the whole path.

On a real ``mlharbor up`` (a subprocess), with a graph bulk-loaded (Cora, or ``--graph planted``: the generated
heterogeneous graph, smaller) and one Neptune ML model trained and deployed through boto3 ``neptunedata``:

- latency p50/p99 over ``--queries`` calls, each for the same ``--batch`` vertices, of
  * a Gremlin inference query, transductive: ``g.with("Neptune#ml.endpoint", ep).V(ids).properties(p)
    .with("Neptune#ml.classification")`` (regression on the planted graph),
  * the same with ``with("Neptune#ml.inductiveInference")`` (the graph server sends the neighbourhood),
  * a plain ``g.V(ids).values(p)`` read of the same vertices (what a query costs without ML),
  * a direct ``InvokeEndpoint`` on the SageMaker endpoint with the request the graph server sends;
- the whole path's wall time (export → processing → training with tuning → endpoint) beside the sum of its
  SageMaker jobs' own times (processing jobs, training jobs, endpoint creation): the difference is
  orchestration (polling, job start-up, S3 copies). Trials run one at a time here, so the sum is a path.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402

from bench.training_bench import percentile  # noqa: E402
from emulator.testing import CORA, RunningHarbor, start_harbor  # noqa: E402
from examples.neptune_ml import cora, planted  # noqa: E402
from examples.neptune_ml.run_cora import PipelineRun, node_classification, run_pipeline  # noqa: E402
from examples.neptune_ml.workflow import NeptuneML, gremlin  # noqa: E402


def timed(call: Callable[[], Any], count: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        call()
    latencies = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        latencies.append(time.perf_counter() - started)
    return latencies


def seconds_between(start: Any, end: Any) -> float:
    return (end - start).total_seconds() if start and end else 0.0


def sagemaker_job_seconds(harbor: RunningHarbor, run: PipelineRun) -> dict[str, float]:
    """Each SageMaker job's own time behind one Neptune ML run, by kind."""
    sagemaker = harbor.client("sagemaker")
    times = {"processing jobs": 0.0, "training jobs": 0.0, "endpoint": 0.0}
    for job in (run.processing.description["processingJob"], run.training.description["processingJob"]):
        described = sagemaker.describe_processing_job(ProcessingJobName=job["name"])
        times["processing jobs"] += seconds_between(described.get("ProcessingStartTime"),
                                                    described.get("ProcessingEndTime"))
    trials = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=run.training.description["hpoJob"]["name"])["TrainingJobSummaries"]
    for trial in trials:
        described = sagemaker.describe_training_job(TrainingJobName=trial["TrainingJobName"])
        times["training jobs"] += seconds_between(described.get("TrainingStartTime"), described.get("TrainingEndTime"))
    endpoint = sagemaker.describe_endpoint(EndpointName=run.endpoint_id)
    times["endpoint"] = seconds_between(endpoint["CreationTime"], endpoint["LastModifiedTime"])
    return times


def train(ml: NeptuneML, graph: str, trials: int) -> tuple[PipelineRun, list[str], str, str]:
    """Load the graph and run the path once; (run, vertices to ask about, property, task)."""
    if graph == "cora":
        papers = cora.read(CORA)
        ml.load(cora.bulk_load_files(papers))
        return node_classification(ml, "bench-cora", max_jobs=trials), sorted(papers.subjects("test")), \
            "subject", "classification"
    generated = planted.generate(users=300, items=150)
    ml.load(planted.bulk_load_files(generated))
    run = run_pipeline(ml, "bench-planted", planted.REGRESSION_TARGETS, planted.REGRESSION_FEATURES, planted.HPO,
                       max_jobs=trials)
    return run, [uid for uid, split in zip(generated.user_ids, generated.user_split, strict=True)
                 if split == "test"], "score", "regression"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--graph", choices=("cora", "planted"), default="cora")
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--trials", type=int, default=2)
    options = parser.parse_args(argv)
    if options.graph == "cora" and not CORA.exists():
        print(f"neptune_ml_bench: skipped, no Cora at {CORA}")
        return 0
    with tempfile.TemporaryDirectory(prefix="neptune-ml-bench-") as data_dir:
        harbor = start_harbor(Path(data_dir), "--max-concurrent-jobs", "1")
        try:
            return run_bench(harbor, options)
        finally:
            harbor.kill()


def run_bench(harbor: RunningHarbor, options: argparse.Namespace) -> int:
    assert harbor.graph
    s3 = harbor.client("s3")
    bucket = f"bench-neptune-ml-{uuid.uuid4().hex[:6]}"
    s3.create_bucket(Bucket=bucket)
    neptune = boto3.client("neptunedata", endpoint_url=harbor.graph, region_name="us-east-1",
                           aws_access_key_id="bench", aws_secret_access_key="bench")
    ml = NeptuneML(harbor.graph, neptune, s3, bucket, poll_seconds=0.5, say=lambda line: None)
    started = time.monotonic()
    run, vertices, prop, task = train(ml, options.graph, options.trials)
    path_seconds = sum(result.seconds for _, result in run.steps())
    loaded_and_path = time.monotonic() - started
    jobs = sagemaker_job_seconds(harbor, run)
    asked = vertices[:options.batch]
    runtime = harbor.client("sagemaker-runtime")
    request = json.dumps({"version": "mlharbor-neptune-ml/1", "task": "node_class" if task == "classification"
                          else "node_regression", "property": prop, "mode": "transductive", "nodes": asked,
                          "limit": 1, "threshold": 0.0, "deterministic": True})
    with gremlin(harbor.graph) as g:
        ml_source = g.with_("Neptune#ml.endpoint", run.endpoint_id)
        latencies = {
            "Gremlin ML query, transductive": timed(
                lambda: ml_source.V(*asked).properties(prop).with_(f"Neptune#ml.{task}").value().to_list(),
                options.queries),
            "Gremlin ML query, inductive": timed(
                lambda: ml_source.V(*asked).properties(prop).with_(f"Neptune#ml.{task}")
                .with_("Neptune#ml.inductiveInference").value().to_list(), options.queries),
            "Gremlin values() read": timed(lambda: g.V(*asked).values(prop).to_list(), options.queries),
            "InvokeEndpoint, direct": timed(
                lambda: runtime.invoke_endpoint(EndpointName=run.endpoint_id, ContentType="application/json",
                                                Body=request)["Body"].read(), options.queries),
        }
    ml.delete_endpoint(run.endpoint_id)
    plain = statistics.median(latencies["Gremlin values() read"])
    direct = statistics.median(latencies["InvokeEndpoint, direct"])
    print(f"Neptune ML bench ({options.graph}, {options.batch} vertices per query, {options.queries} queries)")
    print(f"{'query':34} {'p50 ms':>8} {'p99 ms':>8} {'x values()':>11} {'x Invoke':>9}")
    for name, values in latencies.items():
        p50 = statistics.median(values)
        print(f"{name:34} {p50 * 1000:8.2f} {percentile(values, 0.99) * 1000:8.2f} {p50 / plain:11.1f} "
              f"{p50 / direct:9.2f}")
    job_sum = sum(jobs.values())
    print(f"\nwhole path (export -> processing -> training, {options.trials} trials one at a time -> endpoint): "
          f"{path_seconds:.1f} s (with the bulk load {loaded_and_path:.1f} s)")
    for step, result in run.steps():
        print(f"  {step:12} {result.seconds:7.1f} s")
    print(f"sum of its SageMaker jobs' own times: {job_sum:.1f} s "
          + ", ".join(f"{kind} {value:.1f} s" for kind, value in jobs.items()))
    print(f"orchestration overhead: {path_seconds - job_sum:.1f} s ({path_seconds / job_sum:.2f}x the jobs' sum)"
          if job_sum else "orchestration overhead: no job times reported")
    return 0


if __name__ == "__main__":
    sys.exit(main())
