"""What only the Docker runner does: multi-host jobs on a private network, any local image, limits, clean-up.

The contract tests shared with the process runner are in ``test_runner_contract.py``.
"""

from __future__ import annotations

import io
import json
import time

import pytest

from emulator.images.build import BaseRecipe
from emulator.runners.base import StopSignal, parse_channels
from emulator.runners.docker.engine import CONTAINERS_FILE, JOB_LABEL, OWNER_LABEL, WORKDIR_LABEL, container_lines
from emulator.runners.docker.runner import DockerRunner
from emulator.runners.instances import container_limits
from tests.conftest import TEST_LABEL, wait_for_file
from tests.runners.conftest import host_file, make_request, python_entrypoint, run_in_background

#: two ranks over gloo; each host reports its sharded channel, rank and what the all-reduce gave
DISTRIBUTED = """
import json, os, socket
import torch
import torch.distributed as dist
hosts = json.loads(os.environ["SM_HOSTS"])
me = os.environ["SM_CURRENT_HOST"]
config = json.load(open("/opt/ml/input/config/resourceconfig.json"))
rank = hosts.index(me)
dist.init_process_group("gloo", init_method=f"tcp://{hosts[0]}:29500", rank=rank, world_size=len(hosts))
total = torch.tensor([float(rank + 1)])
dist.all_reduce(total)
members = [None] * len(hosts)
dist.all_gather_object(members, {"rank": rank, "host": me, "hostname": socket.gethostname()})
root = os.environ["SM_CHANNEL_TRAINING"]
report = {"rank": rank, "sum": total.item(), "members": members, "files": sorted(os.listdir(root)),
          "resourceconfig": config}
open("/opt/ml/output/data/report.json", "w").write(json.dumps(report))
if rank == 0:
    open(os.path.join(os.environ["SM_MODEL_DIR"], "report.json"), "w").write(json.dumps(report))
print(f"rank {rank} of {len(hosts)} on {me}: all-reduce sum {total.item()}")
dist.destroy_process_group()
"""

pytestmark = pytest.mark.docker


@pytest.fixture
def runner(docker_images) -> DockerRunner:
    return DockerRunner(checkpoint_interval=0, labels={TEST_LABEL: "docker-runner"})


def test_two_hosts_train_with_torch_distributed_over_their_private_network(runner, moto_s3, events, tmp_path):
    for index in range(5):
        moto_s3.put(f"shards/part-{index}.csv", f"{index}\n")
    request = make_request(
        moto_s3, tmp_path, instance_count=2, entrypoint=python_entrypoint(DISTRIBUTED),
        channels=parse_channels([{"ChannelName": "training", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": f"s3://{moto_s3.bucket}/shards/",
            "S3DataDistributionType": "ShardedByS3Key"}}}]),
    )
    outcome = runner.run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    reports = [json.loads(host_file(request, "output/data/report.json", host).read_text())
               for host in ("algo-1", "algo-2")]
    # both ranks took part: each contributed to the sum and is in the gathered membership
    assert [report["rank"] for report in reports] == [0, 1]
    assert [report["sum"] for report in reports] == [3.0, 3.0]
    assert reports[0]["members"] == reports[1]["members"] == [
        {"rank": 0, "host": "algo-1", "hostname": "algo-1"}, {"rank": 1, "host": "algo-2", "hostname": "algo-2"}]
    # resourceconfig.json per host, channels sharded across hosts
    assert [report["resourceconfig"]["current_host"] for report in reports] == ["algo-1", "algo-2"]
    assert reports[0]["resourceconfig"]["hosts"] == ["algo-1", "algo-2"]
    assert reports[0]["files"] == ["part-0.csv", "part-2.csv", "part-4.csv"]
    assert reports[1]["files"] == ["part-1.csv", "part-3.csv"]
    # logs per host; the model is algo-1's
    assert ("algo-1", "rank 0 of 2 on algo-1: all-reduce sum 3.0") in events.lines
    assert ("algo-2", "rank 1 of 2 on algo-2: all-reduce sum 3.0") in events.lines
    assert json.loads(moto_s3.read_tar(outcome.model_artifacts)["report.json"])["rank"] == 0


def test_one_failing_host_fails_the_job_and_ends_the_other(runner, moto_s3, events, tmp_path):
    source = (
        "import os, sys, time\n"
        "if os.environ['SM_CURRENT_HOST'] == 'algo-2':\n"
        "    print('algo-2 gives up', flush=True); sys.exit(4)\n"
        "time.sleep(120)\n"
    )
    request = make_request(moto_s3, tmp_path, instance_count=2, entrypoint=python_entrypoint(source))
    started = time.monotonic()
    outcome = runner.run(request, events, StopSignal(grace_seconds=2))
    assert outcome.outcome == "Failed" and outcome.exit_code == 4
    assert "algo-2" in outcome.failure_reason and "algo-2 gives up" in outcome.failure_reason
    assert time.monotonic() - started < 60


def test_any_local_image_following_the_contract_runs_train(runner, docker_images, moto_s3, events, tmp_path):
    """Bring your own container: an image with its own ``train`` program and no mlharbor code in it."""
    dockerfile = (
        f"FROM {BaseRecipe().tag}\n"
        "RUN printf '#!/bin/sh\\necho \"byoc train $*\"\\ncat /opt/ml/input/config/hyperparameters.json "
        "> /opt/ml/model/hps.json\\nexit 0\\n' > /usr/local/bin/train && chmod +x /usr/local/bin/train\n"
        "ENTRYPOINT []\n"
    )
    docker_images.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag="mlharbor-tests/byoc:1", rm=True,
                               labels={TEST_LABEL: "byoc"})
    request = make_request(moto_s3, tmp_path, image="mlharbor-tests/byoc:1", hyperparameters={"lr": "0.1"})
    outcome = runner.run(request, events, StopSignal())
    assert outcome.outcome == "Completed", outcome.failure_reason
    assert ("algo-1", "byoc train ") in events.lines
    assert json.loads(moto_s3.read_tar(outcome.model_artifacts)["hps.json"]) == {"lr": "0.1"}


def test_containers_get_the_instance_types_limits_and_are_removed_after(runner, docker_images, moto_s3, events,
                                                                         tmp_path):
    source = (
        "import os, time\n"
        "open(os.path.join(os.environ['SAGEMAKER_BASE_DIR'], 'output', 'ready'), 'w').write(os.environ['SM_NUM_CPUS'])\n"
        "time.sleep(120)\n"
    )
    request = make_request(moto_s3, tmp_path, entrypoint=python_entrypoint(source), instance_type="ml.c5.xlarge")
    run = run_in_background(runner, request, events, StopSignal(grace_seconds=1))
    cpus = wait_for_file(host_file(request, "output/ready"))
    (container,) = docker_images.containers.list(filters={"label": f"{JOB_LABEL}={request.job_name}"})
    limits = container_limits("ml.c5.xlarge")
    assert container.attrs["HostConfig"]["NanoCpus"] == limits.nano_cpus
    assert container.attrs["HostConfig"]["Memory"] == limits.memory_bytes
    assert int(cpus) == int(-(-limits.cpus // 1))
    assert container.labels[OWNER_LABEL] == "1" and container.labels[TEST_LABEL] == "docker-runner"
    assert (request.workdir / CONTAINERS_FILE).exists()
    run.stop.request()
    assert run.outcome().outcome == "Stopped"
    label = {"label": f"{JOB_LABEL}={request.job_name}"}
    assert docker_images.containers.list(all=True, filters=label) == []
    assert docker_images.networks.list(filters=label) == []
    assert not (request.workdir / CONTAINERS_FILE).exists()


def test_reap_removes_what_a_dead_control_plane_left(runner, docker_images, tmp_path):
    workdir = tmp_path / "job-left"
    workdir.mkdir()
    labels = {OWNER_LABEL: "1", WORKDIR_LABEL: str(workdir), TEST_LABEL: "reap"}
    network = docker_images.networks.create(f"mlharbor-left-{tmp_path.name[-8:]}", labels=labels)
    docker_images.containers.run(BaseRecipe().tag, ["sleep", "300"], detach=True, labels=labels, network=network.name)
    (workdir / CONTAINERS_FILE).write_text("{}")
    runner.reap(workdir)
    assert docker_images.containers.list(all=True, filters={"label": f"{WORKDIR_LABEL}={workdir}"}) == []
    assert docker_images.networks.list(filters={"label": f"{WORKDIR_LABEL}={workdir}"}) == []
    assert not (workdir / CONTAINERS_FILE).exists()



class FollowEndsBeforeTheLastFrame:
    """A real container whose follow streams end one frame early, as Docker's can when the output
    ends without a newline (moby/moby#43860); every other call goes to the container."""

    def __init__(self, container) -> None:
        self.container = container

    def logs(self, **options):
        if options.get("follow"):
            return list(self.container.logs(**options))[:-1]
        return self.container.logs(**options)


def finished_container(client, program: str):
    container = client.containers.run(BaseRecipe().tag, ["python3", "-c", program], detach=True,
                                      labels={TEST_LABEL: "logs"})
    container.wait(timeout=60)
    return container


# a stdout line part way through (two 16 KiB pieces out) when stderr writes one, finished at exit
INTERLEAVED = ("import sys, time\nsys.stdout.write('x' * 40000); sys.stdout.flush(); time.sleep(0.3)\n"
               "print('oops', file=sys.stderr, flush=True); time.sleep(0.3)\nsys.stdout.write('end')\n")


def test_stdout_and_stderr_are_cut_into_lines_apart(docker_images):
    container = finished_container(docker_images, INTERLEAVED)
    try:
        lines: list[str] = []
        container_lines(container, lines.append)
        assert sorted(lines) == ["oops", "x" * 40000 + "end"]
    finally:
        container.remove(force=True)


@pytest.mark.parametrize(("program", "lines"), [(INTERLEAVED, ["oops", "x" * 40000 + "end"]),
                                               ("import sys; sys.stdout.write('a last piece')", ["a last piece"])])
def test_a_last_piece_the_follow_missed_is_read_again_from_the_engine(docker_images, program, lines):
    container = finished_container(docker_images, program)
    try:
        cut_short: list[str] = []
        container_lines(FollowEndsBeforeTheLastFrame(container), cut_short.append)
        assert sorted(cut_short) == lines  # nothing lost and nothing twice
    finally:
        container.remove(force=True)
