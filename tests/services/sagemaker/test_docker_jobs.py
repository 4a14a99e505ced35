"""The Docker runner behind the real API: a job on a process-runner server asks for Docker per job
(``Environment: MLHARBOR_RUNNER=docker``), runs in ``mlharbor/pytorch`` script mode (the toolkit
fetches its source from S3) and, from inside its container, reaches the embedded S3 and the
graph server through its network's gateway."""

from __future__ import annotations

import json
import time

import pytest
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

from emulator.runners.docker.engine import JOB_LABEL
from tests.conftest import read_tar, script_job, start_harbor, training_request, wait_for_status

pytestmark = pytest.mark.docker

#: runs in the container: S3 through AWS_ENDPOINT_URL, the graph through MLHARBOR_GRAPH_ENDPOINT
INSIDE = """
import json, os, socket
import boto3
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
s3 = boto3.client("s3")
s3.put_object(Bucket=os.environ["BUCKET"], Key="from-container.txt", Body=b"hello from a container")
connection = DriverRemoteConnection(os.environ["MLHARBOR_GRAPH_ENDPOINT"], "g")
g = traversal().with_remote(connection)
papers = g.V().has_label("docker-paper").values("title").to_list()
connection.close()
report = {"in_container": os.path.exists("/.dockerenv"), "hostname": socket.gethostname(), "papers": papers,
          "endpoint": os.environ["AWS_ENDPOINT_URL"], "graph": os.environ["MLHARBOR_GRAPH_ENDPOINT"]}
open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w").write(json.dumps(report))
"""


def test_a_job_overriding_the_runner_runs_in_a_container_and_reaches_s3_and_the_graph(
        docker_images, harbor, sagemaker, s3, bucket):
    graph = DriverRemoteConnection(harbor.graph.replace("http://", "ws://") + "/gremlin", "g")
    traversal().with_remote(graph).add_v("docker-paper").property("title", "GCN").iterate()
    graph.close()
    request = script_job(s3, bucket, INSIDE, Environment={"MLHARBOR_RUNNER": "docker", "BUCKET": bucket})
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    report = json.loads(read_tar(s3, final["ModelArtifacts"]["S3ModelArtifacts"])["report.json"])
    assert report["in_container"] and report["hostname"] == "algo-1"
    assert report["papers"] == ["GCN"]
    assert not report["endpoint"].startswith("http://127.") and report["graph"].startswith("ws://")
    assert s3.get_object(Bucket=bucket, Key="from-container.txt")["Body"].read() == b"hello from a container"


def test_an_image_that_is_not_on_the_machine_fails_with_how_to_get_it(docker_images, sagemaker, bucket):
    request = training_request(
        bucket, AlgorithmSpecification={"TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/mine:1",
                                        "TrainingInputMode": "File"},
        Environment={"MLHARBOR_RUNNER": "docker"},
    )
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Failed"
    assert final["FailureReason"].startswith("CannotStartContainerError: image ")
    assert "not on this machine" in final["FailureReason"]


def test_a_stopped_server_removes_its_containers_and_the_next_one_settles_the_job(docker_images, tmp_path):
    first = start_harbor(tmp_path / "data", "--runner", "docker")
    try:
        s3, sagemaker = first.client("s3"), first.client("sagemaker")
        s3.create_bucket(Bucket="left-behind")
        request = script_job(s3, "left-behind", "import time\ntime.sleep(300)\n")
        sagemaker.create_training_job(**request)
        label = {"label": f"{JOB_LABEL}={request['TrainingJobName']}"}
        deadline = time.monotonic() + 60
        while not docker_images.containers.list(filters=label):
            assert time.monotonic() < deadline, "the job's container never started"
            time.sleep(0.2)
    finally:
        assert first.kill() == 0
    assert docker_images.containers.list(all=True, filters=label) == []
    assert docker_images.networks.list(filters=label) == []

    second = start_harbor(tmp_path / "data", "--runner", "docker")
    try:
        final = wait_for_status(second.client("sagemaker"), request["TrainingJobName"])
        assert final["TrainingJobStatus"] == "Failed"
        assert "control plane" in final["FailureReason"]
    finally:
        second.kill()
