"""Channel downloads that must fail the job clearly: escapes from the channel directory, missing data.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html
"""

from __future__ import annotations

import json

import pytest

from emulator.runners.base import Channel, S3Source, StopSignal
from emulator.runners.local.process import ProcessRunner
from emulator.runners.s3io import S3Location, prefix_relative, shard
from tests.runners.conftest import make_request, python_entrypoint

NEVER = python_entrypoint("open('/tmp/mlharbor-must-not-run', 'w').write('ran')")


@pytest.fixture(scope="module")
def runner() -> ProcessRunner:
    return ProcessRunner(use_namespace=False, checkpoint_interval=0)


def channel(uri: str, data_type: str = "S3Prefix", name: str = "training") -> tuple[Channel, ...]:
    return (Channel(name, S3Source(uri, data_type)),)


def test_an_s3_key_climbing_out_of_its_channel_fails_the_job(runner, moto_s3, events, tmp_path):
    moto_s3.put("evil/../../../escaped.txt", "boo")
    request = make_request(moto_s3, tmp_path, entrypoint=NEVER, channels=channel(f"s3://{moto_s3.bucket}/evil/"))
    outcome = runner.run(request, events, StopSignal())
    assert outcome.outcome == "Failed"
    assert outcome.failure_reason.startswith("ClientError: ") and "outside its channel directory" in outcome.failure_reason
    assert "Training" not in events.status_names
    assert list(tmp_path.rglob("escaped.txt")) == []


def test_a_manifest_entry_climbing_out_of_its_channel_fails_the_job(runner, moto_s3, events, tmp_path):
    moto_s3.put("pool/ok.csv", "1")
    manifest = moto_s3.put("m.manifest", json.dumps([{"prefix": f"s3://{moto_s3.bucket}/pool/"}, "ok.csv", "../../../../x"]))
    request = make_request(moto_s3, tmp_path, entrypoint=NEVER, channels=channel(manifest, "ManifestFile"))
    outcome = runner.run(request, events, StopSignal())
    assert outcome.outcome == "Failed" and "outside its channel directory" in outcome.failure_reason


@pytest.mark.parametrize("name", ["..", "."])
def test_a_channel_name_that_is_not_a_directory_name_fails_the_job(runner, moto_s3, events, tmp_path, name):
    moto_s3.put("data/a.csv", "1")
    request = make_request(moto_s3, tmp_path, entrypoint=NEVER,
                           channels=channel(f"s3://{moto_s3.bucket}/data/", name=name))
    outcome = runner.run(request, events, StopSignal())
    assert outcome.outcome == "Failed" and f"channel name {name!r}" in outcome.failure_reason
    assert not (request.workdir / "algo-1" / "input" / "a.csv").exists()


@pytest.mark.parametrize("where, expected", [
    ("s3://no-such-bucket-mlharbor/data/", "ClientError: cannot list s3://no-such-bucket-mlharbor/data/"),
    ("s3://{bucket}/nothing-here/", "ClientError: channel training: no objects found under"),
    ("s3://{bucket}/missing.manifest", "ClientError: cannot read manifest"),
])
def test_missing_data_fails_with_a_client_error(runner, moto_s3, events, tmp_path, where, expected):
    uri = where.format(bucket=moto_s3.bucket)
    data_type = "ManifestFile" if uri.endswith(".manifest") else "S3Prefix"
    outcome = runner.run(make_request(moto_s3, tmp_path, entrypoint=NEVER, channels=channel(uri, data_type)),
                         events, StopSignal())
    assert outcome.outcome == "Failed"
    assert outcome.failure_reason.startswith(expected)
    assert events.status_names == ["Downloading"]


@pytest.mark.parametrize("prefix, key, relative", [
    ("data/train/", "data/train/a.csv", "a.csv"),
    ("data/train", "data/train/sub/a.csv", "sub/a.csv"),
    ("data/tr", "data/train/a.csv", "train/a.csv"),
    ("data/train.csv", "data/train.csv", "train.csv"),
    ("", "top.csv", "top.csv"),
])
def test_where_an_s3_prefix_object_lands(prefix, key, relative):
    assert prefix_relative(prefix, key) == relative


def test_sharded_by_s3_key_gives_host_i_every_nth_sorted_key():
    objects = [(S3Location("b", f"k{index}"), f"k{index}") for index in (3, 0, 4, 1, 2)]
    assert [rel for _, rel in shard(objects, 0, 2)] == ["k0", "k2", "k4"]
    assert [rel for _, rel in shard(objects, 1, 2)] == ["k1", "k3"]
