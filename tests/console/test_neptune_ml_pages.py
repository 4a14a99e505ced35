"""The Neptune ML pages, in process: a real graph server (its neptunedata HTTP API and ML store), a real
in-process control plane behind the console (FakeRunner jobs), and Flask's test client.

Records are written through the graph server's own ML store (a real record needs a whole training run); the
SageMaker jobs behind them are real records of the control plane (a processing job and a tuning job whose one
trial reported its objective), so the links and the best trial's value are the console's own reads.
"""

from __future__ import annotations

import re
import socket
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from emulator.console import console_blueprint, neptune_ml
from emulator.core.errors import ValidationError
from emulator.services.neptune import GraphServer
from emulator.services.neptune.ml import records as r
from emulator.services.neptune.ml.records import MlRecord, SageMakerResource
from emulator.testing import FakeRunner, InProcessHarbor, create_app
from tests.api.test_tuning_api import run_trial, settled, tuning_request
from tests.services.sagemaker.test_processing_jobs import SCRIPT, processing_request

HOSTILE_IDS = ["../loader", "a/b", "%2e%2e", "x?y", "x#y", "a%2Fb", "..", "%2Floader"]


@pytest.fixture(scope="module")
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture(scope="module")
def harbor(tmp_path_factory: pytest.TempPathFactory, runner: FakeRunner) -> Iterator[InProcessHarbor]:
    running = create_app({"data_dir": str(tmp_path_factory.mktemp("console-ml"))}, runner=runner)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def graph(harbor: InProcessHarbor, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GraphServer]:
    server = GraphServer(data_dir=tmp_path_factory.mktemp("console-ml-graph"), port=0,
                         s3_endpoint_url=harbor.endpoint, region=harbor.region)
    server.start()
    yield server
    server.stop()


def console(harbor: InProcessHarbor, graph_url: str) -> Any:
    """A Flask test client of the console blueprint over ``harbor``'s control plane, reading ``graph_url``."""
    assert harbor.control is not None
    app = Flask("console-ml-test")
    app.register_blueprint(console_blueprint(harbor.control, lambda: {"runner": "fake", "graph": graph_url}))
    return app.test_client()


@pytest.fixture(scope="module")
def client(harbor: InProcessHarbor, graph: GraphServer) -> Any:
    return console(harbor, graph.url)


@pytest.fixture(scope="module")
def sagemaker_jobs(harbor: InProcessHarbor, runner: FakeRunner) -> dict[str, str]:
    """A completed processing job and a completed tuning job (best trial's objective 0.3) in the control plane."""
    sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
    bucket = f"console-ml-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="code/script.py", Body=SCRIPT.encode())
    processing = processing_request(bucket, "code/script.py")
    sagemaker.create_processing_job(**processing)
    runner.wait_started(processing["ProcessingJobName"])
    runner.complete(processing["ProcessingJobName"])
    tuning = tuning_request(bucket, max_jobs=1, parallel=1)
    sagemaker.create_hyper_parameter_tuning_job(**tuning)
    best = run_trial(harbor, runner, sagemaker, tuning["HyperParameterTuningJobName"], 1, 0.5, 0.3)
    settled(sagemaker, tuning["HyperParameterTuningJobName"])
    return {"processing": processing["ProcessingJobName"], "tuning": tuning["HyperParameterTuningJobName"],
            "best": best}


def put(graph: GraphServer, kind: str, status: str, **resources: SageMakerResource) -> MlRecord:
    record = MlRecord(kind=kind, id=f"{kind[:5]}-{uuid.uuid4().hex[:8]}", params={},
                      created_ms=int(time.time() * 1000), status=status, resources=dict(resources))
    graph.ml_jobs.store.put(record)
    time.sleep(0.002)  # distinct creation times: the lists are newest first
    return record


@pytest.fixture(scope="module")
def records(graph: GraphServer, sagemaker_jobs: dict[str, str]) -> dict[str, MlRecord]:
    older = put(graph, r.DATA_PROCESSING, r.COMPLETED,
                processingJob=SageMakerResource(sagemaker_jobs["processing"], "arn:proc", r.COMPLETED))
    newer = put(graph, r.DATA_PROCESSING, r.IN_PROGRESS,
                processingJob=SageMakerResource(sagemaker_jobs["processing"], "arn:proc", r.IN_PROGRESS))
    training = put(graph, r.MODEL_TRAINING, r.COMPLETED,
                   processingJob=SageMakerResource(sagemaker_jobs["processing"], "arn:prep", r.COMPLETED),
                   hpoJob=SageMakerResource(sagemaker_jobs["tuning"], "arn:hpo", r.COMPLETED))
    training.models = [{"name": "trained-model", "arn": "arn:model"}]
    graph.ml_jobs.store.put(training)
    transform = put(graph, r.MODEL_TRANSFORM, r.FAILED, remoteModelTransformJob=SageMakerResource(
        "no-such-transform-job", "arn:transform", r.FAILED, failure_reason="<script>alert('x')</script> went wrong"))
    endpoint = put(graph, r.ENDPOINT, r.ENDPOINT_IN_SERVICE,
                   endpoint=SageMakerResource("no-such-endpoint", "arn:endpoint", r.ENDPOINT_IN_SERVICE))
    endpoint.configs = {"endpointConfig": {"name": "ep-config", "arn": "arn:config"}}
    graph.ml_jobs.store.put(endpoint)
    return {"older": older, "newer": newer, "training": training, "transform": transform, "endpoint": endpoint}


def text(answer: Any) -> str:
    return answer.get_data(as_text=True)


def section(page: str, kind: str) -> str:
    """The HTML of one kind's table."""
    found = re.search(rf'<table[^>]*id="ml-{kind}".*?</table>', page, re.S)
    assert found, f"no table for {kind}"
    return found.group(0)


def test_the_list_page_lists_each_kind_newest_first_with_its_sagemaker_links(
        client: Any, records: dict[str, MlRecord], sagemaker_jobs: dict[str, str]) -> None:
    answer = client.get("/_console/graph/ml")
    assert answer.status_code == 200
    page = text(answer)
    processing = section(page, r.DATA_PROCESSING)
    assert processing.index(records["newer"].id) < processing.index(records["older"].id)
    assert f'href="/_console/processing-jobs/{sagemaker_jobs["processing"]}"' in processing
    assert 'class="status status-inprogress"' in processing and 'class="status status-completed"' in processing
    training = section(page, r.MODEL_TRAINING)
    assert f'href="/_console/tuning-jobs/{sagemaker_jobs["tuning"]}"' in training
    assert f'href="/_console/training-jobs/{sagemaker_jobs["best"]}"' in training
    assert "validation:loss = <b>0.3</b>" in training
    # a resource the console has no record of is named, not linked to a page that would 404
    transform = section(page, r.MODEL_TRANSFORM)
    assert records["transform"].id in transform and "no-such-transform-job" in transform
    assert "/_console/processing-jobs/no-such-transform-job" not in transform
    endpoints = section(page, r.ENDPOINT)
    assert records["endpoint"].id in endpoints and "/_console/endpoints/no-such-endpoint" not in endpoints
    for record in records.values():
        assert f'href="/_console/graph/ml/{record.kind}/{record.id}"' in page
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\d', processing)  # times from SageMaker's Describe


def test_the_graph_overview_and_the_nav_link_to_the_ml_page(client: Any) -> None:
    page = text(client.get("/_console/graph"))
    assert 'id="ml-link" href="/_console/graph/ml"' in page
    assert '<a href="/_console/graph/ml">Neptune ML</a>' in text(client.get("/_console/s3"))


def test_the_detail_page_shows_the_record_its_links_and_best_trial(
        client: Any, records: dict[str, MlRecord], sagemaker_jobs: dict[str, str]) -> None:
    training = records["training"]
    answer = client.get(f"/_console/graph/ml/modeltraining/{training.id}")
    assert answer.status_code == 200
    page = text(answer)
    assert f"<h1>{training.id}" in page
    assert 'data-member="hpoJob"' in page and 'data-member="processingJob"' in page
    assert f'href="/_console/tuning-jobs/{sagemaker_jobs["tuning"]}"' in page
    assert re.search(rf'id="ml-objective">Best trial:\s*<a href="/_console/training-jobs/{sagemaker_jobs["best"]}"',
                     page)
    assert "trained-model" in page and "arn:model" in page
    assert 'id="ml-failure"' not in page


def test_a_failed_record_shows_its_reason_and_script_in_a_field_is_text(client: Any,
                                                                        records: dict[str, MlRecord]) -> None:
    page = text(client.get(f"/_console/graph/ml/modeltransform/{records['transform'].id}"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; went wrong" in page
    assert 'id="ml-failure"' in page
    assert "<script>alert" not in text(client.get("/_console/graph/ml"))


def test_an_unknown_id_is_neptunes_404_with_its_message(client: Any, records: dict[str, MlRecord]) -> None:
    answer = client.get("/_console/graph/ml/endpoints/no-such-id")
    assert answer.status_code == 404
    page = text(answer)
    assert "MLResourceNotFoundException" in page and "no-such-id" in page
    assert "did not answer" not in page


def test_a_record_gone_between_the_list_and_its_describe_is_left_out(client: Any, records: dict[str, MlRecord],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    listed = neptune_ml.NeptuneMlReader.ids

    def with_a_deleted_one(self: neptune_ml.NeptuneMlReader, kind: str, limit: int = 25) -> list[str]:
        return ["deleted-meanwhile", *listed(self, kind, limit)]

    monkeypatch.setattr(neptune_ml.NeptuneMlReader, "ids", with_a_deleted_one)
    answer = client.get("/_console/graph/ml")
    assert answer.status_code == 200
    page = text(answer)
    assert records["endpoint"].id in page and "deleted-meanwhile" not in page


def test_a_kind_that_is_not_one_of_the_four_is_404(client: Any, records: dict[str, MlRecord]) -> None:
    for kind in ("loader", "gremlin", "training-jobs", "DataProcessing"):
        assert client.get(f"/_console/graph/ml/{kind}/{records['older'].id}").status_code == 404


@pytest.mark.parametrize("hostile", HOSTILE_IDS)
def test_a_hostile_id_never_reaches_another_graph_server_path(client: Any, records: dict[str, MlRecord],
                                                             monkeypatch: pytest.MonkeyPatch, hostile: str) -> None:
    asked: list[str] = []
    real = urllib.request.urlopen

    def recording(request: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(request.full_url if hasattr(request, "full_url") else str(request))
        return real(request, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", recording)
    # the id as a browser would put it in the path: escaped once (a literal "%2e" arrives as "%2e")
    answer = client.get("/_console/graph/ml/dataprocessing/" + urllib.parse.quote(hostile, safe=""))
    assert answer.status_code in (400, 404)
    for url in asked:
        parts = urllib.parse.urlsplit(url)
        assert parts.path.startswith("/ml/dataprocessing/") and parts.path.count("/") == 3, url
        assert not parts.query and not parts.fragment, url
        assert urllib.parse.unquote(parts.path.rsplit("/", 1)[1]) == hostile, url


def test_ids_are_checked_and_escaped_before_the_url_is_made() -> None:
    assert neptune_ml.describe_path("endpoints", "ep-1.v2:a_b") == "/ml/endpoints/ep-1.v2%3Aa_b"
    for hostile in HOSTILE_IDS + ["", "a" * 256, "é"]:
        with pytest.raises(ValidationError):
            neptune_ml.describe_path("dataprocessing", hostile)
    with pytest.raises(LookupError):
        neptune_ml.describe_path("loader", "x")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_graph_server_down_gives_the_graph_unavailable_page(harbor: InProcessHarbor) -> None:
    down = console(harbor, f"http://127.0.0.1:{free_port()}")
    for path in ("/_console/graph/ml", "/_console/graph/ml/dataprocessing/some-id"):
        answer = down.get(path)
        assert answer.status_code == 503
        assert "did not answer" in text(answer)
