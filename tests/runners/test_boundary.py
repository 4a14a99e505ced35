"""The runners' typed boundary: a request's channels and checkpoint config arrive parsed."""

from __future__ import annotations

from emulator.runners.base import Channel, CheckpointSpec, S3Source, parse_channels


def test_input_data_config_is_parsed_into_channels_with_sagemakers_defaults():
    channels = parse_channels([
        {"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {
            "S3Uri": "s3://b/train", "S3DataType": "ManifestFile", "S3DataDistributionType": "ShardedByS3Key"}}},
        {"ChannelName": "test", "DataSource": {"S3DataSource": {"S3Uri": "s3://b/test"}}},
        {"ChannelName": "fs", "DataSource": {"FileSystemDataSource": {"DirectoryPath": "/x"}}},
    ])
    assert channels == (
        Channel("train", S3Source("s3://b/train", "ManifestFile", "ShardedByS3Key"), content_type="text/csv"),
        Channel("test", S3Source("s3://b/test", "S3Prefix", "FullyReplicated")),
        Channel("fs", None),  # refused with a ClientError when the runner would download it
    )
    assert parse_channels(None) == ()


def test_checkpoint_config_is_parsed_and_names_the_lineage(tmp_path):
    from tests.runners.conftest import make_request

    class Bucket:
        bucket = "b"
        endpoint = "http://127.0.0.1:9"

    assert CheckpointSpec.from_request(None) is None
    assert CheckpointSpec.from_request({"S3Uri": "s3://b/ckpt/", "LocalPath": ""}) == CheckpointSpec("s3://b/ckpt/")
    request = make_request(Bucket(), tmp_path, job_name="j", checkpoint=CheckpointSpec("s3://b/ckpt/", "/opt/ml/c"))
    assert request.checkpoint_lineage == "s3://b/ckpt" and request.checkpoint_local_path == "/opt/ml/c"
    assert make_request(Bucket(), tmp_path, job_name="j").checkpoint_lineage == "j"
