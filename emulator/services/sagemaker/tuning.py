"""Hyperparameter tuning jobs: create, describe, list, stop, and the tuner that runs each one.

Each trial is a real training job, created through :class:`TrainingJobBackend` as any other and
named as AWS names them (``<tuning-job>-<NNN>-<8 hex>``). One tuner thread looks at every running
tuning job a few times a second: it reads its trials' records, applies early stopping and the
completion criteria, and launches new trials while ``MaxParallelTrainingJobs`` allows. Records
live in the :class:`RecordStore` like training jobs, so after a restart the tuner carries on
from the trials it finds. Nothing here knows about HTTP.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
import threading
import time
import zlib
from typing import Any

from emulator.core.errors import ResourceLimitExceededError, ResourceNotFoundError, ValidationError
from emulator.core.paging import ListQuery, cut, paginate
from emulator.services.sagemaker.arns import sagemaker_arn
from emulator.services.sagemaker.caller import USER, Caller, confined_request
from emulator.services.sagemaker.records import TERMINAL_STATUSES, TrainingJob
from emulator.services.sagemaker.store import RecordStore
from emulator.services.sagemaker.table import RecordTable
from emulator.services.sagemaker.tags import TagBackend
from emulator.services.sagemaker.training import TrainingJobBackend, check_instance_quota, check_training_request
from emulator.services.sagemaker.tuning_records import (
    OBJECTIVE_FAILED,
    OBJECTIVE_SUCCEEDED,
    TUNING_COMPLETED,
    TUNING_FAILED,
    TUNING_IN_PROGRESS,
    TUNING_STOPPED,
    TUNING_STOPPING,
    Trial,
    TuningJob,
)
from emulator.services.sagemaker.tuning_rules import (
    best_trial,
    hyperband_stops,
    median_rule_stops,
    target_reached,
    trials_not_improving,
)
from emulator.services.sagemaker.tuning_space import SearchSpace
from emulator.services.sagemaker.tuning_strategies import Observation, strategy_for
from emulator.services.sagemaker.tuning_validation import (
    Definition,
    check_tuning_request,
    definitions_of,
    hyperband_resources,
    produced_metrics,
    trial_resources,
)

log = logging.getLogger(__name__)

KIND = "hyper-parameter-tuning-job"
TUNING_JOB_TAG = "sagemaker:tuning-job-name"
#: how often the tuner looks at its jobs
TICK_SECONDS = 0.1
#: the ``MaxNumberOfTrainingJobs`` of a job bounded only by time
UNBOUNDED_TRIALS = 10_000
#: the members of a training definition a trial's CreateTrainingJob takes unchanged
_TRIAL_MEMBERS = ("AlgorithmSpecification", "RoleArn", "InputDataConfig", "VpcConfig", "OutputDataConfig",
                  "ResourceConfig", "StoppingCondition", "EnableNetworkIsolation",
                  "EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining", "CheckpointConfig",
                  "RetryStrategy", "Environment")
_WARM_START_PARENTS = 5


def tuning_job_arn(region: str, account_id: str, name: str) -> str:
    return sagemaker_arn(region, account_id, "hyper-parameter-tuning-job", name)


class MetricTap:
    """Stands in for the metric shipper the training backend writes to: forwards every value, and hands it
    to ``listener`` too (the tuner reads its trials' intermediate objective values this way)."""

    def __init__(self, shipper: Any) -> None:
        self.shipper = shipper
        self.listener: Any = None

    def write(self, region: str, job_name: str, metric: str, value: float, when: float) -> None:
        if self.shipper is not None:
            self.shipper.write(region, job_name, metric, value, when)
        if self.listener is not None:
            self.listener(region, job_name, metric, value)

    def flush(self) -> None:
        if self.shipper is not None:
            self.shipper.flush()


class TuningJobBackend:
    """Every hyperparameter tuning job of one account, across regions.

    Args:
        account_id: the account the ARNs name.
        store: durable record store.
        training: where trials are created, stopped and read back.
        tags: where each trial's tags go (the tuning job's own, and AWS's ``sagemaker:tuning-job-name``).
        tick_seconds: how often the tuner looks at its jobs.
    """

    def __init__(self, account_id: str, store: RecordStore, training: TrainingJobBackend,
                 tags: TagBackend | None = None, tick_seconds: float = TICK_SECONDS) -> None:
        self.account_id = account_id
        self.training = training
        self.tags = tags
        self.tick_seconds = tick_seconds
        self.jobs: RecordTable[TuningJob] = RecordTable(store, KIND, TuningJob.from_dict)
        self._lock = self.jobs.lock
        # metric values arrive under the training backend's lock: they take only this one, never ours
        self._metric_lock = threading.Lock()
        #: (region, training job name) → (tuning job name, objective metric, trial) of every trial
        self._trials: dict[tuple[str, str], tuple[str, str, Trial]] = {}
        #: the last record each tick wrote, by (region, name), less its LastModifiedTime
        self._snapshots: dict[tuple[str, str], str] = {}
        for job in self.jobs.all():
            self._index(job)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- API operations -------------------------------------------------------------
    def create_hyper_parameter_tuning_job(self, region: str, request: dict[str, Any],
                                          caller: Caller = USER) -> TuningJob:
        """CreateHyperParameterTuningJob: validate, record InProgress; the tuner launches the trials.

        Raises:
            ValidationError: a constraint beyond the service model failed, or a warm-start parent is unknown
                or still running.
            ResourceInUseError: a tuning job with that name exists in the region.
        """
        request = _confined(caller, request)
        check_tuning_request(request, lambda definition: self._check_trial(region, request, definition))
        self._check_warm_start(region, request)
        name = request["HyperParameterTuningJobName"]
        now = time.time()
        job = TuningJob(name=name, arn=tuning_job_arn(region, self.account_id, name), region=region,
                        request=request, creation_time=now, last_modified_time=now, started_at=now)
        self.jobs.add(job, "Hyperparameter tuning job names must be unique within an AWS account and region, and a "
                           "tuning job with this name already exists")
        return job

    def describe_hyper_parameter_tuning_job(self, region: str, name: str) -> TuningJob:
        """Raises: ResourceNotFoundError: no such tuning job (the error this operation's model declares)."""
        return self._get(region, name)

    def _get(self, region: str, name: str) -> TuningJob:
        job = self.jobs.find((region, name))
        if job is None:
            raise ResourceNotFoundError(f"Amazon SageMaker can't find a tuning job with name {name}")
        return job

    def list_hyper_parameter_tuning_jobs(self, region: str, query: ListQuery) -> tuple[list[TuningJob], str | None]:
        return paginate(self.jobs.in_region(region), query)

    def stop_hyper_parameter_tuning_job(self, region: str, name: str) -> None:
        """StopHyperParameterTuningJob: Stopping now; Stopped once every running trial stopped.

        Raises:
            ValidationError: unknown tuning job, or one that already ended.
        """
        with self._lock:
            job = self._get(region, name)
            if job.status == TUNING_STOPPING:
                return
            if job.is_terminal:
                raise ValidationError(f"The request was rejected because the hyperparameter tuning job is in "
                                      f"status {job.status}.")
            job.status = TUNING_STOPPING
            job.last_modified_time = time.time()
            self.jobs.save(job)
        self._stop_running(job)

    def list_training_jobs_for_tuning_job(self, region: str, name: str, status: str | None, sort_by: str,
                                          descending: bool, max_results: int,
                                          next_token: str | None) -> tuple[list[tuple[Trial, TrainingJob]], str | None]:
        """ListTrainingJobsForHyperParameterTuningJob: the trials with their training jobs, one page."""
        job = self._get(region, name)
        with self._lock:
            pairs = [(trial, self.training.jobs.find((region, trial.training_job_name))) for trial in job.trials]
        chosen = [(t, j) for t, j in pairs if j is not None and (status is None or j.status == status)]
        keys: dict[str, Any] = {
            "Name": lambda pair: pair[1].name,
            "CreationTime": lambda pair: pair[1].creation_time,
            "Status": lambda pair: (pair[1].status, pair[1].creation_time),
            "FinalObjectiveMetricValue": lambda pair: pair[0].objective,
        }
        if sort_by == "FinalObjectiveMetricValue":  # jobs without an objective value are not listed
            chosen = [pair for pair in chosen if pair[0].objective is not None]
        chosen.sort(key=keys[sort_by], reverse=descending)
        return cut(chosen, max_results, next_token, f"{job.arn}|{status}|{sort_by}|{descending}")

    def tuning_job_arn_of(self, region: str, training_job_name: str) -> str | None:
        """The ``TuningJobArn`` of a training job that is a trial, else ``None``."""
        with self._metric_lock:
            found = self._trials.get((region, training_job_name))
        return None if found is None else tuning_job_arn(region, self.account_id, found[0])

    # -- the tuner --------------------------------------------------------------------
    def start(self) -> None:
        """Start the tuner; running tuning jobs (a restart's included) carry on from their trials."""
        with self._lock:
            for job in self.jobs.all():
                if not job.is_terminal:
                    job.started_at = time.time()
                    self.jobs.save(job)
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="tuner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    def on_metric(self, region: str, job_name: str, metric: str, value: float) -> None:
        """A metric value a training job reported: the trials' objective values are their history."""
        with self._metric_lock:
            found = self._trials.get((region, job_name))
            if found is not None and found[1] == metric:
                found[2].history.append(value)

    def _loop(self) -> None:
        while not self._stop.wait(self.tick_seconds):
            for job in self.jobs.all():
                if job.is_terminal:
                    continue
                try:
                    self.tick(job)
                except Exception:  # one tuning job's bug must not end the tuner for all
                    log.exception("tuner failed on %s", job.name)

    def tick(self, job: TuningJob) -> None:
        """One look at one tuning job: refresh its trials, stop early, finish or launch."""
        definitions = definitions_of(job.request)
        minimize = definitions[0].minimize
        with self._lock:
            self._refresh(job, definitions)
            running = [trial for trial in job.trials if not trial.finished]
            if job.status == TUNING_IN_PROGRESS:
                reason = self._completion_reason(job, minimize)
                if reason is not None:
                    job.completion_reason = reason
            stop_all = job.status == TUNING_STOPPING or job.completion_reason is not None
            with self._metric_lock:  # the histories grow while the rules read them
                early = [] if stop_all else self._early_stops(job, definitions, running, minimize)
            launches = 0 if stop_all else self._launch_count(job, running)
            if not running and (stop_all or launches == 0):
                self._end(job)
            job.not_improving = trials_not_improving(job.trials, minimize)
            self._save_if_changed(job)
        for trial in early:
            self._stop_trial(job, trial)
        if stop_all:
            self._stop_running(job)
        for _ in range(launches):
            self._launch(job, definitions)

    def _refresh(self, job: TuningJob, definitions: list[Definition]) -> None:
        by_name = {definition.name: definition for definition in definitions}
        for trial in job.trials:
            if trial.finished:
                continue
            record = self.training.jobs.find((job.region, trial.training_job_name))
            if record is None:
                continue
            trial.status = record.status
            if record.status not in TERMINAL_STATUSES:
                continue
            metric = by_name[trial.definition_name].metric
            final = [entry["Value"] for entry in record.final_metrics if entry["MetricName"] == metric]
            value = final[-1] if final else (trial.history[-1] if trial.history else None)
            usable = record.status == "Completed" or (record.status == "Stopped" and trial.early_stopped)
            if usable and value is not None:
                trial.objective, trial.objective_status = float(value), OBJECTIVE_SUCCEEDED
            else:
                trial.objective_status = OBJECTIVE_FAILED

    def _completion_reason(self, job: TuningJob, minimize: bool) -> str | None:
        limits = job.config["ResourceLimits"]
        criteria = job.config.get("TuningJobCompletionCriteria") or {}
        best = best_trial(job.trials, minimize)
        if target_reached(best, criteria.get("TargetObjectiveMetricValue"), minimize):
            return "TargetObjectiveMetricValue reached"
        patience = (criteria.get("BestObjectiveNotImproving") or {}).get("MaxNumberOfTrainingJobsNotImproving")
        if patience is not None and trials_not_improving(job.trials, minimize) >= patience:
            return "BestObjectiveNotImproving"
        if limits.get("MaxRuntimeInSeconds") is not None and consumed_seconds(job) >= limits["MaxRuntimeInSeconds"]:
            return "MaxRuntimeInSeconds reached"
        return None

    def _early_stops(self, job: TuningJob, definitions: list[Definition], running: list[Trial],
                     minimize: bool) -> list[Trial]:
        strategy = job.config["Strategy"]
        auto = job.config.get("TrainingJobEarlyStoppingType") == "Auto"
        chosen = []
        for trial in running:
            if trial.early_stopped or trial.status != "InProgress":
                continue
            if strategy == "Hyperband":
                definition = next(d for d in definitions if d.name == trial.definition_name)
                low, high = hyperband_resources(job.config, definition)
                others = [other for other in job.trials if other is not trial]
                stops = hyperband_stops(trial, others, minimize, low, high)
            elif auto:
                finished = [other for other in job.trials if other.objective_status == OBJECTIVE_SUCCEEDED]
                stops = median_rule_stops(trial, finished, minimize)
            else:
                stops = False
            if stops:
                trial.early_stopped = True
                chosen.append(trial)
        return chosen

    def _launch_count(self, job: TuningJob, running: list[Trial]) -> int:
        limits = job.config["ResourceLimits"]
        most = self._max_trials(job)
        return max(0, min(limits["MaxParallelTrainingJobs"] - len(running), most - len(job.trials)))

    def _max_trials(self, job: TuningJob) -> int:
        most = job.config["ResourceLimits"].get("MaxNumberOfTrainingJobs")
        if job.config["Strategy"] == "Grid":
            grid = sum(SearchSpace(d.ranges).grid_size() for d in definitions_of(job.request))
            return grid if most is None else min(most, grid)
        return UNBOUNDED_TRIALS if most is None else int(most)

    def _end(self, job: TuningJob) -> None:
        now = time.time()
        if job.status == TUNING_STOPPING:
            job.status = TUNING_STOPPED
        elif job.trials and all(trial.objective_status == OBJECTIVE_FAILED for trial in job.trials):
            job.status = TUNING_FAILED
            job.failure_reason = "All training jobs failed. See the FailureReason of each training job."
        else:
            job.status = TUNING_COMPLETED
        if job.started_at is not None:
            job.runtime_seconds += now - job.started_at
            job.started_at = None
        job.end_time = now

    def _launch(self, job: TuningJob, definitions: list[Definition]) -> None:
        with self._lock:
            if job.status != TUNING_IN_PROGRESS or job.completion_reason is not None:
                return
            number = len(job.trials) + 1
            definition, place = self._definition_for(job, definitions, number)
            tuned = self._suggest(job, definition, number, place)
            if tuned is None:  # the grid is exhausted
                return
            name = f"{job.name}-{number:03d}-{secrets.token_hex(4)}"
            trial = Trial(number=number, training_job_name=name, definition_name=definition.name, tuned=tuned)
            job.trials.append(trial)
            with self._metric_lock:
                self._trials[(job.region, name)] = (job.name, definition.metric, trial)
            self.jobs.save(job)
        request = trial_request(job, definition, name, tuned)
        try:
            created = self.training.create_training_job(job.region, request)
            if self.tags is not None:
                self.tags.add(created.arn, request["Tags"])
        except (ValidationError, ResourceLimitExceededError) as error:
            # checked at Create, so only a changed machine (a lowered quota) gets here: the trial fails, counted
            with self._lock:
                trial.status, trial.objective_status = "Failed", OBJECTIVE_FAILED
                self.jobs.save(job)
            log.warning("tuning job %s could not launch %s: %s", job.name, name, error)

    @staticmethod
    def _definition_for(job: TuningJob, definitions: list[Definition], number: int) -> tuple[Definition, int]:
        """The definition trial ``number`` runs, and the trial's place among that definition's trials.

        Definitions take turns; the grid walks each one's combinations, one definition after the other.
        """
        if job.config["Strategy"] == "Grid":
            for definition in definitions:
                size = SearchSpace(definition.ranges).grid_size()
                if number <= size:
                    return definition, number
                number -= size
            return definitions[-1], number + SearchSpace(definitions[-1].ranges).grid_size()
        return definitions[(number - 1) % len(definitions)], number

    def _suggest(self, job: TuningJob, definition: Definition, number: int, place: int) -> dict[str, str] | None:
        space = SearchSpace(definition.ranges)
        strategy = strategy_for(job.config["Strategy"], definition.minimize, _seed(job), self._max_trials(job))
        if job.config["Strategy"] == "Grid":
            return strategy.suggest(space, [], place)
        history = self._parent_observations(job, definition)
        history += [Observation(t.tuned, t.objective if t.objective_status == OBJECTIVE_SUCCEEDED else None)
                    for t in job.trials if t.finished and t.definition_name == definition.name]
        return strategy.suggest(space, history, number)

    def _parent_observations(self, job: TuningJob, definition: Definition) -> list[Observation]:
        """WarmStartConfig: the parents' scored trials seed the strategy."""
        warm = job.request.get("WarmStartConfig")
        if not warm:
            return []
        out = []
        for parent_ref in warm["ParentHyperParameterTuningJobs"]:
            parent = self.jobs.find((job.region, parent_ref["HyperParameterTuningJobName"]))
            if parent is None:
                continue
            out += [Observation(t.tuned, t.objective) for t in parent.trials
                    if t.objective_status == OBJECTIVE_SUCCEEDED and t.objective is not None]
        return out

    def _stop_trial(self, job: TuningJob, trial: Trial) -> None:
        with contextlib.suppress(ValidationError):  # it ended meanwhile
            self.training.stop_training_job(job.region, trial.training_job_name)

    def _stop_running(self, job: TuningJob) -> None:
        with self._lock:
            running = [trial for trial in job.trials if not trial.finished]
        for trial in running:
            record = self.training.jobs.find((job.region, trial.training_job_name))
            if record is not None and record.status == "InProgress":
                self._stop_trial(job, trial)

    # -- internals ----------------------------------------------------------------------
    def _save_if_changed(self, job: TuningJob) -> None:
        """Write the record (and move LastModifiedTime) only when a tick changed it: most ticks change nothing."""
        with self._metric_lock:
            document = job.to_dict()
        document.pop("last_modified_time")
        snapshot = json.dumps(document, sort_keys=True)
        if self._snapshots.get((job.region, job.name)) != snapshot:
            self._snapshots[(job.region, job.name)] = snapshot
            job.last_modified_time = time.time()
            self.jobs.save(job)

    def _check_trial(self, region: str, request: dict[str, Any], definition: Definition) -> None:
        probe = trial_request_from(request, definition, f"{request['HyperParameterTuningJobName']}-001-00000000",
                                   {r.name: "0" for r in definition.ranges})
        check_training_request(probe)
        check_instance_quota(probe["ResourceConfig"], self.training.settings.max_instance_count,
                             "training job usage")

    def _check_warm_start(self, region: str, request: dict[str, Any]) -> None:
        warm = request.get("WarmStartConfig")
        if not warm:
            return
        parents = warm["ParentHyperParameterTuningJobs"]
        if len(parents) > _WARM_START_PARENTS:
            raise ValidationError(f"WarmStartConfig takes at most {_WARM_START_PARENTS} parent tuning jobs.")
        for parent_ref in parents:
            name = parent_ref["HyperParameterTuningJobName"]
            parent = self.jobs.find((region, name))
            if parent is None:
                raise ValidationError(f"The parent hyperparameter tuning job {name} does not exist.")
            if not parent.is_terminal:
                raise ValidationError(f"The parent hyperparameter tuning job {name} is in status {parent.status}; "
                                      "a parent must have ended (Completed, Stopped or Failed).")
            if warm["WarmStartType"] == "IdenticalDataAndAlgorithm":
                mine = [d.request["AlgorithmSpecification"]["TrainingImage"] for d in definitions_of(request)]
                theirs = [d.request["AlgorithmSpecification"]["TrainingImage"] for d in definitions_of(parent.request)]
                if mine != theirs:
                    raise ValidationError(f"WarmStartType IdenticalDataAndAlgorithm requires the training image of "
                                          f"the parent tuning job {name}.")

    def _index(self, job: TuningJob) -> None:
        metrics = {d.name: d.metric for d in definitions_of(job.request)}
        for trial in job.trials:
            self._trials[(job.region, trial.training_job_name)] = (job.name, metrics[trial.definition_name], trial)


def consumed_seconds(job: TuningJob, now: float | None = None) -> float:
    """``ConsumedResources.RuntimeInSeconds``: the running time across control-plane restarts."""
    running = 0.0 if job.started_at is None else (now or time.time()) - job.started_at
    return job.runtime_seconds + running


def trial_request(job: TuningJob, definition: Definition, name: str, tuned: dict[str, str]) -> dict[str, Any]:
    """The CreateTrainingJob request of one trial (its job's tags plus AWS's tuning tag)."""
    return trial_request_from(job.request, definition, name, tuned)


def trial_request_from(request: dict[str, Any], definition: Definition, name: str,
                       tuned: dict[str, str]) -> dict[str, Any]:
    source = definition.request
    out: dict[str, Any] = {member: source[member] for member in _TRIAL_MEMBERS if member in source}
    out["TrainingJobName"] = name
    out["AlgorithmSpecification"] = {**source["AlgorithmSpecification"],
                                     "MetricDefinitions": produced_metrics(source)}
    out["ResourceConfig"] = trial_resources(source)
    out["HyperParameters"] = {**(source.get("StaticHyperParameters") or {}), **tuned}
    out["Tags"] = [*(request.get("Tags") or []),
                   {"Key": TUNING_JOB_TAG, "Value": request["HyperParameterTuningJobName"]}]
    return out


def _seed(job: TuningJob) -> int:
    seed = job.config.get("RandomSeed")
    return int(seed) if seed is not None else zlib.crc32(job.name.encode())


def _confined(caller: Caller, request: dict[str, Any]) -> dict[str, Any]:
    """Each training definition's ``Environment`` confined to the caller's runner (see :mod:`caller`)."""
    if not caller.from_job:
        return request
    out = dict(request)
    if request.get("TrainingJobDefinition") is not None:
        out["TrainingJobDefinition"] = confined_request(caller, request["TrainingJobDefinition"])
    if request.get("TrainingJobDefinitions") is not None:
        out["TrainingJobDefinitions"] = [confined_request(caller, d) for d in request["TrainingJobDefinitions"]]
    return out
