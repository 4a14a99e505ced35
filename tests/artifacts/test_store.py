"""The artifact store on its own: atomic sets, unchanged-skip, retention, crash sweep, checksums."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.artifacts import ArtifactStore


def write(directory: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    return directory


def test_a_set_is_stored_listed_verified_and_restored(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    source = write(tmp_path / "ckpt", {"model.pt": b"w" * 3000, "nested/opt.pt": b"o"})
    item = store.put_checkpoint("job-a", "s3://b/ckpt", source)
    assert item is not None and item.file_count == 2 and item.size == 3001
    assert [listed.item_id for listed in store.list("job-a")] == [item.item_id]
    assert store.verify(item)
    restored = tmp_path / "restored"
    assert store.restore(item, restored) == 2
    assert (restored / "nested" / "opt.pt").read_bytes() == b"o"


def test_unchanged_or_empty_directories_store_nothing(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    (tmp_path / "empty").mkdir()
    assert store.put_checkpoint("job", "job", tmp_path / "empty") is None
    source = write(tmp_path / "ckpt", {"a": b"1"})
    assert store.put_checkpoint("job", "job", source) is not None
    assert store.put_checkpoint("job", "job", source) is None
    write(source, {"a": b"2"})
    assert store.put_checkpoint("job", "job", source) is not None
    assert len(store.list("job")) == 2


def test_retention_keeps_the_newest_sets_of_a_lineage(tmp_path):
    store = ArtifactStore(tmp_path / "store", keep_last=2)
    source = tmp_path / "ckpt"
    for epoch in range(4):
        write(source, {"epoch": str(epoch).encode()})
        store.put_checkpoint("job", "lineage", source)
    kept = store.list("job")
    assert len(kept) == 2
    newest = store.latest_checkpoint("lineage")
    store.restore(newest, tmp_path / "out")
    assert (tmp_path / "out" / "epoch").read_bytes() == b"3"
    assert len(list((tmp_path / "store" / "job" / "checkpoints").iterdir())) == 2


def test_a_crash_mid_copy_leaves_nothing_half_visible(tmp_path):
    root = tmp_path / "store"
    store = ArtifactStore(root)
    good = store.put_checkpoint("job", "job", write(tmp_path / "ckpt", {"a": b"1"}))
    store.close()
    # what a kill mid-copy leaves: a temporary directory and an unindexed renamed one
    write(root / "job" / "checkpoints" / ".tmp-half", {"a": b"partial"})
    write(root / "job" / "checkpoints" / "20990101T000000-deadbeef", {"a": b"unindexed"})
    reopened = ArtifactStore(root)
    assert [item.item_id for item in reopened.list("job")] == [good.item_id]
    assert sorted(path.name for path in (root / "job" / "checkpoints").iterdir()) == [good.path.rsplit("/", 1)[1]]


def test_verify_notices_a_damaged_file(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    item = store.put_checkpoint("job", "job", write(tmp_path / "ckpt", {"a": b"1234"}))
    (tmp_path / "store" / item.path / "a").write_bytes(b"9999")
    assert not store.verify(item)


def test_models_are_kept_per_job(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"tar")
    item = store.put_model("job", archive)
    assert item.kind == "model" and store.verify(item)
    assert (tmp_path / "store" / "job" / "model" / "model.tar.gz").read_bytes() == b"tar"


def test_keep_last_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="keep_last"):
        ArtifactStore(tmp_path / "store", keep_last=0)
