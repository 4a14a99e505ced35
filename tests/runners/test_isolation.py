"""A job's own /opt/ml, its end on stop (SIGTERM, grace, SIGKILL) and the reaping of leftovers.

https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StopTrainingJob.html
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from containers.contract import DEFAULT_BASE_DIR
from emulator.runners.base import StopSignal
from emulator.runners.local import namespace
from emulator.runners.local.process import PID_FILE, ProcessRunner
from tests.runners.conftest import (
    RecordingEvents,
    make_request,
    python_entrypoint,
)

needs_namespace = pytest.mark.skipif(not namespace.namespace_available(),
                                     reason="this machine cannot make mount namespaces (needs root and unshare)")


@needs_namespace
def test_hard_coded_opt_ml_paths_and_two_concurrent_jobs_each_see_their_own(moto_s3, tmp_path):
    source = (
        "import json, os, socket, time\n"
        "hps = json.load(open('/opt/ml/input/config/hyperparameters.json'))\n"
        "time.sleep(1)  # both jobs are running now\n"
        "open('/opt/ml/model/who.json', 'w').write(json.dumps({'hps': hps, 'job': os.environ['TRAINING_JOB_NAME'],\n"
        "    'algo-1': socket.gethostbyname('algo-1'), 'cwd': os.getcwd()}))\n"
    )
    runner = ProcessRunner(checkpoint_interval=0)
    assert runner.use_namespace
    requests = [make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source), hyperparameters={"who": who})
                for who in ("first", "second")]
    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda r: runner.run(r, RecordingEvents(), StopSignal()), requests))
    for request, outcome in zip(requests, outcomes, strict=True):
        assert outcome.outcome == "Completed", outcome.failure_reason
        seen = json.loads(moto_s3.read_tar(outcome.model_artifacts)["who.json"])
        assert seen == {"hps": request.hyperparameters, "job": request.job_name, "algo-1": "127.0.0.1",
                        "cwd": str(DEFAULT_BASE_DIR)}
    # the machine's own /opt/ml never saw the jobs' files
    assert not (DEFAULT_BASE_DIR / "model" / "who.json").exists()


def _leftover(workdir: Path, job_name: str) -> subprocess.Popen[bytes]:
    """A process group as a crashed control plane would leave it, with the runner's pid file."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True,
                               env={**os.environ, "TRAINING_JOB_NAME": job_name})
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / PID_FILE).write_text(json.dumps({"job_name": "job-a", "process_groups": [process.pid]}))
    return process


def test_reap_kills_a_leftover_process_group_of_that_job_only(tmp_path):
    runner = ProcessRunner(use_namespace=False)
    leftover = _leftover(tmp_path / "a", "job-a")
    # the pid was reused by something else: never kill it
    stranger = _leftover(tmp_path / "b", "someone-else")
    try:
        runner.reap(tmp_path / "a")
        runner.reap(tmp_path / "b")
        assert leftover.wait(10) == -9
        with pytest.raises(subprocess.TimeoutExpired):
            stranger.wait(1)
        assert not (tmp_path / "a" / PID_FILE).exists()
    finally:
        stranger.kill()
        stranger.wait()
