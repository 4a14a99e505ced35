"""Export jobs: validate, read the graph, write the export to S3, and keep each job's record.

A job is accepted only once its request is valid and names labels and properties the graph has
(the graph is read then, in one consistent read, so the export shows the graph as it was when the
job was accepted). Writing the files to S3 runs on a worker thread: status ``submitted`` →
``running`` → ``succeeded`` or ``failed`` (with ``reason``), as the Neptune-Export service reports
(https://docs.aws.amazon.com/neptune/latest/userguide/export-service.html). Records are JSON files
under ``<graph data dir>/neptune-export/``, so they outlive a restart; a job that was not finished
when the server stopped is reported failed.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from emulator.core.atomic import write_atomic
from emulator.services.neptune.ml.export.request import ExportRequest, check_against_schema, parse_request
from emulator.services.neptune.ml.export.snapshot import GraphSnapshot, schema, take_snapshot
from emulator.services.neptune.ml.export.training_config import export_files
from emulator.services.neptune.store import GraphStore

log = logging.getLogger(__name__)

RECORDS_DIR = "neptune-export"
FINISHED = ("succeeded", "failed")


@dataclass
class ExportJob:
    """What the status call reports about one export."""

    jobId: str
    jobName: str
    status: str
    outputS3Uri: str
    created: float
    logs: list[str] = field(default_factory=list)
    reason: str | None = None
    finished: float | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def note(self, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.logs.append(f"{stamp} {message}")

    def status_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"jobId": self.jobId, "jobName": self.jobName, "status": self.status,
                                "outputS3Uri": self.outputS3Uri, "logs": list(self.logs)}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.counts:
            body["stats"] = dict(self.counts)
        return body


class ExportJobs:
    """Every export job of one graph server.

    Args:
        store: the graph, read through its public records under its read lock.
        s3_client_factory: returns a boto3 S3 client (the graph server's, signed with its internal key).
        executor: where the S3 writes run.
        data_dir: the graph server's data directory; records go to ``<data_dir>/neptune-export/``.
    """

    def __init__(self, store: GraphStore, s3_client_factory: Callable[[], Any], executor: Executor,
                 data_dir: Path) -> None:
        self.store = store
        self.s3_client_factory = s3_client_factory
        self.executor = executor
        self.records_dir = Path(data_dir) / RECORDS_DIR
        self._jobs: dict[str, ExportJob] = {}
        self._lock = threading.Lock()
        self._load_records()

    def submit(self, body: Any) -> ExportJob:
        """Validate ``body``, read the graph and start writing; raises ``ExportRequestError`` for a bad request."""
        request = parse_request(body)
        snapshot = take_snapshot(self.store, request.node_labels, request.edge_labels)
        check_against_schema(request, *schema(snapshot))
        job_id = str(uuid.uuid4())
        job = ExportJob(jobId=job_id, jobName=f"neptune-export-{job_id[:8]}", status="submitted",
                        outputS3Uri=f"{request.output_s3_path}{job_id}/", created=time.time())
        job.note(f"export-pg (profile neptune_ml) of {len(snapshot.nodes)} vertex types and "
                 f"{len(snapshot.edges)} edge types to {job.outputS3Uri}")
        with self._lock:
            self._jobs[job_id] = job
            self._save(job)
        self.executor.submit(self._run, job, request, snapshot)
        return job

    def get(self, job_id: str) -> ExportJob | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[ExportJob]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda job: job.created, reverse=True)

    # -- the job -----------------------------------------------------------------------------
    def _run(self, job: ExportJob, request: ExportRequest, snapshot: GraphSnapshot) -> None:
        self._update(job, status="running")
        try:
            files, configs = export_files(snapshot, request)
            s3 = self.s3_client_factory()
            prefix = f"{request.prefix}{job.jobId}/"
            for item in files:
                s3.put_object(Bucket=request.bucket, Key=prefix + item.name, Body=item.text.encode())
            for name, config in configs.items():
                s3.put_object(Bucket=request.bucket, Key=prefix + name, Body=json.dumps(config, indent=2).encode(),
                              ContentType="application/json")
        except ClientError as error:
            details = error.response.get("Error", {})
            self._fail(job, f"S3 refused the export to {job.outputS3Uri}: {details.get('Code')}: "
                            f"{details.get('Message')}")
            return
        except BotoCoreError as error:
            self._fail(job, f"S3 could not be reached for {job.outputS3Uri}: {error}")
            return
        except Exception as error:  # a bug of ours: the job fails with the reason, the server keeps serving
            log.exception("export %s failed", job.jobId)
            self._fail(job, f"{type(error).__name__}: {error}")
            return
        counts = {"nodes": sum(len(t.ids) for t in snapshot.nodes.values()),
                  "edges": sum(len(t.ids) for t in snapshot.edges.values()), "files": len(files) + len(configs)}
        for name, config in configs.items():
            for warning in config["warnings"]:
                job.note(f"warning: {name}: {warning}")
        job.note(f"wrote {counts['nodes']} vertices, {counts['edges']} edges and {', '.join(configs)}")
        self._update(job, status="succeeded", counts=counts, finished=time.time())

    def _fail(self, job: ExportJob, reason: str) -> None:
        job.note(f"failed: {reason}")
        self._update(job, status="failed", reason=reason, finished=time.time())

    def _update(self, job: ExportJob, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)
            self._save(job)

    # -- records -----------------------------------------------------------------------------
    def _save(self, job: ExportJob) -> None:
        write_atomic(self.records_dir / f"{job.jobId}.json", json.dumps(asdict(job)))

    def _load_records(self) -> None:
        if not self.records_dir.is_dir():
            return
        for path in self.records_dir.glob("*.json"):
            try:
                job = ExportJob(**json.loads(path.read_text()))
            except (OSError, ValueError, TypeError):
                log.warning("ignoring an unreadable export record %s", path)
                continue
            self._jobs[job.jobId] = job
            if job.status not in FINISHED:
                job.reason = "the graph server stopped before the export finished"
                job.status, job.finished = "failed", time.time()
                job.note(f"failed: {job.reason}")
                self._save(job)
