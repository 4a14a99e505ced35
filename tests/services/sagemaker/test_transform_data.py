"""Batch transform's record handling (pure): splitting, payloads, JSONPath filters, joins, assembly."""

from __future__ import annotations

import json

import pytest

from emulator.services.sagemaker.transform_data import (
    MEGABYTE,
    DataProcessing,
    TransformDataError,
    assemble,
    batches,
    select,
    split_records,
)


@pytest.mark.parametrize(("expression", "expected"), [
    ("$", [1, 2, 3, 4]),
    ("$[1:]", [2, 3, 4]),
    ("$[0,2:]", [1, 3, 4]),
    ("$[-1]", 4),
    ("$[0,-1]", [1, 4]),
])
def test_jsonpath_indexes_and_slices(expression, expected):
    assert select([1, 2, 3, 4], expression) == expected


def test_jsonpath_keys():
    record = {"id": 7, "features": {"x": [1.5, 2.5]}, "SageMakerOutput": 0.9}
    assert select(record, "$.features") == {"x": [1.5, 2.5]}
    assert select(record, "$.features.x[1]") == 2.5
    assert select(record, "$['id','SageMakerOutput']") == {"id": 7, "SageMakerOutput": 0.9}


@pytest.mark.parametrize(("value", "expression", "message"), [
    ([1, 2], "$[5]", "outside"),
    ({"a": 1}, "$.b", "no key 'b'"),
    ([1], "$.a", "non-object"),
    ([1], "features", "must start with"),
    ([1], "$..deep", "unsupported syntax"),
])
def test_jsonpath_errors_say_why(value, expression, message):
    with pytest.raises(TransformDataError, match=message):
        select(value, expression)


def test_line_split_drops_blank_lines_and_none_keeps_the_object():
    body = b"1,2\n\n3,4\n"
    assert split_records(body, "Line") == [b"1,2", b"3,4"]
    assert split_records(body, "None") == [body]


def test_single_record_sends_one_each_and_multi_record_packs_to_the_payload_limit():
    records = [b"x" * 400_000] * 5  # 0.4 MB each: two fit in 1 MB
    assert [len(group) for _, group in batches(records, "SingleRecord", MEGABYTE)] == [1] * 5
    packed = list(batches(records, "MultiRecord", MEGABYTE))
    assert [(first, len(group)) for first, group in packed] == [(0, 2), (2, 2), (4, 1)]


def test_a_record_larger_than_the_payload_limit_is_named():
    with pytest.raises(TransformDataError, match="record 2 is"):
        list(batches([b"a", b"b" * (MEGABYTE + 1)], "MultiRecord", MEGABYTE))


def csv_processing(**members: str) -> DataProcessing:
    return DataProcessing(content_type="text/csv", accept="text/csv", **members)


def test_csv_input_filter_drops_the_id_column():
    assert csv_processing(input_filter="$[1:]").filter_input(b"id-7,1.5,2.5") == b"1.5,2.5"


def test_csv_join_appends_the_result_and_the_output_filter_keeps_id_and_prediction():
    processing = csv_processing(input_filter="$[1:]", join_source="Input", output_filter="$[0,-1]")
    assert processing.finish([b"id-7,1.5,2.5", b"id-8,3,4"], b"0.25\n0.75\n") == [b"id-7,0.25", b"id-8,0.75"]


def test_json_join_puts_the_result_under_sagemaker_output():
    processing = DataProcessing(input_filter="$.features", join_source="Input",
                                output_filter="$['id','SageMakerOutput']", content_type="application/jsonlines",
                                accept="application/json")
    record = json.dumps({"id": 1, "features": [1, 2]}).encode()
    assert processing.filter_input(record) == b"[1,2]"
    [joined] = processing.finish([record], b'{"score": 0.5}')
    assert json.loads(joined) == {"id": 1, "SageMakerOutput": {"score": 0.5}}


def test_a_non_object_json_input_is_joined_as_sagemaker_input():
    processing = DataProcessing(join_source="Input", content_type="application/json", accept="application/json")
    assert json.loads(processing.finish([b"[1,2]"], b"3")[0]) == {"SageMakerInput": [1, 2], "SageMakerOutput": 3}


def test_a_join_needs_one_result_per_record():
    with pytest.raises(TransformDataError, match="answered 1 records for 2 input records"):
        csv_processing(join_source="Input").finish([b"1", b"2"], b"0.5")


def test_filters_need_a_structured_content_type():
    with pytest.raises(TransformDataError, match="ContentType"):
        DataProcessing(input_filter="$[1:]", content_type="application/x-image").check()
    DataProcessing().check()  # no filters: any content type


def test_assemble_line_puts_each_result_on_its_own_line():
    assert assemble([b"1", b"2\n", b"3"], "Line") == b"1\n2\n3\n"
    assert assemble([b"[1]", b"[2]"], "None") == b"[1][2]"
