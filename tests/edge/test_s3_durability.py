"""The embedded S3 survives a restart, even a SIGKILL: buckets, objects, metadata, deletions, tags, ETags,
and objects PUT without a signature."""

from __future__ import annotations

import signal
import urllib.request

import pytest
from botocore import UNSIGNED

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


@pytest.mark.slow
def test_unsigned_puts_tags_and_multipart_etags_survive_sigkill(tmp_path):
    data_dir = tmp_path / "data"
    first = start_harbor(data_dir)
    try:
        s3 = first.client("s3")
        s3.create_bucket(Bucket="kept")
        # a PUT with no Authorization header at all (curl, a browser form)
        raw = urllib.request.Request(f"{first.endpoint}/kept/curl.txt", data=b"from curl", method="PUT",
                                     headers={"Content-Type": "text/plain"})
        with urllib.request.urlopen(raw, timeout=30) as response:
            assert response.status == 200
        anonymous = first.client("s3", signature_version=UNSIGNED)
        anonymous.put_object(Bucket="kept", Key="anonymous.txt", Body=b"no signature")
        # tags: given at PutObject, set later, and removed
        s3.put_object(Bucket="kept", Key="tagged-at-put.txt", Body=b"t", Tagging="team=ml&stage=raw")
        s3.put_object(Bucket="kept", Key="tagged-later.txt", Body=b"t")
        s3.put_object_tagging(Bucket="kept", Key="tagged-later.txt",
                              Tagging={"TagSet": [{"Key": "owner", "Value": "ana"}]})
        s3.put_object(Bucket="kept", Key="untagged.txt", Body=b"t", Tagging="gone=yes")
        s3.delete_object_tagging(Bucket="kept", Key="untagged.txt")
        # multipart: the ETag is "<md5 of the part md5s>-<parts>", not the object's MD5
        upload = s3.create_multipart_upload(Bucket="kept", Key="multi.bin")["UploadId"]
        parts = []
        for number, chunk in enumerate((b"a" * (5 * 1024 * 1024), b"b" * 1024), start=1):
            etag = s3.upload_part(Bucket="kept", Key="multi.bin", UploadId=upload, PartNumber=number,
                                  Body=chunk)["ETag"]
            parts.append({"ETag": etag, "PartNumber": number})
        multipart_etag = s3.complete_multipart_upload(Bucket="kept", Key="multi.bin", UploadId=upload,
                                                      MultipartUpload={"Parts": parts})["ETag"]
        assert multipart_etag.strip('"').endswith("-2")
    finally:
        first.kill(signal.SIGKILL)

    second = start_harbor(data_dir)
    try:
        s3 = second.client("s3")
        assert s3.get_object(Bucket="kept", Key="curl.txt")["Body"].read() == b"from curl"
        assert s3.get_object(Bucket="kept", Key="anonymous.txt")["Body"].read() == b"no signature"

        def tags(key: str) -> dict[str, str]:
            return {tag["Key"]: tag["Value"] for tag in s3.get_object_tagging(Bucket="kept", Key=key)["TagSet"]}

        assert tags("tagged-at-put.txt") == {"team": "ml", "stage": "raw"}
        assert tags("tagged-later.txt") == {"owner": "ana"}
        assert tags("untagged.txt") == {}
        head = s3.head_object(Bucket="kept", Key="multi.bin")
        assert head["ETag"] == multipart_etag
        assert head["ContentLength"] == 5 * 1024 * 1024 + 1024
    finally:
        second.kill()
