"""The local artifact store: checkpoints and model artifacts of every job, under the data dir."""

from emulator.artifacts.store import ArtifactStore, JobKey, StoredItem

__all__ = ["ArtifactStore", "JobKey", "StoredItem"]
