"""CI's conformance gate: the whole TinkerPop suite against a real ``mlharbor up`` holds the recorded floor.

The runner goes as a subprocess, exactly as ``make conformance`` runs it, with this checkout's code on the path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FLOOR = HERE / "floor.json"


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_conformance_holds_the_floor(tmp_path: Path) -> None:
    report_path = tmp_path / "conformance.json"
    finished = subprocess.run(
        [sys.executable, str(HERE / "run_conformance.py"), "--json", str(report_path)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=1700)
    output = finished.stdout[-6000:] + finished.stderr[-3000:]
    assert finished.returncode == 0, output
    report = json.loads(report_path.read_text())
    floor = json.loads(FLOOR.read_text())
    for serializer, minimum in floor["passed_min"].items():
        passed = report["serializers"][serializer]["passed"]
        assert passed >= minimum, f"{serializer}: {passed} scenarios pass, the floor is {minimum}\n{output}"
    for serializer, maximum in floor["skipped_max"].items():
        skipped = report["serializers"][serializer]["skipped"]
        assert skipped <= maximum, f"{serializer}: {skipped} scenarios skipped, at most {maximum} may be\n{output}"
    assert report["serializer_differences"] == [], "GraphBinary and GraphSON must give the same results"
