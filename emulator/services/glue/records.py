"""What a Glue job and a job run are, and the pure rules over them (no IO, no HTTP).

Sources: https://docs.aws.amazon.com/glue/latest/webapi/API_Job.html, API_JobRun.html, and
https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html (the arguments Glue
passes to a script and the special ones it reads itself).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

from emulator.services.glue.exceptions import InvalidInputError

PYTHON_SHELL = "pythonshell"
GLUE_ETL = "glueetl"
JOB_TYPES = (PYTHON_SHELL, GLUE_ETL)

STARTING, RUNNING, STOPPING = "STARTING", "RUNNING", "STOPPING"
SUCCEEDED, FAILED, TIMEOUT, STOPPED = "SUCCEEDED", "FAILED", "TIMEOUT", "STOPPED"
ACTIVE_STATES = frozenset({STARTING, RUNNING, STOPPING, "WAITING"})
FINAL_STATES = frozenset({SUCCEEDED, FAILED, TIMEOUT, STOPPED, "ERROR", "EXPIRED"})

#: Glue's default job Timeout (minutes) for batch jobs
DEFAULT_TIMEOUT_MINUTES = 2880
DEFAULT_GLUE_VERSION = "5.0"
#: a Python shell job's capacity: 0.0625 DPU by default, or 1 (the only two values Glue accepts)
PYTHON_SHELL_CAPACITIES = (0.0625, 1.0)
#: a Spark job given neither WorkerType nor MaxCapacity gets Glue's default of 10 DPUs
DEFAULT_SPARK_CAPACITY = 10.0
BOOKMARK_OPTIONS = ("job-bookmark-enable", "job-bookmark-disable", "job-bookmark-pause")
BOOKMARK_DISABLE = "job-bookmark-disable"
BOOKMARK_ENABLE = "job-bookmark-enable"


@dataclass(frozen=True)
class WorkerType:
    """One Glue worker type: the DPUs it is billed as and the vCPUs it has."""

    dpus: float
    vcpus: int


#: https://docs.aws.amazon.com/glue/latest/dg/add-job.html (Worker type)
WORKER_TYPES: dict[str, WorkerType] = {
    "Standard": WorkerType(1, 4),
    "G.025X": WorkerType(0.25, 2),
    "G.1X": WorkerType(1, 4),
    "G.2X": WorkerType(2, 8),
    "G.4X": WorkerType(4, 16),
    "G.8X": WorkerType(8, 32),
    "Z.2X": WorkerType(2, 8),
}


@dataclass(frozen=True)
class Capacity:
    """What a run gets: a worker type and count, or a MaxCapacity in DPUs."""

    worker_type: str | None
    number_of_workers: int | None
    max_capacity: float

    @property
    def dpus(self) -> float:
        if self.worker_type is not None and self.number_of_workers is not None:
            return WORKER_TYPES[self.worker_type].dpus * self.number_of_workers
        return self.max_capacity


def capacity_for(job_type: str, worker_type: str | None, number_of_workers: int | None,
                 max_capacity: float | None) -> Capacity:
    """The capacity a job (or run) asks for, checked as Glue checks it.

    Raises:
        InvalidInputError: a combination Glue refuses.
    """
    if job_type == PYTHON_SHELL:
        if worker_type is not None or number_of_workers is not None:
            raise InvalidInputError("WorkerType and NumberOfWorkers are not supported for pythonshell jobs; "
                                    "use MaxCapacity (0.0625 or 1).")
        capacity = PYTHON_SHELL_CAPACITIES[0] if max_capacity is None else max_capacity
        if capacity not in PYTHON_SHELL_CAPACITIES:
            raise InvalidInputError("MaxCapacity for a pythonshell job must be 0.0625 or 1.")
        return Capacity(None, None, capacity)
    if (worker_type is None) != (number_of_workers is None):
        raise InvalidInputError("WorkerType and NumberOfWorkers must be set together.")
    if worker_type is not None:
        if max_capacity is not None:
            raise InvalidInputError("Please set only Allocated Capacity or Max Capacity or Worker Type and "
                                    "Number of Workers.")
        if worker_type not in WORKER_TYPES:
            raise InvalidInputError(f"Worker type {worker_type} is not supported.")
        if number_of_workers is None or number_of_workers < 1:
            raise InvalidInputError("NumberOfWorkers must be at least 1.")
        return Capacity(worker_type, number_of_workers, WORKER_TYPES[worker_type].dpus * number_of_workers)
    capacity = DEFAULT_SPARK_CAPACITY if max_capacity is None else max_capacity
    if capacity < 2:
        raise InvalidInputError("MaxCapacity for a glueetl job must be at least 2 DPUs.")
    return Capacity(None, None, capacity)


def run_capacity(job_type: str, job: dict[str, Any], params: dict[str, Any]) -> Capacity:
    """A run's capacity: the StartJobRun request's own WorkerType / NumberOfWorkers / MaxCapacity where it gives
    them (each filled from the job's when it gives only one of the pair), else the job's.

    Raises:
        InvalidInputError: as :func:`capacity_for`.
    """
    if not any(member in params for member in ("WorkerType", "NumberOfWorkers", "MaxCapacity")):
        return Capacity(job.get("WorkerType"), job.get("NumberOfWorkers"), job["MaxCapacity"])
    if "WorkerType" not in params and "NumberOfWorkers" not in params:
        return capacity_for(job_type, None, None, params["MaxCapacity"])
    return capacity_for(job_type, params.get("WorkerType", job.get("WorkerType")),
                        params.get("NumberOfWorkers", job.get("NumberOfWorkers")), params.get("MaxCapacity"))


def local_cores(capacity: Capacity, machine_cores: int | None = None) -> int:
    """``N`` of ``local[N]``: the executors' vCPUs (one worker is the driver), never more than the machine has."""
    machine = machine_cores or os.cpu_count() or 1
    if capacity.worker_type is not None and capacity.number_of_workers is not None:
        executors = max(capacity.number_of_workers - 1, 1)
        wanted = executors * WORKER_TYPES[capacity.worker_type].vcpus
    else:
        wanted = max(int(capacity.max_capacity) - 1, 1) * WORKER_TYPES["Standard"].vcpus
    return max(1, min(wanted, machine))


def dpu_seconds(capacity: Capacity, execution_seconds: float) -> float:
    """``DPUSeconds`` as Glue defines it: each executor's running time times its worker type's DPU factor
    (1 for G.1X, 2 for G.2X, 0.25 for G.025X; https://docs.aws.amazon.com/glue/latest/webapi/API_JobRun.html).

    Without autoscaling every executor (each worker but the driver's) runs the whole run. A run sized by
    ``MaxCapacity`` (Python shell, or Spark without a worker type) counts its DPUs for the whole run.
    """
    if capacity.worker_type is not None and capacity.number_of_workers is not None:
        executors = max(capacity.number_of_workers - 1, 1)
        return round(executors * WORKER_TYPES[capacity.worker_type].dpus * execution_seconds, 4)
    return round(capacity.max_capacity * execution_seconds, 4)


def merge_arguments(default: dict[str, str], run: dict[str, str], non_overridable: dict[str, str]) -> dict[str, str]:
    """The arguments a run's script sees: the job's defaults, overridden by the run's, overridden by none of them."""
    return {**default, **run, **non_overridable}


def script_arguments(merged: dict[str, str], job_name: str, job_id: str, run_id: str,
                     temp_dir: str) -> list[str]:
    """``sys.argv[1:]`` of a run's script as Glue builds it: its own arguments first, then every other one."""
    own = {
        "--JOB_NAME": job_name,
        "--JOB_ID": job_id,
        "--JOB_RUN_ID": run_id,
        "--job-bookmark-option": merged.get("--job-bookmark-option", BOOKMARK_DISABLE),
        "--TempDir": merged.get("--TempDir", temp_dir),
    }
    argv: list[str] = []
    for key, value in own.items():
        argv += [key, value]
    for key, value in merged.items():
        if key not in own:
            argv += [key if key.startswith("--") else "--" + key, value]
    return argv


def new_run_id() -> str:
    """``jr_`` and 64 hex digits, the shape of Glue's run ids."""
    return "jr_" + secrets.token_hex(32)


def job_id_of(run_id: str) -> str:
    """The ``--JOB_ID`` of a run (``j_`` and the run id's hex)."""
    return "j_" + run_id.removeprefix("jr_")


@dataclass
class JobRun:
    """One run of a job: the API's ``JobRun`` members plus what the server needs to manage it.

    Attributes:
        pid: the run's process (group leader), while it runs.
        work_dir: the run's scratch directory.
        dpus: the capacity's DPUs, for DPUSeconds.
        deadline: when the run times out (epoch seconds).
    """

    Id: str
    JobName: str
    JobRunState: str
    StartedOn: float
    LastModifiedOn: float
    Arguments: dict[str, str]
    Timeout: int
    GlueVersion: str
    MaxCapacity: float
    Attempt: int = 0
    PreviousRunId: str | None = None
    WorkerType: str | None = None
    NumberOfWorkers: int | None = None
    CompletedOn: float | None = None
    ErrorMessage: str | None = None
    ExecutionTime: int = 0
    DPUSeconds: float | None = None
    JobMode: str = "SCRIPT"
    ExecutionClass: str = "STANDARD"
    LogGroupName: str = "/aws-glue/jobs"
    PredecessorRuns: list[dict[str, str]] = field(default_factory=list)
    pid: int | None = None
    work_dir: str = ""
    dpus: float = 0.0
    deadline: float = 0.0

    def to_wire(self) -> dict[str, Any]:
        """The ``JobRun`` shape: the public members that have a value."""
        return {key: value for key, value in asdict(self).items()
                if key[0].isupper() and value is not None}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> JobRun:
        """A stored run (the store's own keys, ``_``-prefixed, left out)."""
        return cls(**{key: value for key, value in document.items() if not key.startswith("_")})

    @property
    def active(self) -> bool:
        return self.JobRunState in ACTIVE_STATES
