"""The trainer's hyperparameters, as Neptune ML names them (hyphenated), with their defaults and types.

A training job gets SageMaker's strings (``"16"``, ``"true"``); :func:`parse` types them, fills defaults and
names what it ignores (an unknown parameter is logged, never fatal: Neptune's HPO file may carry parameters of
another model). ``use-self-loop`` is Neptune's other spelling of ``self-loop``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: name -> (type, default). ``task`` / ``model`` default to what the processed data says.
DEFAULTS: dict[str, tuple[type, Any]] = {
    "task": (str, ""),
    "model": (str, ""),
    "num-hidden": (int, 16),
    "num-epochs": (int, 200),
    "lr": (float, 0.01),
    "dropout": (float, 0.5),
    "weight-decay": (float, 5e-4),
    "layers": (int, 2),
    "num-bases": (int, 0),
    "batch-size": (int, 0),
    "num-negs": (int, 1),
    "self-loop": (bool, True),
    "concat-node-embed": (bool, False),
    "embedding-size": (int, 16),
    "patience": (int, 100),
    "early-stop": (bool, True),
    "hidden-dim-kge": (int, 64),
    "gamma": (float, 12.0),
    "row-normalize": (bool, True),
    "undirected": (bool, False),
    "seed": (int, 0),
    "checkpoint-every": (int, 10),
}
ALIASES = {"use-self-loop": "self-loop", "epochs": "num-epochs", "hidden": "num-hidden", "num-layers": "layers"}
#: Passed by SageMaker and the sagemaker SDK for the container, not the model.
RESERVED_PREFIX = "sagemaker_"


@dataclass(frozen=True)
class Parsed:
    values: dict[str, Any]
    ignored: list[str]


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", ""):
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _converter(kind: type) -> Callable[[Any], Any]:
    if kind is bool:
        return _bool
    if kind is int:
        return lambda value: int(float(value))  # the tuner may send "16.0" for an integer range
    if kind is float:
        return float
    return lambda value: str(value).strip().strip('"')


def parse(raw: Mapping[str, Any]) -> Parsed:
    """Typed values for every known parameter (defaults filled) and the names ignored.

    Raises:
        ValueError: a known parameter with a value of the wrong type, or out of range.
    """
    values = {name: default for name, (_, default) in DEFAULTS.items()}
    ignored = []
    for key, value in raw.items():
        name = ALIASES.get(key, key)
        if key.startswith(RESERVED_PREFIX):
            continue
        if name not in DEFAULTS:
            ignored.append(key)
            continue
        kind = DEFAULTS[name][0]
        try:
            values[name] = _converter(kind)(value)
        except (TypeError, ValueError):
            raise ValueError(f"hyperparameter {key}={value!r} is not a valid {kind.__name__}") from None
    for name in ("num-hidden", "num-epochs", "hidden-dim-kge", "embedding-size", "num-negs"):
        if values[name] < 1:
            raise ValueError(f"hyperparameter {name} must be >= 1, got {values[name]}")
    if not 0.0 <= values["dropout"] < 1.0:
        raise ValueError(f"hyperparameter dropout must be in [0, 1), got {values['dropout']}")
    if values["lr"] <= 0:
        raise ValueError(f"hyperparameter lr must be > 0, got {values['lr']}")
    return Parsed(values, sorted(ignored))
