"""A job's python is its own environment's, not the server's; what it installs stays there; its memory is held.

The packages are wheels the test builds itself (a wheel is a zip with three metadata files), so
``requirements.txt`` installs offline and a leak into the server's environment would be one
uniquely named package.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest

from emulator.runners.base import StopSignal
from emulator.runners.instances import container_limits
from emulator.runners.local import cgroup, job_env
from emulator.runners.local.process import ProcessRunner
from emulator.testing.requests import model_archive
from tests.conftest import read_tar, training_request, wait_for_status
from tests.runners.conftest import RecordingEvents, make_request

pytestmark = pytest.mark.slow


def build_wheel(directory: Path, name: str, version: str) -> Path:
    """A pure-Python wheel of one module ``name`` whose ``VERSION`` is ``version``."""
    module = name.replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    files = {
        f"{module}.py": f"VERSION = {version!r}\n",
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: mlharbor-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    path = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            data = text.encode()
            archive.writestr(member, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{member},sha256={digest},{len(data)}")
        archive.writestr(f"{dist_info}/RECORD", "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n")
    return path


def upload_sourcedir(s3: Any, bucket: str, files: dict[str, str]) -> str:
    key = f"code/{uuid.uuid4().hex[:8]}/sourcedir.tar.gz"
    s3.put_object(Bucket=bucket, Key=key, Body=model_archive({name: text.encode() for name, text in files.items()}))
    return f"s3://{bucket}/{key}"


def server_imports(module: str) -> bool:
    """Whether the server's interpreter (this one: tests start ``mlharbor up`` with it) can import ``module``."""
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


REPORT_INTERPRETERS = (
    "import json, os, subprocess, sys\n"
    "import {module}\n"
    "shell = subprocess.run(['sh', '-c', \"python3 -c 'import sys; print(sys.prefix)'; command -v pip\"],\n"
    "                       capture_output=True, text=True, check=True).stdout.split()\n"
    "json.dump({{'version': {module}.VERSION, 'prefix': sys.prefix, 'executable': sys.executable,\n"
    "           'shell_prefix': shell[0], 'shell_pip': shell[1]}},\n"
    "          open(os.path.join(os.environ['SM_MODEL_DIR'], 'interpreter.json'), 'w'))\n"
)


def test_requirements_install_into_the_jobs_own_environment_never_the_servers(harbor, sagemaker, s3, bucket,
                                                                              tmp_path):
    name = f"mlharbor-probe-{uuid.uuid4().hex[:8]}"
    module = name.replace("-", "_")
    wheel = build_wheel(tmp_path, name, "1.0")
    source = upload_sourcedir(s3, bucket, {"train.py": REPORT_INTERPRETERS.format(module=module),
                                           "requirements.txt": f"{wheel}\n"})
    request = training_request(bucket, HyperParameters={"sagemaker_program": "train.py",
                                                        "sagemaker_submit_directory": source})
    sagemaker.create_training_job(**request)
    described = wait_for_status(sagemaker, request["TrainingJobName"])
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")

    seen = json.loads(read_tar(s3, described["ModelArtifacts"]["S3ModelArtifacts"])["interpreter.json"])
    assert seen["version"] == "1.0"
    # the toolkit's sys.executable, a shell's python3 and pip: all the job's environment, not the server's
    assert seen["prefix"] != sys.prefix
    assert seen["shell_prefix"] == seen["prefix"]
    assert seen["shell_pip"] == str(Path(seen["prefix"]) / "bin" / "pip")
    assert Path(seen["prefix"]).is_relative_to(harbor.data_dir)
    assert not server_imports(module)


def test_a_pinned_version_shadows_the_servers_copy_and_leaves_it_untouched(tmp_path):
    server_site = tmp_path / "server-site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(server_site),
                    str(build_wheel(tmp_path, "mlharbor-pinned", "1.0"))], check=True)
    interpreter = job_env.create(tmp_path / "env", site_dirs=[str(server_site), *job_env.server_site_dirs()])
    env = interpreter.environment({"PATH": "/usr/bin:/bin"})
    script = "python3 -c 'import mlharbor_pinned as m; print(m.VERSION)'"

    assert subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True).stdout.strip() == "1.0"
    subprocess.run(["sh", "-c", f"pip install --quiet --no-deps {build_wheel(tmp_path, 'mlharbor-pinned', '2.0')}"],
                   env=env, check=True)
    assert subprocess.run(["sh", "-c", script], env=env, capture_output=True, text=True).stdout.strip() == "2.0"
    # the "server's" copy is where it was, at its own version
    assert (server_site / "mlharbor_pinned.py").read_text() == "VERSION = '1.0'\n"
    assert (server_site / "mlharbor_pinned-1.0.dist-info").is_dir()


def test_an_entrypoint_through_a_shell_runs_the_jobs_python(moto_s3, tmp_path):
    entrypoint = ["/bin/sh", "-c", "python3 -c 'import sys, torch; print(\"prefix=\" + sys.prefix)'"]
    request = make_request(moto_s3, tmp_path, entrypoint=entrypoint)
    events = RecordingEvents()
    outcome = ProcessRunner(checkpoint_interval=0).run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    assert f"prefix={request.workdir / 'env-algo-1'}" in events.text()


def _memory_cgroup_here() -> bool:
    try:
        cgroup.create(f"probe-{uuid.uuid4().hex[:8]}", 1 << 30).remove()
    except cgroup.CgroupUnavailable:
        return False
    return True


READ_OWN_LIMIT = (
    "import json, os\n"
    "limit = where = None\n"
    "for line in open('/proc/self/cgroup').read().splitlines():\n"
    "    _, controllers, path = line.split(':', 2)\n"
    "    if 'memory' in controllers.split(','):\n"
    "        where = f'/sys/fs/cgroup/memory{path}'\n"
    "        limit = open(f'{where}/memory.limit_in_bytes').read().strip()\n"
    "    elif controllers == '' and os.path.exists(f'/sys/fs/cgroup{path}/memory.max'):\n"
    "        where = f'/sys/fs/cgroup{path}'\n"
    "        limit = open(f'{where}/memory.max').read().strip()\n"
    "json.dump({'limit': limit, 'where': where}, open(os.path.join(os.environ['SM_MODEL_DIR'], 'limit.json'), 'w'))\n"
)


@pytest.mark.skipif(not _memory_cgroup_here(), reason="no writable memory cgroup on this machine")
def test_a_job_runs_under_its_instance_types_memory_limit(moto_s3, tmp_path):
    request = make_request(moto_s3, tmp_path, entrypoint=["python3", "-c", READ_OWN_LIMIT],
                           instance_type="ml.m5.large")
    events = RecordingEvents()
    outcome = ProcessRunner(checkpoint_interval=0).run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    seen = json.loads(moto_s3.read_tar(outcome.model_artifacts)["limit.json"])
    assert int(seen["limit"]) == container_limits("ml.m5.large").memory_bytes
    assert Path(seen["where"]).name.startswith("mlharbor-")
    assert not Path(seen["where"]).exists()  # removed with the job
    assert "not enforced" not in events.text()


@pytest.mark.skipif(not _memory_cgroup_here(), reason="no writable memory cgroup on this machine")
def test_a_process_over_its_cgroups_limit_is_killed_by_the_kernel():
    memory = cgroup.create(f"oom-{uuid.uuid4().hex[:8]}", 64 << 20)
    try:
        allocate = subprocess.run([sys.executable, "-c", "block = bytearray(256 << 20); block[::4096] = b'x' * 65536"],
                                  preexec_fn=memory.join, capture_output=True)
        assert allocate.returncode == -9
    finally:
        memory.remove()
    assert not memory.path.exists()


def test_where_no_cgroup_can_hold_the_memory_the_job_log_says_so(moto_s3, tmp_path, monkeypatch):
    monkeypatch.setattr(cgroup, "CGROUP_ROOT", tmp_path / "no-cgroups")
    request = make_request(moto_s3, tmp_path, entrypoint=["python3", "-c", "print('ran')"],
                           instance_type="ml.m5.large")
    events = RecordingEvents()
    outcome = ProcessRunner(use_namespace=False, checkpoint_interval=0).run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    lines = [line for _, line in events.lines if "not enforced" in line]
    assert len(lines) == 1
    assert lines[0].startswith("mlharbor: memory limit of ml.m5.large (8 GiB) not enforced: ")


@pytest.mark.skipif(not _memory_cgroup_here(), reason="no writable memory cgroup on this machine")
def test_old_empty_cgroups_a_dead_control_plane_left_are_swept_and_live_ones_kept():
    left = cgroup.create(f"left-{uuid.uuid4().hex[:8]}", 1 << 30)
    live = cgroup.create(f"live-{uuid.uuid4().hex[:8]}", 1 << 30)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], preexec_fn=live.join)
    try:
        cgroup.sweep_leftovers(left.path.parent, now=time.time() + 3600)
        assert not left.path.exists()
        assert live.path.exists() and live.members() == [sleeper.pid]
    finally:
        live.remove()
        sleeper.wait()
    assert not live.path.exists()
