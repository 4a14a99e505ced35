"""The job library's pure pieces: S3 paths, bookmark state, Glue format options, save modes, error lines."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "containers" / "glue"))

from mlharbor_glue import bookmarks, formats  # noqa: E402
from mlharbor_glue.outcome import error_line  # noqa: E402
from mlharbor_glue.s3stage import S3Object, is_s3, listing_prefix, split_uri, under  # noqa: E402
from mlharbor_glue.spark_s3 import normalized_mode  # noqa: E402


def test_s3_paths() -> None:
    assert all(is_s3(p) for p in ("s3://b/k", "s3a://b/k", "S3N://b/k")) and not is_s3("/local/s3://")
    assert split_uri("s3a://bucket/a/b.csv") == ("bucket", "a/b.csv")
    with pytest.raises(ValueError):
        split_uri("s3:///key")
    assert listing_prefix("data/year=*/part-*.csv") == "data/year="
    assert under("data/x.csv", "data") and under("data", "data") and not under("data2/x.csv", "data")
    assert under("data/x.csv", "data/") and not under("other/x", "data/")


def objects(*keys: str) -> list[S3Object]:
    return [S3Object("b", key, f"etag-{key}", 1) for key in keys]


def test_bookmarks_skip_what_a_committed_run_read(tmp_path: Path) -> None:
    first = bookmarks.Bookmarks(bookmarks.ENABLE)
    assert first.unread("src", objects("a", "b")) == objects("a", "b")
    first.record("src", objects("a", "b"))
    state = tmp_path / "state.json"
    first.commit(state, job="j", run="jr_1")
    assert json.loads(state.read_text())["run"] == "jr_1"
    second = bookmarks.Bookmarks(bookmarks.ENABLE, bookmarks.read_state(state))
    assert second.unread("src", objects("a", "b", "c")) == objects("c")
    assert second.unread("", objects("a")) == objects("a")  # no transformation_ctx: no bookmark
    changed = [S3Object("b", "a", "new-etag", 1)]
    assert second.unread("src", changed) == changed
    assert bookmarks.Bookmarks(bookmarks.DISABLE, bookmarks.read_state(state)).unread("src", objects("a")) == objects("a")
    paused = bookmarks.Bookmarks(bookmarks.PAUSE, bookmarks.read_state(state))
    paused.record("src", objects("c"))
    assert "s3://b/c" not in paused.state()["contexts"]["src"]
    assert bookmarks.read_state(tmp_path / "missing.json") == {}


def test_bookmark_option_from_argv() -> None:
    assert bookmarks.option_from_argv(["s.py", "--job-bookmark-option", "job-bookmark-enable"]) == bookmarks.ENABLE
    assert bookmarks.option_from_argv(["s.py", "--job-bookmark-option=job-bookmark-pause"]) == bookmarks.PAUSE
    assert bookmarks.option_from_argv(["s.py"]) == bookmarks.DISABLE
    with pytest.raises(ValueError, match="must be one of"):
        bookmarks.option_from_argv(["s.py", "--job-bookmark-option", "on"])


def test_glue_format_options_become_spark_options() -> None:
    assert formats.read_options("csv", {"withHeader": True, "separator": "|"})["header"] == "true"
    assert formats.read_options("csv", {})["header"] == "false"
    assert formats.read_options("json", {"multiline": "true"}) == {"multiLine": "true"}
    assert formats.write_options("csv", {})["header"] == "true"
    assert formats.glue_csv_columns(["_c0", "_c1", "named"]) == ["col0", "col1", "named"]
    with pytest.raises(formats.FormatError):
        formats.check_format("avro")


def test_catalog_format_from_a_crawled_table() -> None:
    table = {"Name": "t", "Parameters": {"classification": "csv", "skip.header.line.count": "1"},
             "StorageDescriptor": {"SerdeInfo": {"Parameters": {"field.delim": "\t"}}}}
    assert formats.catalog_format(table) == ("csv", {"withHeader": True, "separator": "\t"})
    parquet = {"Name": "p", "StorageDescriptor": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"}}
    assert formats.catalog_format(parquet) == ("parquet", {})
    with pytest.raises(formats.FormatError):
        formats.catalog_format({"Name": "x"})


def test_save_modes_and_error_lines() -> None:
    assert [normalized_mode(m) for m in (None, "ErrorIfExists", "default", "append")] == ["error", "error", "error",
                                                                                         "append"]
    assert error_line(ValueError("bad\nsecond line")) == "ValueError: bad"
    assert error_line(RuntimeError()) == "RuntimeError"
