"""Good checkpoint paths work end to end (that bad ones are refused at Create: tests/api/test_request_paths.py).

A relative ``CheckpointConfig.LocalPath`` such as ``../../../../tmp/x`` used to be mapped against
the server's working directory and land outside the job's tree: the server created that host
directory, restored S3 objects into it and copied what it held into S3.
"""

from __future__ import annotations

import pytest

from tests.conftest import script_job, unique_name, wait_for_status

WRITE_CHECKPOINT = """
import os
directory = os.environ["SM_CHECKPOINT_DIR"]
os.makedirs(directory, exist_ok=True)
open(os.path.join(directory, "step.txt"), "w").write("1")
print("checkpoint dir", directory)
"""


@pytest.mark.parametrize("local_path", ["/opt/ml/checkpoints/", "/opt/ml/run-1/checkpoints", "/data/checkpoints"])
def test_good_absolute_checkpoint_paths_still_work(sagemaker, s3, bucket, local_path):
    request = script_job(s3, bucket, WRITE_CHECKPOINT,
                         CheckpointConfig={"S3Uri": f"s3://{bucket}/ckpt-{unique_name()}", "LocalPath": local_path})
    sagemaker.create_training_job(**request)
    described = wait_for_status(sagemaker, request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    uri = request["CheckpointConfig"]["S3Uri"]
    bucket_name, prefix = uri.removeprefix("s3://").split("/", 1)
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=bucket_name, Prefix=prefix).get("Contents", [])]
    assert keys == [f"{prefix}/step.txt"]
