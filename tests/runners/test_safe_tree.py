"""The safe tree walk and the container-path rule (emulator/core/safepath.py), on real files, no job.

A job owns everything in its tree; the server reads that tree (checkpoints, model, outputs)
through :func:`walk_tree`, which must never follow a symlink nor open a FIFO or device.
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
from pathlib import Path

import pytest

from emulator.artifacts import ArtifactStore, JobKey
from emulator.core.safepath import UnsafePathError, container_path, fresh_target, open_job_file, tree_files, walk_tree
from emulator.runners import s3io
from emulator.runners.base import CheckpointSpec

SECRET = b"host secret: must never leave this file"


def planted_tree(tmp_path: Path) -> tuple[Path, Path]:
    """A job tree with a regular file, a nested one, and every trap: file and dir symlinks, a FIFO."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(SECRET)
    tree = tmp_path / "job" / "algo-1"
    root = tree / "checkpoints"
    (root / "nested").mkdir(parents=True)
    (root / "model.pt").write_bytes(b"weights")
    (root / "nested" / "state.json").write_bytes(b"{}")
    (root / "shadow").symlink_to(outside / "secret.txt")
    (root / "linked-dir").symlink_to(outside, target_is_directory=True)
    (root / "nested" / "relative-link").symlink_to("../../../../outside/secret.txt")
    os.mkfifo(root / "pipe")
    return tree, root


def test_the_walk_keeps_regular_files_and_skips_symlinks_fifos_and_linked_dirs(tmp_path):
    tree, root = planted_tree(tmp_path)
    skipped: list[str] = []
    files = {entry.relative: entry.reader.read() for entry in tree_files(root, tree, skipped.append)}
    assert files == {"model.pt": b"weights", "nested/state.json": b"{}"}
    assert sorted(message.split(":")[0] for message in skipped) == [
        "linked-dir", "nested/relative-link", "pipe", "shadow"]
    assert any("FIFO" in message for message in skipped)


def test_the_walk_does_not_hang_on_a_fifo(tmp_path):
    """Opening a FIFO for reading blocks until a writer comes: the walk must not open it at all."""
    _, root = planted_tree(tmp_path)
    result: list[list[str]] = []
    thread = threading.Thread(target=lambda: result.append([e.relative for e in walk_tree(root)]), daemon=True)
    thread.start()
    thread.join(20)
    assert result, "the walk blocked on the FIFO"


def test_a_checkpoint_dir_that_is_itself_a_symlink_is_not_walked(tmp_path):
    tree, _ = planted_tree(tmp_path)
    (tree / "model").symlink_to(tmp_path / "outside", target_is_directory=True)
    skipped: list[str] = []
    assert list(walk_tree(tree / "model", tree, skipped.append)) == []
    assert skipped and "model" in skipped[0]


def test_a_symlinked_component_above_the_directory_is_not_followed(tmp_path):
    """``output`` swapped for a symlink: ``output/data`` must not be read from where it points."""
    tree, _ = planted_tree(tmp_path)
    (tmp_path / "outside" / "data").mkdir()
    (tmp_path / "outside" / "data" / "loot.txt").write_bytes(SECRET)
    (tree / "output").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert list(walk_tree(tree / "output" / "data", tree, lambda _: None)) == []


def test_a_missing_directory_is_an_empty_tree(tmp_path):
    assert list(walk_tree(tmp_path / "absent")) == []


def test_tar_of_a_planted_tree_holds_only_the_real_files(tmp_path):
    tree, root = planted_tree(tmp_path)
    archive = tmp_path / "model.tar.gz"
    s3io.tar_directory(root, archive, tree, lambda _: None)
    with tarfile.open(archive) as opened:
        members = {member.name: member for member in opened.getmembers()}
        assert sorted(members) == ["model.pt", "nested", "nested/state.json"]
        assert all(member.isfile() or member.isdir() for member in members.values())
        assert opened.extractfile("model.pt").read() == b"weights"  # type: ignore[union-attr]
    assert SECRET not in archive.read_bytes()


def test_the_artifact_store_imports_only_the_real_files(tmp_path):
    tree, root = planted_tree(tmp_path)
    store = ArtifactStore(tmp_path / "store")
    item = store.put_checkpoint(JobKey("123456789012", "us-east-1", "job"), "job", root, within=tree, on_skip=lambda _: None)
    assert item is not None and item.file_count == 2
    assert sorted(relative for relative, _, _ in store.manifest(item)) == ["model.pt", "nested/state.json"]
    for path in (tmp_path / "store").rglob("*"):
        assert not path.is_symlink()
        if path.is_file():
            assert SECRET not in path.read_bytes()


def test_a_failure_file_that_is_a_symlink_or_fifo_reads_as_absent(tmp_path):
    tree, _ = planted_tree(tmp_path)
    (tree / "output").mkdir()
    (tree / "output" / "failure").symlink_to(tmp_path / "outside" / "secret.txt")
    assert open_job_file(tree / "output" / "failure", tree) is None
    os.mkfifo(tree / "output" / "message")
    assert open_job_file(tree / "output" / "message", tree) is None
    (tree / "output" / "success").write_text("done")
    reader = open_job_file(tree / "output" / "success", tree)
    assert reader is not None and reader.read() == b"done"
    reader.close()


def test_a_restore_replaces_a_planted_symlink_instead_of_writing_through_it(tmp_path):
    tree, root = planted_tree(tmp_path)
    target = fresh_target(root, "shadow")
    with open(target, "wb") as writer:
        writer.write(b"restored")
    assert (tmp_path / "outside" / "secret.txt").read_bytes() == SECRET
    assert not target.is_symlink() and target.read_bytes() == b"restored"
    with pytest.raises(UnsafePathError):  # a symlinked directory on the way is refused, not followed
        fresh_target(root, "linked-dir/new.txt")


def test_the_store_restores_into_a_tree_with_planted_symlinks_without_touching_their_targets(tmp_path):
    source = tmp_path / "clean"
    source.mkdir()
    (source / "shadow").write_bytes(b"checkpoint")
    store = ArtifactStore(tmp_path / "store")
    item = store.put_checkpoint(JobKey("123456789012", "us-east-1", "job"), "job", source)
    _, root = planted_tree(tmp_path)
    assert store.restore(item, root) == 1  # type: ignore[arg-type]
    assert (tmp_path / "outside" / "secret.txt").read_bytes() == SECRET
    assert (root / "shadow").read_bytes() == b"checkpoint"


class RecordingS3:
    """Stands in for boto3 in one place: what ``upload_tree`` hands to ``upload_fileobj``."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def upload_fileobj(self, reader: io.BufferedReader, bucket: str, key: str) -> None:
        self.objects[f"{bucket}/{key}"] = reader.read()


def test_upload_tree_uploads_only_the_real_files(tmp_path):
    tree, root = planted_tree(tmp_path)
    s3 = RecordingS3()
    count = s3io.upload_tree(s3, root, s3io.S3Location("b", "ckpt"), tree, lambda _: None)
    assert count == 2 and s3.objects == {"b/ckpt/model.pt": b"weights", "b/ckpt/nested/state.json": b"{}"}


@pytest.mark.parametrize("value", [
    "../../../../tmp/x", "checkpoints", "/opt/ml/../../tmp/x", "/opt/ml/./x", "/opt/ml//x", "/tmp/x", "/opt/ml",
    "/opt/mlx/y", "/opt/ml/a\x00b", "",
])
def test_container_path_refuses_what_escapes_or_is_not_normalised(value):
    with pytest.raises(UnsafePathError):
        container_path(value)


@pytest.mark.parametrize("value", ["/opt/ml/checkpoints", "/opt/ml/checkpoints/", "/opt/ml/a/b.c-d"])
def test_container_path_accepts_normalised_paths_under_its_root(value):
    assert str(container_path(value)) == value.rstrip("/")


def test_container_path_under_slash_accepts_any_absolute_directory_but_slash():
    assert str(container_path("/data/ckpt", under="/")) == "/data/ckpt"
    with pytest.raises(UnsafePathError):
        container_path("/", under="/")


def test_a_relative_checkpoint_path_in_an_old_record_fails_the_job_inside_its_tree(tmp_path, moto_s3):
    """Create refuses it now; a record stored before that check fails cleanly instead of escaping."""
    from emulator.runners import workspace
    from tests.runners.conftest import make_request

    target = tmp_path / "escaped"
    request = make_request(moto_s3, tmp_path / "jobs",
                           checkpoint=CheckpointSpec(local_path="../" * 40 + str(target).lstrip("/")))
    with pytest.raises(s3io.DataError, match="CheckpointConfig.LocalPath"):
        workspace.prepare_tree(request, "algo-1", ["algo-1"])
    assert not target.exists()
