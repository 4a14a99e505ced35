"""Neptune's model-HPO-configuration.json -> the SageMaker tuning job's ranges (``tuning-spec.json``).

Tiers, as Neptune documents them: with ``maxHPONumberOfTrainingJobs`` under 10 only the 1-tier parameters are
tuned, from 10 to 50 the 1- and 2-tier ones, above 50 all three; a parameter not tuned takes its ``default``, else
the middle of its range; ``fixed-param`` never varies.
https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-customizing-hyperparams.html
Scaling: ``power2`` and ``log`` -> ``Logarithmic``, ``linear`` -> ``Linear`` (a range reaching 0 or below cannot be
logarithmic in SageMaker: ``Linear``). A range with one value is static.
"""

from __future__ import annotations

import math
from typing import Any

TIER_KEYS = ("1-tier-param", "2-tier-param", "3-tier-param")
SCALING = {"power2": "Logarithmic", "log": "Logarithmic", "linear": "Linear"}
CATEGORICAL_TYPES = ("bool", "boolean", "string", "str", "categorical", "category")


class HpoConfigError(ValueError):
    """The HPO file cannot be turned into a tuning job; the message says which entry."""


def tiers_for(max_jobs: int) -> int:
    if max_jobs < 10:
        return 1
    if max_jobs <= 50:
        return 2
    return 3


def pick_model(config: dict[str, Any], task: str | None) -> dict[str, Any]:
    """The ``models`` entry for ``task`` (the first, when none names it)."""
    models = config.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, dict) for m in models):
        raise HpoConfigError('model-HPO-configuration.json needs "models": [{"model": ..., "task_type": ...}]')
    for model in models:
        if task and model.get("task_type") == task:
            return model
    return models[0]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return repr(value)
    return str(value)


def default_of(param: dict[str, Any]) -> Any:
    if "default" in param:
        return param["default"]
    values = param.get("range") or param.get("values")
    if not values:
        raise HpoConfigError(f"parameter {param.get('param')!r} has neither a default nor a range")
    if param.get("type") in CATEGORICAL_TYPES or not all(isinstance(v, int | float) for v in values):
        return values[0]
    low, high = min(values), max(values)
    if param.get("type") == "int":
        if param.get("inc_strategy") == "power2" and low > 0:
            return 2 ** round((math.log2(low) + math.log2(high)) / 2)
        return int(round((low + high) / 2))
    return (low + high) / 2


def _range_of(param: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """``(kind, range)`` for SageMaker, or None when the parameter has one value (static)."""
    name = param.get("param")
    values = param.get("range") or param.get("values")
    if not isinstance(name, str) or not isinstance(values, list) or not values:
        raise HpoConfigError(f"tuned parameter {param!r} needs a name and a non-empty range")
    kind = param.get("type", "float")
    if kind in CATEGORICAL_TYPES or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        distinct = list(dict.fromkeys(_text(v) for v in values))
        return None if len(distinct) == 1 else ("CategoricalParameterRanges", {"Name": name, "Values": distinct})
    low, high = min(values), max(values)
    if low == high:
        return None
    scaling = SCALING.get(str(param.get("inc_strategy", "")), "Auto")
    if scaling == "Logarithmic" and low <= 0:
        scaling = "Linear"
    if kind == "int":
        return "IntegerParameterRanges", {"Name": name, "MinValue": str(int(low)), "MaxValue": str(int(high)),
                                          "ScalingType": scaling}
    return "ContinuousParameterRanges", {"Name": name, "MinValue": _text(float(low)), "MaxValue": _text(float(high)),
                                         "ScalingType": scaling}


def tuning_spec(config: dict[str, Any], task: str | None, max_jobs: int,
                overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The tuning spec (contract section 5) for ``max_jobs`` trials; ``overrides`` are static values that win.

    Raises:
        HpoConfigError: a malformed HPO file.
    """
    model = pick_model(config, task)
    tiers = tiers_for(max_jobs)
    ranges: dict[str, list[dict[str, Any]]] = {"IntegerParameterRanges": [], "ContinuousParameterRanges": [],
                                               "CategoricalParameterRanges": []}
    static: dict[str, str] = {"task": str(model.get("task_type") or task or ""), "model": str(model.get("model", ""))}
    overrides = overrides or {}
    for level, key in enumerate(TIER_KEYS, start=1):
        for param in model.get(key, []) or []:
            name = param.get("param")
            if name in overrides:
                continue
            found = _range_of(param) if level <= tiers else None
            if found is None:
                static[name] = _text(default_of(param))
            else:
                ranges[found[0]].append(found[1])
    for param in model.get("fixed-param", []) or []:
        if param.get("param") not in overrides:
            static[param["param"]] = _text(default_of(param))
    static.update({name: _text(value) for name, value in overrides.items()})
    metric = (model.get("eval_metric") or {}).get("metric") or "acc"
    comparison = model.get("eval_comparison") or ("<" if metric in ("rmse", "mse", "mae") else ">")
    return {"objective": {"Type": "Maximize" if comparison == ">" else "Minimize",
                          "MetricName": f"validation:{metric}"},
            "strategy": "Bayesian", "parameter_ranges": ranges, "static_hyperparameters": static,
            "tiers_tuned": tiers}
