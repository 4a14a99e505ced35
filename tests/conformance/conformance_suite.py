"""TinkerPop's Gherkin conformance suite as records: features, scenarios, steps, and their Python traversals.

The feature files are parsed with the Cucumber team's own Gherkin parser (``gherkin-official``). The
traversals come from gremlin-python's generated ``gremlin.py`` (one list of lambdas per scenario name), read at
run time from ``../shared/tinkerpop-3.8.1/python-harness`` and never copied into the repository.

Nothing here talks to a server: this module only says what each scenario asks.
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gherkin.parser import Parser
from gherkin.token_scanner import TokenScanner

#: the suite, beside the checkout (the same convention as the Cora data set in emulator/testing)
SUITE_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "tinkerpop-3.8.1"


@dataclass
class Step:
    """One Gherkin step: its text, and the doc string or data table under it."""

    text: str
    doc: str | None = None
    table: list[str] | None = None  # the ``result`` column, header removed


@dataclass
class Scenario:
    """One scenario of a feature file."""

    feature: str  # the feature file's path under features/, e.g. ``filter/Has.feature``
    name: str
    tags: frozenset[str]
    steps: list[Step]
    traversals: list[Callable[..., Any]] = field(default_factory=list)

    @property
    def graph(self) -> str | None:
        """The graph the scenario names (``modern``, ``crew``, ``empty``...), or None for an unsupported test."""
        for step in self.steps:
            match = re.fullmatch(r"the (\w+) graph", step.text)
            if match:
                return match.group(1)
        return None

    @property
    def key(self) -> str:
        return f"{self.feature}::{self.name}"


def _tag_names(tags: list[dict[str, Any]]) -> set[str]:
    return {tag["name"].lstrip("@") for tag in tags}


def _step(raw: dict[str, Any]) -> Step:
    doc = raw.get("docString", {}).get("content")
    table = None
    if "dataTable" in raw:
        rows = [[cell["value"] for cell in row["cells"]] for row in raw["dataTable"]["rows"]]
        table = [row[0] for row in rows[1:]]
    return Step(raw["text"], doc, table)


def parse_feature(path: Path, features_dir: Path) -> list[Scenario]:
    """The scenarios of one ``.feature`` file (scenario tags include the feature's tags)."""
    document = Parser().parse(TokenScanner(path.read_text(encoding="utf-8")))
    feature = document["feature"]
    feature_tags = _tag_names(feature.get("tags", []))
    relative = path.relative_to(features_dir).as_posix()
    scenarios = []
    for child in feature.get("children", []):
        raw = child.get("scenario")
        if raw is None:
            continue
        scenarios.append(Scenario(relative, raw["name"], frozenset(feature_tags | _tag_names(raw.get("tags", []))),
                                  [_step(step) for step in raw.get("steps", [])]))
    return scenarios


def load_translations(harness_dir: Path) -> dict[str, list[Callable[..., Any]]]:
    """gremlin-python's translated traversals, keyed by scenario name.

    ``gremlin.py`` stores them on radish's ``world`` object; radish is a test runner we do not use, so a
    stand-in module with a plain ``world`` namespace receives them.
    """
    source = (harness_dir / "gremlin.py").read_text(encoding="utf-8")
    world = types.SimpleNamespace()
    previous = sys.modules.get("radish")
    sys.modules["radish"] = types.SimpleNamespace(world=world)  # type: ignore[assignment]
    try:
        namespace: dict[str, Any] = {"__name__": "tinkerpop_gremlin_translations"}
        exec(compile(source, str(harness_dir / "gremlin.py"), "exec"), namespace)  # noqa: S102 - the suite's own code
    finally:
        if previous is None:
            sys.modules.pop("radish", None)
        else:
            sys.modules["radish"] = previous
    return dict(world.gremlins)


def load_suite(suite_dir: Path = SUITE_DIR, feature_filter: str | None = None) -> list[Scenario]:
    """Every scenario (optionally only of features whose path contains ``feature_filter``), with traversals."""
    if not suite_dir.is_dir():
        raise FileNotFoundError(f"the TinkerPop suite is not at {suite_dir} (see its README in shared/)")
    features_dir = suite_dir / "features"
    translations = load_translations(suite_dir / "python-harness")
    scenarios: list[Scenario] = []
    for path in sorted(features_dir.rglob("*.feature")):
        relative = path.relative_to(features_dir).as_posix()
        if feature_filter and feature_filter.lower() not in relative.lower():
            continue
        for scenario in parse_feature(path, features_dir):
            scenario.traversals = list(translations.get(scenario.name, []))
            scenarios.append(scenario)
    return scenarios
