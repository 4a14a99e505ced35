"""The bulk loader through boto3 neptunedata: CSV format, status shapes, errors, cancel, list."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Callable
from typing import Any

import pytest
from gremlin_python.process.graph_traversal import GraphTraversalSource
from gremlin_python.process.traversal import T

Load = Callable[..., dict[str, Any]]

VERTICES = """~id,~label,name:String,age:Int,score:Double,ok:Bool,born:Date,tags:String[],nick:String(single)
p1,person;employee,ann,30,1.5,true,2020-01-02,a;b,annie
p2,person,bob,40,,FALSE,2021-03-04T05:06:07Z,c\\;d,
p1,,,,,,,e,
"""
EDGES = """~id,~from,~to,~label,since:Long,weight:Float
k1,p1,p2,knows,2019,0.5
"""


def test_gremlin_csv_format_in_full(empty_graph: GraphTraversalSource, load: Load) -> None:
    g = empty_graph
    status = load({"v.csv": VERTICES, "e.csv": EDGES})
    overall = status["overallStatus"]
    assert overall["status"] == "LOAD_COMPLETED"
    assert overall["totalRecords"] == 4
    assert overall["totalDuplicates"] == 1  # p1 appears twice: its rows are merged
    assert status["feedCount"] == [{"LOAD_COMPLETED": 2}]
    assert g.V("p1").label().next() == "person::employee"
    assert g.V().has_label("employee").id_().to_list() == ["p1"]
    ann = g.V("p1").value_map().next()
    assert ann["name"] == ["ann"] and ann["age"] == [30] and ann["score"] == [1.5] and ann["ok"] == [True]
    assert ann["born"] == [dt.datetime(2020, 1, 2)]
    assert sorted(ann["tags"]) == ["a", "b", "e"]  # array values, merged across rows (set cardinality)
    assert ann["nick"] == ["annie"]
    bob = g.V("p2").value_map().next()
    assert bob["ok"] == [False] and "score" not in bob and bob["tags"] == ["c;d"]
    assert bob["born"] == [dt.datetime(2021, 3, 4, 5, 6, 7)]
    edge = g.E("k1").element_map().next()
    assert edge[T.label] == "knows" and edge["since"] == 2019 and edge["weight"] == 0.5


def test_fail_on_error_true_loads_nothing(empty_graph: GraphTraversalSource, load: Load) -> None:
    files = {"v.csv": "~id,age:Int\nx1,1\nx2,notanumber\nx3,3\n"}
    status = load(files)
    assert status["overallStatus"]["status"] == "LOAD_FAILED"
    assert status["overallStatus"]["datatypeMismatchErrors"] == 1
    log = status["errors"]["errorLogs"][0]
    assert log["errorCode"] == "DATATYPE_MISMATCH" and log["recordNum"] == 2 and "age" in log["errorMessage"]
    assert log["fileName"].endswith("/v.csv")
    assert empty_graph.V().count().next() == 0  # atomic: the good rows were not applied either


def test_fail_on_error_false_skips_bad_rows(empty_graph: GraphTraversalSource, load: Load) -> None:
    files = {"v.csv": "~id,age:Int\nx1,1\nx2,notanumber\nx3,3,extra\n",
             "e.csv": "~id,~from,~to,~label\ne1,x1,x1,self\ne2,x1,ghost,dangling\n"}
    status = load(files, failOnError=False)
    overall = status["overallStatus"]
    assert overall["status"] == "LOAD_FAILED"
    assert (overall["parsingErrors"], overall["datatypeMismatchErrors"], overall["insertErrors"]) == (1, 1, 1)
    codes = sorted(log["errorCode"] for log in status["errors"]["errorLogs"])
    assert codes == ["DATATYPE_MISMATCH", "FROM_OR_TO_VERTEX_ARE_MISSING", "PARSING_ERROR"]
    assert len(status["failedFeeds"]) == 2
    assert empty_graph.V().id_().to_list() == ["x1"]
    assert empty_graph.E().id_().to_list() == ["e1"]


def test_bad_headers_and_single_cardinality(empty_graph: GraphTraversalSource, load: Load) -> None:
    status = load({"v.csv": "~id,age:Integer\n1,2\n"})
    assert status["overallStatus"]["status"] == "LOAD_FAILED"
    assert "Invalid data type" in status["errors"]["errorLogs"][0]["errorMessage"]
    status = load({"v.csv": "~id,name:String(single)\ns1,a\ns1,b\n"})
    assert status["overallStatus"]["status"] == "LOAD_FAILED" and status["overallStatus"]["insertErrors"] == 1
    status = load({"v.csv": "~id,name:String(single)\ns1,a\ns1,b\n"}, updateSingleCardinalityProperties=True)
    assert status["overallStatus"]["status"] == "LOAD_COMPLETED"
    assert empty_graph.V("s1").values("name").to_list() == ["b"]


def test_status_list_and_cancel(neptune: Any, load: Load) -> None:
    status = load({"v.csv": "~id\nz1\n"})
    load_id = status["loadId"]
    assert load_id in neptune.list_loader_jobs()["payload"]["loadIds"]
    assert neptune.list_loader_jobs(limit=1)["payload"]["loadIds"] == [load_id]
    plain = neptune.get_loader_job_status(loadId=load_id)
    assert plain["status"] == "200 OK"
    assert set(plain["payload"]) == {"feedCount", "overallStatus"}
    assert set(plain["payload"]["overallStatus"]) >= {
        "fullUri", "runNumber", "retryNumber", "status", "totalTimeSpent", "startTime", "totalRecords",
        "totalDuplicates", "parsingErrors", "datatypeMismatchErrors", "insertErrors"}
    with pytest.raises(neptune.exceptions.BadRequestException) as error:
        neptune.cancel_loader_job(loadId=load_id)
    assert "already finished" in str(error.value)
    with pytest.raises(neptune.exceptions.BulkLoadIdNotFoundException) as error:
        neptune.get_loader_job_status(loadId="00000000-0000-0000-0000-000000000000")
    assert error.value.response["code"] == "BulkLoadIdNotFoundException"
    assert "does not exist" in error.value.response["detailedMessage"]
    with pytest.raises(neptune.exceptions.BulkLoadIdNotFoundException):
        neptune.cancel_loader_job(loadId="nope")


def test_start_errors(neptune: Any, bucket: str) -> None:
    role = "arn:aws:iam::123456789012:role/x"
    with pytest.raises(neptune.exceptions.LoadUrlAccessDeniedException) as error:
        neptune.start_loader_job(source=f"s3://{bucket}/nothing-here/", format="csv", s3BucketRegion="us-east-1",
                                 iamRoleArn=role)
    assert "No files" in str(error.value)
    with pytest.raises(neptune.exceptions.LoadUrlAccessDeniedException):
        neptune.start_loader_job(source="s3://no-such-bucket-xyz/x", format="csv", s3BucketRegion="us-east-1",
                                 iamRoleArn=role)
    with pytest.raises(neptune.exceptions.UnsupportedOperationException):
        neptune.start_loader_job(source=f"s3://{bucket}/x", format="turtle", s3BucketRegion="us-east-1",
                                 iamRoleArn=role)
    with pytest.raises(neptune.exceptions.InvalidParameterException):
        neptune.start_loader_job(source="http://example.com/x", format="csv", s3BucketRegion="us-east-1",
                                 iamRoleArn=role)


@pytest.mark.slow
def test_queue_and_cancel_a_running_load(neptune: Any, s3: Any, bucket: str,
                                         empty_graph: GraphTraversalSource) -> None:
    import time

    from tests.services.neptune.conftest import wait_for_load

    # big enough that the load is still running while the queue and cancel are checked (about 2 s
    # of loading on this machine; the checks take a few tens of milliseconds)
    vertices = 10_000
    s3.put_object(Bucket=bucket, Key="big/v.csv", Body=("~id\n" + "".join(f"c{i}\n" for i in range(vertices))).encode())
    s3.put_object(Bucket=bucket, Key="big/e.csv", Body=("~id,~from,~to,~label\n" + "".join(
        f"ce{i},c{i % vertices},c{(i * 13) % vertices},l\n" for i in range(2_000_000))).encode())
    s3.put_object(Bucket=bucket, Key="small/v.csv", Body=b"~id\nq1\n")
    role = "arn:aws:iam::123456789012:role/x"
    big = neptune.start_loader_job(source=f"s3://{bucket}/big/", format="csv", s3BucketRegion="us-east-1",
                                   iamRoleArn=role)["payload"]["loadId"]
    with pytest.raises(neptune.exceptions.BadRequestException) as error:
        neptune.start_loader_job(source=f"s3://{bucket}/small/", format="csv", s3BucketRegion="us-east-1",
                                 iamRoleArn=role)
    assert "Max concurrent load limit" in str(error.value)
    queued = neptune.start_loader_job(source=f"s3://{bucket}/small/", format="csv", s3BucketRegion="us-east-1",
                                      iamRoleArn=role, queueRequest=True)["payload"]["loadId"]
    assert neptune.get_loader_job_status(loadId=queued)["payload"]["overallStatus"]["status"] == "LOAD_IN_QUEUE"
    assert neptune.list_loader_jobs()["payload"]["loadIds"][0] == queued
    assert queued not in neptune.list_loader_jobs(includeQueuedLoads=False)["payload"]["loadIds"]
    deadline = time.monotonic() + 60
    while neptune.get_loader_job_status(loadId=big)["payload"]["overallStatus"]["status"] != "LOAD_IN_PROGRESS":
        assert time.monotonic() < deadline, "the big load never showed LOAD_IN_PROGRESS"
        time.sleep(0.01)
    assert neptune.cancel_loader_job(loadId=big)["status"] == "200 OK"
    assert wait_for_load(neptune, big)["overallStatus"]["status"] == "LOAD_CANCELLED_BY_USER"
    assert wait_for_load(neptune, queued)["overallStatus"]["status"] == "LOAD_COMPLETED"
    assert empty_graph.V().id_().to_list() == ["q1"]  # nothing of the cancelled load


def test_a_completed_load_leaves_its_records_out_of_the_collectors_walks(empty_graph: GraphTraversalSource,
                                                                        load: Load) -> None:
    """The loaded records are frozen (gc.freeze): a later full collection does not walk them while reads wait."""
    before = gc.get_freeze_count()
    rows = "".join(f"f{index},{index}\n" for index in range(300))
    assert load({"v.csv": "~id,rank:Int\n" + rows})["overallStatus"]["status"] == "LOAD_COMPLETED"
    assert gc.get_freeze_count() >= before + 300
    assert empty_graph.V("f7").values("rank").next() == 7
