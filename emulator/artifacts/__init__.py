"""The local artifact store: checkpoints and model artifacts of every job, under the data dir."""

from emulator.artifacts.store import ArtifactStore, StoredItem

__all__ = ["ArtifactStore", "StoredItem"]
