"""The tuner's decisions, over the trial records and no IO: which trial is best, which running trial stops early, when
the tuning job is done.

Early stopping ``Auto`` follows SageMaker's median stopping rule
(https://docs.aws.amazon.com/sagemaker/latest/dg/automatic-model-tuning-early-stopping.html): a
running trial stops when its objective at the current step is worse than the median of the running
averages, up to that step, of the trials that finished before. Hyperband stops a trial at each rung
(``MinResource`` · η^k steps, η = 3) unless it is among the best 1/η of the trials that reached that
rung, and every trial once it reaches ``MaxResource`` (asynchronous successive halving, the
Hyperband flavour SageMaker documents for its strategy).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from emulator.services.sagemaker.tuning_records import OBJECTIVE_SUCCEEDED, Trial

#: finished trials the median rule needs before it judges anyone
MEDIAN_MIN_FINISHED = 3
#: a trial is not judged by the median rule before it reported this many values
MEDIAN_MIN_STEPS = 2
HYPERBAND_ETA = 3
#: what HyperbandStrategyConfig infers MaxResource from (the API reference's list)
EPOCH_KEYS = ("epochs", "numepochs", "n-epochs", "n_epochs", "num_epochs")


def better(a: float, b: float, minimize: bool) -> bool:
    return a < b if minimize else a > b


def best_trial(trials: Sequence[Trial], minimize: bool) -> Trial | None:
    """The trial with the best final objective (the earliest among equals)."""
    best: Trial | None = None
    for trial in trials:
        if trial.objective_status != OBJECTIVE_SUCCEEDED or trial.objective is None:
            continue
        if best is None or better(trial.objective, best.objective, minimize):  # type: ignore[arg-type]
            best = trial
    return best


def median_rule_stops(trial: Trial, finished: Sequence[Trial], minimize: bool) -> bool:
    """SageMaker's median stopping rule for one running trial."""
    step = len(trial.history)
    if step < MEDIAN_MIN_STEPS:
        return False
    averages = [sum(other.history[:step]) / step for other in finished if len(other.history) >= step]
    if len(averages) < MEDIAN_MIN_FINISHED:
        return False
    return better(statistics.median(averages), trial.history[-1], minimize)


def hyperband_rungs(min_resource: int, max_resource: int) -> list[int]:
    """The steps at which Hyperband judges a trial: ``min_resource`` · η^k below ``max_resource``."""
    rungs, rung = [], max(1, min_resource)
    while rung < max_resource:
        rungs.append(rung)
        rung *= HYPERBAND_ETA
    return rungs


def hyperband_stops(trial: Trial, others: Sequence[Trial], minimize: bool, min_resource: int,
                    max_resource: int) -> bool:
    """Whether Hyperband ends ``trial`` now: it reached ``max_resource``, or on reaching a rung it is outside
    the best 1/η of the trials that reached that rung so far (fewer than η there: it goes on). Each rung
    judges a trial once (``trial.judged_rung`` records it), as asynchronous successive halving does."""
    step = len(trial.history)
    if step >= max_resource:
        return True
    reached = [rung for rung in hyperband_rungs(min_resource, max_resource) if rung <= step]
    if not reached or reached[-1] <= trial.judged_rung:
        return False
    rung = reached[-1]
    trial.judged_rung = rung
    values = [other.history[rung - 1] for other in others if len(other.history) >= rung]
    values.append(trial.history[rung - 1])
    if len(values) < HYPERBAND_ETA:
        return False
    keep = math.ceil(len(values) / HYPERBAND_ETA)
    ranked = sorted(values, reverse=not minimize)
    return better(ranked[keep - 1], trial.history[rung - 1], minimize)


def target_reached(best: Trial | None, target: float | None, minimize: bool) -> bool:
    """``TargetObjectiveMetricValue``: the best objective is at least as good as the target."""
    if best is None or target is None or best.objective is None:
        return False
    return best.objective <= target if minimize else best.objective >= target


def trials_not_improving(trials: Sequence[Trial], minimize: bool) -> int:
    """How many finished trials in a row, after the best so far, did not improve on it (launch order)."""
    best: float | None = None
    since = 0
    for trial in trials:
        if trial.objective_status != OBJECTIVE_SUCCEEDED or trial.objective is None:
            continue
        if best is None or better(trial.objective, best, minimize):
            best, since = trial.objective, 0
        else:
            since += 1
    return since
