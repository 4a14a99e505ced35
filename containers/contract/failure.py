"""``/opt/ml/output/failure`` and ``message``: how a job says why it failed, and how a processing job
says how it ended (``FailureReason`` and ``ExitMessage``).

The first reason is the real one: a failure file the job already wrote is never overwritten (the
sagemaker-training toolkit's ``write_failure_file`` rule), so a handler further out does not replace
the algorithm's own message with its generic one.
https://docs.aws.amazon.com/sagemaker/latest/dg/your-algorithms-training-algo-output.html
"""

from __future__ import annotations

import sys

from containers.contract import JobPaths


def write_failure(paths: JobPaths, reason: str) -> bool:
    """Write ``reason`` to the failure file unless one is there already; returns whether it wrote."""
    paths.failure_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(paths.failure_file, "x", encoding="utf-8") as file:  # "x": an existing file is kept
            file.write(reason)
    except FileExistsError:
        return False
    return True


def fail(paths: JobPaths, reason: str) -> None:
    """Report a failure the SageMaker way: stderr (the job's log) and the failure file."""
    print(reason, file=sys.stderr, flush=True)
    write_failure(paths, reason)


def write_exit_message(paths: JobPaths, text: str) -> None:
    """A processing job's ``ExitMessage``: what it did, in a line."""
    paths.message_file.parent.mkdir(parents=True, exist_ok=True)
    paths.message_file.write_text(text, encoding="utf-8")
