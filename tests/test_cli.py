"""The mlharbor command's client side, run as a user would, against the running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import REPO, script_job, wait_for_status


def mlharbor(*args: str, endpoint: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return subprocess.run([sys.executable, "-m", "emulator.cli", *args], capture_output=True, text=True,
                          cwd=REPO, env=env, timeout=120)


def test_jobs_describe_and_logs_show_a_finished_job(harbor, sagemaker, s3, bucket):
    request = script_job(s3, bucket, "print('line one')\nprint('line two')\n")
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    wait_for_status(sagemaker, name)

    listed = mlharbor("jobs", endpoint=harbor.endpoint)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith(name))
    assert "Completed" in row

    described = mlharbor("describe", name, "--endpoint", harbor.endpoint)
    assert json.loads(described.stdout)["TrainingJobStatus"] == "Completed"

    logs = mlharbor("logs", name, "-f", endpoint=harbor.endpoint)
    assert logs.returncode == 0, logs.stderr
    assert "line one" in logs.stdout and "line two" in logs.stdout


def test_unknown_job_is_one_clear_line_and_a_non_zero_exit(harbor):
    result = mlharbor("describe", "no-such-job", endpoint=harbor.endpoint)
    assert result.returncode == 1
    assert "Requested resource not found." in result.stderr
    assert "Traceback" not in result.stderr


def test_images_lists_the_builtin_pytorch_image():
    result = mlharbor("images")
    assert result.returncode == 0, result.stderr
    assert "mlharbor/pytorch" in result.stdout


def test_no_server_is_a_clear_error(tmp_path):
    result = mlharbor("jobs", "--endpoint", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "mlharbor:" in result.stderr and "Traceback" not in result.stderr
