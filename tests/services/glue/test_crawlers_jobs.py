"""A crawler fills the catalog, then a glueetl job reads it with ``from_catalog`` under a job bookmark:
the whole path through real boto3, the server's runs and the job library (two Spark runs)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.services.glue.conftest import create_job, log_messages, put_script, wait_for_run

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::123456789012:role/glue"
SCRIPT = """
import sys
from awsglue.context import GlueContext
from awsglue.job import Job
from awsglue.transforms import ApplyMapping
from awsglue.utils import getResolvedOptions
from pyspark.context import SparkContext

args = getResolvedOptions(sys.argv, ["JOB_NAME", "database", "table", "out"])
glue_context = GlueContext(SparkContext.getOrCreate())
job = Job(glue_context)
job.init(args["JOB_NAME"], args)
frame = glue_context.create_dynamic_frame.from_catalog(database=args["database"], table_name=args["table"],
                                                       transformation_ctx="orders")
mapped = ApplyMapping.apply(frame=frame, mappings=[("id", "long", "order_id", "long"), ("amount", "double", "amount", "double")])
glue_context.write_dynamic_frame.from_options(frame=mapped, connection_type="s3", connection_options={"path": args["out"]},
                                              format="json")
print("READ", sorted(r["order_id"] for r in mapped.toDF().collect()))
job.commit()
"""


def test_crawled_table_read_by_a_bookmarked_glueetl_job(glue: Any, glue_s3: Any, glue_logs: Any, glue_bucket: str) -> None:
    prefix = f"orders-{uuid.uuid4().hex[:6]}"
    glue_s3.put_object(Bucket=glue_bucket, Key=f"{prefix}/a.csv", Body=b"id,amount\n1,2.5\n2,4.0\n")
    crawler, database = f"crawl-{uuid.uuid4().hex[:8]}", f"db_{uuid.uuid4().hex[:8]}"
    glue.create_crawler(Name=crawler, Role=ROLE, DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{glue_bucket}/{prefix}/"}]})
    glue.start_crawler(Name=crawler)
    for _ in range(300):
        state = glue.get_crawler(Name=crawler)["Crawler"]
        if state["State"] == "READY" and "LastCrawl" in state:
            break
        time.sleep(0.2)
    assert state["LastCrawl"]["Status"] == "SUCCEEDED"
    table = prefix.replace("-", "_")
    job = create_job(glue, put_script(glue_s3, glue_bucket, SCRIPT), "glueetl", WorkerType="G.1X", NumberOfWorkers=2,
                     DefaultArguments={"--job-bookmark-option": "job-bookmark-enable", "--database": database,
                                       "--table": table, "--out": f"s3://{glue_bucket}/{prefix}-out/"})

    def run_once() -> str:
        run_id = glue.start_job_run(JobName=job)["JobRunId"]
        run = wait_for_run(glue, job, run_id, timeout=300)
        assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
        return next(m for m in log_messages(glue_logs, "/aws-glue/jobs/output", run_id) if m.startswith("READ"))

    assert run_once() == "READ [1, 2]"
    bookmark = json.loads(glue.get_job_bookmark(JobName=job)["JobBookmarkEntry"]["JobBookmark"])
    assert list(bookmark["contexts"]["orders"]) == [f"s3://{glue_bucket}/{prefix}/a.csv"]
    glue_s3.put_object(Bucket=glue_bucket, Key=f"{prefix}/b.csv", Body=b"id,amount\n3,1.0\n")
    assert run_once() == "READ [3]"
    written = glue_s3.list_objects_v2(Bucket=glue_bucket, Prefix=f"{prefix}-out/")["Contents"]
    assert len([o for o in written if o["Key"].endswith(".json")]) >= 2
