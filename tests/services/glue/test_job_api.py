"""The Glue job definitions over real boto3: create, read, update, delete, list, and refusals in AWS's shapes;
the rest of Glue (the Data Catalog) is still answered by moto beside them."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.services.glue.conftest import create_job, job_name

SCRIPT = "s3://some-bucket/scripts/job.py"


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


def test_create_get_update_delete_a_job(glue: Any) -> None:
    name = create_job(glue, SCRIPT, "glueetl", WorkerType="G.1X", NumberOfWorkers=3, Timeout=30,
                      DefaultArguments={"--a": "1"}, ExecutionProperty={"MaxConcurrentRuns": 2})
    job = glue.get_job(JobName=name)["Job"]
    assert job["Command"] == {"Name": "glueetl", "ScriptLocation": SCRIPT, "PythonVersion": "3"}
    assert (job["WorkerType"], job["NumberOfWorkers"], job["MaxCapacity"]) == ("G.1X", 3, 3.0)
    assert (job["Timeout"], job["GlueVersion"], job["ExecutionProperty"]["MaxConcurrentRuns"]) == (30, "5.0", 2)
    assert job["DefaultArguments"] == {"--a": "1"}

    glue.update_job(JobName=name, JobUpdate={"Role": "r2", "Command": {"Name": "pythonshell", "ScriptLocation": SCRIPT},
                                             "MaxCapacity": 1.0})
    updated = glue.get_job(JobName=name)["Job"]
    assert (updated["Role"], updated["Command"]["Name"], updated["MaxCapacity"]) == ("r2", "pythonshell", 1.0)
    assert "WorkerType" not in updated and updated["CreatedOn"] == job["CreatedOn"]
    assert updated["LastModifiedOn"] > job["LastModifiedOn"]

    assert glue.delete_job(JobName=name)["JobName"] == name
    with pytest.raises(ClientError) as missing:
        glue.get_job(JobName=name)
    assert error_code(missing) == "EntityNotFoundException"
    assert glue.delete_job(JobName=name)["JobName"] == name  # AWS: deleting a missing job is no error

    legacy = create_job(glue, SCRIPT, "glueetl", AllocatedCapacity=5)  # the deprecated name of MaxCapacity
    assert glue.get_job(JobName=legacy)["Job"]["MaxCapacity"] == 5.0


def test_list_jobs_get_jobs_batch_get_jobs_page_and_filter(glue: Any) -> None:
    names = [create_job(glue, SCRIPT, Tags={"suite": "paging"}) for _ in range(3)]
    first = glue.list_jobs(MaxResults=2, Tags={"suite": "paging"})
    rest = glue.list_jobs(MaxResults=2, Tags={"suite": "paging"}, NextToken=first["NextToken"])
    assert first["JobNames"] + rest["JobNames"] == names and "NextToken" not in rest
    all_jobs = [job["Name"] for page in glue.get_paginator("get_jobs").paginate(PaginationConfig={"PageSize": 2})
                for job in page["Jobs"]]
    assert set(names) <= set(all_jobs)
    found = glue.batch_get_jobs(JobNames=[names[0], "no-such-job"])
    assert [job["Name"] for job in found["Jobs"]] == [names[0]] and found["JobsNotFound"] == ["no-such-job"]


def test_refusals_in_aws_shapes(glue: Any, raw_glue: Any) -> None:
    name = create_job(glue, SCRIPT)
    with pytest.raises(ClientError) as duplicate:
        create_job(glue, SCRIPT, Name=name)
    assert error_code(duplicate) == "AlreadyExistsException"
    cases = [
        ({"Command": {"Name": "gluestreaming", "ScriptLocation": SCRIPT}}, "InvalidInputException", "gluestreaming"),
        ({"Command": {"Name": "pythonshell", "ScriptLocation": "/local/file.py"}}, "InvalidInputException", "s3://"),
        ({"Command": {"Name": "pythonshell", "ScriptLocation": SCRIPT}, "WorkerType": "G.1X", "NumberOfWorkers": 2},
         "InvalidInputException", "pythonshell"),
        ({"Command": {"Name": "glueetl", "ScriptLocation": SCRIPT}, "WorkerType": "G.1X"},
         "InvalidInputException", "NumberOfWorkers"),
        ({"Command": {"Name": "glueetl", "ScriptLocation": SCRIPT}, "WorkerType": "G.99X", "NumberOfWorkers": 2},
         "ValidationException", "G.99X"),
        ({"Command": {"Name": "glueetl", "ScriptLocation": SCRIPT}, "Timeout": 0}, "ValidationException", "timeout"),
    ]
    for members, code, said in cases:
        with pytest.raises(ClientError) as refused:
            raw_glue.create_job(Name=job_name("bad"), Role="r", **members)
        assert error_code(refused) == code, members
        assert said in refused.value.response["Error"]["Message"], members
    with pytest.raises(ClientError) as unknown_worker:
        raw_glue.start_job_run(JobName=name, WorkerType="X.1")
    assert error_code(unknown_worker) == "ValidationException"
    with pytest.raises(ClientError) as no_job:
        glue.start_job_run(JobName="no-such-job")
    assert error_code(no_job) == "EntityNotFoundException"
    with pytest.raises(ClientError) as no_bookmark:
        glue.get_job_bookmark(JobName=name)
    assert error_code(no_bookmark) == "EntityNotFoundException"


def test_the_data_catalog_stays_with_moto(glue: Any) -> None:
    database = job_name("db")
    glue.create_database(DatabaseInput={"Name": database})
    glue.create_table(DatabaseName=database, TableInput={"Name": "t", "StorageDescriptor": {"Columns": [
        {"Name": "x", "Type": "int"}]}})
    assert glue.get_table(DatabaseName=database, Name="t")["Table"]["StorageDescriptor"]["Columns"][0]["Name"] == "x"


def test_connections_round_trip(glue: Any) -> None:
    name = job_name("graph")
    url = "jdbc:wss://127.0.0.1:8182/gremlin"
    glue.create_connection(ConnectionInput={"Name": name, "ConnectionType": "JDBC", "ConnectionProperties": {
        "JDBC_CONNECTION_URL": url, "USERNAME": "u", "PASSWORD": "p"}})
    connection = glue.get_connection(Name=name)["Connection"]
    assert connection["ConnectionProperties"]["JDBC_CONNECTION_URL"] == url
    assert "PASSWORD" not in glue.get_connection(Name=name, HidePassword=True)["Connection"]["ConnectionProperties"]
    assert name in [c["Name"] for c in glue.get_connections(Filter={"ConnectionType": "JDBC"})["ConnectionList"]]
    with pytest.raises(ClientError) as duplicate:
        glue.create_connection(ConnectionInput={"Name": name, "ConnectionType": "NETWORK", "ConnectionProperties": {}})
    assert error_code(duplicate) == "AlreadyExistsException"
    glue.delete_connection(ConnectionName=name)
    with pytest.raises(ClientError) as gone:
        glue.get_connection(Name=name)
    assert error_code(gone) == "EntityNotFoundException"
