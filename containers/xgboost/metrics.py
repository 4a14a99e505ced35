"""The evaluation metrics the XGBoost image reports, and the log line it prints per round.

Pure (no xgboost import): the registry reads :data:`EVAL_METRICS` to declare the image's metric
definitions. AWS's image prints each round as ``[N]#011train-rmse:0.5#011validation-rmse:0.6`` (the
tab shown as ``#011``, as CloudWatch shows it), and its metric regexes look for that ``#011``.
"""

from __future__ import annotations

#: xgboost's own eval metrics that SageMaker's XGBoost documents as ``eval_metric`` values
EVAL_METRICS: tuple[str, ...] = (
    "rmse", "rmsle", "mae", "mape", "logloss", "error", "merror", "mlogloss", "auc", "aucpr", "ndcg", "map",
    "poisson-nloglik", "gamma-nloglik", "gamma-deviance", "tweedie-nloglik", "cox-nloglik",
)

#: what AWS's image logs between a round's results (a tab, as CloudWatch escapes it)
SEPARATOR = "#011"


def round_line(iteration: int, results: list[tuple[str, str, float]]) -> str:
    """``[N]#011train-rmse:0.51#011validation-rmse:0.62`` from ``(channel, metric, value)`` triples."""
    parts = [f"[{iteration}]"] + [f"{channel}-{metric}:{value:.5f}" for channel, metric, value in results]
    return SEPARATOR.join(parts)


def default_metric(objective: str) -> str:
    """xgboost's default ``eval_metric`` for ``objective`` (what the image reports when none is given)."""
    if objective.startswith("binary:"):
        return "logloss"
    if objective == "multi:softprob" or objective == "multi:softmax":
        return "mlogloss"
    if objective.startswith("rank:"):
        return "map" if objective == "rank:map" else "ndcg"
    if objective == "count:poisson":
        return "poisson-nloglik"
    if objective == "reg:gamma":
        return "gamma-nloglik"
    if objective == "reg:tweedie":
        return "tweedie-nloglik"
    if objective == "survival:cox":
        return "cox-nloglik"
    if objective == "reg:absoluteerror":
        return "mae"
    return "rmse"
