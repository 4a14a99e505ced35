"""The control plane: the job backends, their store, scheduler, runner and log shipper.

Built from the config table and an endpoint URL (where jobs find the embedded S3), it is
what the edge's handlers call. It owns no HTTP and no Flask objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emulator.artifacts import ArtifactStore
from emulator.observability.logs import CloudWatchLogShipper
from emulator.observability.metrics import CloudWatchMetricShipper
from emulator.runners.base import Runner
from emulator.services.sagemaker.endpoints import EndpointBackend
from emulator.services.sagemaker.processing import ProcessingJobBackend
from emulator.services.sagemaker.scheduler import Scheduler
from emulator.services.sagemaker.store import RecordStore
from emulator.services.sagemaker.tags import TagBackend
from emulator.services.sagemaker.training import BackendSettings, TrainingJobBackend
from emulator.services.sagemaker.tuning import MetricTap, TuningJobBackend


def make_runner(config: dict[str, Any], artifacts: ArtifactStore) -> Runner:
    """The server's runner (``config["runner"]``), which a job may override (``MLHARBOR_RUNNER``)."""
    from emulator.runners.docker.engine import CONTAINERS_FILE
    from emulator.runners.docker.runner import DockerRunner
    from emulator.runners.local.process import ProcessRunner
    from emulator.runners.selecting import SelectingRunner

    interval = float(config["checkpoint_interval_seconds"])
    return SelectingRunner(
        config["runner"],
        {
            "process": lambda: ProcessRunner(use_namespace=config["use_mount_namespace"], artifacts=artifacts,
                                             checkpoint_interval=interval),
            "docker": lambda: DockerRunner(artifacts=artifacts, checkpoint_interval=interval),
        },
        owns={"docker": lambda workdir: (workdir / CONTAINERS_FILE).exists()},
    )


class ControlPlane:
    """Everything behind the SageMaker API, for one data dir.

    Args:
        config: the resolved config table.
        endpoint_url: the edge endpoint's URL (jobs and the log shipper reach S3/Logs there).
        runner: overrides the configured runner (tests).
        graph_endpoint_url: the graph server's Gremlin URL, handed to every job.
    """

    def __init__(self, config: dict[str, Any], endpoint_url: str, runner: Runner | None = None,
                 graph_endpoint_url: str | None = None) -> None:
        data_dir = Path(config["data_dir"])
        self.config = config
        self.endpoint_url = endpoint_url
        self.store = RecordStore(data_dir / "records.sqlite3")
        self.scheduler = Scheduler(int(config["max_concurrent_jobs"]))
        self.artifacts = ArtifactStore(data_dir / "artifacts", keep_last=int(config["checkpoint_keep_last"]),
                                       legacy_account=config["account_id"], legacy_region=config["region"])
        self.runner = runner or make_runner(config, self.artifacts)
        self.logs = CloudWatchLogShipper(endpoint_url)
        self.metrics = CloudWatchMetricShipper(endpoint_url)
        # the tuner reads its trials' objective values as they are shipped
        self.metric_tap = MetricTap(self.metrics)
        self.training = TrainingJobBackend(
            BackendSettings(
                account_id=config["account_id"],
                data_dir=data_dir,
                s3_endpoint_url=endpoint_url,
                stop_grace_seconds=float(config["stop_grace_seconds"]),
                spot_restart_delay_seconds=float(config["spot_restart_delay_seconds"]),
                graph_endpoint_url=graph_endpoint_url,
                internal_error_retries=int(config["internal_error_retries"]),
                internal_error_backoff_seconds=float(config["internal_error_backoff_seconds"]),
                max_instance_count=int(config["max_instance_count"]),
            ),
            self.store,
            self.runner,
            self.scheduler,
            self.logs,
            self.metric_tap,  # type: ignore[arg-type]
        )
        self.processing = ProcessingJobBackend(
            self.training.settings, self.store, self.runner, self.scheduler, self.logs
        )
        self.endpoints = EndpointBackend(self.training.settings, self.store, self.runner, self.logs,
                                         float(config["endpoint_startup_timeout_seconds"]))
        self.tags = TagBackend(self.store)
        self.tuning = TuningJobBackend(config["account_id"], self.store, self.training, self.tags)
        self.metric_tap.listener = self.tuning.on_metric
        self.scheduler.register("training", self.training.run_job)
        self.scheduler.register("processing", self.processing.run_job)

    def start(self) -> None:
        self.logs.start()
        self.metrics.start()
        self.scheduler.start()
        self.training.recover()
        self.processing.recover()
        self.endpoints.recover()
        self.tuning.start()

    def stop(self) -> None:
        self.tuning.stop()
        self.scheduler.stop()
        self.endpoints.stop()
        self.logs.stop()
        self.metrics.stop()
        self.store.close()
        self.artifacts.close()
        # after the records are closed: what a runner ends now is resumed or failed by the next control plane
        self.runner.close()
