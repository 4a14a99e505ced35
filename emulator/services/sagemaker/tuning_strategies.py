"""The search strategies: given what the trials so far scored, the hyperparameters of the next trial.

``Random`` and ``Bayesian`` ask optuna's samplers (``RandomSampler``, and ``TPESampler``, a
tree-structured Parzen estimator, for Bayesian), ``Hyperband`` samples at random and leaves the
rest to its stopping rule (:mod:`tuning_rules`), ``Grid`` walks every combination of the
categorical ranges in order. A strategy is rebuilt from the recorded trials for every suggestion
and seeded by the tuning job's seed and the trial's number, so a restarted control plane
suggests exactly what the old one would have. Nothing here does IO.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import optuna
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.trial import TrialState, create_trial

from emulator.services.sagemaker.tuning_space import SearchSpace

optuna.logging.set_verbosity(logging.WARNING)


@dataclass(frozen=True)
class Observation:
    """A finished trial as a strategy sees it: its tuned hyperparameters and its objective (``None``: failed)."""

    tuned: dict[str, str]
    value: float | None


class Strategy(Protocol):
    def suggest(self, space: SearchSpace, history: list[Observation], number: int) -> dict[str, str] | None:
        """The tuned hyperparameters of trial ``number`` (1-based), or ``None`` when the space is exhausted."""


class OptunaStrategy:
    """A strategy backed by one optuna sampler.

    Args:
        bayesian: TPE (model-based) instead of independent random draws.
        minimize: the objective's direction.
        seed: the tuning job's seed (``RandomSeed``, or one derived from its name).
        startup_trials: how many random trials TPE takes before it models the objective.
    """

    def __init__(self, bayesian: bool, minimize: bool, seed: int, startup_trials: int = 5) -> None:
        self.bayesian = bayesian
        self.minimize = minimize
        self.seed = seed
        self.startup_trials = startup_trials

    def sampler(self, number: int) -> BaseSampler:
        seed = (self.seed * 1_000_003 + number) % 2**32
        if self.bayesian:
            return TPESampler(seed=seed, n_startup_trials=self.startup_trials, multivariate=True)
        return RandomSampler(seed=seed)

    def suggest(self, space: SearchSpace, history: list[Observation], number: int) -> dict[str, str] | None:
        distributions = space.distributions()
        study = optuna.create_study(direction="minimize" if self.minimize else "maximize",
                                    sampler=self.sampler(number))
        for seen in history:
            params = space.from_hyperparameters(seen.tuned)
            if params is None:  # a warm-start parent's trial outside this space teaches nothing
                continue
            state = TrialState.FAIL if seen.value is None else TrialState.COMPLETE
            study.add_trial(create_trial(params=params, distributions=distributions, value=seen.value, state=state))
        trial = study.ask(distributions)
        return space.to_hyperparameters(trial.params)


class GridStrategy:
    """Every combination of the categorical ranges, once each, in order."""

    def suggest(self, space: SearchSpace, history: list[Observation], number: int) -> dict[str, str] | None:
        return space.grid_point(number - 1) if number <= space.grid_size() else None


def strategy_for(name: str, minimize: bool, seed: int, max_trials: int) -> Strategy:
    """The strategy a ``HyperParameterTuningJobConfig.Strategy`` names (validated before)."""
    if name == "Grid":
        return GridStrategy()
    # TPE models the objective once a fifth of the budget (2 to 10 trials) has been drawn at random
    startup = max(2, min(10, max_trials // 5))
    return OptunaStrategy(bayesian=name == "Bayesian", minimize=minimize, seed=seed, startup_trials=startup)
