"""Who sent a request, and what that allows: a Docker job's container may not leave Docker.

The edge tells a request that came through a job's relay (:mod:`emulator.edge.job_origin`) and
hands the SageMaker handlers a :class:`Caller`; the rules for such a caller are here, apart from
HTTP. A job's container may create jobs and endpoints (pipelines do), but everything it creates
runs on the Docker runner: choosing the process runner would be a process on this machine,
outside every container, as the server's user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.core.errors import ValidationError
from emulator.runners.selecting import RUNNER_ENV

#: the runner everything a job creates runs on
JOB_RUNNER = "docker"


@dataclass(frozen=True)
class Caller:
    """Where a request came from, as far as the control plane's rules go."""

    from_job: bool = False


USER = Caller()
JOB = Caller(from_job=True)


def confined_environment(caller: Caller, environment: dict[str, str] | None, member: str) -> dict[str, str] | None:
    """The ``Environment`` a job (or model) created by ``caller`` runs with.

    A user's is unchanged. A job's names the Docker runner: written in, so the choice is kept in
    the record (and survives a restart) whatever the server's default runner.

    Raises:
        ValidationError: a job's request names another runner.
    """
    if not caller.from_job:
        return environment
    chosen = (environment or {}).get(RUNNER_ENV)
    if chosen is not None and chosen.strip().lower() != JOB_RUNNER:
        raise ValidationError(
            f"Invalid {member}: {RUNNER_ENV}={chosen!r} is not allowed in a request from inside a job's "
            f"container; what a job creates runs on the {JOB_RUNNER} runner (leave {RUNNER_ENV} out or set "
            f"it to {JOB_RUNNER!r})."
        )
    return {**(environment or {}), RUNNER_ENV: JOB_RUNNER}


def confined_request(caller: Caller, request: dict[str, Any], member: str = "Environment") -> dict[str, Any]:
    """``request`` with its top-level ``Environment`` confined (see :func:`confined_environment`)."""
    if not caller.from_job:
        return request
    return {**request, member: confined_environment(caller, request.get(member), member)}


def confined_model_request(caller: Caller, request: dict[str, Any]) -> dict[str, Any]:
    """A CreateModel request with every container's ``Environment`` confined."""
    if not caller.from_job:
        return request
    confined = dict(request)
    if request.get("PrimaryContainer") is not None:
        confined["PrimaryContainer"] = confined_request(caller, request["PrimaryContainer"])
    if request.get("Containers") is not None:
        confined["Containers"] = [confined_request(caller, container) for container in request["Containers"]]
    return confined


def check_deployable(caller: Caller, model_name: str, model_request: dict[str, Any]) -> None:
    """A job may deploy only models whose every container runs on the Docker runner.

    Raises:
        ValidationError: the model (made by the user, say) names no runner or another one.
    """
    if not caller.from_job:
        return
    containers = [model_request.get("PrimaryContainer")] + list(model_request.get("Containers") or [])
    for container in filter(None, containers):
        chosen = (container.get("Environment") or {}).get(RUNNER_ENV, "")
        if chosen.strip().lower() != JOB_RUNNER:
            raise ValidationError(
                f"Model {model_name!r} cannot be deployed from inside a job's container: it does not run on the "
                f"{JOB_RUNNER} runner (its containers' Environment must set {RUNNER_ENV}={JOB_RUNNER})."
            )
