"""glueetl runs on real Spark (pyspark's own 3.5, Java 17): ``local[N]`` sized from the job's workers, and a
Spark standalone cluster (a master and two workers on 127.0.0.1) named by the run's arguments.

Each JVM start costs seconds on two cores, so the module shares one job definition and one cluster.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.services.glue.launch import spark_home
from tests.services.glue.conftest import create_job, log_messages, put_script, wait_for_run

pytestmark = pytest.mark.slow

SPARK_SCRIPT = """
import sys
from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "fail"])
sc = SparkContext.getOrCreate()
glue_context = GlueContext(sc)
job = Job(glue_context)
job.init(args["JOB_NAME"], args)
total = sc.parallelize(range(1000), 4).map(lambda x: x * 2).sum()
print(f"master={sc.master} total={total}")
if args["fail"] == "yes":
    raise RuntimeError(f"transform failed after total {total}")
job.commit()
"""
SPARK_HOME = spark_home()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def spark_job(glue: Any, glue_s3: Any, glue_bucket: str) -> str:
    """The module's one glueetl job: 2 G.1X workers (one is the driver, so one executor of 4 vCPUs)."""
    return create_job(glue, put_script(glue_s3, glue_bucket, SPARK_SCRIPT), "glueetl", WorkerType="G.1X",
                      NumberOfWorkers=2, DefaultArguments={"--fail": "no"}, ExecutionProperty={"MaxConcurrentRuns": 2})


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A standalone master and two workers (1 core, 1 GiB each) from the installed pyspark, on 127.0.0.1."""
    logs = tmp_path_factory.mktemp("spark-cluster")
    env = {**os.environ, "SPARK_HOME": str(SPARK_HOME), "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_WORKER_DIR": str(logs / "work"),
           "SPARK_LOG_DIR": str(logs)}
    port, ui = free_port(), free_port()
    processes = []

    def daemon(name: str, *argv: str) -> None:
        with open(logs / f"{name}.log", "wb") as log:
            processes.append(subprocess.Popen([str(SPARK_HOME / "bin" / "spark-class"), *argv], stdout=log, stderr=subprocess.STDOUT,
                                              env=env, start_new_session=True))

    daemon("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
           "--webui-port", str(ui))
    worker_uis = [free_port(), free_port()]
    for index, worker_ui in enumerate(worker_uis):
        daemon(f"worker-{index}", "org.apache.spark.deploy.worker.Worker", f"spark://127.0.0.1:{port}",
               "--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(worker_ui))
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                alive = [w for w in read_json(f"http://127.0.0.1:{ui}/json")["workers"] if w["state"] == "ALIVE"]
                if len(alive) == 2:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the Spark workers did not register: " + (logs / "master.log").read_text()[-2000:])
            time.sleep(0.5)
        yield {"master": f"spark://127.0.0.1:{port}", "worker_uis": worker_uis}
    finally:
        for process in processes:
            os.killpg(process.pid, 15)
        for process in processes:
            process.wait(30)


def test_a_glueetl_run_on_local_spark_sized_from_its_workers(glue: Any, glue_logs: Any, spark_job: str) -> None:
    run_id = glue.start_job_run(JobName=spark_job)["JobRunId"]
    failing = glue.start_job_run(JobName=spark_job, Arguments={"--fail": "yes"})["JobRunId"]
    run = wait_for_run(glue, spark_job, run_id, timeout=240)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    cores = min(4, os.cpu_count() or 1)
    assert f"master=local[{cores}] total=999000" in log_messages(glue_logs, "/aws-glue/jobs/output", run_id)
    assert (run["WorkerType"], run["NumberOfWorkers"]) == ("G.1X", 2)
    assert run["DPUSeconds"] == pytest.approx(1 * run["ExecutionTime"], abs=1)  # one G.1X executor
    failed = wait_for_run(glue, spark_job, failing, timeout=240)
    assert failed["JobRunState"] == "FAILED"
    assert failed["ErrorMessage"] == "RuntimeError: transform failed after total 999000"


def test_a_glueetl_run_on_a_standalone_cluster_uses_both_workers(glue: Any, glue_logs: Any, spark_job: str,
                                                                  spark_cluster: dict[str, Any]) -> None:
    run_id = glue.start_job_run(JobName=spark_job, Arguments={
        "--mlharbor-spark-master": spark_cluster["master"],
        "--conf": "spark.executor.memory=512m --conf spark.executor.cores=1 --conf spark.cores.max=2",
    })["JobRunId"]
    run = wait_for_run(glue, spark_job, run_id, timeout=240)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert f"master={spark_cluster['master']} total=999000" in log_messages(glue_logs, "/aws-glue/jobs/output",
                                                                           run_id)
    apps_per_worker = []
    for worker_ui in spark_cluster["worker_uis"]:
        state = read_json(f"http://127.0.0.1:{worker_ui}/json")
        apps_per_worker.append({e["appid"] for e in state["executors"] + state["finishedexecutors"]})
    assert all(apps_per_worker), apps_per_worker  # an executor of the run on each worker
    assert apps_per_worker[0] == apps_per_worker[1]
