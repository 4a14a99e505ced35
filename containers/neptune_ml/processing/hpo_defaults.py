"""The default ``model-HPO-configuration.json`` for the task: Neptune ML's file, sized for small graphs.

Shape as Neptune documents it
(https://docs.aws.amazon.com/neptune/latest/userguide/machine-learning-customizing-hyperparams.html):
one model entry with ``eval_metric``, ``eval_comparison`` and the tiers of parameters training
tunes (1-tier always; 2-tier and 3-tier when the model-training job allows more trials) and the
``fixed-param`` it does not. Parameter names are the trainer's (Neptune's hyphenated names). The
processing job writes it beside the processed graph; a user may edit it and upload it back to the
same place before starting model training, exactly as on Neptune ML.
"""

from __future__ import annotations

from typing import Any

KGE_MODELS = ("transe", "distmult", "rotate")
DEFAULT_KGE_MODEL = "distmult"

METRICS = {"node_class": ("acc", ">"), "edge_class": ("acc", ">"), "node_regression": ("rmse", "<"),
           "edge_regression": ("rmse", "<"), "link_predict": ("mrr", ">")}


def _int(name: str, low: int, high: int, strategy: str, step: int | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"param": name, "range": [low, high], "type": "int", "inc_strategy": strategy}
    if step is not None:
        param["inc_val"] = step
    return param


def _float(name: str, low: float, high: float, strategy: str, step: float | None = None) -> dict[str, Any]:
    param: dict[str, Any] = {"param": name, "range": [low, high], "type": "float", "inc_strategy": strategy}
    if step is not None:
        param["inc_val"] = step
    return param


def _fixed(name: str, kind: str, default: Any) -> dict[str, Any]:
    return {"param": name, "type": kind, "default": default}


def _gnn(task: str) -> dict[str, Any]:
    metric, comparison = METRICS[task]
    second = [_float("dropout", 0.0, 0.6, "linear", 0.1)]
    fixed = [_fixed("num-bases", "int", 0), _fixed("layers", "int", 2), _fixed("batch-size", "int", 0),
             _fixed("self-loop", "bool", True), _fixed("embedding-size", "int", 64),
             _fixed("patience", "int", 50), _fixed("early-stop", "bool", True)]
    if task == "link_predict":
        second.append(_int("num-negs", 1, 8, "power2"))
    else:
        fixed.append(_fixed("concat-node-embed", "bool", False))
    return {"model": "rgcn", "task_type": task, "eval_metric": {"metric": metric}, "eval_comparison": comparison,
            "1-tier-param": [_int("num-hidden", 16, 128, "power2"), _int("num-epochs", 50, 300, "linear", 50),
                             _float("lr", 0.001, 0.05, "log")],
            "2-tier-param": second,
            "3-tier-param": [_float("weight-decay", 0.0, 0.001, "linear", 0.0005)],
            "fixed-param": fixed}


def _kge(model: str) -> dict[str, Any]:
    third = [_float("gamma", 1.0, 24.0, "linear", 4.0)] if model in ("transe", "rotate") else []
    return {"model": model, "task_type": "link_predict", "eval_metric": {"metric": "mrr"}, "eval_comparison": ">",
            "1-tier-param": [_int("hidden-dim-kge", 32, 256, "power2"), _int("num-epochs", 50, 300, "linear", 50),
                             _float("lr", 0.001, 0.1, "log")],
            "2-tier-param": [_int("num-negs", 1, 16, "power2")],
            "3-tier-param": third + [_float("weight-decay", 0.0, 0.001, "linear", 0.0005)],
            "fixed-param": [_fixed("batch-size", "int", 0), _fixed("patience", "int", 50),
                            _fixed("early-stop", "bool", True)]}


def default_hpo_configuration(task: str, model_type: str, kge_model: str = DEFAULT_KGE_MODEL) -> dict[str, Any]:
    """The file's content for ``task`` (Neptune's task_type) and ``model_type`` (heterogeneous or kge)."""
    if model_type == "kge":
        return {"models": [_kge(kge_model)]}
    return {"models": [_gnn(task)]}
