"""What a crawler infers from bytes (pure): CSV header and types, JSON Lines, Parquet, partitions, merging."""

from __future__ import annotations

import io

import pytest

from emulator.services.glue import schema_inference as infer
from emulator.services.glue.crawlers import group_keys


def columns(schema: infer.FileSchema | infer.TableSchema) -> list[tuple[str, str]]:
    return [(c.name, c.type) for c in schema.columns]


def test_csv_with_header_and_types() -> None:
    schema = infer.infer_csv(b"ID,Name,Score,Active\n1,ann,3.5,true\n2,bob,,false\n3,cid,4,true\n")
    assert schema.header and schema.delimiter == ","
    assert columns(schema) == [("id", "bigint"), ("name", "string"), ("score", "double"), ("active", "boolean")]


def test_csv_without_header_gets_col_names() -> None:
    schema = infer.infer_csv(b"1\tann\n2\tbob\n")
    assert not schema.header and schema.delimiter == "\t"
    assert columns(schema) == [("col0", "bigint"), ("col1", "string")]


def test_csv_mixed_values_widen() -> None:
    schema = infer.infer_csv(b"a,b\n1,true\n2.5,x\n")
    assert columns(schema) == [("a", "double"), ("b", "string")]


def test_json_lines_nested() -> None:
    data = b'{"id": 1, "tags": ["a"], "geo": {"lat": 1.5}}\n{"id": 2.5, "tags": [], "extra": null}\n'
    schema = infer.infer_json(data)
    assert columns(schema) == [("id", "double"), ("tags", "array<string>"), ("geo", "struct<lat:double>"),
                               ("extra", "string")]


def test_json_that_is_not_json_lines_is_refused() -> None:
    with pytest.raises(infer.InferenceError):
        infer.infer_json(b"[1, 2]\n")


def test_parquet_schema_from_its_footer() -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table({"id": pa.array([1], pa.int64()), "v": pa.array([1.0], pa.float32()),
                             "s": ["x"], "l": [[1, 2]]}), buffer)
    data = buffer.getvalue()
    assert infer.format_of("no-suffix", data[:4]) == infer.PARQUET
    assert columns(infer.infer_file("x.parquet", data)) == [("id", "bigint"), ("v", "float"), ("s", "string"),
                                                            ("l", "array<bigint>")]


def test_partitions_and_merge() -> None:
    assert infer.partitions_of("year=2024/month=01/part.csv") == [("year", "2024"), ("month", "01")]
    assert infer.partitions_of("plain/part.csv") == []
    one = infer.FileSchema("csv", [infer.Column("a", "bigint")], partitions=[("year", "2024")])
    two = infer.FileSchema("csv", [infer.Column("a", "double"), infer.Column("b", "string")],
                           partitions=[("year", "2025")])
    table = infer.merge_files([one, two])
    assert columns(table) == [("a", "double"), ("b", "string")]
    assert table.partition_keys == ["year"] and table.partition_values == [["2024"], ["2025"]]


def test_names_and_data_keys() -> None:
    assert infer.table_name("raw/My-Table/") == "my_table"
    assert infer.table_name("raw/people", "crawl_") == "crawl_people"
    assert not infer.is_data_key("out/_SUCCESS") and not infer.is_data_key("out/.part.crc")
    assert infer.is_data_key("out/part-0.parquet")


def test_group_keys_splits_plain_folders_and_keeps_partitions() -> None:
    keys = ["raw/people/a.csv", "raw/cities/b.csv"]
    assert group_keys("raw/", keys) == {"people": ["raw/people/a.csv"], "cities": ["raw/cities/b.csv"]}
    partitioned = ["ev/year=1/a.csv", "ev/year=2/b.csv"]
    assert group_keys("ev", partitioned) == {"": partitioned}
