"""The SageMaker container contract, named once.

Every path under the job's base directory and every environment variable that a runner
hands to a job is defined here, with who writes it. Runners and the built-in containers
both import this package; importing it has no side effects, and it imports nothing of ours
(an import-linter contract says so). Beside it, what a job does with the contract, once:
``failure.py`` (the failure file), ``hyperparameters.py`` (reading them), ``checkpoints.py``
(epoch checkpoint files; needs torch, so only a job imports it).

See https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo.html
and the sagemaker-training toolkit's ``environment.py`` / ``params.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

#: The base directory inside a real SageMaker container.
DEFAULT_BASE_DIR = Path("/opt/ml")

#: The toolkit's own override of ``/opt/ml``; runners always export it.
BASE_DIR_ENV = "SAGEMAKER_BASE_DIR"

#: Port a serving container listens on for ``GET /ping`` and ``POST /invocations``.
SERVING_PORT = 8080

#: Where a job's or serving container's gremlinpython finds the graph server (``ws://…/gremlin``).
GRAPH_ENDPOINT_ENV = "MLHARBOR_GRAPH_ENDPOINT"
#: The serving contract's bind address and port (the sagemaker-inference toolkit's own names).
SERVING_HOST_ENV = "SAGEMAKER_BIND_TO_HOST"
SERVING_PORT_ENV = "SAGEMAKER_BIND_TO_PORT"


@dataclass(frozen=True)
class JobPaths:
    """All paths of one job's ``/opt/ml`` tree, derived from a single base directory.

    Args:
        base: the tree's root: ``/opt/ml`` inside a container, the job's private
            directory when the process runner cannot give it a mount namespace.
    """

    base: Path = DEFAULT_BASE_DIR

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> JobPaths:
        """The tree that the current process should use (``SAGEMAKER_BASE_DIR`` else ``/opt/ml``)."""
        env = os.environ if environ is None else environ
        return cls(Path(env.get(BASE_DIR_ENV, str(DEFAULT_BASE_DIR))))

    # -- input: written by the runner before the job starts -------------------------
    @property
    def input_dir(self) -> Path:
        return self.base / "input"

    @property
    def input_config_dir(self) -> Path:
        return self.input_dir / "config"

    @property
    def hyperparameters_file(self) -> Path:
        """``hyperparameters.json``: string → string, written by the runner."""
        return self.input_config_dir / "hyperparameters.json"

    @property
    def input_data_config_file(self) -> Path:
        """``inputdataconfig.json``: channel name → channel description, written by the runner."""
        return self.input_config_dir / "inputdataconfig.json"

    @property
    def resource_config_file(self) -> Path:
        """``resourceconfig.json``: ``current_host``, ``hosts``, ``network_interface_name``."""
        return self.input_config_dir / "resourceconfig.json"

    @property
    def input_data_dir(self) -> Path:
        return self.input_dir / "data"

    def channel_dir(self, channel: str) -> Path:
        """Directory the runner fills with one channel's S3 objects (File mode)."""
        return self.input_data_dir / channel

    # -- model and output: written by the job, collected by the runner ---------------
    @property
    def model_dir(self) -> Path:
        """Everything here becomes ``<S3OutputPath>/<job>/output/model.tar.gz``."""
        return self.base / "model"

    @property
    def output_dir(self) -> Path:
        return self.base / "output"

    @property
    def output_data_dir(self) -> Path:
        """Everything here becomes ``<S3OutputPath>/<job>/output/output.tar.gz``."""
        return self.output_dir / "data"

    @property
    def failure_file(self) -> Path:
        """Written by a failing job; its first 1024 characters become ``FailureReason``."""
        return self.output_dir / "failure"

    @property
    def success_file(self) -> Path:
        """Written by a job that finished its work (informative; the exit code decides)."""
        return self.output_dir / "success"

    @property
    def message_file(self) -> Path:
        """Processing jobs: its text becomes ``ExitMessage``."""
        return self.output_dir / "message"

    @property
    def checkpoint_dir(self) -> Path:
        """Default ``CheckpointConfig.LocalPath``: restored before start, copied out while running."""
        return self.base / "checkpoints"

    @property
    def code_dir(self) -> Path:
        """Where script mode unpacks ``sagemaker_submit_directory``."""
        return self.base / "code"

    # -- processing jobs --------------------------------------------------------------
    @property
    def processing_dir(self) -> Path:
        """``/opt/ml/processing``: every input's and output's ``LocalPath`` lies under it."""
        return self.base / "processing"

    @property
    def processing_job_config_file(self) -> Path:
        """``/opt/ml/config/processingjobconfig.json``: the request, written by the runner."""
        return self.base / "config" / "processingjobconfig.json"

    def processing_path(self, local_path: str) -> Path:
        """Where a ``LocalPath`` (``/opt/ml/processing/...``) lies in this tree.

        Raises:
            ValueError: the path is not under ``/opt/ml/processing``.
        """
        relative = PurePosixPath(local_path)
        root = PurePosixPath(str(DEFAULT_BASE_DIR)) / "processing"
        if not relative.is_absolute() or ".." in relative.parts or not relative.is_relative_to(root):
            raise ValueError(f"LocalPath {local_path!r} must be under {root}")
        return self.processing_dir.joinpath(*relative.relative_to(root).parts)

    def all_dirs(self) -> list[Path]:
        """The directories a runner creates before the job starts."""
        return [
            self.input_config_dir,
            self.input_data_dir,
            self.model_dir,
            self.output_data_dir,
            self.checkpoint_dir,
            self.code_dir,
        ]


# -- environment variables a runner sets (names as in the sagemaker-training toolkit) ----
TRAINING_JOB_NAME = "TRAINING_JOB_NAME"
TRAINING_JOB_ARN = "TRAINING_JOB_ARN"
SM_MODEL_DIR = "SM_MODEL_DIR"
SM_INPUT_DIR = "SM_INPUT_DIR"
SM_INPUT_CONFIG_DIR = "SM_INPUT_CONFIG_DIR"
SM_INPUT_DATA_CONFIG = "SM_INPUT_DATA_CONFIG"
SM_OUTPUT_DIR = "SM_OUTPUT_DIR"
SM_OUTPUT_DATA_DIR = "SM_OUTPUT_DATA_DIR"
SM_CHECKPOINT_DIR = "SM_CHECKPOINT_DIR"
SM_CHANNELS = "SM_CHANNELS"
SM_CHANNEL_PREFIX = "SM_CHANNEL_"
SM_HPS = "SM_HPS"
SM_HP_PREFIX = "SM_HP_"
SM_HOSTS = "SM_HOSTS"
SM_CURRENT_HOST = "SM_CURRENT_HOST"
SM_NUM_CPUS = "SM_NUM_CPUS"
SM_NUM_GPUS = "SM_NUM_GPUS"
SM_NETWORK_INTERFACE_NAME = "SM_NETWORK_INTERFACE_NAME"
SM_USER_ARGS = "SM_USER_ARGS"
SM_RESOURCE_CONFIG = "SM_RESOURCE_CONFIG"
SM_TRAINING_ENV = "SM_TRAINING_ENV"
SM_FRAMEWORK_PARAMS = "SM_FRAMEWORK_PARAMS"
SM_USER_ENTRY_POINT = "SM_USER_ENTRY_POINT"
SM_MODULE_DIR = "SM_MODULE_DIR"

#: Script-mode hyperparameters (the SageMaker framework containers' names).
HP_PROGRAM = "sagemaker_program"
HP_SUBMIT_DIRECTORY = "sagemaker_submit_directory"

#: Hyperparameters starting with this prefix configure the container, not the user script.
HP_RESERVED_PREFIX = "sagemaker_"


def channel_env_name(channel: str) -> str:
    """``SM_CHANNEL_<NAME>`` for a channel, as the toolkit spells it (upper case)."""
    return SM_CHANNEL_PREFIX + channel.upper()
