"""A running job's checkpoint directory, kept in the artifact store and mirrored to S3.

What SageMaker promises for ``CheckpointConfig``
(https://docs.aws.amazon.com/sagemaker/latest/dg/model-checkpoints.html): before the job
starts its checkpoint directory is filled from its checkpoints (with an ``S3Uri``, exactly what
S3 holds under it, as on SageMaker: S3 is the source of truth, so a checkpoint the user deleted
there stays deleted; without one, the local store's newest set of the job's lineage); while it
runs the directory is copied out every ``interval`` seconds; at a stop, an interruption and the
end it is copied once more. A job that writes checkpoints
should write each file under a temporary name and rename it, as on SageMaker: a copy taken
mid-write would keep a half file (the store itself never shows a half *set*). Only the
directory's real files are copied: a symlink or special file the job put there is skipped and
said so in its log, never followed to what it points to on this machine.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from emulator.artifacts import ArtifactStore, JobKey, StoredItem
from emulator.runners import s3io
from emulator.runners.base import JobEvents, RunRequest

log = logging.getLogger(__name__)


class CheckpointSync:
    """Restore, periodic copy and final copy of one job's checkpoint directory.

    Args:
        store: the artifact store (``None``: only the S3 mirror is used).
        request: the run request (job name, ``CheckpointConfig``).
        local_dir: the checkpoint directory the job writes.
        interval: seconds between copies while the job runs.
        s3: a boto3 S3 client for the ``S3Uri`` mirror.
        events: where to log what was restored and stored.
    """

    def __init__(self, store: ArtifactStore | None, request: RunRequest, local_dir: Path, interval: float,
                 s3: Any, events: JobEvents) -> None:
        self.store = store
        self.request = request
        self.local_dir = local_dir
        self.interval = interval
        self.s3 = s3
        self.events = events
        uri = request.checkpoint.s3_uri if request.checkpoint else None
        self.mirror = s3io.S3Location.parse(uri) if uri else None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stored: list[StoredItem] = []
        # the job owns everything under its workdir's trees; the workdir itself is the server's
        self._within = request.workdir if local_dir.is_relative_to(request.workdir) else None
        self._skips_reported: set[str] = set()

    def restore(self, into: list[Path]) -> None:
        """Fill each directory in ``into`` from the job's checkpoint source (see the module's docstring).

        With an ``S3Uri`` an empty prefix means a fresh start, even when the local store still keeps
        sets of that lineage: the user deleted them from S3, the source of truth.
        """
        for directory in into:
            directory.mkdir(parents=True, exist_ok=True)
        if self.mirror is not None:
            objects = s3io.channel_objects(self.s3, self.mirror.uri + "/")
            for directory in into:
                s3io.download(self.s3, objects, directory)
            count, source = len(objects), self.mirror.uri
        elif self.store is not None:
            item = self.store.latest_checkpoint(self.owner, self.request.checkpoint_lineage)
            if item is None:
                return
            count = max((self.store.restore(item, directory) for directory in into), default=0)
            source = f"checkpoint {item.item_id}"
        else:
            return
        if count:
            self.events.log(f"mlharbor: restored {count} checkpoint file(s) from {source}")

    @property
    def owner(self) -> JobKey:
        return artifact_owner(self.request)

    def start(self) -> None:
        if self.interval > 0:
            self._thread = threading.Thread(target=self._loop, daemon=True, name=f"ckpt-{self.request.job_name}")
            self._thread.start()

    def finish(self) -> None:
        """Stop the periodic copy and take the last one."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.save()

    def save(self) -> StoredItem | None:
        """Copy the directory out now (skipped when nothing changed)."""
        with self._lock:
            try:
                item = self._store_once()
            except Exception as error:  # a failed copy must not take the job down; the next one retries
                log.exception("checkpoint copy failed for %s", self.request.job_name)
                self.events.log(f"mlharbor: checkpoint copy failed: {error}")
                return None
        return item

    def _store_once(self) -> StoredItem | None:
        if self.store is None:
            self._mirror_files()
            return None
        item = self.store.put_checkpoint(self.owner, self.request.checkpoint_lineage, self.local_dir,
                                         within=self._within, on_skip=self._report_skip)
        if item is None:
            return None
        self.stored.append(item)
        self._mirror_files()
        self.events.log(f"mlharbor: checkpoint stored: {item.item_id} ({item.file_count} files, {item.size} bytes)")
        return item

    def _mirror_files(self) -> None:
        if self.mirror is not None:
            s3io.upload_tree(self.s3, self.local_dir, self.mirror, self._within, self._report_skip)

    def _report_skip(self, message: str) -> None:
        """Tell the job's log once what its checkpoint copies leave out (a symlink, a FIFO…)."""
        if message not in self._skips_reported:
            self._skips_reported.add(message)
            self.events.log(f"mlharbor: checkpoint copy: {message}")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.save()


def artifact_owner(request: RunRequest) -> JobKey:
    """Whose artifacts a run's are: its job, in its account and region."""
    return JobKey(request.account_id, request.region, request.job_name)
