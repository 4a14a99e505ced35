"""Glue's wire errors, one class per code (the codes botocore's ``glue`` model declares)."""

from __future__ import annotations

from emulator.core.errors import ServiceError


class EntityNotFoundError(ServiceError):
    """``EntityNotFoundException``: no job, run, bookmark or connection of that name."""

    code = "EntityNotFoundException"
    status = 400


class AlreadyExistsError(ServiceError):
    """``AlreadyExistsException``: a job or connection of that name exists."""

    code = "AlreadyExistsException"
    status = 400


class InvalidInputError(ServiceError):
    """``InvalidInputException``: the request is well formed but not acceptable."""

    code = "InvalidInputException"
    status = 400


class ConcurrentRunsExceededError(ServiceError):
    """``ConcurrentRunsExceededException``: the job already runs ``MaxConcurrentRuns`` times."""

    code = "ConcurrentRunsExceededException"
    status = 400
