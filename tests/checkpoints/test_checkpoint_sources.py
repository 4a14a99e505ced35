"""Where a job's checkpoints come from: its own account and region's store, and with an ``S3Uri``
exactly what S3 holds (a checkpoint the user deleted there does not come back from the local store).

The script records what it found in its checkpoint directory before writing its own, so each test
reads from the job's model what the job really started with.
"""

from __future__ import annotations

import io
import json
import tarfile
from typing import Any

import boto3
import pytest
from botocore.config import Config

from tests.conftest import RunningHarbor, read_tar, script_job, start_harbor, wait_for_status

pytestmark = pytest.mark.slow

# hyperparameter ``write``: comma-separated "name=text" files to checkpoint; ``tag``: goes into the model
SCRIPT = """
import json, os, pathlib
hps = json.loads(os.environ["SM_HPS"])
checkpoints = pathlib.Path(os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints"))
found = {str(p.relative_to(checkpoints)): p.read_text() for p in sorted(checkpoints.rglob("*")) if p.is_file()}
for entry in filter(None, hps.get("write", "").split(",")):
    name, _, text = entry.partition("=")
    (checkpoints / name).write_text(text)
model = pathlib.Path(os.environ["SM_MODEL_DIR"])
(model / "found.json").write_text(json.dumps(found))
(model / "tag.txt").write_text(hps.get("tag", ""))
"""


@pytest.fixture(scope="module")
def source_harbor(tmp_path_factory):
    running = start_harbor(tmp_path_factory.mktemp("ckpt-sources"), "--runner", "process")
    yield running
    running.kill()


def _client(harbor: RunningHarbor, service: str, region: str) -> Any:
    return boto3.client(service, endpoint_url=harbor.endpoint, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 1}))


def _run(harbor: RunningHarbor, region: str, bucket: str, name: str | None = None,
         checkpoint_uri: str | None = None, **hyperparameters: str) -> dict[str, Any]:
    """Run SCRIPT as a job in ``region`` until it completes; returns its description."""
    s3 = harbor.client("s3")
    request = script_job(s3, bucket, SCRIPT, HyperParameters=hyperparameters,
                         OutputDataConfig={"S3OutputPath": f"s3://{bucket}/output/{region}"})
    if name is not None:
        request["TrainingJobName"] = name
    if checkpoint_uri is not None:
        request["CheckpointConfig"] = {"S3Uri": checkpoint_uri}
    sagemaker = _client(harbor, "sagemaker", region)
    sagemaker.create_training_job(**request)
    final = wait_for_status(sagemaker, request["TrainingJobName"])
    assert final["TrainingJobStatus"] == "Completed", final.get("FailureReason")
    return final


def _found(harbor: RunningHarbor, description: dict[str, Any]) -> dict[str, str]:
    return json.loads(read_tar(harbor.client("s3"), description["ModelArtifacts"]["S3ModelArtifacts"])["found.json"])


def _download(harbor: RunningHarbor, item_id: str) -> dict[str, bytes]:
    raw = harbor.internal(f"/artifacts/{item_id}/download")
    with tarfile.open(fileobj=io.BytesIO(raw)) as archive:
        return {member.name: archive.extractfile(member).read() for member in archive.getmembers() if member.isfile()}


def test_jobs_of_one_name_in_two_regions_keep_their_own_model_and_checkpoints(source_harbor):
    harbor = source_harbor
    harbor.client("s3").create_bucket(Bucket="regions")
    name = "same-name-in-two-regions"
    america = _run(harbor, "us-east-1", "regions", name, write="where.txt=us", tag="us")
    europe = _run(harbor, "eu-west-1", "regions", name, write="where.txt=eu", tag="eu")
    assert _found(harbor, america) == {}
    assert _found(harbor, europe) == {}  # not the other region's checkpoint: a job of its own
    for region, tag in (("us-east-1", "us"), ("eu-west-1", "eu")):
        items = json.loads(harbor.internal(f"/artifacts?job={name}&region={region}"))["artifacts"]
        assert {item["region"] for item in items} == {region}
        [model] = [item for item in items if item["kind"] == "model"]
        archive = _download(harbor, model["item_id"])["model.tar.gz"]
        with tarfile.open(fileobj=io.BytesIO(archive)) as unpacked:
            assert unpacked.extractfile("tag.txt").read().decode() == tag
        [checkpoint] = [item for item in items if item["kind"] == "checkpoint"]
        assert _download(harbor, checkpoint["item_id"]) == {"where.txt": tag.encode()}
    assert len(json.loads(harbor.internal(f"/artifacts?job={name}"))["artifacts"]) == 4


def test_with_an_s3_uri_the_job_starts_with_exactly_what_s3_holds(source_harbor):
    harbor = source_harbor
    s3 = harbor.client("s3")
    s3.create_bucket(Bucket="truth")
    uri = "s3://truth/checkpoints/run"
    first = _run(harbor, "us-east-1", "truth", checkpoint_uri=uri, write="a.txt=1,b.txt=2")
    assert _found(harbor, first) == {}
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="truth", Prefix="checkpoints/")["Contents"]) == [
        "checkpoints/run/a.txt", "checkpoints/run/b.txt"]

    s3.delete_object(Bucket="truth", Key="checkpoints/run/b.txt")
    second = _run(harbor, "us-east-1", "truth", checkpoint_uri=uri)
    assert _found(harbor, second) == {"a.txt": "1"}  # b.txt was deleted from S3: it stays deleted

    s3.delete_object(Bucket="truth", Key="checkpoints/run/a.txt")
    third = _run(harbor, "us-east-1", "truth", checkpoint_uri=uri)
    assert _found(harbor, third) == {}  # an empty prefix: a fresh start, though the local store keeps sets
