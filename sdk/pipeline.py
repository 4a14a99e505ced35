"""The graph ML pipeline from the client side, in plain boto3, as a user would drive it.

raw CSV → S3 → ETL (a Glue ``glueetl`` job running :data:`GLUE_ETL_SCRIPT`, or the processing job
``mlharbor/graph-etl``; both write the same files) → Neptune bulk load (``/loader``, through
boto3's ``neptunedata`` client) → training job ``mlharbor/gnn``. Every step is an AWS API call
(CreateJob/StartJobRun or CreateProcessingJob, StartLoaderJob, CreateTrainingJob…), so with clients made for AWS (and an
ECR image URI and a Neptune endpoint) the same driver runs there.

Progress is reported through :class:`PipelineHooks`: one call per status transition and one per
job log line, so a demo can print them and a test can collect them.

>>> pipeline = GraphPipeline(bucket="demo")                     # local edge, graph URL from health
>>> result = pipeline.run(Path("cora/nodes.csv"), Path("cora/edges.csv"),
...                       etl_arguments=["--vertex-label", "paper"], hyperparameters={"model": "gcn"})
>>> result.training.metrics["test_acc"]
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sdk.estimator import DEFAULT_ROLE, TERMINAL
from sdk.logs import LogTail
from sdk.session import endpoint_url
from sdk.session import session as local_session

PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"
#: Where a Glue job run's stdout goes (stream = the run id); stderr goes to ``/aws-glue/jobs/error``.
GLUE_OUTPUT_LOG_GROUP = "/aws-glue/jobs/output"
GLUE_FINAL_STATES = ("SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR")
#: The demo's ETL as a Glue script: raw Cora-shaped CSV → Neptune bulk-load CSV + the gnn channel's files.
GLUE_ETL_SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "glue" / "cora_etl.py"
#: The script's arguments when a run does not give them (the job's DefaultArguments).
GLUE_ETL_DEFAULTS = {"--vertex_label": "node", "--edge_label": "edge", "--max_bad_rows": "0", "--num_features": "0"}
ETL_IMAGE = "mlharbor/graph-etl"
GNN_IMAGE = "mlharbor/gnn"
#: Where the graph server's HTTP API is, when not given (else asked from mlharbor's health facts).
GRAPH_URL_ENV = "MLHARBOR_GRAPH_URL"
LOAD_RUNNING = ("LOAD_NOT_STARTED", "LOAD_IN_QUEUE", "LOAD_IN_PROGRESS")
#: ``key=value`` pairs in a log line (``epoch=3 train_loss=1.2 val_acc=0.7``, ``test_acc=0.81``).
METRIC = re.compile(r"\b([a-z_]+)=([-+0-9.eE]+|nan)\b")
#: The ``MetricDefinitions`` of the training job, so DescribeTrainingJob lists them too.
GNN_METRICS = [
    {"Name": "train_loss", "Regex": r"train_loss=([0-9.eE+-]+)"},
    {"Name": "val_acc", "Regex": r"val_acc=([0-9.eE+-]+)"},
    {"Name": "test_acc", "Regex": r"test_acc=([0-9.eE+-]+)"},
]


class PipelineError(RuntimeError):
    """A step ended badly; the message says which and why (FailureReason, loader errors)."""


@dataclass
class PipelineHooks:
    """What the driver tells its caller while it waits.

    Args:
        on_status: ``(step, name, status, message)`` at every status transition of a job or load.
        on_log: ``(step, name, line)`` for each log line of a job, as it arrives.
    """

    on_status: Callable[[str, str, str, str], None] = lambda step, name, status, message: None
    on_log: Callable[[str, str, str], None] = lambda step, name, line: None


def printing_hooks(out: TextIO = sys.stdout, logs: bool = True) -> PipelineHooks:
    """Hooks that print ``[step name] Status: message`` and (with ``logs``) every log line."""

    def status(step: str, name: str, state: str, message: str) -> None:
        print(f"[{step} {name}] {state}" + (f": {message}" if message else ""), file=out, flush=True)

    def log(step: str, name: str, line: str) -> None:
        print(f"  {line}", file=out, flush=True)

    return PipelineHooks(on_status=status, on_log=log if logs else PipelineHooks().on_log)


def parse_metrics(lines: list[str]) -> dict[str, float]:
    """The last value of each ``key=value`` metric in the lines (e.g. ``test_acc``)."""
    metrics: dict[str, float] = {}
    for line in lines:
        for key, value in METRIC.findall(line):
            metrics[key] = float(value)
    return metrics


@dataclass
class EtlResult:
    job_name: str
    graph_uri: str
    features_uri: str
    report_uri: str
    exit_message: str
    seconds: float


@dataclass
class GlueEtlResult(EtlResult):
    """An ETL done by a Glue job run: the run's id, final state and ``ExecutionTime`` (seconds) as well."""

    run_id: str = ""
    state: str = ""
    execution_time: int = 0


class StreamTail:
    """Reads one CloudWatch Logs stream forward (it may not exist yet), from where the last read stopped."""

    def __init__(self, logs: Any, group: str, stream: str) -> None:
        self.logs, self.group, self.stream = logs, group, stream
        self._token: str | None = None

    def read_new(self) -> list[str]:
        lines: list[str] = []
        while True:
            kwargs: dict[str, Any] = {"logGroupName": self.group, "logStreamName": self.stream, "startFromHead": True}
            if self._token:
                kwargs["nextToken"] = self._token
            try:
                page = self.logs.get_log_events(**kwargs)
            except self.logs.exceptions.ResourceNotFoundException:
                return lines
            lines.extend(event["message"] for event in page["events"])
            finished = not page["events"] or page.get("nextForwardToken") == self._token
            self._token = page.get("nextForwardToken")
            if finished:
                return lines


@dataclass
class LoadResult:
    load_id: str
    status: dict[str, Any]
    seconds: float


@dataclass
class TrainingResult:
    job_name: str
    description: dict[str, Any]
    lines: list[str]
    seconds: float

    @property
    def metrics(self) -> dict[str, float]:
        """Last value of each metric the job logged (``test_acc``, ``train_seconds``, ...)."""
        return parse_metrics(self.lines)

    @property
    def model_data(self) -> str | None:
        return self.description.get("ModelArtifacts", {}).get("S3ModelArtifacts")


@dataclass
class PipelineResult:
    etl: EtlResult
    load: LoadResult
    training: TrainingResult


def graph_url_from_health(edge: str) -> str:
    """The graph server's HTTP URL as mlharbor's health facts give it.

    Raises:
        PipelineError: the edge does not say (not mlharbor, or no graph server).
    """
    try:
        with urllib.request.urlopen(edge.rstrip("/") + "/_mlharbor/health", timeout=10) as response:
            graph = json.loads(response.read()).get("graph")
    except (OSError, ValueError) as error:
        raise PipelineError(f"cannot ask {edge} where the graph server is ({error}); pass graph_url") from None
    if not graph:
        raise PipelineError(f"{edge} runs no graph server; pass graph_url")
    return str(graph)


def unique(base: str) -> str:
    return f"{base}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:4]}"


@dataclass
class GraphPipeline:
    """Drives ETL → bulk load → training for one bucket/prefix.

    Args:
        bucket: the S3 bucket (created if missing).
        prefix: key prefix of everything this pipeline writes.
        graph_url: the Neptune HTTP endpoint (``http://host:port``); default ``MLHARBOR_GRAPH_URL``,
            else mlharbor's health facts.
        role: ``RoleArn`` for the jobs and ``iamRoleArn`` for the load.
        hooks: progress callbacks.
        poll_seconds: how often statuses are polled.
        session: a boto3 session (default: on the local edge endpoint).
    """

    bucket: str
    prefix: str = "graph-pipeline"
    graph_url: str | None = None
    role: str = DEFAULT_ROLE
    hooks: PipelineHooks = field(default_factory=PipelineHooks)
    poll_seconds: float = 0.5
    session: Any = None
    instance_type: str = "ml.m5.large"

    def __post_init__(self) -> None:
        self.session = self.session or local_session()
        self.s3 = self.session.client("s3")
        self.sagemaker = self.session.client("sagemaker")
        self.logs = self.session.client("logs")
        self.glue = self.session.client("glue")
        edge = getattr(self.session, "endpoint", None) or endpoint_url()
        self.graph_url = self.graph_url or os.environ.get(GRAPH_URL_ENV) or graph_url_from_health(edge)
        self.neptune = self.session.client("neptunedata", endpoint_url=self.graph_url)

    def uri(self, *parts: str) -> str:
        return "s3://" + "/".join([self.bucket, self.prefix, *parts])

    # -- 1. raw data ------------------------------------------------------------------------
    def upload_raw(self, nodes: Path, edges: Path, etl_config: dict[str, Any] | None = None) -> str:
        """Put the raw tables (and an ETL config) under ``<prefix>/raw/``; returns that URI."""
        exists = (self.s3.exceptions.BucketAlreadyOwnedByYou, self.s3.exceptions.BucketAlreadyExists)
        with contextlib.suppress(*exists):
            self.s3.create_bucket(Bucket=self.bucket)
        for path in (nodes, edges):
            self.s3.upload_file(str(path), self.bucket, f"{self.prefix}/raw/{path.name}")
        if etl_config is not None:
            self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}/etl-config/etl.json",
                               Body=json.dumps(etl_config).encode())
        return self.uri("raw") + "/"

    # -- 2. ETL -----------------------------------------------------------------------------
    def run_etl(self, arguments: list[str] | None = None, with_config: bool = False,
                job_name: str | None = None) -> EtlResult:
        """CreateProcessingJob with ``mlharbor/graph-etl`` on ``<prefix>/raw/``, then wait.

        Raises:
            PipelineError: the job did not complete (its FailureReason, which names bad rows).
        """
        name = job_name or unique("graph-etl")
        inputs = [self._processing_input("raw", self.uri("raw") + "/", "/opt/ml/processing/input/raw")]
        args = list(arguments or [])
        if with_config:
            inputs.append(self._processing_input("config", self.uri("etl-config") + "/",
                                                 "/opt/ml/processing/input/config"))
            args = ["--config", "/opt/ml/processing/input/config/etl.json", *args]
        outputs = [
            {"OutputName": output, "S3Output": {"S3Uri": self.uri("etl", name, output),
                                                "LocalPath": f"/opt/ml/processing/output/{output}",
                                                "S3UploadMode": "EndOfJob"}}
            for output in ("graph", "features", "report")
        ]
        app: dict[str, Any] = {"ImageUri": ETL_IMAGE}
        if args:
            app["ContainerArguments"] = args
        started = time.monotonic()
        self.sagemaker.create_processing_job(
            ProcessingJobName=name, RoleArn=self.role, AppSpecification=app,
            ProcessingInputs=inputs, ProcessingOutputConfig={"Outputs": outputs},
            ProcessingResources={"ClusterConfig": {"InstanceCount": 1, "InstanceType": self.instance_type,
                                                   "VolumeSizeInGB": 1}},
            StoppingCondition={"MaxRuntimeInSeconds": 3600},
        )
        description = self._wait_processing(name)
        return EtlResult(name, self.uri("etl", name, "graph") + "/", self.uri("etl", name, "features") + "/",
                         self.uri("etl", name, "report") + "/", description.get("ExitMessage", ""),
                         time.monotonic() - started)

    def run_glue_etl(self, arguments: dict[str, str] | None = None, script: Path = GLUE_ETL_SCRIPT,
                     job_name: str = "graph-pipeline-etl", worker_type: str = "G.1X",
                     workers: int = 2) -> GlueEtlResult:
        """The ETL as a Glue job: upload ``script``, CreateJob (or UpdateJob) ``glueetl``, StartJobRun, wait.

        The run reads ``<prefix>/raw/`` and writes ``<prefix>/etl/glue-etl-<time>-<hex>/{graph,features,report}/``
        (a fresh folder per run, named by the caller so it knows the paths before the run starts).

        Args:
            arguments: the run's script arguments (``--vertex_label``, ``--edge_label``, ...) over
                :data:`GLUE_ETL_DEFAULTS`.
            script: the Glue script (put under ``<prefix>/scripts/``).
            job_name: the Glue job, created on first use and updated to this script afterwards.

        Raises:
            PipelineError: the run did not succeed (its state and ErrorMessage: the script's exception).
        """
        script_key = f"{self.prefix}/scripts/{script.name}"
        self.s3.upload_file(str(script), self.bucket, script_key)
        definition: dict[str, Any] = {
            "Role": self.role, "GlueVersion": "5.0", "WorkerType": worker_type, "NumberOfWorkers": workers,
            "Command": {"Name": "glueetl", "ScriptLocation": f"s3://{self.bucket}/{script_key}", "PythonVersion": "3"},
            "DefaultArguments": GLUE_ETL_DEFAULTS, "Timeout": 60,
        }
        try:
            self.glue.create_job(Name=job_name, **definition)
        except self.glue.exceptions.AlreadyExistsException:
            self.glue.update_job(JobName=job_name, JobUpdate=definition)
        output = unique("glue-etl")
        paths = {f"--{name}_path": self.uri("etl", output, name) + "/" for name in ("graph", "features", "report")}
        started = time.monotonic()
        run_id = self.glue.start_job_run(JobName=job_name, Arguments={
            "--raw_path": self.uri("raw") + "/", **paths, **(arguments or {})})["JobRunId"]
        run, lines = self._wait_glue_run(job_name, run_id)
        summary = next((line for line in reversed(lines) if " vertices, " in line), "")
        return GlueEtlResult(job_name, paths["--graph_path"], paths["--features_path"], paths["--report_path"],
                             summary, time.monotonic() - started, run_id, run["JobRunState"],
                             int(run.get("ExecutionTime", 0)))

    def _wait_glue_run(self, job_name: str, run_id: str) -> tuple[dict[str, Any], list[str]]:
        """Polls GetJobRun until the run ends, reporting each state and each line of its output log."""
        tail = StreamTail(self.logs, GLUE_OUTPUT_LOG_GROUP, run_id)
        lines: list[str] = []
        last = ""

        def read_logs() -> None:
            for line in tail.read_new():
                lines.append(line)
                self.hooks.on_log("etl", run_id, line)

        while True:
            run = self.glue.get_job_run(JobName=job_name, RunId=run_id)["JobRun"]
            state = run["JobRunState"]
            if state != last:
                message = run.get("ErrorMessage", "")
                if state in GLUE_FINAL_STATES:
                    message = message or f"ExecutionTime {run.get('ExecutionTime', 0)} s"
                self.hooks.on_status("etl", run_id, state, message)
                last = state
            read_logs()
            if state in GLUE_FINAL_STATES:
                break
            time.sleep(self.poll_seconds)
        read_logs()
        if state != "SUCCEEDED":
            raise PipelineError(f"Glue job {job_name} run {run_id} {state}: {run.get('ErrorMessage', '')}")
        return run, lines

    @staticmethod
    def _processing_input(name: str, uri: str, local: str) -> dict[str, Any]:
        return {"InputName": name, "S3Input": {"S3Uri": uri, "LocalPath": local, "S3DataType": "S3Prefix",
                                               "S3InputMode": "File"}}

    def _wait_processing(self, name: str) -> dict[str, Any]:
        tail = LogTail(self.logs, name, PROCESSING_LOG_GROUP)
        last = ""
        while True:
            description = self.sagemaker.describe_processing_job(ProcessingJobName=name)
            status = description["ProcessingJobStatus"]
            if status != last:
                self.hooks.on_status("etl", name, status, description.get("FailureReason", ""))
                last = status
            for _, line in tail.read_new():
                self.hooks.on_log("etl", name, line)
            if status in TERMINAL:
                break
            time.sleep(self.poll_seconds)
        for _, line in tail.read_new():
            self.hooks.on_log("etl", name, line)
        if status != "Completed":
            raise PipelineError(f"processing job {name} {status}: {description.get('FailureReason', '')}")
        return description

    # -- 3. bulk load -----------------------------------------------------------------------
    def bulk_load(self, source: str, fail_on_error: bool = True, timeout: float = 3600) -> LoadResult:
        """Neptune ``/loader`` from ``source`` (Gremlin CSV), waiting for ``LOAD_COMPLETED``.

        Raises:
            PipelineError: the load ended otherwise (with Neptune's error log entries).
        """
        started = time.monotonic()
        response = self.neptune.start_loader_job(
            source=source, format="csv", s3BucketRegion=self.session.region_name, iamRoleArn=self.role,
            failOnError=fail_on_error)
        load_id = response["payload"]["loadId"]
        last = ""
        deadline = time.monotonic() + timeout
        while True:
            payload = self.neptune.get_loader_job_status(loadId=load_id, details=True, errors=True,
                                                         errorsPerPage=10)["payload"]
            overall = payload["overallStatus"]
            if overall["status"] != last:
                last = overall["status"]
                self.hooks.on_status("load", load_id, last, f"{overall.get('totalRecords', 0)} records")
            if last not in LOAD_RUNNING:
                break
            if time.monotonic() > deadline:
                raise PipelineError(f"load {load_id} still {last} after {timeout:.0f}s")
            time.sleep(min(self.poll_seconds, 0.2))
        if last != "LOAD_COMPLETED":
            errors = payload.get("errors", {}).get("errorLogs", [])
            details = "; ".join(f"{e.get('fileName')}:{e.get('recordNum')}: {e.get('errorMessage')}" for e in errors)
            raise PipelineError(f"load {load_id} ended {last}: {details}")
        return LoadResult(load_id, payload, time.monotonic() - started)

    # -- 4. training ------------------------------------------------------------------------
    def train(self, features_uri: str, hyperparameters: dict[str, Any] | None = None,
              job_name: str | None = None, checkpoint_s3_uri: str | None = None,
              max_run: int = 3600) -> TrainingResult:
        """CreateTrainingJob with ``mlharbor/gnn`` on the ETL's features, then wait.

        Raises:
            PipelineError: the job did not complete (with its FailureReason).
        """
        name = job_name or unique("gnn")
        request: dict[str, Any] = {
            "TrainingJobName": name,
            "AlgorithmSpecification": {"TrainingImage": GNN_IMAGE, "TrainingInputMode": "File",
                                       "MetricDefinitions": GNN_METRICS},
            "RoleArn": self.role,
            "HyperParameters": {key: str(value) for key, value in (hyperparameters or {}).items()},
            "InputDataConfig": [{"ChannelName": "graph", "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": features_uri, "S3DataDistributionType": "FullyReplicated"}}}],
            "OutputDataConfig": {"S3OutputPath": self.uri("models")},
            "ResourceConfig": {"InstanceType": self.instance_type, "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": max_run},
        }
        if checkpoint_s3_uri:
            request["CheckpointConfig"] = {"S3Uri": checkpoint_s3_uri}
        started = time.monotonic()
        self.sagemaker.create_training_job(**request)
        description, lines = self._wait_training(name)
        return TrainingResult(name, description, lines, time.monotonic() - started)

    def _wait_training(self, name: str) -> tuple[dict[str, Any], list[str]]:
        tail = LogTail(self.logs, name)
        lines: list[str] = []
        shown = 0

        def read_logs() -> None:
            for _, line in tail.read_new():
                lines.append(line)
                self.hooks.on_log("train", name, line)

        while True:
            description = self.sagemaker.describe_training_job(TrainingJobName=name)
            transitions = description.get("SecondaryStatusTransitions", [])
            for transition in transitions[shown:]:
                self.hooks.on_status("train", name, transition["Status"], transition.get("StatusMessage", ""))
            shown = len(transitions)
            read_logs()
            if description["TrainingJobStatus"] in TERMINAL:
                break
            time.sleep(self.poll_seconds)
        read_logs()
        if description["TrainingJobStatus"] != "Completed":
            raise PipelineError(f"training job {name} {description['TrainingJobStatus']}: "
                                f"{description.get('FailureReason', '')}")
        return description, lines

    # -- all of it --------------------------------------------------------------------------
    def run(self, nodes: Path, edges: Path, hyperparameters: dict[str, Any] | None = None,
            etl_arguments: list[str] | None = None, etl_config: dict[str, Any] | None = None) -> PipelineResult:
        """Upload, ETL, bulk load and train, one after the other."""
        self.upload_raw(nodes, edges, etl_config)
        etl = self.run_etl(etl_arguments, with_config=etl_config is not None)
        load = self.bulk_load(etl.graph_uri)
        training = self.train(etl.features_uri, hyperparameters)
        return PipelineResult(etl, load, training)
