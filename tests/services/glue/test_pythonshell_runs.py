"""Python shell runs over real boto3: the script really runs through the job driver, with the arguments Glue
merges; its exit decides the state; Timeout, stop and MaxConcurrentRuns hold; logs reach CloudWatch Logs."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.glue.conftest import MINUTE_SECONDS, create_job, log_messages, put_script, wait_for_run

ARGUMENTS_SCRIPT = """
import json, sys, time
import boto3
from awsglue.utils import getResolvedOptions
args = getResolvedOptions(sys.argv, ["JOB_NAME", "JOB_RUN_ID", "a", "b", "c", "out"])
print("first line")
print("second line")
print("to stderr", file=sys.stderr)
time.sleep(1.2)
bucket, key = args["out"][5:].split("/", 1)
boto3.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(args).encode())
"""

FAILING_SCRIPT = """
def load(row):
    raise ValueError(f"bad row {row}")
load(7)
"""

SLEEPING_SCRIPT = """
import os, subprocess, sys
from awsglue.utils import getResolvedOptions
args = getResolvedOptions(sys.argv, ["pidfile"])
child = subprocess.Popen(["sleep", "300"])
with open(args["pidfile"], "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
child.wait()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its parent counts as gone
        return stat.read().split()[2] != "Z"


def wait_for_pids(path: Path, timeout: float = 30) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return [int(pid) for pid in path.read_text().split()]
        time.sleep(0.1)
    raise AssertionError(f"{path} never written")


def test_a_run_succeeds_with_merged_arguments_timings_and_logs(glue: Any, glue_s3: Any, glue_bucket: str,
                                                                glue_logs: Any) -> None:
    script = put_script(glue_s3, glue_bucket, ARGUMENTS_SCRIPT)
    out = f"s3://{glue_bucket}/out/args.json"
    job = create_job(glue, script, DefaultArguments={"--a": "default", "--b": "default", "--c": "default",
                                                     "--out": out},
                     NonOverridableArguments={"--c": "fixed"})
    run_id = glue.start_job_run(JobName=job, Arguments={"--b": "run", "--c": "run"})["JobRunId"]
    assert run_id.startswith("jr_") and len(run_id) == 67
    seen = wait_for_run(glue, job, run_id, {"RUNNING", "SUCCEEDED", "FAILED"})["JobRunState"]
    run = wait_for_run(glue, job, run_id)
    assert (seen, run["JobRunState"]) == ("RUNNING", "SUCCEEDED"), run.get("ErrorMessage")
    args = json.loads(glue_s3.get_object(Bucket=glue_bucket, Key="out/args.json")["Body"].read())
    assert (args["a"], args["b"], args["c"]) == ("default", "run", "fixed")
    assert (args["JOB_NAME"], args["JOB_RUN_ID"]) == (job, run_id)
    assert run["Arguments"] == {"--b": "run", "--c": "run"}  # the run's own, as AWS shows them
    seconds = (run["CompletedOn"] - run["StartedOn"]).total_seconds()
    assert 1 <= run["ExecutionTime"] <= seconds + 1
    assert run["DPUSeconds"] == pytest.approx(0.0625 * run["ExecutionTime"], abs=0.0625)
    assert run["MaxCapacity"] == 0.0625 and run["Attempt"] == 0
    assert log_messages(glue_logs, "/aws-glue/jobs/output", run_id)[:2] == ["first line", "second line"]
    assert "to stderr" in log_messages(glue_logs, "/aws-glue/jobs/error", run_id)
    listed = glue.get_job_runs(JobName=job)["JobRuns"]
    assert [r["Id"] for r in listed] == [run_id]


def test_a_failing_script_fails_the_run_with_its_exception(glue: Any, glue_s3: Any, glue_bucket: str,
                                                           glue_logs: Any) -> None:
    job = create_job(glue, put_script(glue_s3, glue_bucket, FAILING_SCRIPT))
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_for_run(glue, job, run_id)
    assert run["JobRunState"] == "FAILED"
    assert run["ErrorMessage"] == "ValueError: bad row 7"
    assert any("Traceback" in line for line in log_messages(glue_logs, "/aws-glue/jobs/error", run_id))


@pytest.mark.parametrize(("source", "location", "said"), [
    ("print('fine'", None, "SyntaxError"),
    (None, "s3://{bucket}/scripts/never-uploaded.py", "does not exist in S3 (NoSuchKey)"),
    (None, "s3://no-such-bucket-here/job.py", "does not exist in S3 (NoSuchBucket)"),
])
def test_bad_scripts_fail_the_run_with_the_reason(glue: Any, glue_s3: Any, glue_bucket: str, source: str | None,
                                                  location: str | None, said: str) -> None:
    script = put_script(glue_s3, glue_bucket, source) if source else location.format(bucket=glue_bucket)
    job = create_job(glue, script)
    run = wait_for_run(glue, job, glue.start_job_run(JobName=job)["JobRunId"])
    assert run["JobRunState"] == "FAILED" and said in run["ErrorMessage"], run.get("ErrorMessage")


def test_a_run_past_its_timeout_times_out_and_its_processes_end(glue: Any, glue_s3: Any, glue_bucket: str,
                                                                 tmp_path: Path) -> None:
    job = create_job(glue, put_script(glue_s3, glue_bucket, SLEEPING_SCRIPT), Timeout=30)
    pidfile = tmp_path / "pids"
    run_id = glue.start_job_run(JobName=job, Timeout=1, Arguments={"--pidfile": str(pidfile)})["JobRunId"]
    pids = wait_for_pids(pidfile)
    run = wait_for_run(glue, job, run_id, timeout=MINUTE_SECONDS + 30)
    assert run["JobRunState"] == "TIMEOUT" and run["Timeout"] == 1
    assert "timed out" in run["ErrorMessage"]
    assert run["ExecutionTime"] >= MINUTE_SECONDS - 1
    assert not any(alive(pid) for pid in pids)


def test_stop_and_the_concurrency_limit(glue: Any, glue_s3: Any, glue_bucket: str, tmp_path: Path) -> None:
    job = create_job(glue, put_script(glue_s3, glue_bucket, SLEEPING_SCRIPT))  # MaxConcurrentRuns: 1
    pidfile = tmp_path / "pids"
    run_id = glue.start_job_run(JobName=job, Arguments={"--pidfile": str(pidfile)})["JobRunId"]
    pids = wait_for_pids(pidfile)
    with pytest.raises(ClientError) as refused:
        glue.start_job_run(JobName=job, Arguments={"--pidfile": str(tmp_path / "other")})
    assert refused.value.response["Error"]["Code"] == "ConcurrentRunsExceededException"

    stopped = glue.batch_stop_job_run(JobName=job, JobRunIds=[run_id, "jr_unknown"])
    assert stopped["SuccessfulSubmissions"] == [{"JobName": job, "JobRunId": run_id}]
    assert [e["JobRunId"] for e in stopped["Errors"]] == ["jr_unknown"]
    assert glue.get_job_run(JobName=job, RunId=run_id)["JobRun"]["JobRunState"] in ("STOPPING", "STOPPED")
    run = wait_for_run(glue, job, run_id)
    assert run["JobRunState"] == "STOPPED" and "CompletedOn" in run
    assert not any(alive(pid) for pid in pids)  # the whole process group, the script's child too
    again = glue.batch_stop_job_run(JobName=job, JobRunIds=[run_id])
    assert again["Errors"][0]["ErrorDetail"]["ErrorCode"] == "InvalidInputException"

    second = glue.start_job_run(JobName=job, Arguments={"--pidfile": str(tmp_path / "second")})["JobRunId"]
    wait_for_pids(tmp_path / "second")
    glue.batch_stop_job_run(JobName=job, JobRunIds=[second])
    assert wait_for_run(glue, job, second)["JobRunState"] == "STOPPED"


def test_deleting_a_job_ends_its_active_runs_and_forgets_them(glue: Any, glue_s3: Any, glue_bucket: str,
                                                              tmp_path: Path) -> None:
    job = create_job(glue, put_script(glue_s3, glue_bucket, SLEEPING_SCRIPT))
    run_id = glue.start_job_run(JobName=job, Arguments={"--pidfile": str(tmp_path / "pids")})["JobRunId"]
    pids = wait_for_pids(tmp_path / "pids")
    glue.delete_job(JobName=job)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in pids)
    with pytest.raises(ClientError) as gone:
        glue.get_job_run(JobName=job, RunId=run_id)
    assert gone.value.response["Error"]["Code"] == "EntityNotFoundException"


def test_a_retried_run_is_the_next_attempt_of_the_one_it_names(glue: Any, glue_s3: Any, glue_bucket: str) -> None:
    job = create_job(glue, put_script(glue_s3, glue_bucket, FAILING_SCRIPT))
    first = glue.start_job_run(JobName=job)["JobRunId"]
    assert wait_for_run(glue, job, first)["JobRunState"] == "FAILED"
    retry = glue.start_job_run(JobName=job, JobRunId=first)["JobRunId"]
    run = wait_for_run(glue, job, retry)
    assert (run["PreviousRunId"], run["Attempt"], run["JobRunState"]) == (first, 1, "FAILED")


EXTRAS_SCRIPT = """
import helper
print(helper.greeting(), open("settings.conf").read().strip())
"""


def test_extra_py_files_extra_files_and_installed_modules(glue: Any, glue_s3: Any, glue_bucket: str,
                                                          glue_logs: Any) -> None:
    glue_s3.put_object(Bucket=glue_bucket, Key="lib/helper.py", Body=b"def greeting():\n    return 'hello from helper'\n")
    glue_s3.put_object(Bucket=glue_bucket, Key="conf/settings.conf", Body=b"mode=test\n")
    job = create_job(glue, put_script(glue_s3, glue_bucket, EXTRAS_SCRIPT), DefaultArguments={
        "--extra-py-files": f"s3://{glue_bucket}/lib/helper.py",
        "--extra-files": f"s3://{glue_bucket}/conf/settings.conf",
        "--additional-python-modules": "boto3,psutil>=1",
    }, ExecutionProperty={"MaxConcurrentRuns": 3})
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_for_run(glue, job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert "hello from helper mode=test" in log_messages(glue_logs, "/aws-glue/jobs/output", run_id)

    for modules, said in [("surely-not-installed-pkg==1.0", "cannot be installed offline"),
                          ("boto3==0.0.1", "another version cannot be installed offline")]:
        bad = glue.start_job_run(JobName=job, Arguments={"--additional-python-modules": modules})["JobRunId"]
        failed = wait_for_run(glue, job, bad)
        assert failed["JobRunState"] == "FAILED" and said in failed["ErrorMessage"], failed.get("ErrorMessage")
    missing = glue.start_job_run(JobName=job, Arguments={"--extra-py-files": f"s3://{glue_bucket}/lib/gone.py"})
    failed = wait_for_run(glue, job, missing["JobRunId"])
    assert failed["JobRunState"] == "FAILED" and "lib/gone.py does not exist" in failed["ErrorMessage"]


WHEEL_SCRIPT = """
import mlharbor_tiny
print(mlharbor_tiny.ANSWER)
"""


def tiny_wheel() -> bytes:
    """A one-module wheel, made here (a wheel is a zip with its dist-info)."""
    import io
    import zipfile

    info = "mlharbor_tiny-1.0.dist-info"
    files = {
        "mlharbor_tiny/__init__.py": "ANSWER = 'answer from the wheel'\n",
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: mlharbor-tiny\nVersion: 1.0\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: hand\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{name},,\n" for name in files) + f"{info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def test_a_wheel_from_s3_is_installed_offline_for_the_run(glue: Any, glue_s3: Any, glue_bucket: str,
                                                          glue_logs: Any) -> None:
    glue_s3.put_object(Bucket=glue_bucket, Key="wheels/mlharbor_tiny-1.0-py3-none-any.whl", Body=tiny_wheel())
    wheel = f"s3://{glue_bucket}/wheels/mlharbor_tiny-1.0-py3-none-any.whl"
    job = create_job(glue, put_script(glue_s3, glue_bucket, WHEEL_SCRIPT),
                     DefaultArguments={"--additional-python-modules": f"{wheel},mlharbor-tiny==1.0"})
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    run = wait_for_run(glue, job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    assert log_messages(glue_logs, "/aws-glue/jobs/output", run_id) == ["answer from the wheel"]
    broken = glue.start_job_run(JobName=job, Arguments={
        "--additional-python-modules": f"s3://{glue_bucket}/wheels/missing-1.0-py3-none-any.whl"})["JobRunId"]
    failed = wait_for_run(glue, job, broken)
    assert failed["JobRunState"] == "FAILED" and "does not exist in S3" in failed["ErrorMessage"]


CONNECTION_SCRIPT = """
import json, os
print(json.dumps(json.load(open(os.environ["MLHARBOR_GLUE_CONNECTIONS"])), sort_keys=True))
"""


def test_a_jobs_connections_are_resolved_for_its_runs(glue_harbor: Any, glue: Any, glue_s3: Any, glue_bucket: str,
                                                      glue_logs: Any) -> None:
    gremlin = glue_harbor.graph.replace("http://", "wss://").rstrip("/") + "/gremlin"
    name = f"graph-{glue_bucket[-6:]}"
    glue.create_connection(ConnectionInput={"Name": name, "ConnectionType": "JDBC",
                                            "ConnectionProperties": {"JDBC_CONNECTION_URL": "jdbc:" + gremlin}})
    script = put_script(glue_s3, glue_bucket, CONNECTION_SCRIPT)
    job = create_job(glue, script, Connections={"Connections": [name]})
    run_id = glue.start_job_run(JobName=job)["JobRunId"]
    assert wait_for_run(glue, job, run_id)["JobRunState"] == "SUCCEEDED"
    resolved = json.loads(log_messages(glue_logs, "/aws-glue/jobs/output", run_id)[0])
    assert resolved[name]["ConnectionType"] == "JDBC" and resolved[name]["GraphEndpoint"] == gremlin

    orphan = create_job(glue, script, Connections={"Connections": ["no-such-connection"]})
    failed = wait_for_run(glue, orphan, glue.start_job_run(JobName=orphan)["JobRunId"])
    assert failed["JobRunState"] == "FAILED" and "no-such-connection not found" in failed["ErrorMessage"]


BOOKMARK_SCRIPT = """
import json, os
state_in = os.environ["MLHARBOR_GLUE_BOOKMARK_IN"]
seen = json.load(open(state_in))["runs"] if os.path.exists(state_in) else 0
print("seen", seen)
json.dump({"runs": seen + 1}, open(os.environ["MLHARBOR_GLUE_BOOKMARK_OUT"], "w"))
"""


def test_bookmark_state_is_kept_served_and_reset(glue: Any, glue_s3: Any, glue_bucket: str, glue_logs: Any) -> None:
    """The server's side of bookmarks: the state a run leaves is the next run's input (the awsglue library's
    own use of it is tested with the library)."""
    job = create_job(glue, put_script(glue_s3, glue_bucket, BOOKMARK_SCRIPT),
                     DefaultArguments={"--job-bookmark-option": "job-bookmark-enable"})

    def run_and_read(**extra: Any) -> str:
        run_id = glue.start_job_run(JobName=job, **extra)["JobRunId"]
        assert wait_for_run(glue, job, run_id)["JobRunState"] == "SUCCEEDED"
        return log_messages(glue_logs, "/aws-glue/jobs/output", run_id)[0]

    assert run_and_read() == "seen 0"
    entry = glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"]
    assert json.loads(entry["JobBookmark"]) == {"runs": 1} and entry["Version"] == 1 and entry["Run"] == 1
    assert run_and_read() == "seen 1"
    assert run_and_read(Arguments={"--job-bookmark-option": "job-bookmark-pause"}) == "seen 2"
    assert json.loads(glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"]["JobBookmark"]) == {"runs": 2}
    reset = glue.reset_job_bookmark(JobName=job)["JobBookmarkEntry"]
    assert reset["JobBookmark"] == ""
    assert run_and_read() == "seen 0"
