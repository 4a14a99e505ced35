"""Every process of a job ends with the job, and with its control plane: children, grandchildren, setsid daemons.

A job script starts a child (which starts a grandchild) and a ``setsid`` child; each writes a file
in a directory the test gives it, then sleeps. Inside a PID namespace a job's own pids mean nothing
on this machine, so the test finds the family's host pids by a marker variable in their environment.
"""

from __future__ import annotations

import signal
import time
import uuid
from pathlib import Path

import pytest

from emulator.runners.base import StopSignal
from emulator.runners.local import namespace
from emulator.runners.local.process import ProcessRunner
from tests.conftest import (
    process_alive,
    processes_with_env,
    script_job,
    start_harbor,
    wait_for_file,
    wait_for_status,
)
from tests.runners.conftest import RecordingEvents, make_request, python_entrypoint, run_in_background

pytestmark = pytest.mark.slow

#: ``sleeper.py ROLE [CHILD[/GRANDCHILD]]...``: start the children (``setsid*`` in a new session), write ROLE, sleep
SLEEPER = """\
import os, subprocess, sys, time
role, *children = sys.argv[1:]
for spec in children:
    child, *below = spec.split("/")
    subprocess.Popen([sys.executable, __file__, child, *below], start_new_session=child.startswith("setsid"))
open(os.path.join(os.path.dirname(__file__), role), "w").write(str(os.getpid()))
time.sleep(300)
"""
ROLES = ("script", "child", "grandchild", "setsid-child")
#: the job's own program: becomes the family's head (``exec`` keeps the pid the runner started)
JOB_SOURCE = (
    "import os, sys\n"
    "sleeper = os.path.join(os.environ['PROBE_DIR'], 'sleeper.py')\n"
    "os.execv(sys.executable, [sys.executable, sleeper, 'script', 'child/grandchild', 'setsid-child'])\n"
)
MODES = [
    pytest.param(False, id="no-namespace"),
    pytest.param(True, id="pid-namespace", marks=pytest.mark.skipif(
        not namespace.pid_namespace_available(), reason="this machine cannot make PID namespaces")),
]


def probe_dir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The directory the family writes to (with ``sleeper.py``) and the job Environment naming it."""
    directory = tmp_path / "probe"
    directory.mkdir()
    (directory / "sleeper.py").write_text(SLEEPER)
    return directory, {"PROBE_DIR": str(directory), "PROBE_MARK": uuid.uuid4().hex}


def family(environment: dict[str, str]) -> list[int]:
    """Host pids of the live processes carrying the job's ``PROBE_MARK`` (the job's whole tree)."""
    return processes_with_env("PROBE_MARK", environment["PROBE_MARK"])


def wait_for_family(directory: Path, environment: dict[str, str]) -> list[int]:
    for role in ROLES:
        wait_for_file(directory / role, timeout=120)
    pids = family(environment)
    assert len(pids) >= len(ROLES), pids
    return pids


def wait_until_gone(pids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while left := [pid for pid in pids if process_alive(pid)]:
        assert time.monotonic() < deadline, f"job processes {left} outlived their job"
        time.sleep(0.2)


@pytest.mark.parametrize("own_namespace", MODES)
def test_stop_ends_the_script_its_children_grandchildren_and_setsid_children(own_namespace, moto_s3, tmp_path):
    directory, environment = probe_dir(tmp_path)
    runner = ProcessRunner(use_namespace=own_namespace, checkpoint_interval=0)
    assert runner.own_pids == own_namespace
    source = f"import os\nos.execvp('python3', ['python3', '-c', {JOB_SOURCE!r}])\n"
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source), environment=environment)
    run = run_in_background(runner, request, RecordingEvents(), StopSignal(grace_seconds=1))
    pids = wait_for_family(directory, environment)
    run.stop.request()
    assert run.outcome().outcome == "Stopped"
    assert [pid for pid in pids if process_alive(pid)] == []
    assert family(environment) == []


def test_stop_training_job_ends_every_process_of_the_job(sagemaker, s3, bucket, tmp_path):
    directory, environment = probe_dir(tmp_path)
    request = script_job(s3, bucket, JOB_SOURCE, Environment=environment)
    sagemaker.create_training_job(**request)
    pids = wait_for_family(directory, environment)
    sagemaker.stop_training_job(TrainingJobName=request["TrainingJobName"])
    assert wait_for_status(sagemaker, request["TrainingJobName"])["TrainingJobStatus"] == "Stopped"
    assert [pid for pid in pids if process_alive(pid)] == []
    assert family(environment) == []


@pytest.mark.parametrize("own_namespace", MODES)
def test_a_sigkilled_control_plane_takes_every_job_process_with_it(own_namespace, tmp_path):
    directory, environment = probe_dir(tmp_path)
    data_dir = tmp_path / "data"
    settings = {"MLHARBOR_USE_MOUNT_NAMESPACE": "true" if own_namespace else "false"}
    first = start_harbor(data_dir, "--max-concurrent-jobs", "1", env=settings)
    try:
        sagemaker, s3 = first.client("sagemaker"), first.client("s3")
        s3.create_bucket(Bucket="family")
        request = script_job(s3, "family", JOB_SOURCE, Environment=environment)
        sagemaker.create_training_job(**request)
        pids = wait_for_family(directory, environment)
    finally:
        first.kill(signal.SIGKILL)
    if own_namespace:
        # the namespace dies with unshare, unshare with the control plane: no restart needed
        wait_until_gone(pids, timeout=15)
    second = start_harbor(data_dir, "--max-concurrent-jobs", "1", env=settings)
    try:
        wait_until_gone(pids, timeout=15)  # without a namespace, the restart's reap ends the rest
        assert family(environment) == []
        described = second.client("sagemaker").describe_training_job(TrainingJobName=request["TrainingJobName"])
        assert described["TrainingJobStatus"] == "Failed"
        assert "control plane stopped while this job was running" in described["FailureReason"]
    finally:
        second.kill()
