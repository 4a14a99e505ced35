"""Fuzz every SageMaker operation mlharbor implements, and InvokeEndpoint, over raw HTTP (issue 11, item 11).

Requests come from :mod:`tests.fuzz.strategies` (built from botocore's model) and go as raw
POSTs to a running ``mlharbor up``. Every answer must be below 500, every error must be one
botocore's parser for the protocol reads an error code from, every success must carry the
members its output shape requires, and the server must be healthy after. The budget is
``FUZZ_EXAMPLES`` examples per operation (50 by default, the same ones each run; ``make fuzz``
draws many more at random, ``FUZZ_RANDOM``); the figures of a run go to ``FUZZ_REPORT`` when set.
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from emulator.core.awsjson import load_service_model, snake_case
from emulator.services.sagemaker.responses import SageMakerResponses
from tests.conftest import RunningHarbor, start_harbor
from tests.fuzz import strategies
from tests.fuzz.wire import RawResponse, botocore_parse, missing_required, post, post_sagemaker

SAGEMAKER = load_service_model("sagemaker")
RUNTIME = load_service_model("sagemaker-runtime").operation_model("InvokeEndpoint")
#: every operation the dispatcher has a handler for (what ``supported_operations()`` answers)
OPERATIONS = sorted(name for name in SAGEMAKER.operation_names if hasattr(SageMakerResponses, snake_case(name)))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
FUZZ_SETTINGS = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize="FUZZ_RANDOM" not in os.environ,
                         suppress_health_check=list(HealthCheck))

SENT: Counter[str] = Counter()
SERVER_ERRORS: Counter[str] = Counter()
STATUSES: Counter[str] = Counter()


@pytest.fixture(scope="module")
def fuzz_harbor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHarbor]:
    """A server of its own: what the fuzzer creates does not reach other tests."""
    running = start_harbor(tmp_path_factory.mktemp("fuzz"), "--max-concurrent-jobs", "2", "--stop-grace-seconds", "1")
    yield running
    _write_report()
    if running.process.poll() is None:
        running.kill()


def _write_report() -> None:
    report = {"requests": sum(SENT.values()), "server_errors": sum(SERVER_ERRORS.values()),
              "per_operation": dict(sorted(SENT.items())), "server_errors_per_operation": dict(SERVER_ERRORS),
              "statuses": dict(sorted(STATUSES.items()))}
    print("\nfuzz report:", json.dumps(report))
    if os.environ.get("FUZZ_REPORT"):
        with open(os.environ["FUZZ_REPORT"], "w") as handle:
            json.dump(report, handle, indent=2)


def check(label: str, response: RawResponse, operation: Any, protocol: str) -> None:
    """The suite's three assertions on one answer; counts it first."""
    SENT[label] += 1
    STATUSES[str(response.status)] += 1
    if response.status >= 500:
        SERVER_ERRORS[label] += 1
    assert response.status < 500, f"{label}: {response.status} {response.body[:500]!r}"
    parsed = botocore_parse(response, operation, protocol)
    if response.status >= 300:
        assert parsed.get("Error", {}).get("Code"), f"{label}: botocore finds no error code in {response.body[:300]!r}"
    else:
        missing = missing_required(operation.output_shape, parsed)
        assert not missing, f"{label}: a success lacks required {missing}"


@pytest.mark.parametrize("operation_name", OPERATIONS)
def test_fuzzed_requests_get_parseable_answers(fuzz_harbor: RunningHarbor, operation_name: str) -> None:
    operation = SAGEMAKER.operation_model(operation_name)

    @FUZZ_SETTINGS
    @given(st.data())
    def run(data: st.DataObject) -> None:
        request = data.draw(strategies.fuzzed_request(operation), label="request")
        body = data.draw(strategies.encoded_body(request), label="body")
        content_type = data.draw(st.sampled_from(strategies.CONTENT_TYPES), label="content type")
        check(operation_name, post_sagemaker(fuzz_harbor.endpoint, operation_name, body, content_type),
              operation, "json")

    run()


@FUZZ_SETTINGS
@given(body=strategies.malformed_body(), operation_name=st.sampled_from(OPERATIONS),
       content_type=st.sampled_from(strategies.CONTENT_TYPES))
def test_malformed_bodies_are_serialization_errors(fuzz_harbor: RunningHarbor, body: bytes, operation_name: str,
                                                   content_type: str) -> None:
    response = post_sagemaker(fuzz_harbor.endpoint, operation_name, body, content_type)
    check("malformed body", response, SAGEMAKER.operation_model(operation_name), "json")


@FUZZ_SETTINGS
@given(target=strategies.UNKNOWN_TARGETS, body=st.one_of(st.just(b"{}"), strategies.malformed_body()))
def test_unknown_targets_are_unknown_operations(fuzz_harbor: RunningHarbor, target: str, body: bytes) -> None:
    response = post_sagemaker(fuzz_harbor.endpoint, target.removeprefix("SageMaker."), body)
    check("unknown target", response, SAGEMAKER.operation_model("ListTrainingJobs"), "json")


@settings(FUZZ_SETTINGS, max_examples=EXAMPLES * 4)
@given(call=strategies.invocation(RUNTIME))
def test_fuzzed_invocations_get_parseable_answers(fuzz_harbor: RunningHarbor, call: tuple[str, dict[str, str],
                                                                                          bytes]) -> None:
    path, headers, body = call
    check("InvokeEndpoint", post(fuzz_harbor.endpoint, path, body, headers), RUNTIME, "rest-json")


@settings(FUZZ_SETTINGS, max_examples=max(10, EXAMPLES // 2), phases=[Phase.explicit, Phase.generate])
@given(path=strategies.route_miss(), body=st.binary(max_size=32))
def test_invocation_paths_that_miss_the_route_get_parseable_answers(fuzz_harbor: RunningHarbor, path: str,
                                                                    body: bytes) -> None:
    check("InvokeEndpoint route miss", post(fuzz_harbor.endpoint, path, body, {}), RUNTIME, "rest-json")


def test_the_server_is_healthy_after_fuzzing_and_cleans_up(fuzz_harbor: RunningHarbor) -> None:
    """Runs last in this module: health, a normal boto3 call, no job failed inside mlharbor, nothing left running."""
    with urllib.request.urlopen(fuzz_harbor.endpoint + "/_mlharbor/health", timeout=30) as response:
        assert response.status == 200
    sagemaker = fuzz_harbor.client("sagemaker")
    jobs = _all(sagemaker.list_training_jobs, "TrainingJobSummaries")
    processing = _all(sagemaker.list_processing_jobs, "ProcessingJobSummaries")
    for job in jobs:
        if job["TrainingJobStatus"] == "InProgress":
            sagemaker.stop_training_job(TrainingJobName=job["TrainingJobName"])
    for job in processing:
        if job["ProcessingJobStatus"] == "InProgress":
            sagemaker.stop_processing_job(ProcessingJobName=job["ProcessingJobName"])
    for endpoint in _all(sagemaker.list_endpoints, "Endpoints"):
        sagemaker.delete_endpoint(EndpointName=endpoint["EndpointName"])
    reasons = [_settled(sagemaker, job["TrainingJobName"]).get("FailureReason", "") for job in jobs]
    assert not [reason for reason in reasons if reason.startswith("InternalServerError")], reasons


def _all(call: Any, member: str) -> list[dict[str, Any]]:
    items, token = [], None
    while True:
        page = call(MaxResults=100, **({"NextToken": token} if token else {}))
        items += page[member]
        token = page.get("NextToken")
        if not token:
            return items


def _settled(sagemaker: Any, name: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        description = sagemaker.describe_training_job(TrainingJobName=name)
        if description["TrainingJobStatus"] in ("Completed", "Failed", "Stopped") or time.monotonic() > deadline:
            return description
        time.sleep(0.5)
