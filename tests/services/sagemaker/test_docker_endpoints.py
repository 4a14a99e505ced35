"""An endpoint on the Docker runner: ``docker run IMAGE serve`` on port 8080, published on loopback only,
behind the same InvokeEndpoint; DeleteEndpoint removes the container and its network."""

from __future__ import annotations

import json

import pytest

from emulator.runners.docker.engine import JOB_LABEL
from tests.conftest import ROLE, unique_name
from tests.services.sagemaker.test_endpoints import new_config, put_model, wait_endpoint

pytestmark = pytest.mark.docker


def test_a_model_asking_for_docker_serves_from_a_container(docker_images, sagemaker, s3, bucket, harbor):
    model = unique_name("model")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/pytorch", "ModelDataUrl": put_model(s3, bucket, factor=3),
        "Environment": {"GREETING": "from docker", "MLHARBOR_RUNNER": "docker"}})
    name = unique_name("ep")
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=new_config(sagemaker, model))
    described = wait_endpoint(sagemaker, name, timeout=180)
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")

    ours = [c for c in docker_images.containers.list(filters={"label": JOB_LABEL})
            if c.labels[JOB_LABEL].startswith(f"{name}/AllTraffic/")]
    assert len(ours) == 1
    published = ours[0].attrs["NetworkSettings"]["Ports"]["8080/tcp"]
    assert [binding["HostIp"] for binding in published] == ["127.0.0.1"]

    runtime = harbor.client("sagemaker-runtime")
    response = runtime.invoke_endpoint(EndpointName=name, Body=b"[1, 2]", ContentType="application/json")
    assert json.loads(response["Body"].read()) == {"doubled": [3, 6], "env": "from docker", "graph": True}

    sagemaker.delete_endpoint(EndpointName=name)
    left = [c for c in docker_images.containers.list(all=True, filters={"label": JOB_LABEL})
            if c.labels[JOB_LABEL].startswith(f"{name}/")]
    assert left == []
