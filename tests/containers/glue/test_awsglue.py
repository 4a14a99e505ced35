"""The clean-room awsglue API on a real SparkSession, reading and writing the embedded S3 through boto3."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator.testing import RunningHarbor

pytestmark = pytest.mark.slow

PEOPLE = "id,name,age,city\n1,ann,34,paris\n2,bob,,rome\n3,cid,51,paris\n"
CITIES = "city,country\nparis,fr\nrome,it\n"


@pytest.fixture(scope="module")
def s3(harbor: RunningHarbor) -> Any:
    return harbor.client("s3")


@pytest.fixture(scope="module")
def data_bucket(s3: Any) -> str:
    s3.create_bucket(Bucket="glue-lib-data")
    s3.put_object(Bucket="glue-lib-data", Key="people/part-1.csv", Body=PEOPLE.encode())
    s3.put_object(Bucket="glue-lib-data", Key="cities/cities.csv", Body=CITIES.encode())
    return "glue-lib-data"


@pytest.fixture(scope="module")
def glue(spark: Any) -> Any:
    from awsglue.context import GlueContext

    return GlueContext(spark.sparkContext)


def keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def people(glue: Any, bucket: str, **options: Any) -> Any:
    return glue.create_dynamic_frame.from_options(
        "s3", {"paths": [f"s3://{bucket}/people/"]}, format="csv", format_options={"withHeader": True}, **options)


def test_from_options_reads_csv_from_s3_with_header_and_types(glue: Any, data_bucket: str) -> None:
    frame = people(glue, data_bucket)
    assert frame.count() == 3
    types = dict(frame.toDF().dtypes)
    assert types == {"id": "int", "name": "string", "age": "int", "city": "string"}


def test_csv_without_header_gets_glue_column_names(glue: Any, data_bucket: str) -> None:
    frame = glue.create_dynamic_frame.from_options("s3", {"paths": [f"s3://{data_bucket}/cities/cities.csv"]},
                                                   format="csv")
    assert frame.toDF().columns == ["col0", "col1"]
    assert frame.count() == 3


def test_transforms_chain(glue: Any, data_bucket: str) -> None:
    from awsglue.transforms import (
        ApplyMapping,
        DropFields,
        DropNullFields,
        Filter,
        Join,
        RenameField,
        ResolveChoice,
        SelectFields,
    )

    frame = people(glue, data_bucket)
    mapped = ApplyMapping.apply(frame=frame, mappings=[("id", "int", "person_id", "long"), ("name", "string", "name", "string"),
                                                       ("age", "int", "age", "double"), ("city", "string", "city", "string")])
    assert dict(mapped.toDF().dtypes) == {"person_id": "bigint", "name": "string", "age": "double", "city": "string"}
    adults = Filter.apply(frame=mapped, f=lambda r: r["age"] is not None and r["age"] > 40)
    assert [r["name"] for r in adults.toDF().collect()] == ["cid"]
    assert SelectFields.apply(frame=mapped, paths=["name"]).toDF().columns == ["name"]
    assert DropFields.apply(frame=mapped, paths=["age", "city"]).toDF().columns == ["person_id", "name"]
    assert "who" in RenameField.apply(frame=mapped, old_name="name", new_name="who").toDF().columns
    cast = ResolveChoice.apply(frame=mapped, specs=[("person_id", "cast:string")])
    assert dict(cast.toDF().dtypes)["person_id"] == "string"
    cities = glue.create_dynamic_frame.from_options("s3", {"paths": [f"s3://{data_bucket}/cities/"]}, format="csv",
                                                    format_options={"withHeader": True})
    joined = Join.apply(frame1=mapped, frame2=cities.rename_field("city", "c"), keys1=["city"], keys2=["c"])
    assert sorted((r["name"], r["country"]) for r in joined.toDF().collect()) == [("ann", "fr"), ("bob", "it"), ("cid", "fr")]
    nulls = mapped.map(lambda r: {**r, "nothing": None, "nothing2": r["age"] if False else None})
    assert "nothing" not in DropNullFields.apply(frame=nulls).toDF().columns


def test_to_df_from_df_round_trip(glue: Any, spark: Any) -> None:
    from awsglue.dynamicframe import DynamicFrame

    frame = DynamicFrame.fromDF(spark.createDataFrame([(1, "x")], ["a", "b"]), glue, "t")
    assert frame.count() == 1 and frame.toDF().columns == ["a", "b"]
    assert frame.schema().fieldNames() == ["a", "b"]


@pytest.mark.parametrize("fmt", ["parquet", "json", "csv"])
def test_write_dynamic_frame_to_s3_reads_back(glue: Any, s3: Any, data_bucket: str, fmt: str) -> None:
    frame = people(glue, data_bucket)
    out = f"s3://{data_bucket}/out-{fmt}/"
    glue.write_dynamic_frame.from_options(frame=frame, connection_type="s3", connection_options={"path": out},
                                          format=fmt)
    written = keys(s3, data_bucket, f"out-{fmt}/")
    assert written and all(not k.endswith(".crc") for k in written)
    back = glue.create_dynamic_frame.from_options("s3", {"paths": [out]}, format=fmt,
                                                  format_options={"withHeader": True})
    assert sorted(r["name"] for r in back.toDF().collect()) == ["ann", "bob", "cid"]


def test_write_partitioned_parquet_keeps_partition_folders(glue: Any, s3: Any, data_bucket: str) -> None:
    frame = people(glue, data_bucket)
    glue.write_dynamic_frame.from_options(frame=frame, connection_type="s3", format="parquet",
                                          connection_options={"path": f"s3://{data_bucket}/by-city",
                                                              "partitionKeys": ["city"]})
    written = keys(s3, data_bucket, "by-city/")
    assert any(k.startswith("by-city/city=paris/") for k in written)
    back = glue.create_dynamic_frame.from_options("s3", {"paths": [f"s3://{data_bucket}/by-city/"]}, format="parquet")
    assert sorted(r["city"] for r in back.toDF().collect()) == ["paris", "paris", "rome"]


def test_plain_pyspark_reads_and_writes_s3_with_save_modes(spark: Any, glue: Any, s3: Any, data_bucket: str) -> None:
    df = spark.read.option("header", True).csv(f"s3a://{data_bucket}/people/")
    assert df.count() == 3
    target = f"s3://{data_bucket}/plain/"
    df.write.parquet(target)
    first = keys(s3, data_bucket, "plain/")
    from pyspark.errors import AnalysisException

    with pytest.raises(AnalysisException, match="already exists"):
        df.write.parquet(target)
    df.write.mode("append").parquet(target)
    assert spark.read.parquet(target).count() == 6
    df.limit(1).write.mode("overwrite").parquet(target)
    assert spark.read.parquet(target).count() == 1
    assert not set(first) & set(keys(s3, data_bucket, "plain/"))
    df.write.mode("ignore").parquet(target)
    assert spark.read.parquet(target).count() == 1
    df.write.format("json").save(f"s3://{data_bucket}/plain-json", mode="overwrite")
    assert spark.read.format("json").load(f"s3://{data_bucket}/plain-json").count() == 3


def test_rdd_text_files_on_s3(spark: Any, glue: Any, s3: Any, data_bucket: str) -> None:
    lines = spark.sparkContext.textFile(f"s3://{data_bucket}/people/part-1.csv,s3://{data_bucket}/cities/cities.csv")
    assert lines.count() == 7
    lines.map(str.upper).saveAsTextFile(f"s3://{data_bucket}/upper/")
    assert sorted(spark.sparkContext.textFile(f"s3://{data_bucket}/upper/").collect())[0] == "1,ANN,34,PARIS"
    with pytest.raises(Exception, match="already exists"):
        lines.saveAsTextFile(f"s3://{data_bucket}/upper/")


def put_csv(s3: Any, bucket: str, key: str, rows: list[tuple[int, str]]) -> None:
    body = "id,name\n" + "".join(f"{i},{n}\n" for i, n in rows)
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode())


def bookmarked_run(monkeypatch: pytest.MonkeyPatch, spark: Any, tmp_path: Path, run: int, previous: Path | None,
                   bucket: str, option: str = "job-bookmark-enable") -> tuple[list[int], Path]:
    """One run of a bookmarked job in this process: its ids read, and the state it committed."""
    from awsglue.context import GlueContext
    from awsglue.job import Job

    out = tmp_path / f"bookmark-{run}.json"
    monkeypatch.setattr(sys, "argv", ["job.py", "--JOB_NAME", "bm", "--job-bookmark-option", option])
    monkeypatch.setenv("MLHARBOR_GLUE_BOOKMARK_IN", str(previous or tmp_path / "none.json"))
    monkeypatch.setenv("MLHARBOR_GLUE_BOOKMARK_OUT", str(out))
    context = GlueContext(spark.sparkContext)
    job = Job(context)
    job.init("bm", {})
    frame = context.create_dynamic_frame.from_options("s3", {"paths": [f"s3://{bucket}/incoming/"]}, format="csv",
                                                      format_options={"withHeader": True}, transformation_ctx="src")
    ids = sorted(r["id"] for r in frame.toDF().collect()) if frame.toDF().columns else []
    job.commit()
    return ids, out


def test_bookmark_second_run_reads_only_new_files(monkeypatch: pytest.MonkeyPatch, spark: Any, s3: Any,
                                                  tmp_path: Path) -> None:
    bucket = "glue-lib-bookmarks"
    s3.create_bucket(Bucket=bucket)
    put_csv(s3, bucket, "incoming/a.csv", [(1, "a"), (2, "b")])
    put_csv(s3, bucket, "incoming/b.csv", [(3, "c")])
    ids, state = bookmarked_run(monkeypatch, spark, tmp_path, 1, None, bucket)
    assert ids == [1, 2, 3]
    assert set(json.loads(state.read_text())["contexts"]["src"]) == {f"s3://{bucket}/incoming/a.csv",
                                                                     f"s3://{bucket}/incoming/b.csv"}
    put_csv(s3, bucket, "incoming/c.csv", [(4, "d")])
    ids, state2 = bookmarked_run(monkeypatch, spark, tmp_path, 2, state, bucket)
    assert ids == [4]
    ids, _ = bookmarked_run(monkeypatch, spark, tmp_path, 3, state2, bucket)
    assert ids == []
    ids, _ = bookmarked_run(monkeypatch, spark, tmp_path, 4, state2, bucket, option="job-bookmark-disable")
    assert ids == [1, 2, 3, 4]
    put_csv(s3, bucket, "incoming/d.csv", [(5, "e")])
    ids, paused = bookmarked_run(monkeypatch, spark, tmp_path, 5, state2, bucket, option="job-bookmark-pause")
    assert ids == [5]
    assert f"s3://{bucket}/incoming/d.csv" not in json.loads(paused.read_text())["contexts"]["src"]


def test_from_options_rejects_an_unknown_format(glue: Any, data_bucket: str) -> None:
    with pytest.raises(ValueError, match="format must be one of"):
        glue.create_dynamic_frame.from_options("s3", {"paths": [f"s3://{data_bucket}/people/"]}, format="xml")


def test_getsink_writes_a_frame(glue: Any, s3: Any, data_bucket: str) -> None:
    sink = glue.getSink(connection_type="s3", path=f"s3://{data_bucket}/sink/", partitionKeys=[])
    sink.setFormat("json")
    sink.writeFrame(people(glue, data_bucket))
    body = io.BytesIO()
    first = keys(s3, data_bucket, "sink/")
    s3.download_fileobj(data_bucket, [k for k in first if k.endswith(".json")][0], body)
    assert b'"name":"ann"' in body.getvalue()


def wait_crawled(glue_client: Any, name: str) -> dict[str, Any]:
    import time

    for _ in range(300):
        crawler = glue_client.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler
        time.sleep(0.2)
    raise AssertionError(f"crawler {name} did not finish")


@pytest.fixture(scope="module")
def crawled_db(harbor: RunningHarbor, glue: Any, data_bucket: str) -> str:
    """``lib_db``: a crawler's tables over a partitioned Parquet folder (``visits``) and the people CSV."""
    frame = people(glue, data_bucket)
    glue.write_dynamic_frame.from_options(frame=frame, connection_type="s3", format="parquet",
                                          connection_options={"path": f"s3://{data_bucket}/lake/visits",
                                                              "partitionKeys": ["city"]})
    catalog = harbor.client("glue")
    catalog.create_crawler(Name="glue-lib-crawler", Role="arn:aws:iam::123456789012:role/glue", DatabaseName="lib_db",
                           Targets={"S3Targets": [{"Path": f"s3://{data_bucket}/lake/"},
                                                  {"Path": f"s3://{data_bucket}/people/"}]})
    catalog.start_crawler(Name="glue-lib-crawler")
    assert wait_crawled(catalog, "glue-lib-crawler")["LastCrawl"]["Status"] == "SUCCEEDED"
    return "lib_db"


def test_from_catalog_reads_what_the_crawler_found(glue: Any, crawled_db: str) -> None:
    visits = glue.create_dynamic_frame.from_catalog(database=crawled_db, table_name="visits")
    assert sorted(r["city"] for r in visits.toDF().collect()) == ["paris", "paris", "rome"]
    csv_table = glue.create_dynamic_frame.from_catalog(database=crawled_db, table_name="people",
                                                       push_down_predicate="age > 40")
    assert dict(csv_table.toDF().dtypes)["id"] == "bigint"
    assert [r["name"] for r in csv_table.toDF().collect()] == ["cid"]


def test_catalog_sinks_match_catalog_and_split_fields(glue: Any, s3: Any, data_bucket: str, crawled_db: str) -> None:
    from awsglue.transforms import SelectFromCollection, SplitFields

    frame = people(glue, data_bucket)
    assert dict(frame.toDF().dtypes)["id"] == "int"
    matched = frame.resolveChoice(choice="match_catalog", database=crawled_db, table_name="people")
    assert dict(matched.toDF().dtypes)["id"] == "bigint"
    before = len(keys(s3, data_bucket, "lake/visits/"))
    glue.write_dynamic_frame.from_catalog(frame=frame, database=crawled_db, table_name="visits")
    assert len(keys(s3, data_bucket, "lake/visits/city=rome/")) == 2
    assert len(keys(s3, data_bucket, "lake/visits/")) > before
    parts = SplitFields.apply(frame=frame, paths=["id", "name"], name1="keys", name2="rest")
    assert sorted(parts.keys()) == ["keys", "rest"]
    assert SelectFromCollection.apply(dfc=parts, key="rest").toDF().columns == ["age", "city"]


PLAIN_SCRIPT = '''
import sys
from pyspark.sql import SparkSession
from awsglue.utils import getResolvedOptions

args = getResolvedOptions(sys.argv, ["source", "target"])
spark = SparkSession.builder.getOrCreate()
df = spark.read.csv(args["source"], header=True, inferSchema=True)
df.write.mode("overwrite").parquet(args["target"])
df.filter(df.age > 40).write.mode("append").parquet(args["target"])
print("ROWS", spark.read.parquet(args["target"]).count())
'''


def test_plain_pyspark_script_through_the_driver_under_spark_submit(glue_env: dict[str, str], s3: Any,
                                                                    data_bucket: str, tmp_path: Path) -> None:
    import os
    import subprocess

    from tests.containers.glue.conftest import GLUE

    script = tmp_path / "plain.py"
    script.write_text(PLAIN_SCRIPT)
    spark_submit = Path(sys.executable).with_name("spark-submit")
    env = {**os.environ, **glue_env, "MLHARBOR_GLUE_JOB_TYPE": "glueetl", "MLHARBOR_GLUE_WORK_DIR": str(tmp_path / "w"),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(spark_submit), "--master", "local[1]", "--conf", "spark.ui.enabled=false",
                           str(GLUE / "driver.py"), str(script), "--JOB_NAME", "plain",
                           "--source", f"s3://{data_bucket}/people/", "--target", f"s3a://{data_bucket}/plain-out/"],
                          env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ROWS 4" in done.stdout
    assert any(k.endswith(".parquet") for k in keys(s3, data_bucket, "plain-out/"))


def graph_count(harbor: RunningHarbor, label: str, edges: bool = False) -> int:
    from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
    from gremlin_python.process.anonymous_traversal import traversal

    connection = DriverRemoteConnection(harbor.graph.replace("http://", "ws://") + "/gremlin", "g")
    try:
        g = traversal().with_(connection)
        return (g.E() if edges else g.V()).has_label(label).count().next()
    finally:
        connection.close()


def test_glue_to_neptune_by_gremlin_and_by_bulk_load(harbor: RunningHarbor, spark: Any, glue: Any,
                                                     data_bucket: str) -> None:
    from awsglue.dynamicframe import DynamicFrame
    from mlharbor_glue import neptune

    graph = neptune.endpoint_from_url(harbor.graph)
    vertices = spark.createDataFrame([(f"gv{i}", "gperson", f"n{i}", i) for i in range(6)],
                                     ["~id", "~label", "name:String", "age:Int"]).repartition(2)
    edges = spark.createDataFrame([(f"ge{i}", f"gv{i}", f"gv{i + 1}", "gknows") for i in range(5)],
                                  ["~id", "~from", "~to", "~label"])
    neptune.write_vertices(DynamicFrame.fromDF(vertices, glue, "v"), graph)
    neptune.write_edges(edges, graph)
    assert graph_count(harbor, "gperson") == 6
    assert graph_count(harbor, "gknows", edges=True) == 5

    loaded = spark.createDataFrame([(f"lv{i}", "lperson", i) for i in range(4)], ["~id", "~label", "age:Int"])
    neptune.write_load_csv(loaded, f"s3://{data_bucket}/neptune-load/vertices/")
    result = neptune.start_load(graph, f"s3://{data_bucket}/neptune-load/")
    assert result["overallStatus"]["status"] == "LOAD_COMPLETED"
    assert graph_count(harbor, "lperson") == 4
