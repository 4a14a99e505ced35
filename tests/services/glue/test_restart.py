"""Glue's records survive the server: jobs, finished runs and bookmarks are back after a restart, and a run
that was active when the server died is FAILED, saying why (its process died with the server)."""

from __future__ import annotations

import signal
import uuid
from pathlib import Path

import pytest

from emulator.testing import start_harbor
from tests.services.glue.conftest import create_job, put_script, wait_for_run
from tests.services.glue.test_pythonshell_runs import SLEEPING_SCRIPT, alive, wait_for_pids

QUICK_SCRIPT = "print('done')\n"


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_records_survive_a_restart_and_an_interrupted_run_is_failed(tmp_path: Path, sig: int) -> None:
    data_dir = tmp_path / "data"
    first = start_harbor(data_dir, "--stop-grace-seconds", "2")
    try:
        glue, s3 = first.client("glue"), first.client("s3")
        bucket = f"glue-{uuid.uuid4().hex[:10]}"
        s3.create_bucket(Bucket=bucket)
        quick = create_job(glue, put_script(s3, bucket, QUICK_SCRIPT), Description="kept")
        done = glue.start_job_run(JobName=quick)["JobRunId"]
        finished = wait_for_run(glue, quick, done)
        assert finished["JobRunState"] == "SUCCEEDED"
        slow = create_job(glue, put_script(s3, bucket, SLEEPING_SCRIPT))
        pidfile = tmp_path / "pids"
        active = glue.start_job_run(JobName=slow, Arguments={"--pidfile": str(pidfile)})["JobRunId"]
        pids = wait_for_pids(pidfile)
        wait_for_run(glue, slow, active, {"RUNNING"})
    finally:
        first.kill(sig)
    second = start_harbor(data_dir, "--stop-grace-seconds", "2")
    try:
        assert not any(alive(pid) for pid in pids)  # died with the server, or (what they started) ended now
        glue = second.client("glue")
        assert glue.get_job(JobName=quick)["Job"]["Description"] == "kept"
        assert glue.get_job_run(JobName=quick, RunId=done)["JobRun"] == finished
        interrupted = glue.get_job_run(JobName=slow, RunId=active)["JobRun"]
        assert interrupted["JobRunState"] == "FAILED"
        assert "interrupted" in interrupted["ErrorMessage"] and "CompletedOn" in interrupted
        # the limit counts only active runs: the interrupted one no longer holds the job's one slot
        again = glue.start_job_run(JobName=quick)["JobRunId"]
        assert wait_for_run(glue, quick, again)["JobRunState"] == "SUCCEEDED"
    finally:
        second.kill()
