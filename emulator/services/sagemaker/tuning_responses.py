"""The hyperparameter tuning operations on the wire: read the request members, call the tuning backend,
shape the output (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeHyperParameterTuningJob.html).

A mixin of :class:`emulator.services.sagemaker.responses.SageMakerResponses`, which gives it
``tuning``, ``training``, ``caller`` and ``_tag``.
"""

from __future__ import annotations

from typing import Any

from emulator.core.errors import NotImplementedOperationError
from emulator.core.paging import list_query, page
from emulator.services.sagemaker.records import TrainingJob
from emulator.services.sagemaker.tuning import TuningJobBackend, consumed_seconds
from emulator.services.sagemaker.tuning_records import Trial, TuningJob
from emulator.services.sagemaker.tuning_rules import best_trial
from emulator.services.sagemaker.tuning_validation import definitions_of

_ECHOED = ("HyperParameterTuningJobConfig", "TrainingJobDefinition", "TrainingJobDefinitions", "WarmStartConfig",
           "Autotune")


class TuningResponses:
    """CreateHyperParameterTuningJob and its family."""

    tuning: TuningJobBackend | None
    caller: Any
    _tag: Any  # SageMakerResponses': tags the new resource from the request's Tags

    def _tuning(self) -> TuningJobBackend:
        if self.tuning is None:
            raise NotImplementedOperationError("Hyperparameter tuning is not served by this control plane.")
        return self.tuning

    def create_hyper_parameter_tuning_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        job = self._tuning().create_hyper_parameter_tuning_job(region, params, caller=self.caller)
        self._tag(job.arn, params)
        return {"HyperParameterTuningJobArn": job.arn}

    def describe_hyper_parameter_tuning_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        tuning = self._tuning()
        job = tuning.describe_hyper_parameter_tuning_job(region, params["HyperParameterTuningJobName"])
        return describe_tuning_job_output(job, lambda name: tuning.training.jobs.find((region, name)), tuning)

    def list_hyper_parameter_tuning_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        tuning = self._tuning()
        query = list_query({"SortBy": "Name", "SortOrder": "Ascending", **params})
        jobs, token = tuning.list_hyper_parameter_tuning_jobs(region, query)
        summaries = [tuning_job_summary(job, lambda name: tuning.training.jobs.find((region, name))) for job in jobs]
        return page("HyperParameterTuningJobSummaries", summaries, token)

    def stop_hyper_parameter_tuning_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self._tuning().stop_hyper_parameter_tuning_job(region, params["HyperParameterTuningJobName"])
        return {}

    def list_training_jobs_for_hyper_parameter_tuning_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        tuning = self._tuning()
        name = params["HyperParameterTuningJobName"]
        pairs, token = tuning.list_training_jobs_for_tuning_job(
            region, name, params.get("StatusEquals"), params.get("SortBy", "Name"),
            params.get("SortOrder", "Ascending") == "Descending", params.get("MaxResults", 10), params.get("NextToken"))
        job = tuning.describe_hyper_parameter_tuning_job(region, name)
        return page("TrainingJobSummaries", [trial_summary(job, trial, record) for trial, record in pairs], token)


def _counters(job: TuningJob, find: Any) -> tuple[dict[str, int], dict[str, int]]:
    """``TrainingJobStatusCounters`` and ``ObjectiveStatusCounters`` over the trials."""
    status = {"Completed": 0, "InProgress": 0, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
    for trial in job.trials:
        objective[trial.objective_status] += 1
        if trial.status in ("InProgress", "Stopping"):
            status["InProgress"] += 1
        elif trial.status == "Failed":
            record = find(trial.training_job_name)
            reason = (record.failure_reason if record is not None else None) or ""
            # our own failures (a retryable kind on AWS) against the algorithm's or the request's
            status["RetryableError" if reason.startswith("InternalServerError") else "NonRetryableError"] += 1
        else:
            status[trial.status] += 1
    return status, objective


def trial_summary(job: TuningJob, trial: Trial, record: TrainingJob | None) -> dict[str, Any]:
    """A ``HyperParameterTrainingJobSummary``."""
    out: dict[str, Any] = {
        "TrainingJobName": trial.training_job_name,
        "TrainingJobArn": record.arn if record is not None else "",
        "TuningJobName": job.name,
        "CreationTime": record.creation_time if record is not None else job.creation_time,
        "TrainingJobStatus": trial.status,
        "TunedHyperParameters": trial.tuned,
        "ObjectiveStatus": trial.objective_status,
    }
    if trial.definition_name is not None:
        out["TrainingJobDefinitionName"] = trial.definition_name
    if record is not None:
        for member, value in (("TrainingStartTime", record.training_start_time),
                              ("TrainingEndTime", record.training_end_time),
                              ("FailureReason", record.failure_reason)):
            if value is not None:
                out[member] = value
    if trial.objective is not None:
        definition = next(d for d in definitions_of(job.request) if d.name == trial.definition_name)
        out["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": "Minimize" if definition.minimize else "Maximize",
            "MetricName": definition.metric,
            "Value": trial.objective,
        }
    return out


def tuning_job_summary(job: TuningJob, find: Any) -> dict[str, Any]:
    status, objective = _counters(job, find)
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobStatus": job.status,
        "Strategy": job.config["Strategy"],
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingJobStatusCounters": status,
        "ObjectiveStatusCounters": objective,
        "ResourceLimits": job.config["ResourceLimits"],
    }
    if job.end_time is not None:
        out["HyperParameterTuningEndTime"] = job.end_time
    return out


def describe_tuning_job_output(job: TuningJob, find: Any, tuning: TuningJobBackend) -> dict[str, Any]:
    status, objective = _counters(job, find)
    out: dict[str, Any] = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": job.arn,
        "HyperParameterTuningJobStatus": job.status,
        "CreationTime": job.creation_time,
        "LastModifiedTime": job.last_modified_time,
        "TrainingJobStatusCounters": status,
        "ObjectiveStatusCounters": objective,
        "TuningJobCompletionDetails": {"NumberOfTrainingJobsObjectiveNotImproving": job.not_improving},
        "ConsumedResources": {"RuntimeInSeconds": int(consumed_seconds(job, job.end_time))},
    }
    out.update({member: job.request[member] for member in _ECHOED if member in job.request})
    if job.end_time is not None:
        out["HyperParameterTuningEndTime"] = job.end_time
    if job.failure_reason:
        out["FailureReason"] = job.failure_reason
    minimize = definitions_of(job.request)[0].minimize
    best = best_trial(job.trials, minimize)
    if best is not None:
        out["BestTrainingJob"] = trial_summary(job, best, find(best.training_job_name))
    if job.request.get("WarmStartConfig"):
        overall = _overall_best(job, tuning, minimize)
        if overall is not None:
            owner, trial = overall
            out["OverallBestTrainingJob"] = trial_summary(owner, trial, find(trial.training_job_name))
    return out


def _overall_best(job: TuningJob, tuning: TuningJobBackend, minimize: bool) -> tuple[TuningJob, Trial] | None:
    """The best trial of this job and its warm-start parents."""
    owners = [job] + [parent for ref in job.request["WarmStartConfig"]["ParentHyperParameterTuningJobs"]
                      if (parent := tuning.jobs.find((job.region, ref["HyperParameterTuningJobName"]))) is not None]
    candidates = [(owner, trial) for owner in owners for trial in owner.trials]
    best = best_trial([trial for _, trial in candidates], minimize)
    return next(((owner, trial) for owner, trial in candidates if trial is best), None) if best else None

