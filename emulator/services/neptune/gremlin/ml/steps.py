"""``properties()``, ``out()``, ``in()`` and ``both()`` with ``Neptune#ml.*`` modulation.

- ``.properties("genre"[, "Neptune#ml.score"]).with("Neptune#ml.classification")`` (or ``regression``) on
  vertices or edges: the model's answer as vertex properties / edge properties, ``limit`` classes per element
  with a score at or above ``threshold``, each followed by a ``Neptune#ml.score`` property when asked;
- ``.out("rated").with("Neptune#ml.prediction").hasLabel("movie")`` (tails) and ``.in(...)`` (heads): the
  predicted vertices, best first.

Each step sends one request for all the traversers that reach it. Without an ML predicate the steps are
the ordinary ones (this module subclasses them and registers the subclasses under the same names).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emulator.services.neptune.errors import (
    IllegalArgument,
    InternalFailure,
    InvalidParameter,
    MissingParameter,
    UnsupportedOperation,
)
from emulator.services.neptune.gremlin.engine import COMPILE_PASSES, STEPS, Context, PropRef, Step, Traverser, describe
from emulator.services.neptune.gremlin.ml import options as ml
from emulator.services.neptune.gremlin.ml.neighbourhood import neighbourhood
from emulator.services.neptune.gremlin.ml.query import Inference, LinkTarget, MLQuery, Result, inference_for
from emulator.services.neptune.gremlin.steps import reads  # noqa: F401  (the core handlers register first)
from emulator.services.neptune.gremlin.steps.filters import HasLabelStep
from emulator.services.neptune.gremlin.steps.repeats import RepeatStep
from emulator.services.neptune.store import EdgeRecord, VertexRecord

_CLAIM_KEY = ("neptune-ml", "steps")


#: the step predicates that say what the step is, not how the model is asked
_TASK_FLAGS = frozenset({ml.CLASSIFICATION, ml.REGRESSION, ml.PREDICTION, ml.SCORE})


class MLModulated:
    """Collects the ``with("Neptune#ml.…")`` predicates given to a step (other modulators go to the step).

    A mixin in front of a core step class, whose ``__init__`` it leaves alone: the predicates live in the
    instance's ``ml_options``, created by the first one.
    """

    def modulate(self, name: str, args: list[Any]) -> None:
        if name == "with" and args and isinstance(args[0], str) and args[0].startswith(ml.PREFIX):
            option, value = ml.read_option(args[0], args[1:])
            self.__dict__.setdefault("ml_options", {})[option] = value
            self.ml_checked()
            return
        super().modulate(name, args)  # type: ignore[misc]

    def ml_checked(self) -> None:
        """Check the predicates gathered so far (called after each one)."""

    def ml_option(self, name: str) -> Any:
        return self.__dict__.get("ml_options", {}).get(name)

    def ml_step_options(self) -> dict[str, Any]:
        """The step's own settings (limit, threshold, endpoint, inductiveInference...), over the source's."""
        return {k: v for k, v in self.__dict__.get("ml_options", {}).items() if k not in _TASK_FLAGS}


def _claim(ctx: Context, step: Step, trav: Traverser) -> Inference:
    """Check this step may run an ML query here, and find the graph's model client."""
    if trav.loops:
        raise UnsupportedOperation(ml.NOT_IN_REPEAT)
    claimed = ctx.step_state.setdefault(_CLAIM_KEY, set())
    claimed.add(id(step))
    if len(claimed) > 1:
        raise UnsupportedOperation(ml.ONE_ML_QUERY)
    inference = inference_for(ctx.store)
    if inference is None:
        raise InternalFailure("This graph server has no Neptune ML client: it was started without a SageMaker edge")
    return inference


def _query(ctx: Context, step: MLModulated, task: str, **fields: Any) -> MLQuery:
    found = ml.settings(getattr(ctx, "source_options", {}), step.ml_step_options())
    return MLQuery(endpoint=found.endpoint or "", task=task, iam_role_arn=found.iam_role_arn, limit=found.limit,
                   threshold=found.threshold, inductive=found.inductive, deterministic=found.deterministic,
                   **fields)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


class MLPropertiesStep(MLModulated, STEPS["properties"]):  # type: ignore[misc, valid-type]
    """``properties(key[, "Neptune#ml.score"]).with("Neptune#ml.classification" | "Neptune#ml.regression")``."""

    keys: list[str]

    @property
    def ml_task(self) -> str | None:
        if self.ml_option(ml.CLASSIFICATION):
            return "class"
        if self.ml_option(ml.REGRESSION):
            return "regression"
        return None

    @property
    def wants_score(self) -> bool:
        return ml.SCORE in self.keys or bool(self.ml_option(ml.SCORE))

    @property
    def ml_key(self) -> str:
        return next(k for k in self.keys if k != ml.SCORE)

    def ml_checked(self) -> None:
        if self.ml_option(ml.CLASSIFICATION) and self.ml_option(ml.REGRESSION):
            raise InvalidParameter(ml.BOTH_TASKS)
        if self.ml_task is None:
            return
        keys = [k for k in self.keys if k != ml.SCORE]
        if not keys:
            raise MissingParameter(ml.NO_KEY_BESIDE_SCORE if self.wants_score else ml.NO_PROPERTY_KEY)
        if len(keys) > 1:
            raise InvalidParameter(ml.ONE_KEY_AND_SCORE if self.wants_score else ml.ONE_PROPERTY_KEY)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        # not a generator itself: without ML the core step's pipeline runs with no extra layer
        return super().run(ctx, it) if self.ml_task is None else self._classify(ctx, it)

    def _classify(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        travs = list(it)
        if not travs:
            return
        inference = _claim(ctx, self, travs[0])
        for trav in travs:
            if not isinstance(trav.obj, VertexRecord | EdgeRecord):
                raise IllegalArgument(f"properties() needs an element, got {describe(trav.obj)}")
            if trav.loops:
                raise UnsupportedOperation(ml.NOT_IN_REPEAT)
        answers: dict[tuple[bool, str], list[Result]] = {}
        for on_edges in (False, True):
            elements = [t.obj for t in travs if isinstance(t.obj, EdgeRecord) == on_edges]
            if not elements:
                continue
            kind = "edge" if on_edges else "node"
            ids = _unique([e.id for e in elements])
            query = _query(ctx, self, f"{kind}_{self.ml_task}", property=self.ml_key,
                           **({"edges": ids} if on_edges else {"nodes": ids}))
            if query.inductive:
                if on_edges:
                    ends = [v for e in elements for v in (e.out_v, e.in_v)]
                    query.graph = neighbourhood(ends, extra_edges=elements)
                else:
                    query.graph = neighbourhood(elements)
            for element_id, results in inference.predict(query).items():
                answers[(on_edges, element_id)] = results
        key, score = self.ml_key, self.wants_score and self.ml_task == "class"
        for trav in travs:
            element = trav.obj
            for result in answers.get((isinstance(element, EdgeRecord), element.id), []):
                yield trav.split(PropRef(element, key, result.value))
                if score and result.score is not None:
                    yield trav.split(PropRef(element, ml.SCORE, result.score))


class MLVertexStep(MLModulated):
    """``out(label)``/``in(label)`` with ``Neptune#ml.prediction``: predicted vertices of ``other_label``."""

    name_used: str
    labels: frozenset[str]
    other_label: str | None = None

    @property
    def predicts(self) -> bool:
        return bool(self.ml_option(ml.PREDICTION))

    def ml_checked(self) -> None:
        if not self.predicts:
            return
        if self.name_used != "out" and self.name_used != "in":
            raise UnsupportedOperation(ml.NO_BOTH if self.name_used == "both" else
                                       f"Neptune#ml.prediction is for in() and out(), not {self.name_used}()")
        if not self.labels:
            raise MissingParameter(ml.NO_EDGE_LABEL)
        if len(self.labels) > 1:
            raise InvalidParameter(ml.ONE_EDGE_LABEL)

    def run(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        return super().run(ctx, it) if not self.predicts else self._predict(ctx, it)  # type: ignore[misc]

    def _predict(self, ctx: Context, it: Iterator[Traverser]) -> Iterator[Traverser]:
        travs = list(it)
        if not travs:
            return
        inference = _claim(ctx, self, travs[0])  # type: ignore[arg-type]
        for trav in travs:
            if not isinstance(trav.obj, VertexRecord):
                raise IllegalArgument(f"{self.name_used}() needs a vertex, got {describe(trav.obj)}")
        vertices = [t.obj for t in travs]
        link = LinkTarget(relation=next(iter(self.labels)), direction=self.name_used, other_label=self.other_label)
        query = _query(ctx, self, "link_predict", nodes=_unique([v.id for v in vertices]), link=link)
        if query.inductive:
            query.graph = neighbourhood(vertices)
        answers = inference.predict(query)
        for trav in travs:
            for result in answers.get(trav.obj.id, []):
                vertex = ctx.store.vertices.get(str(result.value))
                if vertex is not None:
                    yield trav.split(vertex)


STEPS["properties"] = type("MLPropertiesStep", (MLPropertiesStep,), {"name": "properties"})
for _name in ("out", "in", "both"):
    _core = STEPS[_name]
    STEPS[_name] = type(f"MLVertexStep_{_name}", (MLVertexStep, _core), {"name": _core.name})


def _contains_ml(steps: list[Step]) -> bool:
    for step in steps:
        if isinstance(step, MLPropertiesStep) and step.ml_task is not None:
            return True
        if isinstance(step, MLVertexStep) and step.predicts:
            return True
        if isinstance(step, RepeatStep) and _contains_ml(step.body):
            return True
    return False


def check_ml_steps(steps: list[Step]) -> list[Step]:
    """Compile pass: a link prediction takes its predicted label from the ``hasLabel()`` after it; no ML
    step may sit inside ``repeat()``."""
    for index, step in enumerate(steps):
        if isinstance(step, RepeatStep) and _contains_ml(step.body):
            raise UnsupportedOperation(ml.NOT_IN_REPEAT)
        if isinstance(step, MLVertexStep) and step.predicts:
            after = steps[index + 1] if index + 1 < len(steps) else None
            if not isinstance(after, HasLabelStep):
                raise UnsupportedOperation(ml.NO_PREDICTED_LABEL)
            if len(after.args) != 1 or not isinstance(after.args[0], str):
                raise InvalidParameter(ml.ONE_VERTEX_LABEL)
            step.other_label = after.args[0]
    return steps


COMPILE_PASSES.append(check_ml_steps)


def is_ml_option(name: Any) -> bool:
    """Whether a source option (``g.with_()`` sends it inside OptionsStrategy) is a ``Neptune#ml.*`` one."""
    return isinstance(name, str) and name.startswith(ml.PREFIX)
