"""A training definition's search space: its ``ParameterRanges`` as optuna distributions, and back.

SageMaker passes every hyperparameter as a string; a strategy works on typed values. Each
range becomes one optuna distribution by its ``ScalingType``
(https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-define-ranges.html):
``Linear`` (and ``Auto``, which we read as linear) samples uniformly, ``Logarithmic`` uniformly in
log space, ``ReverseLogarithmic`` (continuous ranges within [0, 1) only) uniformly in the log of
``1 - x``, so values crowd towards 1. Nothing here does IO.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution

INTEGER, CONTINUOUS, CATEGORICAL = "Integer", "Continuous", "Categorical"


@dataclass(frozen=True)
class ParameterRange:
    """One entry of ``ParameterRanges``.

    Args:
        kind: ``Integer``, ``Continuous`` or ``Categorical``.
        name: the hyperparameter's name.
        low / high: the bounds of a numeric range (``None`` for a categorical one).
        scaling: ``ScalingType`` (``Auto`` when the request gave none).
        values: a categorical range's values.
    """

    kind: str
    name: str
    low: float | None = None
    high: float | None = None
    scaling: str = "Auto"
    values: tuple[str, ...] = ()

    @property
    def reversed(self) -> bool:
        return self.scaling == "ReverseLogarithmic"

    def distribution(self) -> BaseDistribution:
        """The optuna distribution a strategy samples (over ``1 - x`` for a reverse-logarithmic range)."""
        if self.kind == CATEGORICAL:
            return CategoricalDistribution(self.values)
        assert self.low is not None and self.high is not None
        log = self.scaling in ("Logarithmic", "ReverseLogarithmic")
        if self.kind == INTEGER:
            return IntDistribution(int(self.low), int(self.high), log=log)
        if self.reversed:
            return FloatDistribution(1.0 - self.high, 1.0 - self.low, log=True)
        return FloatDistribution(self.low, self.high, log=log)

    def to_hyperparameter(self, sampled: Any) -> str:
        """The string the training job gets for a sampled value."""
        if self.kind == CATEGORICAL:
            return str(sampled)
        if self.kind == INTEGER:
            return str(int(sampled))
        return repr(float(1.0 - sampled if self.reversed else sampled))

    def from_hyperparameter(self, text: str) -> Any | None:
        """The sampled value a hyperparameter string stands for; ``None`` when it is outside this range
        (a warm-start parent searched another space)."""
        try:
            if self.kind == CATEGORICAL:
                value: Any = text
            elif self.kind == INTEGER:
                value = int(float(text))
            else:
                value = 1.0 - float(text) if self.reversed else float(text)
        except ValueError:
            return None
        return value if self._holds(value) else None

    def _holds(self, value: Any) -> bool:
        if self.kind == CATEGORICAL:
            return value in self.values
        distribution = self.distribution()
        return distribution.low <= value <= distribution.high  # type: ignore[attr-defined, no-any-return]


def _number(entry: dict[str, Any], member: str) -> float:
    text = entry[member]
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{member} {text!r} of range {entry['Name']!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{member} {text!r} of range {entry['Name']!r} is not a finite number")
    return value


def parse_ranges(ranges: dict[str, Any] | None) -> list[ParameterRange]:
    """``ParameterRanges`` (numbers arrive as strings, as on the wire) → ranges, in request order.

    Raises:
        ValueError: a bound is not a finite number (the message names it).
    """
    ranges = ranges or {}
    out: list[ParameterRange] = []
    for kind, member in ((INTEGER, "IntegerParameterRanges"), (CONTINUOUS, "ContinuousParameterRanges")):
        for entry in ranges.get(member) or []:
            out.append(ParameterRange(kind, entry["Name"], _number(entry, "MinValue"), _number(entry, "MaxValue"),
                                      entry.get("ScalingType", "Auto")))
    for entry in ranges.get("CategoricalParameterRanges") or []:
        out.append(ParameterRange(CATEGORICAL, entry["Name"], values=tuple(entry["Values"])))
    return out


@dataclass(frozen=True)
class SearchSpace:
    """The ranges of one training definition."""

    ranges: tuple[ParameterRange, ...]

    def distributions(self) -> dict[str, BaseDistribution]:
        return {r.name: r.distribution() for r in self.ranges}

    def to_hyperparameters(self, sampled: dict[str, Any]) -> dict[str, str]:
        return {r.name: r.to_hyperparameter(sampled[r.name]) for r in self.ranges}

    def from_hyperparameters(self, tuned: dict[str, str]) -> dict[str, Any] | None:
        """The sampled values behind ``tuned``, or ``None`` when any is missing or out of range."""
        sampled: dict[str, Any] = {}
        for r in self.ranges:
            if r.name not in tuned:
                return None
            value = r.from_hyperparameter(tuned[r.name])
            if value is None:
                return None
            sampled[r.name] = value
        return sampled

    def grid_size(self) -> int:
        """How many combinations the (categorical) ranges make: the Grid strategy's trial count."""
        return math.prod(len(r.values) for r in self.ranges)

    def grid_point(self, index: int) -> dict[str, str]:
        """Combination ``index`` (0-based) in a fixed order, the last range varying fastest (never built whole:
        a few ranges of 30 values make more combinations than memory holds)."""
        out: dict[str, str] = {}
        for r in reversed(self.ranges):
            index, position = divmod(index, len(r.values))
            out[r.name] = r.values[position]
        return {r.name: out[r.name] for r in self.ranges}
