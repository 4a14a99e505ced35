"""CI's conformance gate: the whole TinkerPop suite against a real ``mlharbor up`` holds the recorded floor.

The runner goes as a subprocess, exactly as ``make conformance`` runs it, with this checkout's code on the path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
FLOOR = HERE / "floor.json"


def floor_problems(report: dict[str, Any], floor: dict[str, Any]) -> list[str]:
    """What in a conformance report falls below the floor (empty when it holds)."""
    problems = []
    for serializer, minimum in floor["passed_min"].items():
        passed = report["serializers"][serializer]["passed"]
        if passed < minimum:
            problems.append(f"{serializer}: {passed} scenarios pass, the floor is {minimum}")
    for serializer, maximum in floor["skipped_max"].items():
        skipped = report["serializers"][serializer]["skipped"]
        if skipped > maximum:
            problems.append(f"{serializer}: {skipped} scenarios skipped, at most {maximum} may be")
    if report["serializer_differences"]:
        problems.append(f"GraphBinary and GraphSON differ on {report['serializer_differences']}")
    return problems


def test_the_floor_catches_fewer_passes_more_skips_and_differences() -> None:
    floor = {"passed_min": {"graphbinary": 10}, "skipped_max": {"graphbinary": 2}}

    def report(passed: int, skipped: int, differences: list[str]) -> dict[str, Any]:
        return {"serializers": {"graphbinary": {"passed": passed, "skipped": skipped}},
                "serializer_differences": differences}

    assert floor_problems(report(10, 2, []), floor) == []
    assert len(floor_problems(report(9, 2, []), floor)) == 1
    assert len(floor_problems(report(12, 3, []), floor)) == 1
    assert len(floor_problems(report(12, 0, ["f::s"]), floor)) == 1


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_conformance_holds_the_floor(tmp_path: Path) -> None:
    report_path = tmp_path / "conformance.json"
    finished = subprocess.run(
        [sys.executable, str(HERE / "run_conformance.py"), "--json", str(report_path)],
        cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=1700)
    output = finished.stdout[-6000:] + finished.stderr[-3000:]
    assert finished.returncode == 0, output
    problems = floor_problems(json.loads(report_path.read_text()), json.loads(FLOOR.read_text()))
    assert problems == [], "\n".join(problems) + "\n" + output
