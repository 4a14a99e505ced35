"""Glue operations on the wire: read the request members, call the backend, shape the output.

One method per operation mlharbor serves, named after it in snake_case
(:class:`emulator.core.awsjson.JsonDispatcher`); requests arrive validated against botocore's ``glue``
model. Shapes: https://docs.aws.amazon.com/glue/latest/webapi/API_Operations.html. Every other Glue
operation (the Data Catalog's databases, tables, partitions…) is moto's: :data:`SERVED_OPERATIONS` is the
edge's routing table.
"""

from __future__ import annotations

from typing import Any

from emulator.services.glue.backend import GlueBackend
from emulator.services.glue.crawler_responses import CRAWLER_OPERATIONS, CrawlerResponses
from emulator.services.glue.jobs import public

#: the Glue operations this module answers; the edge sends only these to us
SERVED_OPERATIONS = frozenset({
    "CreateJob", "GetJob", "GetJobs", "UpdateJob", "DeleteJob", "ListJobs", "BatchGetJobs",
    "StartJobRun", "GetJobRun", "GetJobRuns", "BatchStopJobRun", "GetJobBookmark", "ResetJobBookmark",
    "CreateConnection", "GetConnection", "GetConnections", "DeleteConnection",
}) | CRAWLER_OPERATIONS
_DEFAULT_PAGE = 100


class GlueResponses(CrawlerResponses):
    """The Glue job, run, bookmark and connection operations.

    Args:
        backend: Glue's state and runs.
    """

    def __init__(self, backend: GlueBackend) -> None:
        self.backend = backend

    # jobs ---------------------------------------------------------------------------------------------------

    def create_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"Name": self.backend.jobs.create(region, params)}

    def get_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"Job": public(self.backend.jobs.get(region, params["JobName"]))}

    def get_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        jobs, token = self.backend.jobs.page(region, params.get("MaxResults", _DEFAULT_PAGE), params.get("NextToken"))
        return _with_token({"Jobs": [public(job) for job in jobs]}, token)

    def list_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        jobs, token = self.backend.jobs.page(region, params.get("MaxResults", _DEFAULT_PAGE), params.get("NextToken"),
                                             params.get("Tags"))
        return _with_token({"JobNames": [job["Name"] for job in jobs]}, token)

    def batch_get_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        found, missing = [], []
        for name in params["JobNames"]:
            job = self.backend.jobs.find(region, name)
            if job is None:
                missing.append(name)
            else:
                found.append(public(job))
        return {"Jobs": found, "JobsNotFound": missing}

    def update_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"JobName": self.backend.jobs.update(region, params["JobName"], params["JobUpdate"])}

    def delete_job(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"JobName": self.backend.jobs.delete(region, params["JobName"])}

    # runs ---------------------------------------------------------------------------------------------------

    def start_job_run(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"JobRunId": self.backend.runs.start(region, params)}

    def get_job_run(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.backend.jobs.get(region, params["JobName"])
        return {"JobRun": self.backend.runs.get(region, params["JobName"], params["RunId"]).to_wire()}

    def get_job_runs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        runs, token = self.backend.runs.page(region, params["JobName"], params.get("MaxResults", _DEFAULT_PAGE),
                                             params.get("NextToken"))
        return _with_token({"JobRuns": [run.to_wire() for run in runs]}, token)

    def batch_stop_job_run(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        done, errors = self.backend.runs.stop(region, params["JobName"], params["JobRunIds"])
        return {"SuccessfulSubmissions": done, "Errors": errors}

    # bookmarks ----------------------------------------------------------------------------------------------

    def get_job_bookmark(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.backend.jobs.get(region, params["JobName"])
        return {"JobBookmarkEntry": self.backend.bookmarks.entry(region, params["JobName"])}

    def reset_job_bookmark(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.backend.jobs.get(region, params["JobName"])
        return {"JobBookmarkEntry": self.backend.bookmarks.reset(region, params["JobName"])}

    # connections --------------------------------------------------------------------------------------------

    def create_connection(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.backend.connections.create(region, params["ConnectionInput"])
        return {"CreateConnectionStatus": "READY"}

    def get_connection(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"Connection": self.backend.connections.get(region, params["Name"], params.get("HidePassword", False))}

    def get_connections(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        kind = (params.get("Filter") or {}).get("ConnectionType")
        connections, token = self.backend.connections.page(region, params.get("MaxResults", _DEFAULT_PAGE),
                                                           params.get("NextToken"), params.get("HidePassword", False),
                                                           kind)
        return _with_token({"ConnectionList": connections}, token)

    def delete_connection(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        self.backend.connections.delete(region, params["ConnectionName"])
        return {}


def _with_token(out: dict[str, Any], token: str | None) -> dict[str, Any]:
    if token:
        out["NextToken"] = token
    return out

