"""The end-to-end demo behind ``make demo``: the graph ML pipeline on raw Cora, then a deployed model.

1. start ``mlharbor up`` on the defaults (or use the one already answering there),
2. upload Cora's raw CSV tables (``../shared/datasets/cora``) to the embedded S3,
3. Glue job (``glueetl``, ``examples/glue/cora_etl.py`` on Apache Spark): raw tables → cleaned, typed
   Neptune bulk-load CSV + the feature/label/split files, printing the run's states and ExecutionTime
   (``python examples/demo.py --etl processing`` runs the processing image ``mlharbor/graph-etl`` instead),
4. Neptune ``/loader`` job: the graph into the graph server,
5. training job ``mlharbor/gnn`` (GCN): topology through gremlinpython, features from S3,
   printing status transitions and per-epoch progress live, then test accuracy and the model URI,
6. CreateModel → CreateEndpointConfig → CreateEndpoint, and InvokeEndpoint for a few test nodes,
7. Neptune ML on the same graph (``examples/neptune_ml``): a bulk load merges the properties it trains on
   (``subject``, ``words``) into the loaded papers, then export → data processing → training (one tuning
   trial) → ML endpoint, and a Gremlin inference query answers the subject of a few test papers.

Every step is a plain AWS API call (boto3 on the local edge endpoint).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import sdk  # noqa: E402
from sdk.pipeline import GLUE_ETL_SCRIPT, EtlResult, GraphPipeline, PipelineHooks  # noqa: E402

BUCKET = "mlharbor-demo"
CORA = REPO.parent / "shared" / "datasets" / "cora"
ETL_ARGUMENTS = ["--vertex-label", "paper", "--edge-label", "cites"]
#: The Glue script's arguments (the same labels; ``--raw_path`` and the output paths come from the pipeline).
GLUE_ETL_ARGUMENTS = {"--vertex_label": "paper", "--edge_label": "cites"}
GLUE_JOB = "mlharbor-demo-cora-etl"
#: every n-th epoch line is printed (all of them go to CloudWatch Logs: ``mlharbor logs JOB``)
EPOCH_EVERY = 20
ROLE = "arn:aws:iam::123456789012:role/mlharbor-demo"


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


def progress_hooks() -> PipelineHooks:
    """Print every status transition, and one epoch line in ``EPOCH_EVERY`` (plus all other lines)."""

    def on_status(step: str, name: str, status: str, message: str) -> None:
        print(f"  [{step:5}] {name}: {status}" + (f" ({message})" if message else ""), flush=True)

    def on_log(step: str, name: str, line: str) -> None:
        epoch = line.split(" ", 1)[0]
        if epoch.startswith("epoch=") and int(epoch[6:] or 0) % EPOCH_EVERY and epoch != "epoch=1":
            return
        print(f"  [{step:5}]   | {line}", flush=True)

    return PipelineHooks(on_status=on_status, on_log=on_log)


def test_nodes(count: int) -> list[tuple[str, str]]:
    """The first ``count`` nodes of Cora's test split, with their true labels."""
    with open(CORA / "nodes.csv", newline="") as table:
        rows = [(row["node_id"], row["label"]) for row in csv.DictReader(table) if row["split"] == "test"]
    return rows[:count]


def deploy_and_invoke(model_data: str, count: int = 8) -> None:
    """CreateModel/EndpointConfig/Endpoint on the trained GNN, InvokeEndpoint, then clean up."""
    import json

    sagemaker, runtime = sdk.client("sagemaker"), sdk.client("sagemaker-runtime")
    name = f"demo-gnn-{uuid.uuid4().hex[:6]}"
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                           PrimaryContainer={"Image": "mlharbor/gnn", "ModelDataUrl": model_data})
    sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": name, "InitialInstanceCount": 1,
        "InstanceType": "ml.m5.large"}])
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    started = time.monotonic()
    status = "Creating"
    print(f"  [deploy] {name}: {status}", flush=True)
    while status == "Creating":
        time.sleep(0.5)
        description = sagemaker.describe_endpoint(EndpointName=name)
        status = description["EndpointStatus"]
    print(f"  [deploy] {name}: {status} ({time.monotonic() - started:.1f} s)"
          + (f" ({description.get('FailureReason')})" if status != "InService" else ""), flush=True)
    try:
        if status != "InService":
            raise SystemExit(f"endpoint {name} is {status}")
        nodes = test_nodes(count)
        response = runtime.invoke_endpoint(EndpointName=name, ContentType="application/json",
                                           Body=json.dumps({"node_ids": [node for node, _ in nodes]}))
        predictions = json.loads(response["Body"].read())["predictions"]
        right = 0
        print(f"  InvokeEndpoint {name} for {len(nodes)} test nodes:")
        for (node, truth), prediction in zip(nodes, predictions, strict=True):
            right += str(prediction["class"]) == truth
            mark = "ok" if str(prediction["class"]) == truth else "wrong"
            print(f"    {node:>6}: predicted class {prediction['class']}  true {truth}  {mark}")
        print(f"  {right}/{len(nodes)} right")
    finally:
        sagemaker.delete_endpoint(EndpointName=name)
        sagemaker.delete_endpoint_config(EndpointConfigName=name)
        sagemaker.delete_model(ModelName=name)


def neptune_ml_step(pipeline: GraphPipeline, papers: int = 8) -> None:
    """Step 7: Neptune ML on the demo's graph, then a Gremlin inference query beside the true subjects."""
    from examples.neptune_ml import cora
    from examples.neptune_ml.run_cora import DEMO_FEATURES, node_classification
    from examples.neptune_ml.workflow import NeptuneML, gremlin, predict_vertex_property

    assert pipeline.graph_url is not None
    ml = NeptuneML(pipeline.graph_url, pipeline.neptune, pipeline.s3, pipeline.bucket,
                   prefix=f"{pipeline.prefix}/neptune-ml", say=lambda line: print(f"  {line}", flush=True))
    graph = cora.read(CORA)
    print("   bulk load: subject (class name) and words (the bag of words as one ';' vector) onto the papers")
    ml.load(cora.bulk_load_files(graph))
    run = node_classification(ml, name="demo-cora", max_jobs=1, extra_features=tuple(DEMO_FEATURES))
    truth = dict(list(graph.subjects("test").items())[:papers])
    try:
        with gremlin(pipeline.graph_url) as g:
            predicted = predict_vertex_property(g, run.endpoint_id, list(truth), "subject")
        print(f'  g.with("Neptune#ml.endpoint", "{run.endpoint_id}").V(<{len(truth)} test papers>)'
              '.properties("subject").with("Neptune#ml.classification").value()')
        for paper, subject in truth.items():
            mark = "ok" if predicted[paper] == subject else "wrong"
            print(f"    {paper:>6}: predicted {predicted[paper]:<24} true {subject:<24} {mark}")
        right = sum(predicted[paper] == subject for paper, subject in truth.items())
        print(f"  Neptune ML: {right}/{len(truth)} right")
    finally:
        ml.delete_endpoint(run.endpoint_id)


def run_etl(pipeline: GraphPipeline, engine: str) -> EtlResult:
    """Step 2: the ETL as a Glue job (the default) or as the processing image."""
    if engine == "processing":
        print("2. processing job mlharbor/graph-etl: raw CSV -> Neptune bulk-load CSV + features")
        etl = pipeline.run_etl(ETL_ARGUMENTS)
        print(f"   {etl.exit_message}")
        return etl
    print(f"2. Glue job {GLUE_JOB} (glueetl, {GLUE_ETL_SCRIPT.name} on Spark): raw CSV -> Neptune bulk-load CSV "
          "+ features")
    etl = pipeline.run_glue_etl(GLUE_ETL_ARGUMENTS, job_name=GLUE_JOB)
    print(f"   Glue run {etl.run_id}: {etl.state}, ExecutionTime {etl.execution_time} s")
    return etl


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--etl", choices=("glue", "processing"), default="glue", help="what runs the ETL step")
    parser.add_argument("--no-neptune-ml", dest="neptune_ml", action="store_false",
                        help="end after the endpoint, without the Neptune ML step")
    options = parser.parse_args(argv)
    endpoint = sdk.endpoint_url()
    os.environ.setdefault("AWS_ENDPOINT_URL", endpoint)
    server = ensure_server(endpoint)
    print(f"console: {endpoint}/  (watch the jobs there while the demo runs"
          + (")" if server is None else "; this server stops with the demo: to keep looking afterwards, "
             "run `mlharbor up` in another terminal first and the demo will use it)"), flush=True)
    try:
        started = time.monotonic()
        pipeline = GraphPipeline(bucket=BUCKET, prefix=f"cora-{uuid.uuid4().hex[:6]}", hooks=progress_hooks())
        print(f"1. upload raw Cora ({CORA}) to {pipeline.uri('raw')}/")
        pipeline.upload_raw(CORA / "nodes.csv", CORA / "edges.csv")
        etl = run_etl(pipeline, options.etl)
        print(f"3. Neptune bulk load from {etl.graph_uri}")
        load = pipeline.bulk_load(etl.graph_uri)
        print(f"   {load.status['overallStatus'].get('totalRecords')} records in {load.seconds:.1f} s")
        print("4. training job mlharbor/gnn (GCN, 200 epochs): topology via gremlinpython, features from S3")
        training = pipeline.train(etl.features_uri, {"model": "gcn", "seed": 0})
        description = training.description
        print()
        print(f"job            {training.job_name}")
        print(f"status         {description['TrainingJobStatus']} ({training.seconds:.1f} s)")
        print("transitions    " + " -> ".join(t["Status"] for t in description["SecondaryStatusTransitions"]))
        print(f"test accuracy  {training.metrics.get('test_acc', float('nan')):.4f}  (published GCN: 0.815)")
        print(f"model artifact {training.model_data}")
        print()
        print("5. deploy the trained GNN and classify test nodes")
        deploy_and_invoke(training.model_data)
        if options.neptune_ml:
            print("\n6. Neptune ML: export, data processing, training (tuning), ML endpoint, Gremlin inference")
            neptune_ml_step(pipeline)
        print(f"\ndemo finished in {time.monotonic() - started:.0f} s")
        return 0 if description["TrainingJobStatus"] == "Completed" else 1
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)


if __name__ == "__main__":
    sys.exit(main())
