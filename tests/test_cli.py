"""The mlharbor command's client side, run as a user would, against the running server."""

from __future__ import annotations

import json
import os
import re
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


def test_every_config_key_is_an_up_flag_whose_help_shows_its_default():
    from emulator.config import DEFAULT_CONFIG, SETTINGS

    assert [setting.key for setting in SETTINGS] == list(DEFAULT_CONFIG)
    shown = subprocess.run([sys.executable, "-m", "emulator.cli", "up", "--help"], capture_output=True, text=True,
                           cwd=REPO, env={**os.environ, "COLUMNS": "1000"}, timeout=60)
    assert shown.returncode == 0, shown.stderr
    options = shown.stdout.split("options:", 1)[1]
    # one block per option: its flags, then its help (on the same line or the next ones)
    blocks = [" ".join(block.split()) for block in re.split(r"\n  (?=-)", options)]
    lines = {block.split()[0].rstrip(","): block for block in blocks if block.startswith("-")}
    for setting in SETTINGS:
        assert setting.flag in lines, f"{setting.key} has no `mlharbor up` flag"
        assert f"(default: {setting.shown_default})" in lines[setting.flag], lines[setting.flag]
    assert "{process,docker}" in lines["--runner"] and "{none,sigv4}" in lines["--auth"]


def test_up_flags_become_config_overrides_and_unset_ones_stay_out():
    from emulator.cli import _parser
    from emulator.config import SETTINGS

    args = _parser().parse_args(["up", "--runner", "docker", "--max-concurrent-jobs", "4", "--no-use-mount-namespace",
                                 "--access-keys", "a:b", "--edge-server", "cheroot"])
    given = {setting.key: getattr(args, setting.key) for setting in SETTINGS if getattr(args, setting.key) is not None}
    assert given == {"runner": "docker", "max_concurrent_jobs": 4, "use_mount_namespace": False,
                     "access_keys": "a:b", "edge_server": "cheroot"}


def test_stop_waits_for_the_job_to_end_and_shows_its_final_status(harbor, sagemaker, s3, bucket):
    request = script_job(s3, bucket, "import time\ntime.sleep(300)\n")
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    stopped = mlharbor("stop", name, endpoint=harbor.endpoint)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stdout.rstrip().endswith(f"{name}: Stopped")
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] == "Stopped"


def test_jobs_lists_at_most_max_rows(harbor, sagemaker, s3, bucket):
    for _ in range(3):
        sagemaker.create_training_job(**script_job(s3, bucket, "print('x')\n"))
    listed = mlharbor("jobs", "--max", "2", endpoint=harbor.endpoint)
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 1 + 2  # the header and two rows
