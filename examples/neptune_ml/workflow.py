"""The Neptune ML workflow from the client side, one step per call, in plain boto3 and gremlinpython.

Each step is what a user runs against Amazon Neptune (point ``graph_url`` at a Neptune cluster and the S3
client at AWS, and the same code runs there):

1. ``load``: Neptune's bulk loader (``neptunedata.start_loader_job``) from CSV in S3;
2. ``export``: the neptune-export service (``POST /v1/neptune-export``, command ``export-pg``, profile
   ``neptune_ml``) writes ``nodes/``, ``edges/`` and ``training-data-configuration.json`` to S3;
3. ``process``: ``start_ml_data_processing_job`` (a SageMaker processing job) writes the processed graph and
   ``model-HPO-configuration.json``, which ``edit_hpo_configuration`` may change and re-upload, as on AWS;
4. ``train``: ``start_ml_model_training_job`` (a processing job, then a SageMaker tuning job of training jobs);
5. ``deploy``: ``create_ml_endpoint`` (a SageMaker endpoint);
6. Gremlin inference: ``classify`` / ``regress`` (``properties(p).with("Neptune#ml.classification")``),
   ``classify_edges`` and ``predict_links`` (``out(label).with("Neptune#ml.prediction")``).
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

#: the Neptune ML statuses after which a job changes no more (they are the SageMaker job's statuses)
FINISHED = frozenset({"Completed", "Failed", "Stopped", "InService", "Deleted"})
EXPORT_FINISHED = frozenset({"succeeded", "failed"})
LOAD_RUNNING = frozenset({"LOAD_NOT_STARTED", "LOAD_IN_QUEUE", "LOAD_IN_PROGRESS"})
ROLE = "arn:aws:iam::123456789012:role/NeptuneMLRole"
#: how many ids one Gremlin inference query asks for
BATCH = 200


class WorkflowError(RuntimeError):
    """A step ended in a state other than success; the message says which and why."""


@dataclass(frozen=True)
class StepResult:
    """A finished Neptune ML job: its id, its last Get* description and how long it took (s)."""

    id: str
    description: dict[str, Any]
    seconds: float


@dataclass
class NeptuneML:
    """The workflow's steps against one graph server (``graph_url``) and one bucket.

    Args:
        neptune: a boto3 ``neptunedata`` client for ``graph_url``.
        s3: a boto3 S3 client.
        prefix: every S3 object the workflow writes is under ``s3://<bucket>/<prefix>/``.
        say: where progress lines go (``print`` by default; ``lambda line: None`` for silence).
    """

    graph_url: str
    neptune: Any
    s3: Any
    bucket: str
    prefix: str = "neptune-ml"
    poll_seconds: float = 1.0
    say: Callable[[str], None] = print
    timeout: float = 1800
    seen: dict[str, str] = field(default_factory=dict)

    def uri(self, *parts: str) -> str:
        return "s3://" + "/".join([self.bucket, self.prefix, *parts])

    def _wait(self, describe: Callable[[], dict[str, Any]], what: str, finished: frozenset[str],
              status_of: Callable[[dict[str, Any]], str] = lambda d: str(d.get("status"))) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            description = describe()
            description.pop("ResponseMetadata", None)
            status = status_of(description)
            if self.seen.get(what) != status:
                self.seen[what] = status
                self.say(f"  [{what}] {status}")
            if status in finished:
                return description
            if time.monotonic() > deadline:
                raise WorkflowError(f"{what} still {status} after {self.timeout:.0f} s")
            time.sleep(self.poll_seconds)

    # -- 1. the graph ------------------------------------------------------------------------------------------
    def load(self, files: dict[str, str]) -> dict[str, Any]:
        """Upload ``{name: CSV text}`` under ``<prefix>/load-<hex>/`` and bulk-load it; the status payload."""
        folder = f"load-{uuid.uuid4().hex[:8]}"
        for name, text in files.items():
            self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}/{folder}/{name}", Body=text.encode())
        load_id = self.neptune.start_loader_job(
            source=self.uri(folder) + "/", format="csv", s3BucketRegion="us-east-1", iamRoleArn=ROLE,
            failOnError=True)["payload"]["loadId"]
        payload = self._wait_load(load_id)
        if payload["overallStatus"]["status"] != "LOAD_COMPLETED":
            raise WorkflowError(f"bulk load {load_id}: {payload['overallStatus']}")
        return payload

    def _wait_load(self, load_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            payload = self.neptune.get_loader_job_status(loadId=load_id)["payload"]
            if payload["overallStatus"]["status"] not in LOAD_RUNNING:
                self.say(f"  [load] {load_id}: {payload['overallStatus']['status']}, "
                         f"{payload['overallStatus'].get('totalRecords')} records")
                return payload
            if time.monotonic() > deadline:
                raise WorkflowError(f"bulk load {load_id} still running after {self.timeout:.0f} s")
            time.sleep(min(self.poll_seconds, 0.5))

    # -- 2. export ---------------------------------------------------------------------------------------------
    def export(self, name: str, targets: list[dict[str, Any]], features: list[dict[str, Any]] | None = None,
               ) -> StepResult:
        """neptune-export ``export-pg`` with profile ``neptune_ml``; the result's id is its outputS3Uri."""
        started = time.monotonic()
        body = {"command": "export-pg", "outputS3Path": self.uri("export", name),
                "params": {"endpoint": self.graph_url, "profile": "neptune_ml", "cloneCluster": False},
                "additionalParams": {"neptune_ml": {"version": "v2.0", "targets": targets,
                                                    "features": features or []}},
                "jobSize": "small"}
        job = self._http("POST", "/v1/neptune-export", body)
        job_id = job["jobId"]
        description = self._wait(lambda: self._http("GET", f"/v1/neptune-export/{job_id}"), f"export {name}",
                                 EXPORT_FINISHED)
        if description["status"] != "succeeded":
            raise WorkflowError(f"export {name} {description['status']}: {description.get('reason')}")
        return StepResult(description["outputS3Uri"], description, time.monotonic() - started)

    def _http(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.graph_url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    # -- 3. data processing ------------------------------------------------------------------------------------
    def process(self, name: str, export_uri: str, model_type: str | None = None) -> StepResult:
        started = time.monotonic()
        options = {"modelType": model_type} if model_type else {}
        job_id = self.neptune.start_ml_data_processing_job(
            id=f"{name}-processing-{uuid.uuid4().hex[:6]}", inputDataS3Location=export_uri,
            processedDataS3Location=self.uri("processed", name), **options)["id"]
        description = self._wait(lambda: self.neptune.get_ml_data_processing_job(id=job_id), f"processing {name}",
                                 FINISHED)
        return self._finished(job_id, description, "data processing", started)

    def edit_hpo_configuration(self, name: str, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
        """Read the processed data's ``model-HPO-configuration.json``, let ``edit`` change it, upload it back."""
        key = f"{self.prefix}/processed/{name}/model-HPO-configuration.json"
        configuration = json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        edit(configuration)
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(configuration, indent=2).encode())
        return configuration

    # -- 4. training -------------------------------------------------------------------------------------------
    def train(self, name: str, processing_id: str, max_jobs: int = 2, parallel: int = 2) -> StepResult:
        started = time.monotonic()
        job_id = self.neptune.start_ml_model_training_job(
            id=f"{name}-training-{uuid.uuid4().hex[:6]}", dataProcessingJobId=processing_id,
            trainModelS3Location=self.uri("training", name), maxHPONumberOfTrainingJobs=max_jobs,
            maxHPOParallelTrainingJobs=parallel)["id"]
        description = self._wait(lambda: self.neptune.get_ml_model_training_job(id=job_id), f"training {name}",
                                 FINISHED)
        return self._finished(job_id, description, "model training", started)

    # -- 5. endpoint -------------------------------------------------------------------------------------------
    def deploy(self, name: str, training_id: str) -> StepResult:
        started = time.monotonic()
        endpoint_id = self.neptune.create_ml_endpoint(id=f"{name}-{uuid.uuid4().hex[:6]}",
                                                      mlModelTrainingJobId=training_id)["id"]
        description = self._wait(lambda: self.neptune.get_ml_endpoint(id=endpoint_id), f"endpoint {name}",
                                 FINISHED)
        if description["status"] != "InService":
            raise WorkflowError(f"ML endpoint {endpoint_id} is {description['status']}: {description}")
        return StepResult(endpoint_id, description, time.monotonic() - started)

    def delete_endpoint(self, endpoint_id: str) -> None:
        self.neptune.delete_ml_endpoint(id=endpoint_id, clean=True)

    @staticmethod
    def _finished(job_id: str, description: dict[str, Any], what: str, started: float) -> StepResult:
        if description["status"] != "Completed":
            raise WorkflowError(f"{what} job {job_id} is {description['status']}: {json.dumps(description)[:2000]}")
        return StepResult(job_id, description, time.monotonic() - started)


# -- 6. Gremlin inference ------------------------------------------------------------------------------------
@contextmanager
def gremlin(graph_url: str) -> Iterator[Any]:
    """A gremlinpython traversal source on the graph server's websocket (closed at the end)."""
    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
    from gremlin_python.process.anonymous_traversal import traversal

    connection = DriverRemoteConnection(graph_url.replace("http", "ws", 1) + "/gremlin", "g")
    try:
        yield traversal().with_(connection)
    finally:
        connection.close()


def _batches(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def _answers(ids: list[str], values: list[Any], query: str) -> dict[str, Any]:
    if len(values) != len(ids):
        raise WorkflowError(f"{query}: {len(values)} answers for {len(ids)} ids")
    return dict(zip(ids, values, strict=True))


def predict_vertex_property(g: Any, endpoint: str, ids: list[str], prop: str, task: str = "classification",
                            inductive: bool = False) -> dict[str, Any]:
    """``g.with("Neptune#ml.endpoint", endpoint).V(ids).properties(prop).with("Neptune#ml.<task>").value()``
    in batches: the predicted value of each vertex, by id (one answer per vertex: the default limit 1)."""
    answers: dict[str, Any] = {}
    for batch in _batches(ids):
        step = g.with_("Neptune#ml.endpoint", endpoint).V(*batch).properties(prop).with_(f"Neptune#ml.{task}")
        if inductive:
            step = step.with_("Neptune#ml.inductiveInference")
        answers.update(_answers(batch, step.value().to_list(), f"V(...).properties({prop!r})"))
    return answers


def predict_edge_property(g: Any, endpoint: str, ids: list[str], prop: str,
                          task: str = "classification") -> dict[str, Any]:
    """The same on edges: ``g.E(ids).properties(prop).with("Neptune#ml.<task>").value()``."""
    answers: dict[str, Any] = {}
    for batch in _batches(ids):
        values = (g.with_("Neptune#ml.endpoint", endpoint).E(*batch).properties(prop)
                  .with_(f"Neptune#ml.{task}").value().to_list())
        answers.update(_answers(batch, values, f"E(...).properties({prop!r})"))
    return answers


def predict_links(g: Any, endpoint: str, vertex: str, edge_label: str, other_label: str, limit: int) -> list[str]:
    """``g.with(endpoint).with("Neptune#ml.limit", n).V(v).out(label).with("Neptune#ml.prediction")
    .hasLabel(other)``: the ids of the ``limit`` most likely new out-neighbours of ``vertex``, best first."""
    return (g.with_("Neptune#ml.endpoint", endpoint).with_("Neptune#ml.limit", limit).V(vertex).out(edge_label)
            .with_("Neptune#ml.prediction").has_label(other_label).id_().to_list())


def accuracy(predicted: dict[str, Any], truth: dict[str, Any]) -> float:
    return sum(str(predicted[key]) == str(value) for key, value in truth.items()) / len(truth)
