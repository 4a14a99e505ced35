"""CreateTrainingJob / Describe / List / Stop over real boto3, in process: shapes, validation and errors."""

from __future__ import annotations

import datetime
import time

import pytest
from botocore.exceptions import ClientError

from emulator.testing import FakeRunner, training_request, unique_name, wait_for_status


def error_of(call, **kwargs) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def test_create_answers_the_arn_and_describe_echoes_the_request(sagemaker, bucket):
    request = training_request(bucket, HyperParameters={"epochs": "3"}, Environment={"A": "1"})
    arn = sagemaker.create_training_job(**request)["TrainingJobArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{request['TrainingJobName']}"
    described = sagemaker.describe_training_job(TrainingJobName=request["TrainingJobName"])
    assert described["TrainingJobArn"] == arn
    assert described["TrainingJobStatus"] in ("InProgress", "Failed")
    assert described["HyperParameters"] == {"epochs": "3"}
    assert described["Environment"] == {"A": "1"}
    assert described["ResourceConfig"]["InstanceType"] == "ml.m5.large"
    assert described["SecondaryStatusTransitions"][0]["Status"] == "Starting"
    assert described["CreationTime"].tzinfo is not None


def test_missing_required_members_are_listed_in_aws_words(raw_sagemaker):
    code, message = error_of(raw_sagemaker.create_training_job, TrainingJobName="x")
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected: ")
    assert "Value null at 'roleArn' failed to satisfy constraint: Member must not be null" in message
    assert "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null" in message


def test_pattern_and_length_violations_name_the_member_path(raw_sagemaker, bucket):
    long_bad = "bad_name_" + "x" * 70
    request = training_request(bucket, TrainingJobName=long_bad)
    code, message = error_of(raw_sagemaker.create_training_job, **request)
    assert code == "ValidationException"
    assert message.startswith("2 validation errors detected: ")
    assert (
        f"Value '{long_bad}' at 'trainingJobName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    ) in message
    assert "Member must have length less than or equal to 63" in message


def test_enum_and_range_violations_inside_nested_structures(raw_sagemaker, bucket):
    request = training_request(
        bucket,
        ResourceConfig={"InstanceType": "ml.banana", "InstanceCount": 1, "VolumeSizeInGB": 1},
        StoppingCondition={"MaxRuntimeInSeconds": 0},
    )
    code, message = error_of(raw_sagemaker.create_training_job, **request)
    assert code == "ValidationException"
    assert "at 'resourceConfig.instanceType' failed to satisfy constraint: Member must satisfy enum value set: [" in message
    assert (
        "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    ) in message


def test_list_members_are_addressed_by_position(raw_sagemaker, bucket):
    channel = {"ChannelName": "bad channel!", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                              "S3Uri": f"s3://{bucket}/x"}}}
    request = training_request(bucket, InputDataConfig=[channel])
    code, message = error_of(raw_sagemaker.create_training_job, **request)
    assert code == "ValidationException"
    assert "at 'inputDataConfig.1.member.channelName' failed to satisfy constraint" in message


def test_wrong_json_type_is_a_serialization_error(raw_sagemaker, bucket):
    request = training_request(bucket, StoppingCondition={"MaxRuntimeInSeconds": "soon"})
    code, _ = error_of(raw_sagemaker.create_training_job, **request)
    assert code == "SerializationException"


def test_semantic_checks_beyond_the_model(sagemaker, bucket):
    no_image = training_request(bucket, AlgorithmSpecification={"TrainingInputMode": "File"})
    assert error_of(sagemaker.create_training_job, **no_image)[0] == "ValidationException"
    channel = {"ChannelName": "..", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                    "S3Uri": f"s3://{bucket}/x"}}}
    traversal = training_request(bucket, InputDataConfig=[channel])
    code, message = error_of(sagemaker.create_training_job, **traversal)
    assert code == "ValidationException" and "'..'" in message
    no_instances = training_request(bucket, ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 0,
                                                           "VolumeSizeInGB": 1})
    assert "InstanceCount" in error_of(sagemaker.create_training_job, **no_instances)[1]
    spot = training_request(bucket, EnableManagedSpotTraining=True)
    code, message = error_of(sagemaker.create_training_job, **spot)
    assert "MaxWaitTimeInSeconds" in message
    for request in (no_image, traversal, spot):
        assert error_of(sagemaker.describe_training_job, TrainingJobName=request["TrainingJobName"])[1] == (
            "Requested resource not found."
        )


def test_duplicate_name_is_resource_in_use(sagemaker, s3, bucket):
    request = training_request(bucket)
    sagemaker.create_training_job(**request)
    code, message = error_of(sagemaker.create_training_job, **request)
    assert code == "ResourceInUse"
    assert request["TrainingJobName"].lower() in message


def test_unknown_job_is_requested_resource_not_found(sagemaker):
    for call in (sagemaker.describe_training_job, sagemaker.stop_training_job):
        code, message = error_of(call, TrainingJobName=unique_name("missing"))
        assert (code, message) == ("ValidationException", "Requested resource not found.")


def test_stop_a_running_job_then_stopping_a_finished_job_is_rejected(sagemaker, s3, bucket):
    request = training_request(bucket)
    sagemaker.create_training_job(**request)
    name = request["TrainingJobName"]
    deadline = time.monotonic() + 60
    while sagemaker.describe_training_job(TrainingJobName=name)["SecondaryStatus"] != "Training":
        assert time.monotonic() < deadline, "job never reached Training"
        time.sleep(0.2)
    sagemaker.stop_training_job(TrainingJobName=name)
    assert sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("Stopping", "Stopped")
    waiter = sagemaker.get_waiter("training_job_completed_or_stopped")
    waiter.wait(TrainingJobName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    final = sagemaker.describe_training_job(TrainingJobName=name)
    assert (final["TrainingJobStatus"], final["SecondaryStatus"]) == ("Stopped", "Stopped")
    statuses = [t["Status"] for t in final["SecondaryStatusTransitions"]]
    assert statuses[-1] == "Stopped"
    assert statuses.index("Training") < statuses.index("Stopping")
    code, message = error_of(sagemaker.stop_training_job, TrainingJobName=name)
    assert code == "ValidationException"
    assert message == "The request was rejected because the training job is in status Stopped."


@pytest.fixture
def family(sagemaker, s3, fake_runner: FakeRunner):
    """Five finished jobs sharing a name prefix, created in order."""
    fake_runner.default_outcome = "Completed"
    bucket = f"list-{unique_name('b')}"
    s3.create_bucket(Bucket=bucket)
    prefix = unique_name("fam")
    names = []
    for index in range(5):
        request = training_request(bucket, TrainingJobName=f"{prefix}-{index}")
        sagemaker.create_training_job(**request)
        names.append(request["TrainingJobName"])
        time.sleep(0.02)
    for name in names:
        wait_for_status(sagemaker, name)
    return prefix, names


class TestListTrainingJobs:
    def test_name_filter_and_default_sort_newest_first(self, sagemaker, family):
        prefix, names = family
        page = sagemaker.list_training_jobs(NameContains=prefix, MaxResults=100)
        assert [s["TrainingJobName"] for s in page["TrainingJobSummaries"]] == names[::-1]
        assert "NextToken" not in page

    def test_sort_by_name_ascending(self, sagemaker, family):
        prefix, names = family
        page = sagemaker.list_training_jobs(NameContains=prefix, SortBy="Name", SortOrder="Ascending")
        assert [s["TrainingJobName"] for s in page["TrainingJobSummaries"]] == sorted(names)

    def test_pages_with_max_results_and_next_token(self, sagemaker, family):
        prefix, names = family
        seen, token = [], None
        while True:
            kwargs = {"NameContains": prefix, "MaxResults": 2, "SortOrder": "Ascending"}
            if token:
                kwargs["NextToken"] = token
            page = sagemaker.list_training_jobs(**kwargs)
            assert len(page["TrainingJobSummaries"]) <= 2
            seen.extend(s["TrainingJobName"] for s in page["TrainingJobSummaries"])
            token = page.get("NextToken")
            if not token:
                break
        assert seen == names

    def test_paginator_walks_everything(self, sagemaker, family):
        prefix, names = family
        paginator = sagemaker.get_paginator("list_training_jobs")
        found = [s["TrainingJobName"] for page in paginator.paginate(NameContains=prefix, PaginationConfig={"PageSize": 2})
                 for s in page["TrainingJobSummaries"]]
        assert sorted(found) == sorted(names)

    def test_status_and_time_filters(self, sagemaker, family):
        prefix, names = family
        completed = sagemaker.list_training_jobs(NameContains=prefix, StatusEquals="Completed", MaxResults=100)
        assert len(completed["TrainingJobSummaries"]) == len(names)
        failed = sagemaker.list_training_jobs(NameContains=prefix, StatusEquals="Failed")
        assert failed["TrainingJobSummaries"] == []
        # botocore sends timestamps in whole seconds, so the filters are checked a day either side
        first = sagemaker.describe_training_job(TrainingJobName=names[0])["CreationTime"]
        day = datetime.timedelta(days=1)
        def count(**kwargs):
            return len(sagemaker.list_training_jobs(NameContains=prefix, MaxResults=100, **kwargs)["TrainingJobSummaries"])
        assert count(CreationTimeAfter=first - day) == len(names)
        assert count(CreationTimeAfter=first + day) == 0
        assert count(CreationTimeBefore=first + day) == len(names)
        assert count(CreationTimeBefore=first - day) == 0
        assert count(LastModifiedTimeAfter=first - day, LastModifiedTimeBefore=first + day) == len(names)

    def test_bad_token_and_bad_max_results(self, raw_sagemaker, family):
        code, message = error_of(raw_sagemaker.list_training_jobs, NextToken="garbage!!")
        assert code == "ValidationException" and "pagination token" in message
        code, message = error_of(raw_sagemaker.list_training_jobs, MaxResults=0)
        assert code == "ValidationException"
        assert "at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1" in message
