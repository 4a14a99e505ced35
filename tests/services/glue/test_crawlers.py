"""Crawlers through real boto3: they scan S3, infer CSV/JSON/Parquet schemas and partitions, and fill moto's catalog."""

from __future__ import annotations

import io
import time
import uuid
from typing import Any

import pytest

ROLE = "arn:aws:iam::123456789012:role/glue"


def wait_ready(glue: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler
        time.sleep(0.2)
    raise AssertionError(f"crawler {name} still {crawler['State']}")


def parquet_bytes(rows: dict[str, list[Any]]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.table(rows), buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def lake(glue_s3: Any) -> str:
    bucket = f"lake-{uuid.uuid4().hex[:10]}"
    glue_s3.create_bucket(Bucket=bucket)
    glue_s3.put_object(Bucket=bucket, Key="raw/people/part-0.csv", Body=b"id,name,score\n1,ann,3.5\n2,bob,4\n")
    glue_s3.put_object(Bucket=bucket, Key="raw/people/_SUCCESS", Body=b"x")
    glue_s3.put_object(Bucket=bucket, Key="raw/clicks/a.json", Body=b'{"user": 1, "url": "x"}\n{"user": 2, "url": "y"}\n')
    for year, month in (("2024", "11"), ("2024", "12"), ("2025", "01")):
        glue_s3.put_object(Bucket=bucket, Key=f"events/year={year}/month={month}/data.parquet",
                           Body=parquet_bytes({"event": ["click"], "value": [1.5], "count": [3]}))
    return bucket


def test_crawler_over_csv_json_and_partitioned_parquet(glue: Any, lake: str) -> None:
    name, database = f"crawl-{uuid.uuid4().hex[:8]}", f"db_{uuid.uuid4().hex[:8]}"
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{lake}/raw/"}, {"Path": f"s3://{lake}/events"}]})
    assert glue.get_crawler(Name=name)["Crawler"]["State"] == "READY"
    glue.start_crawler(Name=name)
    assert glue.get_crawler(Name=name)["Crawler"]["State"] in ("RUNNING", "READY")
    crawler = wait_ready(glue, name)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED", crawler["LastCrawl"]
    assert crawler["LastCrawl"]["StartTime"]
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]}
    assert set(tables) == {"people", "clicks", "events"}
    people = tables["people"]
    assert [(c["Name"], c["Type"]) for c in people["StorageDescriptor"]["Columns"]] == [
        ("id", "bigint"), ("name", "string"), ("score", "double")]
    assert people["Parameters"]["classification"] == "csv"
    assert people["Parameters"]["skip.header.line.count"] == "1"
    assert people["StorageDescriptor"]["Location"] == f"s3://{lake}/raw/people/"
    assert tables["clicks"]["Parameters"]["classification"] == "json"
    events = tables["events"]
    assert events["Parameters"]["classification"] == "parquet"
    assert [(c["Name"], c["Type"]) for c in events["StorageDescriptor"]["Columns"]] == [
        ("event", "string"), ("value", "double"), ("count", "bigint")]
    assert [k["Name"] for k in events["PartitionKeys"]] == ["year", "month"]
    partitions = glue.get_partitions(DatabaseName=database, TableName="events")["Partitions"]
    assert sorted(p["Values"] for p in partitions) == [["2024", "11"], ["2024", "12"], ["2025", "01"]]
    assert names_listed(glue, name)


def names_listed(glue: Any, name: str) -> bool:
    return name in glue.list_crawlers()["CrawlerNames"] and name in [c["Name"] for c in glue.get_crawlers()["Crawlers"]]


def test_a_second_crawl_updates_the_table(glue: Any, glue_s3: Any, lake: str) -> None:
    name, database = f"crawl-{uuid.uuid4().hex[:8]}", f"db_{uuid.uuid4().hex[:8]}"
    prefix = f"grow-{uuid.uuid4().hex[:6]}"
    glue_s3.put_object(Bucket=lake, Key=f"{prefix}/a.csv", Body=b"k,v\n1,2\n")
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database, Targets={"S3Targets": [{"Path": f"s3://{lake}/{prefix}/"}]})
    glue.start_crawler(Name=name)
    wait_ready(glue, name)
    glue_s3.put_object(Bucket=lake, Key=f"{prefix}/b.csv", Body=b"k,v,w\n1,2.5,z\n")
    glue.start_crawler(Name=name)
    assert wait_ready(glue, name)["LastCrawl"]["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName=database, Name=prefix.replace("-", "_"))["Table"]
    assert [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]] == [
        ("k", "bigint"), ("v", "double"), ("w", "string")]


def test_stop_cancels_a_running_crawl(glue: Any, glue_s3: Any, lake: str) -> None:
    prefix = f"many-{uuid.uuid4().hex[:6]}"
    for index in range(150):
        glue_s3.put_object(Bucket=lake, Key=f"{prefix}/year={index}/part.csv", Body=b"a,b\n1,2\n")
    name, database = f"crawl-{uuid.uuid4().hex[:8]}", f"db_{uuid.uuid4().hex[:8]}"
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName=database, Targets={"S3Targets": [{"Path": f"s3://{lake}/{prefix}"}]})
    glue.start_crawler(Name=name)
    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.start_crawler(Name=name)
    glue.stop_crawler(Name=name)
    assert glue.get_crawler(Name=name)["Crawler"]["State"] in ("STOPPING", "READY")
    crawler = wait_ready(glue, name)
    assert crawler["LastCrawl"]["Status"] == "CANCELLED"
    with pytest.raises(glue.exceptions.CrawlerNotRunningException):
        glue.stop_crawler(Name=name)


def test_a_crawl_over_unreadable_data_fails_with_a_reason(glue: Any, glue_s3: Any, lake: str) -> None:
    prefix = f"bad-{uuid.uuid4().hex[:6]}"
    glue_s3.put_object(Bucket=lake, Key=f"{prefix}/x.parquet", Body=b"PAR1 not really")
    name = f"crawl-{uuid.uuid4().hex[:8]}"
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName="db_bad", Targets={"S3Targets": [{"Path": f"s3://{lake}/{prefix}/"}]})
    glue.start_crawler(Name=name)
    last = wait_ready(glue, name)["LastCrawl"]
    assert last["Status"] == "FAILED" and "Parquet" in last["ErrorMessage"]


def test_crawler_errors(glue: Any, lake: str) -> None:
    name = f"crawl-{uuid.uuid4().hex[:8]}"
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_crawler(Name=name)
    with pytest.raises(glue.exceptions.InvalidInputException, match="S3Targets"):
        glue.create_crawler(Name=name, Role=ROLE, DatabaseName="d", Targets={"S3Targets": [{"Path": "/local/dir"}]})
    with pytest.raises(glue.exceptions.InvalidInputException, match="S3Targets"):
        glue.create_crawler(Name=name, Role=ROLE, DatabaseName="d", Targets={"JdbcTargets": [{"ConnectionName": "c"}]})
    glue.create_crawler(Name=name, Role=ROLE, DatabaseName="d", Targets={"S3Targets": [{"Path": f"s3://{lake}/raw/"}]})
    with pytest.raises(glue.exceptions.AlreadyExistsException):
        glue.create_crawler(Name=name, Role=ROLE, DatabaseName="d", Targets={"S3Targets": [{"Path": f"s3://{lake}/raw/"}]})
    with pytest.raises(glue.exceptions.CrawlerNotRunningException):
        glue.stop_crawler(Name=name)
    glue.delete_crawler(Name=name)
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.start_crawler(Name=name)
