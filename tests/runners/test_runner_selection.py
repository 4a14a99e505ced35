"""Which runner a job gets, and what a job sees when the Docker engine is missing (no engine needed)."""

from __future__ import annotations

from emulator.runners.base import StopSignal
from emulator.runners.docker.runner import DockerRunner
from emulator.runners.selecting import RUNNER_ENV, SelectingRunner
from tests.runners.conftest import make_request


class _Named:
    """A runner that only says it was chosen."""

    def __init__(self, name: str, chosen: list[str]) -> None:
        self.name, self.chosen = name, chosen

    def run(self, request, events, stop):
        self.chosen.append(self.name)
        from emulator.runners.base import RunOutcome

        return RunOutcome("Completed")


def test_the_servers_runner_unless_the_job_names_another(moto_s3, events, tmp_path):
    chosen: list[str] = []
    made: list[str] = []

    def factory(name):
        def make():
            made.append(name)
            return _Named(name, chosen)
        return make

    selecting = SelectingRunner("process", {"process": factory("process"), "docker": factory("docker")})
    selecting.run(make_request(moto_s3, tmp_path), events, StopSignal())
    assert made == ["process"]  # the Docker runner is made only when a job asks for it
    selecting.run(make_request(moto_s3, tmp_path, environment={RUNNER_ENV: "docker"}), events, StopSignal())
    selecting.run(make_request(moto_s3, tmp_path, environment={RUNNER_ENV: "Process"}), events, StopSignal())
    assert chosen == ["process", "docker", "process"]
    outcome = selecting.run(make_request(moto_s3, tmp_path, environment={RUNNER_ENV: "vm"}), events, StopSignal())
    assert outcome.outcome == "Failed" and "MLHARBOR_RUNNER='vm'" in outcome.failure_reason


def test_no_docker_engine_fails_the_job_with_a_clear_reason(moto_s3, events, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such-docker.sock")
    outcome = DockerRunner(checkpoint_interval=0).run(make_request(moto_s3, tmp_path), events, StopSignal())
    assert outcome.outcome == "Failed"
    assert outcome.failure_reason.startswith("CannotStartContainerError: the Docker engine is not reachable")
    assert events.statuses == []
