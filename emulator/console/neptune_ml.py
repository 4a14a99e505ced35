"""The Neptune ML page's reads: the four kinds of ML record and the SageMaker resources behind each.

The graph server keeps Neptune ML's records (it runs in its own process), so the console reads them as any
``neptunedata`` client does, over its HTTP API: ``GET /ml/<kind>?maxItems=N`` (newest first), then
``GET /ml/<kind>/<id>`` for each, with a short timeout. An id is checked here before it reaches a URL, and
is escaped whole (``/``, ``?``, ``#`` and ``%`` included), so no id can change which graph-server path is asked.

The SageMaker side (times, the best trial's objective) comes from a ``lookup`` the caller gives, so this module
does no Flask and sees no control plane.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from emulator.console.graph import GraphReader, GraphRefused
from emulator.core.errors import ValidationError
from emulator.services.neptune.ml.records import DATA_PROCESSING, ENDPOINT, KINDS, MODEL_TRAINING, MODEL_TRANSFORM

#: each kind's title on the page
TITLES = {DATA_PROCESSING: "Data processing jobs", MODEL_TRAINING: "Model training jobs",
          MODEL_TRANSFORM: "Model transform jobs", ENDPOINT: "ML endpoints"}
#: how many records of each kind the list page shows (each is one more describe call)
RECORDS_SHOWN = 25
#: the ML pages ask the graph server with a shorter timeout than Gremlin's: a describe is a record read
TIMEOUT_SECONDS = 10.0
#: what an id may be before it is sent: Neptune's generated ids and SageMaker-like names fit
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,254}$")
#: the GetML* members naming a SageMaker resource, and the console page (kind slug) that shows it
RESOURCE_PAGES = {"processingJob": "processing-jobs", "hpoJob": "tuning-jobs",
                  "remoteModelTransformJob": "processing-jobs", "endpoint": "endpoints"}
#: the end-time member of each page's Describe answer
_END_MEMBERS = {"processing-jobs": "ProcessingEndTime", "tuning-jobs": "HyperParameterTuningEndTime"}

#: ``lookup(slug, name)``: the console's Describe answer for that SageMaker resource, ``None`` when it has none
Lookup = Callable[[str, str], dict[str, Any] | None]


def ml_kind(text: str) -> str:
    """``text`` if it is one of the four kinds; a :class:`LookupError` otherwise (the route answers 404)."""
    if text not in KINDS:
        raise LookupError(f"{text!r} is not a Neptune ML kind ({', '.join(KINDS)})")
    return text


def ml_id(text: str) -> str:
    if not _ID.match(text):
        raise ValidationError(f"{text[:80]!r} is not a Neptune ML id (letters, digits, . _ : -; at most 255)")
    return text


def describe_path(kind: str, record_id: str) -> str:
    """The graph server's path for one record: the id checked, then escaped whole (no ``/`` is left safe)."""
    return f"/ml/{ml_kind(kind)}/{urllib.parse.quote(ml_id(record_id), safe='')}"


@dataclass(frozen=True)
class Objective:
    """A tuning job's best trial and its final objective metric."""

    training_job: str
    metric: str
    value: float


@dataclass(frozen=True)
class SageMakerLink:
    """One SageMaker resource behind a record, as its GetML* member reports it.

    Args:
        member: the GetML* member (``processingJob``, ``hpoJob``, ``remoteModelTransformJob``, ``endpoint``).
        name / arn / status / output_location / failure_reason: the member's fields.
        slug: the console page kind that shows it (``None``: the console has no page for it).
        created / ended: epoch seconds from SageMaker's Describe, where the console has the resource.
        objective: a tuning job's best trial, where SageMaker has one.
    """

    member: str
    name: str
    arn: str = ""
    status: str = ""
    output_location: str | None = None
    failure_reason: str | None = None
    slug: str | None = None
    created: float | None = None
    ended: float | None = None
    objective: Objective | None = None


@dataclass(frozen=True)
class MlRecordView:
    """One Neptune ML record as the pages show it."""

    kind: str
    id: str
    status: str
    links: list[SageMakerLink] = field(default_factory=list)
    models: list[dict[str, Any]] = field(default_factory=list)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    described: dict[str, Any] = field(default_factory=dict)

    @property
    def created(self) -> float | None:
        """The earliest SageMaker creation time behind it (GetML* itself reports no time)."""
        times = [link.created for link in self.links if link.created is not None]
        return min(times) if times else None

    @property
    def ended(self) -> float | None:
        times = [link.ended for link in self.links if link.ended is not None]
        return max(times) if times and self.status not in ("InProgress", "Creating", "Updating") else None

    @property
    def failure_reason(self) -> str | None:
        return next((link.failure_reason for link in self.links if link.failure_reason), None)

    @property
    def objective(self) -> Objective | None:
        return next((link.objective for link in self.links if link.objective), None)


@dataclass(frozen=True)
class NeptuneMlReader:
    """Reads Neptune ML's records from the graph server ``graph`` and their SageMaker side through ``lookup``."""

    graph: GraphReader
    lookup: Lookup

    def ids(self, kind: str, limit: int = RECORDS_SHOWN) -> list[str]:
        listed = self.graph.get(f"/ml/{ml_kind(kind)}?maxItems={int(limit)}", TIMEOUT_SECONDS)
        return [str(item) for item in listed.get("ids", [])][:limit]

    def record(self, kind: str, record_id: str) -> MlRecordView:
        described = self.graph.get(describe_path(kind, record_id), TIMEOUT_SECONDS)
        return self.view(kind, described)

    def every_kind(self) -> dict[str, list[MlRecordView]]:
        """Each kind's newest records, newest first (the order ListML* gives)."""
        return {kind: self.records(kind) for kind in KINDS}

    def records(self, kind: str) -> list[MlRecordView]:
        """The listed records that still exist: one deleted between the list and its describe (DeleteMLEndpoint)
        is left out rather than turning the whole page into its 404."""
        found = []
        for record_id in self.ids(kind):
            try:
                found.append(self.record(kind, record_id))
            except GraphRefused as refused:
                if refused.status != 404:
                    raise
        return found

    def view(self, kind: str, described: dict[str, Any]) -> MlRecordView:
        links = [self.link(member, body) for member, body in described.items()
                 if member in RESOURCE_PAGES and isinstance(body, dict)]
        models = described.get("mlModels") or described.get("models") or []
        configs = {member: body for member, body in described.items()
                   if member not in RESOURCE_PAGES and isinstance(body, dict)}
        return MlRecordView(kind=kind, id=str(described.get("id", "")), status=str(described.get("status", "")),
                            links=links, models=list(models), configs=configs, described=described)

    def link(self, member: str, body: dict[str, Any]) -> SageMakerLink:
        slug = RESOURCE_PAGES[member]
        name = str(body.get("name", ""))
        found = self.lookup(slug, name) if name else None
        return SageMakerLink(member=member, name=name, arn=str(body.get("arn", "")), status=str(body.get("status", "")),
                             output_location=body.get("outputLocation"), failure_reason=body.get("failureReason"),
                             slug=slug if found is not None else None,
                             created=_epoch((found or {}).get("CreationTime")),
                             ended=_epoch((found or {}).get(_END_MEMBERS.get(slug, ""))),
                             objective=best_objective(found) if slug == "tuning-jobs" and found else None)


def best_objective(tuning: dict[str, Any]) -> Objective | None:
    """The best trial of a DescribeHyperParameterTuningJob answer, with its final objective metric."""
    best = tuning.get("BestTrainingJob") or {}
    metric = best.get("FinalHyperParameterTuningJobObjectiveMetric") or {}
    if "Value" not in metric:
        return None
    return Objective(str(best.get("TrainingJobName", "")), str(metric.get("MetricName", "")), float(metric["Value"]))


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
