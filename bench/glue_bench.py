"""Glue benchmarks (issue 14), measured side by side in one run.

1. A trivial ``glueetl`` job (GlueContext, Job.init/commit, one tiny Spark action): CreateJob → StartJobRun →
   SUCCEEDED as a client sees it, beside a bare ``spark-submit`` of the same script with the same master and
   settings (interleaved rounds, medians). Target ratio ≤ 1.15.
2. A 1,000,000-row CSV → Parquet transform as a Glue job reading and writing ``s3://`` (staged through
   the embedded S3, see ``mlharbor_glue.s3stage``), beside the same PySpark code run directly by
   ``spark-submit`` on local files. Target ratio ≤ 1.10. Run once (a minute of Spark on a small machine).
   What the staging costs is measured on its own too: the same download of the input and upload of the
   output through :class:`S3Stage`, the code a run uses.

Both sides get the same cores: the jobs are G.1X × 2 (``local[N]``, N = one executor's 4 vCPUs, at most the
machine's cores, as the server sizes it), the bare runs ``--master local[N]`` with the same N.
``GLUE_BENCH_ROWS`` and ``GLUE_BENCH_ROUNDS`` shrink it for a smoke run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
GLUE_RUNTIME = REPO / "containers" / "glue"
sys.path.insert(0, str(GLUE_RUNTIME))

from mlharbor_glue.s3stage import S3Stage  # noqa: E402

from emulator.edge.server import Harbor  # noqa: E402
from emulator.services.glue.launch import spark_home  # noqa: E402
from emulator.services.glue.records import capacity_for, local_cores  # noqa: E402

WORKER_TYPE, WORKERS = "G.1X", 2
#: what the server gives a run of that size (one executor's vCPUs, at most the machine's cores), given to bare runs
MASTER = f"local[{local_cores(capacity_for('glueetl', WORKER_TYPE, WORKERS, None))}]"
ROUNDS = int(os.environ.get("GLUE_BENCH_ROUNDS", "3"))
ROWS = int(os.environ.get("GLUE_BENCH_ROWS", "1000000"))
ROLE = "arn:aws:iam::123456789012:role/glue-bench"
FINAL = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR")
#: the Spark settings every run gets from the server, given to the bare runs as well
SPARK_SETTINGS = ["--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
                  "--conf", "spark.ui.showConsoleProgress=false"]

TRIVIAL = """
import sys
from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME"])
glue_context = GlueContext(SparkContext.getOrCreate())
job = Job(glue_context)
job.init(args["JOB_NAME"], args)
print("sum", glue_context.spark_session.sparkContext.parallelize(range(100), 2).sum())
job.commit()
"""

#: plain PySpark; Glue's own arguments (--JOB_NAME, --JOB_RUN_ID, ...) are left to parse_known_args
TRANSFORM = """
import argparse
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

parser = argparse.ArgumentParser()
parser.add_argument("--input")
parser.add_argument("--output")
args, _ = parser.parse_known_args()
spark = SparkSession.builder.getOrCreate()
schema = "id LONG, user STRING, amount DOUBLE, quantity INT, day DATE"
rows = spark.read.option("header", "true").schema(schema).csv(args.input)
out = rows.withColumn("total", F.col("amount") * F.col("quantity")).withColumn("month", F.date_format("day", "yyyy-MM"))
out.write.mode("overwrite").parquet(args.output)
print("rows", spark.read.parquet(args.output).count())
"""


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bench",
                        aws_secret_access_key="bench", config=Config(retries={"max_attempts": 2}))


def write_rows(path: Path, count: int) -> None:
    """``count`` rows of a sales-like table (about 45 bytes a row)."""
    with open(path, "w") as table:
        table.write("id,user,amount,quantity,day\n")
        for index in range(count):
            table.write(f"{index},user{index % 9973},{(index * 37) % 10000 / 100:.2f},{index % 7 + 1},"
                        f"2024-{index % 12 + 1:02d}-{index % 28 + 1:02d}\n")


def glue_run(glue: Any, script_uri: str, arguments: dict[str, str]) -> tuple[float, dict[str, Any]]:
    """CreateJob → StartJobRun → SUCCEEDED (polled every 50 ms): seconds, and the final run."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    glue.create_job(Name=name, Role=ROLE, Command={"Name": "glueetl", "ScriptLocation": script_uri},
                    GlueVersion="5.0", WorkerType=WORKER_TYPE, NumberOfWorkers=WORKERS)
    run_id = glue.start_job_run(JobName=name, Arguments=arguments)["JobRunId"]
    while True:
        run = glue.get_job_run(JobName=name, RunId=run_id)["JobRun"]
        if run["JobRunState"] in FINAL:
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    if run["JobRunState"] != "SUCCEEDED":
        raise SystemExit(f"glue run {run_id} {run['JobRunState']}: {run.get('ErrorMessage', '')}")
    return seconds, run


def bare_submit(script: Path, *argv: str) -> float:
    """``spark-submit`` of ``script`` as a user would run it by hand (awsglue on PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": f"{GLUE_RUNTIME}:{REPO}", "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable, "SPARK_HOME": str(spark_home())}
    started = time.perf_counter()
    subprocess.run([str(spark_home() / "bin" / "spark-submit"), "--master", MASTER, *SPARK_SETTINGS, str(script),
                    *argv], check=True, env=env, capture_output=True, cwd=script.parent)
    return time.perf_counter() - started


def trivial(glue: Any, s3: Any, bucket: str, work: Path) -> None:
    script = work / "trivial.py"
    script.write_text(TRIVIAL)
    s3.upload_file(str(script), bucket, "scripts/trivial.py")
    glue_seconds, bare_seconds, execution = [], [], []
    for _ in range(ROUNDS):  # interleaved, so machine noise hits both alike
        seconds, run = glue_run(glue, f"s3://{bucket}/scripts/trivial.py", {})
        glue_seconds.append(seconds)
        execution.append(run.get("ExecutionTime", 0))
        bare_seconds.append(bare_submit(script, "--JOB_NAME", "bare"))
    glue_p50, bare_p50 = statistics.median(glue_seconds), statistics.median(bare_seconds)
    ratio = glue_p50 / bare_p50
    print(f"trivial glueetl create→SUCCEEDED, median of {ROUNDS}: {glue_p50:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in glue_seconds)}; ExecutionTime {execution})")
    print(f"bare spark-submit of the same script:         {bare_p50:.2f} s "
          f"(runs {', '.join(f'{s:.2f}' for s in bare_seconds)})  → ratio {ratio:.2f}x "
          f"(target ≤ 1.15: {'met' if ratio <= 1.15 else 'MISSED'})", flush=True)


def staging_cost(s3: Any, bucket: str, work: Path, output: Path) -> tuple[float, float]:
    """Seconds to stage the input down and the transform's output up, as a run does (S3Stage)."""
    stage = S3Stage(work / "stage", client=s3)
    started = time.perf_counter()
    stage.localize(f"s3://{bucket}/transform/input/")
    down = time.perf_counter() - started
    started = time.perf_counter()
    stage.upload(output, f"s3://{bucket}/transform/staging-probe/", replace=True)
    return down, time.perf_counter() - started


def transform(glue: Any, s3: Any, bucket: str, work: Path) -> None:
    script, table = work / "transform.py", work / "input" / "rows.csv"
    script.write_text(TRANSFORM)
    table.parent.mkdir()
    write_rows(table, ROWS)
    megabytes = table.stat().st_size / 1e6
    s3.upload_file(str(table), bucket, "transform/input/rows.csv")
    s3.upload_file(str(script), bucket, "scripts/transform.py")
    glue_seconds, run = glue_run(glue, f"s3://{bucket}/scripts/transform.py", {
        "--input": f"s3://{bucket}/transform/input/", "--output": f"s3://{bucket}/transform/output/"})
    output = work / "output"
    bare_seconds = bare_submit(script, "--input", (work / "input").as_uri(), "--output", output.as_uri())
    down, up = staging_cost(s3, bucket, work, output)
    out_mb = sum(p.stat().st_size for p in output.rglob("*.parquet")) / 1e6
    ratio = glue_seconds / bare_seconds
    print(f"{ROWS:,}-row CSV ({megabytes:.0f} MB) → Parquet ({out_mb:.0f} MB) as a Glue job (s3:// in and out): "
          f"{glue_seconds:.2f} s (ExecutionTime {run.get('ExecutionTime')} s)")
    print(f"the same PySpark code by spark-submit on local files:          {bare_seconds:.2f} s  → ratio "
          f"{ratio:.2f}x (target ≤ 1.10: {'met' if ratio <= 1.10 else 'MISSED'})")
    print(f"s3:// staging alone (S3Stage through the edge): input down {down:.2f} s, output up {up:.2f} s "
          f"= {down + up:.2f} s ({(down + up) / glue_seconds:.0%} of the Glue run)", flush=True)


def main() -> None:
    print("== Glue (issue 14) ==", flush=True)
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        harbor = Harbor({"data_dir": str(work / "data"), "port": 0, "graph_port": 0})
        harbor.start()
        try:
            glue, s3 = client("glue", harbor.endpoint_url), client("s3", harbor.endpoint_url)
            bucket = f"glue-bench-{uuid.uuid4().hex[:6]}"
            s3.create_bucket(Bucket=bucket)
            (work / "trivial").mkdir()
            (work / "transform").mkdir()
            trivial(glue, s3, bucket, work / "trivial")
            transform(glue, s3, bucket, work / "transform")
        finally:
            harbor.stop()


if __name__ == "__main__":
    main()
