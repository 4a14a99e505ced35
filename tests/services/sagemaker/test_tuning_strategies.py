"""The tuner's pure parts: ranges and their scaling, the strategies (optuna's samplers, the grid), and the
stopping rules, without a control plane."""

from __future__ import annotations

import math
import statistics

import pytest

from emulator.services.sagemaker.tuning_records import OBJECTIVE_SUCCEEDED, Trial
from emulator.services.sagemaker.tuning_rules import (
    best_trial,
    hyperband_rungs,
    hyperband_stops,
    median_rule_stops,
    target_reached,
    trials_not_improving,
)
from emulator.services.sagemaker.tuning_space import SearchSpace, parse_ranges
from emulator.services.sagemaker.tuning_strategies import GridStrategy, Observation, OptunaStrategy, strategy_for


def space(**ranges) -> SearchSpace:
    return SearchSpace(tuple(parse_ranges(ranges)))


def draws(the_space: SearchSpace, n: int = 200) -> list[dict[str, str]]:
    strategy = OptunaStrategy(bayesian=False, minimize=True, seed=7)
    return [strategy.suggest(the_space, [], number) for number in range(1, n + 1)]  # type: ignore[misc]


def test_scaling_types_shape_where_values_fall():
    linear = space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "0.0001", "MaxValue": "0.1",
                                                "ScalingType": "Linear"}])
    log = space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "0.0001", "MaxValue": "0.1",
                                             "ScalingType": "Logarithmic"}])
    reverse = space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "0.9", "MaxValue": "0.9999",
                                                 "ScalingType": "ReverseLogarithmic"}])
    linear_x = [float(d["x"]) for d in draws(linear)]
    log_x = [float(d["x"]) for d in draws(log)]
    reverse_x = [float(d["x"]) for d in draws(reverse)]
    assert all(0.0001 <= x <= 0.1 for x in linear_x + log_x)
    assert all(0.9 <= x <= 0.9999 for x in reverse_x)
    assert statistics.median(linear_x) > 0.03  # uniform: around 0.05
    assert statistics.median(log_x) < 0.01  # log-uniform: around 0.003
    assert statistics.median(reverse_x) > 0.99  # crowds towards 1: around 0.997


def test_integer_and_categorical_values_are_the_strings_a_job_gets():
    the_space = space(IntegerParameterRanges=[{"Name": "n", "MinValue": "2", "MaxValue": "64",
                                                "ScalingType": "Logarithmic"}],
                      CategoricalParameterRanges=[{"Name": "act", "Values": ["relu", "tanh"]}])
    for drawn in draws(the_space, 50):
        assert drawn["n"].isdigit() and 2 <= int(drawn["n"]) <= 64
        assert drawn["act"] in ("relu", "tanh")


def test_suggestions_are_reproducible_from_the_seed_and_the_trial_number():
    the_space = space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "0", "MaxValue": "1"}])
    history = [Observation({"x": "0.2"}, 0.5), Observation({"x": "0.7"}, None)]
    first = OptunaStrategy(bayesian=True, minimize=True, seed=3, startup_trials=1).suggest(the_space, history, 3)
    again = OptunaStrategy(bayesian=True, minimize=True, seed=3, startup_trials=1).suggest(the_space, history, 3)
    other = OptunaStrategy(bayesian=True, minimize=True, seed=4, startup_trials=1).suggest(the_space, history, 3)
    assert first == again != other


def test_observations_outside_the_space_are_ignored_not_fatal():
    the_space = space(IntegerParameterRanges=[{"Name": "n", "MinValue": "1", "MaxValue": "4"}])
    history = [Observation({"n": "99"}, 0.1), Observation({"m": "1"}, 0.2), Observation({"n": "x"}, 0.3)]
    drawn = OptunaStrategy(bayesian=True, minimize=True, seed=1).suggest(the_space, history, 4)
    assert drawn is not None and 1 <= int(drawn["n"]) <= 4


def test_bayesian_finds_a_better_value_than_random_on_a_smooth_objective():
    the_space = space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "-5", "MaxValue": "5"},
                                                 {"Name": "y", "MinValue": "-5", "MaxValue": "5"}])

    def objective(tuned: dict[str, str]) -> float:
        return (float(tuned["x"]) - 1.3) ** 2 + (float(tuned["y"]) + 0.7) ** 2

    def best_after(name: str, trials: int) -> float:
        strategy = strategy_for(name, minimize=True, seed=11, max_trials=trials)
        history: list[Observation] = []
        for number in range(1, trials + 1):
            tuned = strategy.suggest(the_space, history, number)
            assert tuned is not None
            history.append(Observation(tuned, objective(tuned)))
        return min(seen.value for seen in history if seen.value is not None)

    assert best_after("Bayesian", 30) < best_after("Random", 30)


def test_grid_walks_every_combination_then_is_exhausted():
    the_space = space(CategoricalParameterRanges=[{"Name": "a", "Values": ["1", "2"]},
                                                  {"Name": "b", "Values": ["x", "y", "z"]}])
    grid = GridStrategy()
    walked = [grid.suggest(the_space, [], n) for n in range(1, 7)]
    assert len({tuple(sorted(w.items())) for w in walked if w}) == 6
    assert walked[0] == {"a": "1", "b": "x"}
    assert grid.suggest(the_space, [], 7) is None
    wide = space(CategoricalParameterRanges=[{"Name": f"p{i}", "Values": [str(v) for v in range(30)]}
                                             for i in range(20)])
    assert wide.grid_size() == 30**20 and wide.grid_point(30**20 - 1) == {f"p{i}": "29" for i in range(20)}


def trial(number: int, history: list[float], objective: float | None = None) -> Trial:
    out = Trial(number=number, training_job_name=f"t-{number}", definition_name=None, tuned={}, history=history)
    if objective is not None:
        out.objective, out.objective_status, out.status = objective, OBJECTIVE_SUCCEEDED, "Completed"
    return out


def test_median_rule_needs_enough_finished_trials_and_compares_running_averages():
    finished = [trial(1, [0.5, 0.3], 0.3), trial(2, [0.6, 0.4], 0.4), trial(3, [0.7, 0.5], 0.5)]
    assert median_rule_stops(trial(4, [0.9, 0.8]), finished, minimize=True)  # median of averages: 0.5
    assert not median_rule_stops(trial(4, [0.9, 0.45]), finished, minimize=True)
    assert not median_rule_stops(trial(4, [0.9, 0.8]), finished[:2], minimize=True)
    assert not median_rule_stops(trial(4, [0.9]), finished, minimize=True)  # too early to judge
    assert median_rule_stops(trial(4, [0.1, 0.2]), finished, minimize=False)


def test_hyperband_rungs_and_the_best_third_goes_on():
    assert hyperband_rungs(1, 27) == [1, 3, 9]
    assert hyperband_rungs(2, 20) == [2, 6, 18]
    others = [trial(1, [0.1]), trial(2, [0.2]), trial(3, [0.3]), trial(4, [0.4]), trial(5, [0.5])]
    good, bad = trial(6, [0.15]), trial(7, [0.35])
    assert not hyperband_stops(good, others, True, 1, 9)  # 0.15 is among the best 3 of 6
    assert hyperband_stops(bad, others + [good], True, 1, 9)
    assert not hyperband_stops(bad, others + [good], True, 1, 9)  # judged once per rung
    assert hyperband_stops(trial(8, [0.1] * 9), others, True, 1, 9)  # MaxResource reached


def test_best_target_and_not_improving():
    trials = [trial(1, [], 0.5), trial(2, [], 0.2), trial(3, [], 0.3), trial(4, [])]
    assert best_trial(trials, minimize=True).number == 2  # type: ignore[union-attr]
    assert best_trial(trials, minimize=False).number == 1  # type: ignore[union-attr]
    assert target_reached(trials[1], 0.25, minimize=True) and not target_reached(trials[1], 0.1, minimize=True)
    assert trials_not_improving(trials, minimize=True) == 1
    assert math.isclose(trials[1].objective or 0, 0.2)


@pytest.mark.parametrize("bad", ["abc", "1e400"])
def test_unparseable_hyperparameters_read_back_as_outside_the_space(bad):
    the_space = space(ContinuousParameterRanges=[{"Name": "x", "MinValue": "0", "MaxValue": "1"}])
    assert the_space.from_hyperparameters({"x": bad}) is None
