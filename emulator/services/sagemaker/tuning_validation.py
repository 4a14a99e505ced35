"""CreateHyperParameterTuningJob's constraints that botocore's service model cannot express.

The model checks shapes, lengths and enums; what AWS checks beyond them (one training definition
form or the other, an objective some metric definition produces, ranges that fit their scaling and
the strategy, Hyperband's own rules) is here, as pure functions raising ``ValidationError``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from containers.registry import UnknownImageError, resolve
from emulator.core.errors import ValidationError
from emulator.services.sagemaker.tuning_rules import EPOCH_KEYS
from emulator.services.sagemaker.tuning_space import (
    CATEGORICAL,
    CONTINUOUS,
    INTEGER,
    ParameterRange,
    SearchSpace,
    parse_ranges,
)

#: the most trials a Grid job without MaxNumberOfTrainingJobs may launch
MAX_GRID_COMBINATIONS = 10_000


@dataclass(frozen=True)
class Definition:
    """One training definition of a tuning job, with the objective and ranges it is tuned by.

    Args:
        name: ``DefinitionName`` (``None`` for the single ``TrainingJobDefinition``).
        request: the ``HyperParameterTrainingJobDefinition`` as sent.
        metric: the objective's ``MetricName``.
        minimize: the objective's ``Type`` is ``Minimize``.
        ranges: its ``ParameterRanges``.
    """

    name: str | None
    request: dict[str, Any]
    metric: str
    minimize: bool
    ranges: tuple[ParameterRange, ...]


def definitions_of(request: dict[str, Any]) -> list[Definition]:
    """The training definitions of a (validated) request, each with its objective and ranges."""
    config = request["HyperParameterTuningJobConfig"]
    if request.get("TrainingJobDefinition") is not None:
        objective = config["HyperParameterTuningJobObjective"]
        return [Definition(None, request["TrainingJobDefinition"], objective["MetricName"],
                           objective["Type"] == "Minimize", tuple(parse_ranges(config.get("ParameterRanges"))))]
    return [Definition(d["DefinitionName"], d, d["TuningObjective"]["MetricName"],
                       d["TuningObjective"]["Type"] == "Minimize", tuple(parse_ranges(d.get("HyperParameterRanges"))))
            for d in request["TrainingJobDefinitions"]]


def image_metric_definitions(image: str) -> list[dict[str, str]]:
    """The metric definitions a built-in image declares (``BuiltinImage.metric_definitions``), as the wire's
    ``MetricDefinitions``; none for an image that is not built in."""
    try:
        builtin = resolve(image)
    except UnknownImageError:
        return []
    out = []
    for entry in getattr(builtin, "metric_definitions", ()):
        if isinstance(entry, dict):
            out.append({"Name": entry["Name"], "Regex": entry["Regex"]})
        else:
            name, regex = entry
            out.append({"Name": name, "Regex": regex})
    return out


def trial_resources(definition: dict[str, Any]) -> dict[str, Any] | None:
    """The ``ResourceConfig`` a definition's trials run on: its own, or the first instance choice of its
    ``HyperParameterTuningResourceConfig`` (this machine has one kind of instance; what the SDK sends)."""
    if definition.get("ResourceConfig") is not None:
        return dict(definition["ResourceConfig"])
    tuning = definition.get("HyperParameterTuningResourceConfig") or {}
    choice = tuning if tuning.get("InstanceType") else next(iter(tuning.get("InstanceConfigs") or []), None)
    if choice is None:
        return None
    out = {"InstanceType": choice["InstanceType"], "InstanceCount": choice.get("InstanceCount", 1),
           "VolumeSizeInGB": choice.get("VolumeSizeInGB", tuning.get("VolumeSizeInGB", 30))}
    if tuning.get("VolumeKmsKeyId"):
        out["VolumeKmsKeyId"] = tuning["VolumeKmsKeyId"]
    return out


def produced_metrics(definition: dict[str, Any]) -> list[dict[str, str]]:
    """The ``MetricDefinitions`` a definition's trials run with: its own, else its built-in image's."""
    algorithm = definition["AlgorithmSpecification"]
    return list(algorithm.get("MetricDefinitions") or image_metric_definitions(algorithm.get("TrainingImage", "")))


def check_tuning_request(request: dict[str, Any], check_trial: Callable[[Definition], None]) -> list[Definition]:
    """Every constraint of CreateHyperParameterTuningJob beyond the service model.

    Args:
        check_trial: checks the training job one definition would launch (CreateTrainingJob's own rules),
            so a definition that could never run is refused now, not at its first trial.

    Returns:
        The request's training definitions.

    Raises:
        ValidationError: naming the member and the rule it breaks.
    """
    config = request["HyperParameterTuningJobConfig"]
    single, several = request.get("TrainingJobDefinition"), request.get("TrainingJobDefinitions")
    if (single is None) == (several is None):
        raise ValidationError("Exactly one of TrainingJobDefinition or TrainingJobDefinitions must be specified.")
    if single is not None:
        if config.get("HyperParameterTuningJobObjective") is None:
            raise ValidationError("HyperParameterTuningJobConfig.HyperParameterTuningJobObjective is required with "
                                  "a TrainingJobDefinition.")
    else:
        _check_several(config, several)
    try:
        definitions = definitions_of(request)
    except ValueError as error:
        raise ValidationError(f"Invalid ParameterRanges: {error}.") from None
    strategy = config["Strategy"]
    for definition in definitions:
        _check_definition(definition, strategy, config)
        check_trial(definition)
    _check_limits(config, strategy, definitions)
    _check_strategy_config(config, strategy, definitions)
    return definitions


def _check_several(config: dict[str, Any], several: Sequence[dict[str, Any]]) -> None:
    for member in ("HyperParameterTuningJobObjective", "ParameterRanges"):
        if config.get(member) is not None:
            raise ValidationError(f"HyperParameterTuningJobConfig.{member} must not be specified with "
                                  "TrainingJobDefinitions; give each definition its TuningObjective and "
                                  "HyperParameterRanges.")
    names = []
    for index, definition in enumerate(several, 1):
        for member in ("DefinitionName", "TuningObjective"):
            if definition.get(member) is None:
                raise ValidationError(f"TrainingJobDefinitions.{index}.{member} is required when several training "
                                      "job definitions are given.")
        names.append(definition["DefinitionName"])
    if len(names) != len(set(names)):
        raise ValidationError("The DefinitionName of each training job definition must be unique.")
    if len({d["TuningObjective"]["Type"] for d in several}) > 1:
        raise ValidationError("All training job definitions must use the same objective Type (Minimize or Maximize).")


def _where(definition: Definition) -> str:
    return "TrainingJobDefinition" if definition.name is None else f"training job definition {definition.name!r}"


def _check_definition(definition: Definition, strategy: str, config: dict[str, Any]) -> None:
    request = definition.request
    algorithm = request["AlgorithmSpecification"]
    if not algorithm.get("TrainingImage"):
        raise ValidationError(f"{_where(definition)}: AlgorithmSpecification.TrainingImage is required "
                              "(marketplace algorithms are not supported).")
    has_resources = request.get("ResourceConfig") is not None
    if has_resources == (request.get("HyperParameterTuningResourceConfig") is not None):
        raise ValidationError(f"{_where(definition)}: exactly one of ResourceConfig or "
                              "HyperParameterTuningResourceConfig must be specified.")
    if not has_resources and trial_resources(request) is None:
        raise ValidationError(f"{_where(definition)}: HyperParameterTuningResourceConfig must name an InstanceType "
                              "or InstanceConfigs.")
    names = [metric["Name"] for metric in produced_metrics(request)]
    if definition.metric not in names:
        raise ValidationError(
            f"The objective metric for the hyperparameter tuning job, [{definition.metric}], isn't valid for the "
            f"{_where(definition)}: no metric definition produces it (defined: {', '.join(names) or 'none'}). "
            "Add it to AlgorithmSpecification.MetricDefinitions.")
    if not definition.ranges:
        raise ValidationError(f"{_where(definition)}: at least one hyperparameter range must be specified.")
    seen: set[str] = set()
    static = request.get("StaticHyperParameters") or {}
    for parameter in definition.ranges:
        if parameter.name in seen:
            raise ValidationError(f"Hyperparameter {parameter.name!r} is given more than one range.")
        seen.add(parameter.name)
        if parameter.name in static:
            raise ValidationError(f"Hyperparameter {parameter.name!r} is both tuned and in StaticHyperParameters.")
        _check_range(parameter)
        if strategy == "Grid" and parameter.kind != CATEGORICAL:
            raise ValidationError(
                f"The Grid search strategy takes only categorical parameter ranges; {parameter.kind} range "
                f"{parameter.name!r} is not allowed. Use CategoricalParameterRanges, or another strategy.")


def _check_range(parameter: ParameterRange) -> None:
    if parameter.kind == CATEGORICAL:
        if len(set(parameter.values)) != len(parameter.values):
            raise ValidationError(f"The values of categorical range {parameter.name!r} must be unique.")
        return
    low, high = parameter.low, parameter.high
    assert low is not None and high is not None
    if parameter.kind == INTEGER and (low != int(low) or high != int(high)):
        raise ValidationError(f"MinValue and MaxValue of integer range {parameter.name!r} must be integers.")
    if low > high:
        raise ValidationError(f"MinValue ({low:g}) of range {parameter.name!r} must not be greater than its "
                              f"MaxValue ({high:g}).")
    if parameter.scaling == "Logarithmic" and low <= 0:
        raise ValidationError(f"Logarithmic scaling of range {parameter.name!r} requires a MinValue greater than 0.")
    if parameter.scaling == "ReverseLogarithmic":
        if parameter.kind != CONTINUOUS:
            raise ValidationError(f"ReverseLogarithmic scaling is valid only for continuous ranges; "
                                  f"{parameter.name!r} is an integer range.")
        if not 0 <= low < high < 1:
            raise ValidationError(f"ReverseLogarithmic scaling of range {parameter.name!r} requires "
                                  "0 <= MinValue < MaxValue < 1.")


def _check_limits(config: dict[str, Any], strategy: str, definitions: list[Definition]) -> None:
    limits = config["ResourceLimits"]
    most = limits.get("MaxNumberOfTrainingJobs")
    if most is None and strategy != "Grid" and limits.get("MaxRuntimeInSeconds") is None:
        raise ValidationError(f"ResourceLimits.MaxNumberOfTrainingJobs is required for the {strategy} strategy "
                              "(unless MaxRuntimeInSeconds bounds the tuning job).")
    if strategy == "Grid" and most is None:
        combinations = sum(SearchSpace(d.ranges).grid_size() for d in definitions)
        if combinations > MAX_GRID_COMBINATIONS:
            raise ValidationError(f"The Grid search strategy would launch {combinations} training jobs, more than "
                                  f"{MAX_GRID_COMBINATIONS}; set ResourceLimits.MaxNumberOfTrainingJobs or use fewer "
                                  "values.")
    if most is not None and limits["MaxParallelTrainingJobs"] > most:
        raise ValidationError("ResourceLimits.MaxParallelTrainingJobs must not be greater than "
                              "MaxNumberOfTrainingJobs.")


def hyperband_resources(config: dict[str, Any], definition: Definition) -> tuple[int, int]:
    """``(MinResource, MaxResource)`` of a Hyperband job; MaxResource inferred from the epochs keys.

    Raises:
        ValidationError: MaxResource is neither given nor inferable.
    """
    hyperband = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
    most = hyperband.get("MaxResource")
    if most is None:
        static = definition.request.get("StaticHyperParameters") or {}
        for key in EPOCH_KEYS:
            if key in static:
                try:
                    most = int(float(static[key]))
                except ValueError:
                    continue
                break
    if most is None:
        raise ValidationError("HyperbandStrategyConfig.MaxResource is not specified and cannot be inferred from the "
                              f"StaticHyperParameters (none of {', '.join(EPOCH_KEYS)}).")
    return int(hyperband.get("MinResource") or 1), int(most)


def _check_strategy_config(config: dict[str, Any], strategy: str, definitions: list[Definition]) -> None:
    if strategy != "Hyperband":
        if config.get("StrategyConfig") is not None:
            raise ValidationError("StrategyConfig may be specified only with the Hyperband strategy.")
        return
    if config.get("TrainingJobEarlyStoppingType", "Off") != "Off":
        raise ValidationError("TrainingJobEarlyStoppingType must be Off with the Hyperband strategy, which stops "
                              "under-performing training jobs itself.")
    for definition in definitions:
        low, high = hyperband_resources(config, definition)
        if low > high:
            raise ValidationError(f"HyperbandStrategyConfig.MinResource ({low}) must not be greater than "
                                  f"MaxResource ({high}).")
