"""AddTags / ListTags / DeleteTags on a training job over real boto3, in process: Create's tags, changes
after it, paging, and the errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator.testing import training_request


def test_tags_given_at_create_are_listed(sagemaker, bucket):
    arn = sagemaker.create_training_job(**training_request(bucket, Tags=[{"Key": "team", "Value": "graph"}]))[
        "TrainingJobArn"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "graph"}]


def test_tags_added_replaced_and_deleted(sagemaker, bucket):
    arn = sagemaker.create_training_job(**training_request(bucket))["TrainingJobArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "team", "Value": "graph"}])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "graph"}]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}, {"Key": "team", "Value": "ml"}])
    tags = {tag["Key"]: tag["Value"] for tag in sagemaker.list_tags(ResourceArn=arn)["Tags"]}
    assert tags == {"team": "ml", "stage": "dev"}
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]


def test_list_tags_pages(sagemaker, bucket):
    tags = [{"Key": f"k{index:02}", "Value": str(index)} for index in range(80)]
    arn = sagemaker.create_training_job(**training_request(bucket))["TrainingJobArn"]
    sagemaker.add_tags(ResourceArn=arn, Tags=tags[:40])
    sagemaker.add_tags(ResourceArn=arn, Tags=tags[40:])
    seen, token = [], None
    while True:
        page = sagemaker.list_tags(ResourceArn=arn, MaxResults=50, **({"NextToken": token} if token else {}))
        assert len(page["Tags"]) <= 50
        seen.extend(page["Tags"])
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen, key=lambda tag: tag["Key"]) == tags


def test_a_bad_tag_is_a_validation_error_naming_the_member(raw_sagemaker, bucket):
    arn = raw_sagemaker.create_training_job(**training_request(bucket))["TrainingJobArn"]
    with pytest.raises(ClientError) as caught:
        raw_sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "", "Value": "v"}])
    error = caught.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert "'tags.1.member.key'" in error["Message"]
