"""The artifact store on its own: atomic sets, unchanged-skip, retention, crash sweep, checksums, jobs kept
apart by account and region, an index from before regions still opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.artifacts import ArtifactStore, JobKey

ACCOUNT = "123456789012"


def key(name: str, region: str = "us-east-1") -> JobKey:
    return JobKey(ACCOUNT, region, name)


def write(directory: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    return directory


def test_a_set_is_stored_listed_verified_and_restored(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    source = write(tmp_path / "ckpt", {"model.pt": b"w" * 3000, "nested/opt.pt": b"o"})
    item = store.put_checkpoint(key("job-a"), "s3://b/ckpt", source)
    assert item is not None and item.file_count == 2 and item.size == 3001
    assert [listed.item_id for listed in store.list("job-a")] == [item.item_id]
    assert store.verify(item)
    restored = tmp_path / "restored"
    assert store.restore(item, restored) == 2
    assert (restored / "nested" / "opt.pt").read_bytes() == b"o"


def test_unchanged_or_empty_directories_store_nothing(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    (tmp_path / "empty").mkdir()
    assert store.put_checkpoint(key("job"), "job", tmp_path / "empty") is None
    source = write(tmp_path / "ckpt", {"a": b"1"})
    assert store.put_checkpoint(key("job"), "job", source) is not None
    assert store.put_checkpoint(key("job"), "job", source) is None
    write(source, {"a": b"2"})
    assert store.put_checkpoint(key("job"), "job", source) is not None
    assert len(store.list("job")) == 2


def test_retention_keeps_the_newest_sets_of_a_lineage(tmp_path):
    store = ArtifactStore(tmp_path / "store", keep_last=2)
    source = tmp_path / "ckpt"
    for epoch in range(4):
        write(source, {"epoch": str(epoch).encode()})
        store.put_checkpoint(key("job"), "lineage", source)
    kept = store.list("job")
    assert len(kept) == 2
    newest = store.latest_checkpoint(key("job"), "lineage")
    store.restore(newest, tmp_path / "out")
    assert (tmp_path / "out" / "epoch").read_bytes() == b"3"
    assert len(list((tmp_path / "store" / ACCOUNT / "us-east-1" / "job" / "checkpoints").iterdir())) == 2


def test_a_crash_mid_copy_leaves_nothing_half_visible(tmp_path):
    root = tmp_path / "store"
    store = ArtifactStore(root)
    good = store.put_checkpoint(key("job"), "job", write(tmp_path / "ckpt", {"a": b"1"}))
    store.close()
    # what a kill mid-copy leaves: a temporary directory and an unindexed renamed one
    sets = root / ACCOUNT / "us-east-1" / "job" / "checkpoints"
    write(sets / ".tmp-half", {"a": b"partial"})
    write(sets / "20990101T000000-deadbeef", {"a": b"unindexed"})
    reopened = ArtifactStore(root)
    assert [item.item_id for item in reopened.list("job")] == [good.item_id]
    assert sorted(path.name for path in sets.iterdir()) == [good.path.rsplit("/", 1)[1]]


def test_verify_notices_a_damaged_file(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    item = store.put_checkpoint(key("job"), "job", write(tmp_path / "ckpt", {"a": b"1234"}))
    (tmp_path / "store" / item.path / "a").write_bytes(b"9999")
    assert not store.verify(item)


def test_models_are_kept_per_job(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"tar")
    item = store.put_model(key("job"), archive)
    assert item.kind == "model" and store.verify(item)
    assert (tmp_path / "store" / ACCOUNT / "us-east-1" / "job" / "model" / "model.tar.gz").read_bytes() == b"tar"


def test_keep_last_must_be_positive(tmp_path):
    with pytest.raises(ValueError, match="keep_last"):
        ArtifactStore(tmp_path / "store", keep_last=0)


def test_jobs_with_one_name_in_two_regions_keep_their_own_sets_and_models(tmp_path):
    store = ArtifactStore(tmp_path / "store")
    source = tmp_path / "ckpt"
    archive = tmp_path / "model.tar.gz"
    for region in ("us-east-1", "eu-west-1"):
        write(source, {"where": region.encode()})
        store.put_checkpoint(key("same-name", region), "same-name", source)
        archive.write_bytes(region.encode())
        store.put_model(key("same-name", region), archive)
    for region in ("us-east-1", "eu-west-1"):
        newest = store.latest_checkpoint(key("same-name", region), "same-name")
        store.restore(newest, tmp_path / region)
        assert (tmp_path / region / "where").read_bytes() == region.encode()
        [model] = [item for item in store.list("same-name", region=region) if item.kind == "model"]
        assert model.item_id == f"{ACCOUNT}/{region}/same-name/model"
        assert (tmp_path / "store" / model.path).read_bytes() == region.encode()
    assert len(store.list("same-name")) == 4


def test_a_users_checkpoints_subdirectory_is_not_swept_as_a_leftover(tmp_path):
    """A set holding ``checkpoints/…`` of its own matches the sweep's patterns; it is stored data."""
    root = tmp_path / "store"
    store = ArtifactStore(root)
    item = store.put_checkpoint(key("job"), "job", write(tmp_path / "ckpt", {"checkpoints/step-1/w.pt": b"w",
                                                                            "model/.tmp-x": b"t"}))
    store.close()
    reopened = ArtifactStore(root)
    assert reopened.verify(item)


def test_an_index_from_before_regions_opens_and_its_sets_restore(tmp_path):
    """The layout and schema of earlier stores: ``<job>/checkpoints/<set>``, no account or region columns."""
    import json
    import sqlite3

    root = tmp_path / "store"
    write(root / "old-job" / "checkpoints" / "20240101T000000-0000abcd", {"w.pt": b"old"})
    write(root / "old-job" / "checkpoints" / ".tmp-crashed", {"w.pt": b"half"})
    db = sqlite3.connect(str(root / "index.sqlite3"))
    db.execute("CREATE TABLE items (item_id TEXT PRIMARY KEY, kind TEXT NOT NULL, job TEXT NOT NULL, "
               "lineage TEXT NOT NULL, created REAL NOT NULL, size INTEGER NOT NULL, file_count INTEGER NOT NULL, "
               "checksum TEXT NOT NULL, manifest TEXT NOT NULL, path TEXT NOT NULL)")
    db.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               ("old-job/checkpoints/20240101T000000-0000abcd", "checkpoint", "old-job", "old-job", 1.0, 3, 1,
                "c", json.dumps([["w.pt", 3, "d"]]), "old-job/checkpoints/20240101T000000-0000abcd"))
    db.commit()
    db.close()
    store = ArtifactStore(root, legacy_account="111122223333", legacy_region="eu-west-1")
    [item] = store.list("old-job")
    assert (item.account, item.region, item.item_id) == ("111122223333", "eu-west-1",
                                                          "old-job/checkpoints/20240101T000000-0000abcd")
    assert store.get(item.item_id) == item
    assert store.latest_checkpoint(JobKey("111122223333", "eu-west-1", "old-job"), "old-job") == item
    assert store.latest_checkpoint(key("old-job"), "old-job") is None
    assert store.restore(item, tmp_path / "out") == 1 and (tmp_path / "out" / "w.pt").read_bytes() == b"old"
    assert not (root / "old-job" / "checkpoints" / ".tmp-crashed").exists()
    # new sets of that job go to the scoped layout beside the old ones
    new = store.put_checkpoint(JobKey("111122223333", "eu-west-1", "old-job"), "old-job",
                               write(tmp_path / "ckpt", {"w.pt": b"new"}))
    assert new.path.startswith("111122223333/eu-west-1/old-job/checkpoints/")
    store.close()
    assert len(ArtifactStore(root).list("old-job")) == 2
