"""Test harnesses for mlharbor, for its own tests and its benchmarks.

``create_app`` builds the edge in this process (with a :class:`FakeRunner` by default, so no job
process starts); ``start_harbor`` runs a real ``mlharbor up`` subprocess for end-to-end checks;
the request builders make valid SageMaker requests either one takes.
"""

from emulator.testing.fake_runner import FakeRunner
from emulator.testing.harness import InProcessHarbor, create_app
from emulator.testing.requests import (
    ROLE,
    model_archive,
    script_job,
    training_request,
    unique_name,
    upload_script,
    wait_for_status,
)
from emulator.testing.subprocess_harbor import CORA, REPO, RunningHarbor, start_harbor

__all__ = ["CORA", "REPO", "ROLE", "FakeRunner", "InProcessHarbor", "RunningHarbor", "create_app", "model_archive",
           "script_job", "start_harbor", "training_request", "unique_name", "upload_script", "wait_for_status"]
