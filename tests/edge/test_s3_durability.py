"""The embedded S3 survives a restart, even a SIGKILL: buckets, objects, metadata, deletions."""

from __future__ import annotations

import signal

import pytest

from tests.conftest import start_harbor


@pytest.mark.slow
def test_objects_survive_sigkill_and_restart(tmp_path):
    data_dir = tmp_path / "data"
    first = start_harbor(data_dir)
    try:
        s3 = first.client("s3")
        s3.create_bucket(Bucket="durable-bucket")
        s3.put_object(Bucket="durable-bucket", Key="a/b.csv", Body=b"1,2\n", Metadata={"origin": "test"},
                      ContentType="text/csv")
        s3.put_object(Bucket="durable-bucket", Key="gone.txt", Body=b"x")
        s3.put_object(Bucket="durable-bucket", Key="also-gone.txt", Body=b"x")
        s3.delete_object(Bucket="durable-bucket", Key="gone.txt")
        s3.delete_objects(Bucket="durable-bucket", Delete={"Objects": [{"Key": "also-gone.txt"}]})
        s3.upload_fileobj(__import__("io").BytesIO(b"z" * (9 * 1024 * 1024)), "durable-bucket", "big.bin")
        s3.create_bucket(Bucket="deleted-bucket")
        s3.delete_bucket(Bucket="deleted-bucket")
    finally:
        first.kill(signal.SIGKILL)

    second = start_harbor(data_dir)
    try:
        s3 = second.client("s3")
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["durable-bucket"]
        keys = sorted(item["Key"] for item in s3.list_objects_v2(Bucket="durable-bucket")["Contents"])
        assert keys == ["a/b.csv", "big.bin"]
        obj = s3.get_object(Bucket="durable-bucket", Key="a/b.csv")
        assert obj["Body"].read() == b"1,2\n"
        assert obj["Metadata"] == {"origin": "test"} and obj["ContentType"] == "text/csv"
        assert s3.head_object(Bucket="durable-bucket", Key="big.bin")["ContentLength"] == 9 * 1024 * 1024
    finally:
        second.kill()
