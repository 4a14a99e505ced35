"""The console in a real browser (headless Chromium) against a real ``mlharbor up``: jobs made with boto3
show up and change status without a reload, logs stream while the job prints, charts plot every
metric value, Stop stops, and another site's form post is refused."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import CORA, script_job, wait_for_status
from tests.console.conftest import screenshot

pytestmark = pytest.mark.slow

PRINTING = """
import json
import time
import uuid
for step in range(8):
    print(f"step {step} loss={1.0 / (step + 1):.4f}", flush=True)
    time.sleep(0.6)
"""
SLEEPING = """
import json
import time
import uuid
print("sleeping", flush=True)
time.sleep(120)
"""
METRICS = [{"Name": "train:loss", "Regex": r"loss=([0-9.]+)"}]


def console_url(harbor: Any, path: str = "/") -> str:
    return harbor.endpoint + path


def test_list_shows_a_boto3_job_and_its_status_changes_without_reload(page: Any, harbor: Any, sagemaker: Any,
                                                                        s3: Any, bucket: str) -> None:
    request = script_job(s3, bucket, PRINTING, MetricDefinitions=METRICS)
    request["AlgorithmSpecification"]["MetricDefinitions"] = request.pop("MetricDefinitions")
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    page.goto(console_url(harbor, "/_console/training-jobs"))
    page.evaluate("window.__notReloaded = true")
    row = page.locator(f"tr[data-job='{name}']")
    row.locator(".job-status", has_text="InProgress").wait_for()
    screenshot(page, "training-jobs-list")
    row.locator(".job-status", has_text="Completed").wait_for(timeout=120_000)
    assert page.evaluate("window.__notReloaded") is True  # the same document: htmx swapped the table
    page.goto(console_url(harbor, "/"))
    assert page.locator("#counts tr[data-kind='Training jobs'] .count-chip[data-status='Completed']").count() == 1
    screenshot(page, "overview")


def test_logs_stream_while_the_job_prints_and_the_chart_has_every_value(page: Any, harbor: Any, sagemaker: Any,
                                                                         s3: Any, bucket: str) -> None:
    request = script_job(s3, bucket, PRINTING)
    request["AlgorithmSpecification"]["MetricDefinitions"] = METRICS
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    page.goto(console_url(harbor, f"/_console/training-jobs/{name}"))
    page.locator("#log .log-line", has_text="step 0").wait_for(timeout=120_000)
    # the first line is on the page while the job is still printing the others
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
    assert page.locator("#log .log-line", has_text="step 7").count() == 0
    page.locator("#log[data-ended='true']").wait_for(timeout=120_000)
    assert page.locator("#log .log-line", has_text="loss=").count() == 8
    page.locator("#charts[data-done='true']").wait_for()
    chart = page.locator(".chart[data-metric='train:loss']")
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-points") == "8"
    page.check("#log-scale")
    assert "min 0.1250" in chart.locator(".stats").inner_text()
    page.locator("#timeline .transition-completed").wait_for()  # the polled status brought the last transition
    screenshot(page, "training-job-detail")


def test_stop_button_stops_the_job(page: Any, harbor: Any, sagemaker: Any, s3: Any, bucket: str) -> None:
    request = script_job(s3, bucket, SLEEPING)
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    page.goto(console_url(harbor, f"/_console/training-jobs/{name}"))
    page.locator("#log .log-line", has_text="sleeping").wait_for(timeout=120_000)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#stop")
    page.wait_for_load_state()
    assert wait_for_status(sagemaker, name, timeout=60)["TrainingJobStatus"] == "Stopped"
    page.locator("#job-status .status", has_text="Stopped").wait_for()
    screenshot(page, "training-job-stopped")


def post(harbor: Any, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(harbor.endpoint + path, data=body, method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_cross_site_and_tokenless_posts_are_refused(page: Any, harbor: Any, sagemaker: Any, s3: Any,
                                                   bucket: str) -> None:
    request = script_job(s3, bucket, SLEEPING)
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    stop_url = harbor.endpoint + f"/_console/training-jobs/{name}/stop"
    # a page of another origin (here: an opaque one) posts a form at the console, as an attacker's would
    page.set_content(f"<form method='post' action='{stop_url}'><input name='csrf_token' value='guess'></form>")
    with page.expect_navigation():
        page.evaluate("document.forms[0].submit()")
    assert "not allowed" in page.content()
    screenshot(page, "cross-site-refused")
    host = harbor.endpoint.split("//", 1)[1]
    status, _ = post(harbor, f"/_console/training-jobs/{name}/stop", b"", {"Origin": "http://evil.example"})
    assert status == 403
    status, body = post(harbor, f"/_console/training-jobs/{name}/stop", b"", {"Origin": f"http://{host}"})
    assert status == 403 and "CSRF" in body
    time.sleep(1)
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "InProgress"
    sagemaker.stop_training_job(TrainingJobName=name)


def test_pages_carry_no_cors_grant_and_forbid_framing(harbor: Any) -> None:
    request = urllib.request.Request(harbor.endpoint + "/", headers={"Accept": "text/html"})
    with urllib.request.urlopen(request, timeout=30) as response:
        headers = dict(response.headers)
        body = response.read().decode()
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in headers
    assert "Overview" in body


def test_endpoint_form_returns_the_models_answer(page: Any, harbor: Any, sagemaker: Any, s3: Any,
                                                  bucket: str) -> None:
    from tests.services.sagemaker.test_endpoints import deploy, put_model

    name = deploy(sagemaker, put_model(s3, bucket, factor=3))
    page.goto(console_url(harbor, "/_console/endpoints"))
    page.locator(f"tr[data-job='{name}'] .job-status", has_text="InService").wait_for()
    page.click(f"tr[data-job='{name}'] a")
    page.fill("#invoke textarea[name=body]", "[1, 2, 5]")
    page.click("#invoke-button")
    answer = page.locator("#invoke-answer")
    answer.wait_for()
    assert json.loads(answer.inner_text())["doubled"] == [3, 6, 15]
    assert page.locator("#invoke-latency").inner_text().endswith("ms")
    screenshot(page, "endpoint-invoke")
    sagemaker.delete_endpoint(EndpointName=name)


def test_tuning_page_lists_trials_with_their_objective(page: Any, harbor: Any, sagemaker: Any, s3: Any,
                                                        bucket: str) -> None:
    from tests.services.sagemaker.test_tuning_runs import tuning_request

    name = f"tune-{uuid.uuid4().hex[:8]}"
    sagemaker.create_hyper_parameter_tuning_job(**tuning_request(s3, bucket, name, 2))
    deadline = time.monotonic() + 240
    while sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
            "HyperParameterTuningJobStatus"] == "InProgress" and time.monotonic() < deadline:
        time.sleep(1)
    page.goto(console_url(harbor, f"/_console/tuning-jobs/{name}"))
    summaries = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name)["TrainingJobSummaries"]
    assert page.locator("#trials tr[data-trial]").count() == len(summaries) == 2
    for summary in summaries:
        cell = page.locator(f"#trials tr[data-trial='{summary['TrainingJobName']}'] .objective")
        assert float(cell.inner_text()) == pytest.approx(summary["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])
    page.locator("#objective-chart canvas").wait_for()
    assert page.locator("#objective-chart").get_attribute("data-points") == "2"
    best = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)["BestTrainingJob"]
    assert best["TrainingJobName"] in page.locator("#best-trial").inner_text()
    screenshot(page, "tuning-job-detail")


def test_glue_run_shows_its_state_and_output(page: Any, harbor: Any, s3: Any, bucket: str) -> None:
    from tests.services.glue.conftest import create_job, put_script, wait_for_run

    glue = harbor.client("glue")
    job = create_job(glue, put_script(s3, bucket, "print('hello from a glue run', flush=True)\n"))
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    assert wait_for_run(glue, job, run_id)["JobRunState"] == "SUCCEEDED"
    page.goto(console_url(harbor, "/_console/glue-runs?name=" + job))
    page.locator(f"tr[data-job='{job}~{run_id}'] .job-status", has_text="SUCCEEDED").wait_for()
    page.click(f"tr[data-job='{job}~{run_id}'] a")
    deadline = time.monotonic() + 30  # the run's output reaches CloudWatch Logs on the shipper's next flush
    while "hello from a glue run" not in page.locator("pre[data-group='/aws-glue/jobs/output']").inner_text():
        assert time.monotonic() < deadline
        time.sleep(0.5)
        page.reload()
    screenshot(page, "glue-run-detail")
    page.goto(console_url(harbor, "/"))
    assert page.locator("#counts tr[data-kind='Glue job runs']").count() == 1


def test_s3_browser_walks_prefixes_previews_and_downloads(page: Any, harbor: Any, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=b"id,label\n1,cat\n2,dog\n", ContentType="text/csv")
    s3.put_object(Bucket=bucket, Key="data/meta.json", Body=b'{"rows": 2}', ContentType="application/json")
    s3.put_object(Bucket=bucket, Key="data/page.html", Body=b"<script>alert(1)</script>", ContentType="text/html")
    page.goto(console_url(harbor, "/_console/s3"))
    page.click(f"tr[data-bucket='{bucket}'] a")
    page.click("text=data/")
    page.click("text=train/")
    page.click("tr[data-key='data/train/part-0.csv'] td >> nth=0 >> a")
    assert page.locator("#csv-preview tr").count() == 3
    assert "text/csv" in page.locator("#metadata").inner_text()
    screenshot(page, "s3-object")
    with page.expect_download() as download:
        page.click("#download")
    assert Path(download.value.path()).read_bytes() == b"id,label\n1,cat\n2,dog\n"
    page.goto(console_url(harbor, f"/_console/s3/{bucket}/object?key=data/meta.json"))
    assert json.loads(page.locator("#preview").inner_text()) == {"rows": 2}
    # an HTML object is never shown in the console's origin: no preview, and its bytes come as an attachment
    page.goto(console_url(harbor, f"/_console/s3/{bucket}/object?key=data/page.html"))
    assert page.locator("#preview").count() == 0
    with urllib.request.urlopen(harbor.endpoint + f"/_console/s3/{bucket}/download?key=data/page.html&inline=1",
                                timeout=30) as answer:
        assert answer.headers["Content-Type"] == "application/octet-stream"
        assert answer.headers["Content-Disposition"].startswith("attachment")


def cora_subset(label: str, papers: int) -> tuple[str, str, str]:
    """Neptune bulk-load CSV for the first ``papers`` Cora papers and the citations among them."""
    nodes = (CORA / "nodes.csv").read_text().splitlines()[1:papers + 1]
    kept = {line.split(",", 1)[0] for line in nodes}
    vertices = "~id,~label,split:String\n" + "".join(
        f"{label}-{row[0]},{label},{row[2]}\n" for row in (line.split(",") for line in nodes))
    cites = [line.split(",") for line in (CORA / "edges.csv").read_text().splitlines()[1:]]
    cites = [(source, target) for source, target in cites if source in kept and target in kept]
    edges = "~id,~from,~to,~label\n" + "".join(
        f"{label}-e{i},{label}-{source},{label}-{target},cites\n" for i, (source, target) in enumerate(cites))
    return vertices, edges, f"{label}-{cites[0][0]}"  # a paper with at least one citation in the subset


def test_graph_page_counts_searches_and_the_explorer_expands_a_cora_vertex(page: Any, harbor: Any, s3: Any,
                                                                           bucket: str) -> None:
    label = f"paper{uuid.uuid4().hex[:6]}"
    vertices, edges, start = cora_subset(label, 400)
    prefix = f"graph-{label}/"
    s3.put_object(Bucket=bucket, Key=prefix + "vertices.csv", Body=vertices.encode())
    s3.put_object(Bucket=bucket, Key=prefix + "edges.csv", Body=edges.encode())
    neptune = boto3.client("neptunedata", endpoint_url=harbor.graph, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    load_id = neptune.start_loader_job(source=f"s3://{bucket}/{prefix}", format="csv", s3BucketRegion="us-east-1",
                                       iamRoleArn="arn:aws:iam::123456789012:role/NeptuneLoadFromS3")["payload"]["loadId"]
    deadline = time.monotonic() + 120
    while neptune.get_loader_job_status(loadId=load_id)["payload"]["overallStatus"]["status"] != "LOAD_COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    page.goto(console_url(harbor, "/_console/graph"))
    assert page.locator(f"#vertex-counts tr[data-label='{label}'] td").inner_text() == "400"
    assert page.locator(f"#loader-jobs tr[data-load='{load_id}']").inner_text().count("LOAD_COMPLETED") == 1
    page.fill("#vertex-search input[name=id]", start)
    page.click("#vertex-search button")
    page.click(f"#search-results tr[data-vertex='{start}'] a.explore")
    explorer = page.locator("#explorer[data-nodes]")
    explorer.wait_for()
    first = int(explorer.get_attribute("data-nodes"))
    assert first > 1  # the paper and those it cites or that cite it
    screenshot(page, "graph-explorer")
    # one more click, on a neighbour, brings its neighbours, never more edges than the bound
    page.fill("#neighbour-limit", "3")
    page.evaluate("""() => { const box = document.getElementById('explorer');
        const other = box.explorer.cy.nodes().filter((n) => !n.hasClass('expanded'))[0];
        box.dataset.clicked = other.id(); other.emit('tap'); }""")
    page.wait_for_function("() => document.getElementById('explorer').explorer.cy.nodes('.expanded').length == 2")
    edges_after = int(page.locator("#explorer").get_attribute("data-edges"))
    assert edges_after <= first - 1 + 3


def test_compare_overlays_the_metrics_of_jobs_ticked_in_the_list(page: Any, harbor: Any, sagemaker: Any, s3: Any,
                                                                 bucket: str) -> None:
    names = []
    for _ in range(2):
        request = script_job(s3, bucket, PRINTING)
        request["AlgorithmSpecification"]["MetricDefinitions"] = METRICS
        sagemaker.create_training_job(**request)
        names.append(request["TrainingJobName"])
    for name in names:
        assert wait_for_status(sagemaker, name)["TrainingJobStatus"] == "Completed"
    page.goto(console_url(harbor, "/_console/training-jobs?size=500"))
    for name in names:
        page.check(f"#pick-{name}")
    page.wait_for_timeout(2500)  # at least one refresh of the table: the ticks must survive it
    with page.expect_navigation():
        page.click("#compare-button")
    chart = page.locator("#overlay .chart[data-metric='train:loss']")
    chart.locator("canvas").wait_for()
    assert chart.get_attribute("data-series") == "2"
    assert chart.get_attribute("data-points") == "8,8"
    screenshot(page, "training-jobs-compare")


def test_neptune_ml_page_lists_a_data_processing_job_and_opens_its_record(page: Any, harbor: Any,
                                                                        bucket: str) -> None:
    neptune = boto3.client("neptunedata", endpoint_url=harbor.graph, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
    ml_id = f"console-dp-{uuid.uuid4().hex[:8]}"
    # nothing is exported there: the record and its processing job exist, and the job fails or is cancelled
    neptune.start_ml_data_processing_job(id=ml_id, inputDataS3Location=f"s3://{bucket}/no-export/",
                                         processedDataS3Location=f"s3://{bucket}/processed/")
    try:
        page.goto(console_url(harbor, "/"))
        page.click("nav a[href='/_console/graph/ml']")
        row = page.locator(f"#ml-dataprocessing tr[data-ml-id='{ml_id}']")
        row.wait_for()
        assert row.locator(".job-status .status").count() == 1
        screenshot(page, "neptune-ml-list")
        row.locator("a.ml-record").click()
        page.locator("#ml-described").wait_for()
        assert ml_id in page.locator("h1").inner_text()
        assert json.loads(page.locator("#ml-described").inner_text())["id"] == ml_id
        screenshot(page, "neptune-ml-record")
    finally:
        if neptune.get_ml_data_processing_job(id=ml_id)["status"] in ("InProgress", "Stopping"):
            neptune.cancel_ml_data_processing_job(id=ml_id)
