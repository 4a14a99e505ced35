"""Hyperparameter tuning benchmarks, side by side in one run.

1. Tuner overhead: a tuning job of N trials (12 by default) with MaxParallelTrainingJobs 2 beside N
   training jobs of the same script and code upload (a job's run time does not depend on the tuned value)
   run directly two at a time by a client polling every 50 ms, on one ``mlharbor up`` (process runner),
   measured before and after the tuning job. The ratio is the tuner's overhead; target <= 1.10.
2. Bayesian against Random: trials needed to come within 1% of the best value of a cheap synthetic
   objective (a smooth 3-parameter "accuracy" with a log-scaled learning rate, best value 0.95), median over
   5 seeds. This part runs the strategies' own code (:mod:`emulator.services.sagemaker.tuning_strategies`,
   optuna's TPE and random samplers) on that function directly, not through training jobs, so it measures
   the search, not job start-up.

``python bench/tuning_bench.py --small`` runs 4 trials and 3 seeds.
"""

from __future__ import annotations

import copy
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator.services.sagemaker.tuning_space import SearchSpace, parse_ranges  # noqa: E402
from emulator.services.sagemaker.tuning_strategies import Observation, strategy_for  # noqa: E402
from emulator.testing import ROLE, script_job, start_harbor, unique_name  # noqa: E402

#: a trial's work: parse its hyperparameters, "train" for a moment, print the objective
SCRIPT = """
import sys, time
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
x = float(args["--offset"])
time.sleep(float(args.get("--work", "1")))
print(f"objective={(x - 0.3) ** 2:.6f}", flush=True)
"""
METRICS = [{"Name": "objective", "Regex": r"objective=([0-9.eE+-]+)"}]
TERMINAL = ("Completed", "Failed", "Stopped")
BEST_VALUE = 0.95
BUDGET = 100


def wait_all(sagemaker: Any, names: list[str]) -> None:
    pending = set(names)
    while pending:
        for name in list(pending):
            if sagemaker.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in TERMINAL:
                pending.discard(name)
        time.sleep(0.05)


def direct_jobs(sagemaker: Any, template: dict[str, Any], values: list[str]) -> float:
    """The same jobs, two at a time, by a client: the time from the first create to the last end."""
    requests = []
    for x in values:
        request = copy.deepcopy(template)
        request["TrainingJobName"] = unique_name("bench")
        request["HyperParameters"]["offset"] = x
        request["AlgorithmSpecification"]["MetricDefinitions"] = METRICS
        requests.append(request)
    started = time.perf_counter()
    running: list[str] = []
    for request in requests:
        while len(running) >= 2:
            running = [n for n in running
                       if sagemaker.describe_training_job(TrainingJobName=n)["TrainingJobStatus"] not in TERMINAL]
            time.sleep(0.05)
        sagemaker.create_training_job(**request)
        running.append(request["TrainingJobName"])
    wait_all(sagemaker, running)
    return time.perf_counter() - started


def tuning_job(sagemaker: Any, template: dict[str, Any], trials: int) -> tuple[float, list[str]]:
    """A Random tuning job of ``trials`` trials, two in parallel: its wall time and the values it tried."""
    definition = {member: template[member] for member in ("RoleArn", "OutputDataConfig", "ResourceConfig",
                                                          "StoppingCondition")}
    definition["AlgorithmSpecification"] = {**template["AlgorithmSpecification"], "MetricDefinitions": METRICS}
    definition["StaticHyperParameters"] = template["HyperParameters"]
    definition["RoleArn"] = ROLE
    name = f"bench-{int(time.time())}"
    started = time.perf_counter()
    sagemaker.create_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name,
        HyperParameterTuningJobConfig={
            "Strategy": "Random", "HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "objective"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": trials, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": {"ContinuousParameterRanges": [{"Name": "offset", "MinValue": "0", "MaxValue": "1"}]}},
        TrainingJobDefinition=definition)
    while True:
        described = sagemaker.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
        if described["HyperParameterTuningJobStatus"] in TERMINAL:
            break
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    if described["TrainingJobStatusCounters"]["Completed"] != trials:
        raise SystemExit(f"tuning job ended with {described['TrainingJobStatusCounters']}")
    summaries = sagemaker.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name, MaxResults=100)["TrainingJobSummaries"]
    return elapsed, [summary["TunedHyperParameters"]["offset"] for summary in summaries]


def overhead(trials: int, work: str) -> None:
    with tempfile.TemporaryDirectory() as directory:
        harbor = start_harbor(Path(directory), "--max-concurrent-jobs", "4")
        try:
            sagemaker, s3 = harbor.client("sagemaker"), harbor.client("s3")
            s3.create_bucket(Bucket="bench-tuning")
            # one script upload for every job, so the two sides download the same code
            template = script_job(s3, "bench-tuning", SCRIPT, HyperParameters={"work": work})
            direct_jobs(sagemaker, template, ["0.5"])  # warm-up: the first job pays the imports
            # direct before and after the tuning job: the machine's load drifts (other work shares the cores)
            values = [str(0.1 * n) for n in range(trials)]
            before = direct_jobs(sagemaker, template, values)
            tuned, _ = tuning_job(sagemaker, template, trials)
            after = direct_jobs(sagemaker, template, values)
        finally:
            harbor.kill()
    direct = (before + after) / 2
    print(f"tuner overhead: {trials} trials, 2 in parallel, {work} s of work each")
    print(f"  tuning job     {tuned:7.2f} s")
    print(f"  direct jobs    {direct:7.2f} s   (before {before:.2f} s, after {after:.2f} s)")
    print(f"  ratio          {tuned / direct:7.3f}   (target <= 1.10)")


SPACE = SearchSpace(tuple(parse_ranges({
    "ContinuousParameterRanges": [{"Name": "lr", "MinValue": "0.00001", "MaxValue": "1", "ScalingType": "Logarithmic"},
                                  {"Name": "dropout", "MinValue": "0", "MaxValue": "0.9"}],
    "IntegerParameterRanges": [{"Name": "width", "MinValue": "8", "MaxValue": "512", "ScalingType": "Logarithmic"}],
})))


def accuracy(tuned: dict[str, str]) -> float:
    """A smooth stand-in for validation accuracy: best (0.95) at lr 3e-3, dropout 0.2, width 128."""
    lr, dropout, width = float(tuned["lr"]), float(tuned["dropout"]), int(tuned["width"])
    distance = ((math.log10(lr) + 2.5) / 2) ** 2 + ((dropout - 0.2) / 0.5) ** 2 + (math.log2(width / 128) / 3) ** 2
    return BEST_VALUE - 0.3 * distance


def trials_to_reach(strategy_name: str, seed: int) -> int:
    """Trials until one scores within 1% of the best value (``BUDGET + 1`` if none did)."""
    strategy = strategy_for(strategy_name, minimize=False, seed=seed, max_trials=BUDGET)
    history: list[Observation] = []
    for number in range(1, BUDGET + 1):
        tuned = strategy.suggest(SPACE, history, number)
        assert tuned is not None
        value = accuracy(tuned)
        if value >= BEST_VALUE * 0.99:
            return number
        history.append(Observation(tuned, value))
    return BUDGET + 1


def search(seeds: int) -> None:
    results = {name: [trials_to_reach(name, seed) for seed in range(seeds)] for name in ("Bayesian", "Random")}
    print(f"Bayesian against Random: trials to come within 1% of the best value (budget {BUDGET}, "
          f"{seeds} seeds; synthetic objective through the strategies' own code)")
    for name, counts in results.items():
        print(f"  {name:9} median {statistics.median(counts):5.1f}   per seed {counts}")
    ratio = statistics.median(results["Random"]) / statistics.median(results["Bayesian"])
    print(f"  Random / Bayesian  {ratio:5.2f}x")


def main() -> int:
    small = "--small" in sys.argv
    overhead(trials=4 if small else 12, work="0.5" if small else "1")
    print()
    search(seeds=3 if small else 5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
