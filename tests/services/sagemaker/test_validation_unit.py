"""The botocore-model validator on its own (pure): message format and paths."""

from __future__ import annotations

import pytest

from emulator.core.awsjson import load_service_model, snake_case
from emulator.core.errors import SerializationError, ValidationError
from emulator.core.validation import aws_member_path, validate_request

MODEL = load_service_model("sagemaker")


def test_snake_case_names_handlers_like_moto():
    assert snake_case("CreateTrainingJob") == "create_training_job"
    assert snake_case("DescribeEndpointConfig") == "describe_endpoint_config"
    assert snake_case("CreateAutoMLJob") == "create_auto_ml_job"


def test_member_paths_are_lower_camel_case():
    assert aws_member_path("", "TrainingJobName") == "trainingJobName"
    assert aws_member_path("resourceConfig", "InstanceCount") == "resourceConfig.instanceCount"


def test_valid_request_passes_unchanged():
    params = {"TrainingJobName": "ok-name"}
    assert validate_request(MODEL.operation_model("DescribeTrainingJob"), params) == params


def test_every_violation_is_counted_once():
    with pytest.raises(ValidationError) as caught:
        validate_request(MODEL.operation_model("DescribeTrainingJob"), {"TrainingJobName": ""})
    message = caught.value.message
    assert message.startswith("2 validation errors detected: ")
    assert message.count("Value '' at 'trainingJobName'") == 2


def test_map_entries_are_checked():
    params = {"TrainingJobName": "a", "RoleArn": "arn:aws:iam::123456789012:role/r",
              "OutputDataConfig": {"S3OutputPath": "s3://b/o"}, "HyperParameters": {"k": "v" * 3000}}
    with pytest.raises(ValidationError) as caught:
        validate_request(MODEL.operation_model("CreateTrainingJob"), params)
    assert "at 'hyperParameters' failed to satisfy constraint: Map value must satisfy constraint: [" in caught.value.message


def test_booleans_are_not_numbers():
    with pytest.raises(SerializationError):
        validate_request(MODEL.operation_model("ListTrainingJobs"), {"MaxResults": True})


# -- the clean copy handlers read (issue 11, item 5) ------------------------------------------
CREATE = MODEL.operation_model("CreateTrainingJob")


def _create(**members):
    return {"TrainingJobName": "a", "RoleArn": "arn:aws:iam::123456789012:role/r",
            "OutputDataConfig": {"S3OutputPath": "s3://b/o"}, **members}


def test_null_optional_members_are_absent_and_unknown_members_dropped():
    clean = validate_request(CREATE, _create(ResourceConfig={"InstanceCount": None, "VolumeSizeInGB": 1},
                                             StoppingCondition={"MaxRuntimeInSeconds": None}, Unknown={"x": 1}))
    assert clean["ResourceConfig"] == {"VolumeSizeInGB": 1}
    assert clean["StoppingCondition"] == {}
    assert "Unknown" not in clean


def test_timestamps_become_epoch_seconds():
    clean = validate_request(MODEL.operation_model("ListTrainingJobs"), {"CreationTimeAfter": "2024-01-01T00:00:00Z"})
    assert clean["CreationTimeAfter"] == 1704067200.0


@pytest.mark.parametrize("value", ["yesterday", "1e400", "nan", True, [1]])
def test_unreadable_timestamps_are_serialization_errors(value):
    with pytest.raises(SerializationError):
        validate_request(MODEL.operation_model("ListTrainingJobs"), {"CreationTimeBefore": value})


@pytest.mark.parametrize("value", ["a\x00", "\ud800", "\udc00b"])
def test_strings_no_process_can_take_are_refused(value):
    with pytest.raises(ValidationError) as caught:
        validate_request(CREATE, _create(HyperParameters={"k": value}))
    assert "Member must not contain NUL characters or unpaired surrogates" in caught.value.message


def test_a_surrogate_pair_is_one_character_and_passes():
    assert validate_request(CREATE, _create(HyperParameters={"k": "\U0001F600"}))["HyperParameters"] == {"k": "\U0001F600"}


@pytest.mark.parametrize(("member", "value"), [("MaxResults", 2**31), ("MaxResults", -(2**31) - 1)])
def test_integers_beyond_their_shape_are_serialization_errors(member, value):
    with pytest.raises(SerializationError):
        validate_request(MODEL.operation_model("ListTrainingJobs"), {member: value})


def test_java_patterns_are_read_with_their_java_meaning():
    from emulator.core.validation import compile_model_pattern

    posix = compile_model_pattern(r"arn:[\p{Alnum}\-]+:x")
    assert posix is not None and posix.fullmatch("arn:aws-cn:x") and not posix.fullmatch("arn:é:x")
    supplementary = compile_model_pattern(r"[\u0020-\uD7FF\uE000-\uFFFD\uD800\uDC00-\uDBFF\uDFFF\t]*")
    assert supplementary is not None and supplementary.fullmatch("a\U0001F600\t") and not supplementary.fullmatch("\x01")
    unicode_classes = compile_model_pattern(r"([\p{L}\p{Z}\p{N}_.:/=+\-@]*)")
    assert unicode_classes is not None and unicode_classes.fullmatch("ünï cödé") and not unicode_classes.fullmatch("!")


def _one_pattern_operation(pattern: str):
    """An operation whose one member, ``Name``, must match ``pattern``."""
    from botocore.model import ServiceModel

    return ServiceModel({
        "metadata": {"protocol": "json", "apiVersion": "2020-01-01", "endpointPrefix": "t"},
        "operations": {"Op": {"name": "Op", "input": {"shape": "In"}}},
        "shapes": {"In": {"type": "structure", "members": {"Name": {"shape": "Name"}}},
                   "Name": {"type": "string", "pattern": pattern}},
    }).operation_model("Op")


def test_a_match_that_waited_for_the_gil_has_not_timed_out():
    """The engine's timeout counts the whole process's CPU: a thread holding the GIL while
    the match waits for it made a valid value fail (a Glue job name, in CI, stop 25)."""
    import sys
    import threading

    operation = _one_pattern_operation(r"(?:[a-z]-?)*")
    done = threading.Event()
    spinner = threading.Thread(target=lambda: [None for _ in iter(done.is_set, True)], daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(0.3)
    spinner.start()
    try:
        for _ in range(3):
            assert validate_request(operation, {"Name": "a" * 1000}) == {"Name": "a" * 1000}
    finally:
        done.set()
        sys.setswitchinterval(interval)
        spinner.join()


def test_a_pattern_that_backtracks_without_end_fails_within_its_cpu_budget():
    import time

    from emulator.core.validation import PATTERN_TIMEOUT_SECONDS

    operation = _one_pattern_operation(r"(a|aa)+b?")
    started = time.thread_time()
    with pytest.raises(ValidationError, match=r"Member must satisfy regular expression pattern: \^\(a\|aa\)\+b\?"):
        validate_request(operation, {"Name": "a" * 40 + "!"})
    assert time.thread_time() - started < 2 * PATTERN_TIMEOUT_SECONDS


def test_messages_quote_long_values_shortly():
    with pytest.raises(ValidationError) as caught:
        validate_request(MODEL.operation_model("DescribeTrainingJob"), {"TrainingJobName": "x" * 100_000})
    assert len(caught.value.message) < 2000


# -- the body decoder ---------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 70 + b"1" + b"}" * 70,
                                  b'{"a": ' + b"9" * 5000 + b"}", b'{"a": NaN}', b'{"a": -Infinity}', b'{"a": 1e400}',
                                  b"\xff", b"{"])
def test_bodies_aws_cannot_read_are_serialization_errors(body):
    from emulator.core.awsjson import decode_body

    with pytest.raises(SerializationError):
        decode_body(body)


def test_a_body_at_the_depth_limit_is_read():
    from emulator.core.awsjson import MAX_NESTING_DEPTH, decode_body, nesting_depth

    body = b"[" * MAX_NESTING_DEPTH + b"]" * MAX_NESTING_DEPTH
    assert nesting_depth(decode_body(body)) == MAX_NESTING_DEPTH
    assert decode_body(b"  ") == {}


# -- NextToken ----------------------------------------------------------------------------------
@pytest.mark.parametrize("raw", [b'{"position": 1e400, "query": "q"}', b'{"position": true, "query": "q"}',
                                 b'{"position": "3", "query": "q"}', b'[1]', b"[" * 5000, b"\xff\xfe", b"null"])
def test_tokens_we_did_not_write_are_malformed(raw):
    import base64

    from emulator.core.paging import ListQuery, paginate

    with pytest.raises(ValidationError, match="malformed token"):
        paginate([], ListQuery(next_token=base64.urlsafe_b64encode(raw).decode()))
