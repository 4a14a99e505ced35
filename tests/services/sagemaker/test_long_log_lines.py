"""A job line longer than CloudWatch Logs' event limit (256 KiB) reaches the log in pieces, each an
event within the limit, that concatenate to the line; the server never holds the line whole.

A 200 MiB line without a newline once grew the server by 530 MB that it never gave back.
"""

from __future__ import annotations

import threading
import time

import psutil
import pytest

from emulator.observability.logs import MAX_MESSAGE_BYTES, batches, split_message
from emulator.runners.lines import LineSplitter
from tests.conftest import RUNNER_KINDS, training_request, wait_for_status

#: ASCII and 2-, 3- and 4-byte characters, so pieces are cut next to every kind of character. Docker's
#: json-file log driver stores a long line in 16 KiB parts and replaces a character it cut with U+FFFD
#: itself, so a Docker job writes ASCII only.
PATTERNS = {"process": "0123456789abcdef" * 4 + "é€😀", "docker": "0123456789abcdef" * 4 + "xyz"}
LINE_BYTES = 20 * 1024 * 1024


def line_job(pattern: str) -> tuple[str, str]:
    """A program writing one 20 MiB line of ``pattern`` without a newline, and that line."""
    repeats = LINE_BYTES // len(pattern.encode()) // 1000
    program = f"import sys\nfor _ in range({repeats}):\n    sys.stdout.write({pattern!r} * 1000)\nsys.stdout.flush()\n"
    return program, pattern * 1000 * repeats


def peak_rss_while(pid: int, running: threading.Event) -> list[int]:
    """Samples ``pid``'s RSS every 50 ms until ``running`` is cleared; the list fills as it goes."""
    samples: list[int] = []
    server = psutil.Process(pid)

    def sample() -> None:
        while running.is_set():
            samples.append(server.memory_info().rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    return samples


@pytest.mark.parametrize("runner", RUNNER_KINDS)
def test_a_20_mib_line_is_logged_in_pieces_within_the_event_limit(runner, request, harbor, sagemaker, bucket):
    if runner == "docker":
        request.getfixturevalue("docker_images")
    logs = harbor.client("logs")
    program, line = line_job(PATTERNS[runner])
    # a first job on the runner: what it costs once (imports, the Docker client, image lookup) is no line's
    warm_up = training_request(bucket, Environment={"MLHARBOR_RUNNER": runner}, AlgorithmSpecification={
        "TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File", "ContainerEntrypoint": ["true"]})
    sagemaker.create_training_job(**warm_up)
    assert wait_for_status(sagemaker, warm_up["TrainingJobName"])["TrainingJobStatus"] == "Completed"
    job = training_request(bucket, Environment={"MLHARBOR_RUNNER": runner}, AlgorithmSpecification={
        "TrainingImage": "mlharbor/pytorch", "TrainingInputMode": "File", "ContainerEntrypoint": ["python3", "-c", program]})
    baseline = psutil.Process(harbor.process.pid).memory_info().rss
    running = threading.Event()
    running.set()
    samples = peak_rss_while(harbor.process.pid, running)
    try:
        sagemaker.create_training_job(**job)
        assert wait_for_status(sagemaker, job["TrainingJobName"])["TrainingJobStatus"] == "Completed"
    finally:
        running.clear()
    assert max(samples) - baseline < 200 * 1024 * 1024, (baseline, max(samples))

    streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                        logStreamNamePrefix=job["TrainingJobName"])["logStreams"]
    messages: list[str] = []
    token = None
    while True:
        page = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", startFromHead=True,
                                   logStreamName=streams[0]["logStreamName"], **({"nextToken": token} if token else {}))
        messages += [event["message"] for event in page["events"]]
        if not page["events"] or page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert len(messages) > 1
    assert max(len(message.encode()) for message in messages) <= 256 * 1024 - 26
    assert "".join(messages) == line


def test_the_line_splitter_cuts_long_lines_between_characters():
    splitter = LineSplitter(max_bytes=10)
    pieces = splitter.feed("short\n€€€€€€\nabc".encode())  # the € line is 18 bytes
    assert pieces == ["short", "€€€", "€€€"]
    assert splitter.feed(b"d\r\n") == ["abcd"]
    assert splitter.feed(b"x" * 25) == ["x" * 10, "x" * 10]
    assert splitter.close() == ["x" * 5]


def test_messages_and_batches_keep_within_cloudwatch_limits():
    text = "😀" * (MAX_MESSAGE_BYTES // 2)
    pieces = split_message(text)
    assert "".join(pieces) == text and all(len(piece.encode()) <= MAX_MESSAGE_BYTES for piece in pieces)
    events = [{"timestamp": 0, "message": piece} for piece in pieces * 4]
    cut = batches(events)
    assert [event for batch in cut for event in batch] == events
    assert all(sum(len(e["message"].encode()) + 26 for e in batch) <= 1024 * 1024 for batch in cut)
