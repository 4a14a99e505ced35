"""Models, endpoint configs, endpoints and InvokeEndpoint over real boto3 against a real harbor."""

from __future__ import annotations

import io
import json
import signal
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.exceptions import ClientError, WaiterError

from emulator.testing.requests import model_archive, wait_until_settled
from tests.conftest import ROLE, RunningHarbor, process_alive, start_harbor, unique_name

HANDLER = """
import json, os
def model_fn(model_dir):
    if os.path.exists(os.path.join(model_dir, "broken")):
        raise RuntimeError("weights are corrupt")
    return {"factor": int(open(os.path.join(model_dir, "factor.txt")).read())}
def input_fn(body, content_type):
    data = json.loads(body)
    if data == "boom":
        raise ValueError("boom requested by the caller")
    return data
def predict_fn(data, model):
    print("predicting", data, flush=True)
    return [x * model["factor"] for x in data]
def output_fn(prediction, accept):
    return json.dumps({"doubled": prediction, "env": os.environ.get("GREETING"),
                       "graph": bool(os.environ.get("MLHARBOR_GRAPH_ENDPOINT"))}), "application/json"
"""


def put_model(s3: Any, bucket: str, factor: int = 2, broken: bool = False) -> str:
    files = {"code/inference.py": HANDLER.encode(), "factor.txt": str(factor).encode()}
    if broken:
        files["broken"] = b""
    key = f"models/{unique_name('m')}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_archive(files))
    return f"s3://{bucket}/{key}"


def deploy(sagemaker: Any, model_url: str, wait: bool = True, name: str | None = None) -> str:
    """Model + config + endpoint; returns the endpoint name (InService when ``wait``)."""
    model = unique_name("model")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/pytorch", "ModelDataUrl": model_url, "Environment": {"GREETING": "hi"}})
    config = new_config(sagemaker, model)
    endpoint = name or unique_name("ep")
    sagemaker.create_endpoint(EndpointName=endpoint, EndpointConfigName=config)
    if wait:
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=endpoint, WaiterConfig={"Delay": 0.5})
    return endpoint


def new_config(sagemaker: Any, model: str) -> str:
    config = unique_name("cfg")
    sagemaker.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    return config


def wait_endpoint(sagemaker: Any, name: str, timeout: float = 90) -> dict[str, Any]:
    """Wait (botocore's ``endpoint_in_service`` waiter) until the endpoint is no longer Creating/Updating."""
    wait_until_settled(sagemaker, "endpoint_in_service", "EndpointStatus", timeout, EndpointName=name)
    described = sagemaker.describe_endpoint(EndpointName=name)
    if described["EndpointStatus"] in ("Creating", "Updating"):
        raise TimeoutError(name)
    return described


def invoke(runtime: Any, name: str, payload: Any) -> dict[str, Any]:
    response = runtime.invoke_endpoint(EndpointName=name, Body=json.dumps(payload), ContentType="application/json",
                                       Accept="application/json")
    return json.loads(response["Body"].read())


def serving_pids(harbor: RunningHarbor, endpoint: str) -> list[int]:
    found = harbor.data_dir.glob(f"endpoints/us-east-1/{endpoint}/*/serving.json")
    return [json.loads(path.read_text())["pgid"] for path in found]


@pytest.fixture(scope="module")
def runtime(harbor: RunningHarbor) -> Any:
    return harbor.client("sagemaker-runtime")


def test_an_endpoint_serves_its_model_and_delete_ends_the_process(sagemaker, runtime, s3, bucket, harbor):
    name = deploy(sagemaker, put_model(s3, bucket))
    described = sagemaker.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService"
    assert described["EndpointArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}"
    assert described["ProductionVariants"][0]["VariantName"] == "AllTraffic"
    response = runtime.invoke_endpoint(EndpointName=name, Body=b"[1, 2, 3]", ContentType="application/json")
    assert response["InvokedProductionVariant"] == "AllTraffic"
    assert response["ContentType"] == "application/json"
    assert json.loads(response["Body"].read()) == {"doubled": [2, 4, 6], "env": "hi", "graph": True}
    assert name in [e["EndpointName"] for e in sagemaker.list_endpoints(NameContains=name)["Endpoints"]]

    pids = serving_pids(harbor, name)
    assert len(pids) == 1 and process_alive(pids[0])
    logs = harbor.client("logs")
    deadline = time.monotonic() + 10
    messages: list[str] = []
    while time.monotonic() < deadline and not any("predicting [1, 2, 3]" in m for m in messages):
        time.sleep(0.3)
        streams = logs.describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{name}")["logStreams"]
        assert streams[0]["logStreamName"].startswith("AllTraffic/i-")
        messages = [e["message"] for e in logs.get_log_events(
            logGroupName=f"/aws/sagemaker/Endpoints/{name}", logStreamName=streams[0]["logStreamName"],
            startFromHead=True)["events"]]
    assert any("predicting [1, 2, 3]" in m for m in messages)

    sagemaker.delete_endpoint(EndpointName=name)
    assert not process_alive(pids[0])
    with pytest.raises(ClientError) as caught:
        sagemaker.describe_endpoint(EndpointName=name)
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=name, Body=b"[1]", ContentType="application/json")
    assert caught.value.response["Error"]["Code"] == "ValidationError"


def test_a_container_error_is_a_model_error_with_its_message(sagemaker, runtime, s3, bucket):
    name = deploy(sagemaker, put_model(s3, bucket))
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=name, Body=b'"boom"', ContentType="application/json")
    response = caught.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert response["Error"]["Code"] == "ModelError"
    assert "Received server error (500) from primary" in response["Error"]["Message"]
    assert response["OriginalStatusCode"] == 500
    assert response["OriginalMessage"] == "ValueError: boom requested by the caller"
    assert response["LogStreamArn"].endswith(f":log-group:/aws/sagemaker/Endpoints/{name}")
    with pytest.raises(runtime.exceptions.ModelError):
        runtime.invoke_endpoint(EndpointName=name, Body=b"{", ContentType="application/json")
    assert invoke(runtime, name, [5])["doubled"] == [10]  # still serving after errors
    sagemaker.delete_endpoint(EndpointName=name)


def test_an_endpoint_whose_model_does_not_load_fails_with_the_reason(sagemaker, s3, bucket):
    name = deploy(sagemaker, put_model(s3, bucket, broken=True), wait=False)
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Creating"
    described = wait_endpoint(sagemaker, name)
    assert described["EndpointStatus"] == "Failed"
    assert "did not pass the ping health check" in described["FailureReason"]
    assert "RuntimeError: weights are corrupt" in described["FailureReason"]
    with pytest.raises(WaiterError):
        sagemaker.get_waiter("endpoint_in_service").wait(EndpointName=name, WaiterConfig={"Delay": 0.5})
    sagemaker.delete_endpoint(EndpointName=name)


def test_a_missing_model_archive_fails_the_endpoint(sagemaker, bucket):
    described = wait_endpoint(sagemaker, deploy(sagemaker, f"s3://{bucket}/nothing/model.tar.gz", wait=False))
    assert described["EndpointStatus"] == "Failed"
    assert "nothing/model.tar.gz" in described["FailureReason"]


def test_update_brings_up_the_new_config_then_retires_the_old(sagemaker, runtime, s3, bucket, harbor):
    name = deploy(sagemaker, put_model(s3, bucket, factor=2))
    old_pids = serving_pids(harbor, name)
    assert len(old_pids) == 1 and process_alive(old_pids[0]), "no serve process found to retire"
    model = unique_name("model")
    sagemaker.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/pytorch", "ModelDataUrl": put_model(s3, bucket, factor=3)})
    config = new_config(sagemaker, model)
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=config)
    assert sagemaker.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    assert invoke(runtime, name, [1])["doubled"] == [2]  # the old config serves meanwhile
    described = wait_endpoint(sagemaker, name)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", config)
    assert invoke(runtime, name, [1])["doubled"] == [3]
    assert not any(process_alive(pid) for pid in old_pids)

    broken = unique_name("model")
    sagemaker.create_model(ModelName=broken, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": "mlharbor/pytorch", "ModelDataUrl": put_model(s3, bucket, broken=True)})
    sagemaker.update_endpoint(EndpointName=name, EndpointConfigName=new_config(sagemaker, broken))
    described = wait_endpoint(sagemaker, name)
    assert (described["EndpointStatus"], described["EndpointConfigName"]) == ("InService", config)
    assert "weights are corrupt" in described["FailureReason"]
    assert invoke(runtime, name, [1])["doubled"] == [3]
    sagemaker.delete_endpoint(EndpointName=name)


@pytest.mark.slow
def test_in_service_endpoints_come_back_after_a_killed_control_plane(tmp_path: Path):
    harbor = start_harbor(tmp_path / "harbor")
    try:
        s3, sagemaker = harbor.client("s3"), harbor.client("sagemaker")
        s3.create_bucket(Bucket="restart-models")
        name = deploy(sagemaker, put_model(s3, "restart-models", factor=4))
        pids = serving_pids(harbor, name)
        assert len(pids) == 1 and process_alive(pids[0]), "no serve process found to outlive the control plane"
        harbor.kill(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while any(process_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(process_alive(pid) for pid in pids)  # serving died with the control plane
        harbor = start_harbor(tmp_path / "harbor")
        assert harbor.client("sagemaker").describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        assert invoke(harbor.client("sagemaker-runtime"), name, [1, 2])["doubled"] == [4, 8]
    finally:
        if harbor.process.poll() is None:
            harbor.kill()


def test_a_torchscript_model_without_handler_uses_the_toolkit_defaults(sagemaker, runtime, s3, bucket):
    import torch

    module = torch.nn.Linear(2, 1)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([[1.0, 10.0]]))
        module.bias.fill_(0.5)
    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(module), buffer)
    key = f"models/{unique_name('ts')}/model.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_archive({"model.pt": buffer.getvalue()}))
    name = deploy(sagemaker, f"s3://{bucket}/{key}")
    assert invoke(runtime, name, [[1, 2], [3, 4]]) == [[21.5], [43.5]]
    response = runtime.invoke_endpoint(EndpointName=name, Body=b"1,2\n", ContentType="text/csv", Accept="text/csv")
    assert (response["Body"].read(), response["ContentType"]) == (b"21.5", "text/csv")
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName=name, Body=b"x", ContentType="application/x-unknown")
    assert caught.value.response["OriginalStatusCode"] == 415
    sagemaker.delete_endpoint(EndpointName=name)


def test_an_endpoint_whose_ping_never_answers_fails_after_the_startup_timeout(tmp_path: Path):
    """A serve that stays up but never loads its model: ``Failed`` once the start-up time is spent,
    and its process does not outlive the endpoint."""
    harbor = start_harbor(tmp_path / "harbor", env={"MLHARBOR_ENDPOINT_STARTUP_TIMEOUT_SECONDS": "3"})
    try:
        s3, sagemaker = harbor.client("s3"), harbor.client("sagemaker")
        s3.create_bucket(Bucket="slow-models")
        key = "slow/model.tar.gz"
        s3.put_object(Bucket="slow-models", Key=key, Body=model_archive({
            "code/inference.py": b"import time\ndef model_fn(model_dir):\n    time.sleep(600)\n"}))
        name = deploy(sagemaker, f"s3://slow-models/{key}", wait=False)
        started = time.monotonic()
        endpoints_dir = harbor.data_dir / "endpoints"
        while not processes_working_in(endpoints_dir) and time.monotonic() < started + 10:
            time.sleep(0.1)
        assert processes_working_in(endpoints_dir), "the serve process runs while the endpoint is Creating"
        described = wait_endpoint(sagemaker, name, timeout=60)
        assert described["EndpointStatus"] == "Failed"
        assert "did not answer 200 within 3 s" in described["FailureReason"]
        assert 3 <= time.monotonic() - started < 45
        deadline = time.monotonic() + 10
        while processes_working_in(endpoints_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_working_in(endpoints_dir) == []
    finally:
        if harbor.process.poll() is None:
            harbor.kill()


def processes_working_in(directory: Path) -> list[int]:
    """Processes whose working directory is under ``directory`` (a serve process runs in its variant's)."""
    root = directory.resolve()
    found = []
    for process in psutil.process_iter():
        try:
            if Path(process.cwd()).is_relative_to(root):
                found.append(process.pid)
        except psutil.Error:
            continue
    return found
