"""The console's Flask blueprint: overview, job lists and details, live logs, metric series, stop.

Every view reads the control plane in process; the one action (stop) calls the backend's own Stop,
as the API does. :mod:`emulator.console.guard` runs before every view.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, stream_with_context, url_for

from emulator.console import glue_runs, graph, guard, neptune_ml, s3_browser
from emulator.console.kinds import JobKind, job_kinds, overview_counts
from emulator.console.listing import PAGE_SIZES, SORT_COLUMNS, ListRequest, list_page
from emulator.console.paths import PREFIX
from emulator.console.sources import LogCursor, MetricIndex, read_new_lines
from emulator.core.errors import ServiceError
from emulator.observability.metrics import compile_definitions
from emulator.services.glue.runs import ERROR_LOG_GROUP, OUTPUT_LOG_GROUP
from emulator.services.sagemaker import tuning_responses
from emulator.services.sagemaker.builtin_metrics import metric_definitions
from emulator.services.sagemaker.endpoints import endpoint_log_group
from emulator.services.sagemaker.plane import ControlPlane

#: how often a live log view looks for new lines, and sends a keep-alive comment when there are none
LOG_POLL_SECONDS = 0.3
LOG_KEEPALIVE_SECONDS = 10.0
#: a log stream is closed after this long (the browser's EventSource reconnects, resuming by its cursor)
LOG_STREAM_MAX_SECONDS = 600.0
#: the endpoint page shows this many of the serving containers' last log lines
SERVING_LOG_LINES = 200
#: how many training jobs one overlay compares
MAX_COMPARED = 12
#: an invocation's answer is shown up to this many characters
INVOKE_PREVIEW_CHARS = 20_000


def console_blueprint(control: ControlPlane, health_facts: Callable[[], dict[str, Any]],
                      glue: Any | None = None) -> Blueprint:
    """The console's pages.

    Args:
        control: the control plane the pages read and the actions call.
        health_facts: what ``/_mlharbor/health`` reports (runner, operations, graph).
        glue: Glue's backend, for its runs' counts (``None``: not shown).
    """
    blueprint = Blueprint("console", __name__, template_folder="templates", static_folder="static",
                          static_url_path=f"{PREFIX}/static")
    token = guard.new_token()
    kinds = job_kinds(control, glue)
    metric_index = MetricIndex()
    account, default_region = control.config["account_id"], control.config["region"]

    @blueprint.before_request
    def same_origin_and_token() -> Any:
        reason = guard.refusal(request.method, request.headers, request.form if request.method == "POST" else {},
                               token)
        if reason is not None:
            return render_template("error.html", message=reason, status=403), 403
        return None

    @blueprint.after_request
    def security_headers(response: Response) -> Response:
        for name, value in guard.SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @blueprint.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> tuple[str, int]:
        return render_template("error.html", message=f"{error.code}: {error.message}", status=error.status), \
            error.status

    blueprint.add_app_template_filter(isotime, "isotime")
    blueprint.add_app_template_filter(duration, "duration")

    @blueprint.context_processor
    def common() -> dict[str, Any]:
        return {"csrf_token": token, "kinds": kinds, "prefix": PREFIX,
                "kinds_by_title": {kind.title: kind for kind in kinds.values()}}

    @blueprint.get("/")
    @blueprint.get(f"{PREFIX}/")
    def overview() -> str:
        facts = health_facts()
        recent = sorted((row for kind in kinds.values() for row in ((kind, r) for r in kind.rows())),
                        key=lambda pair: pair[1].created, reverse=True)[:10]
        return render_template("overview.html", facts=facts, counts=overview_counts(control, glue), recent=recent)

    @blueprint.get(f"{PREFIX}/<slug>")
    def job_list(slug: str) -> str:
        kind = _kind(kinds, slug)
        asked = ListRequest.from_args(request.args)
        page = list_page(kind.records(), asked, kind.row)
        template = "_job_table.html" if request.args.get("partial") else "job_list.html"
        return render_template(template, kind=kind, page=page, asked=asked, statuses=kind.statuses,
                               sort_columns=SORT_COLUMNS, page_sizes=PAGE_SIZES)

    @blueprint.get(f"{PREFIX}/training-jobs/compare")
    def compare() -> str:
        """Every metric of several training jobs, overlaid: one chart per metric name, one series per job."""
        region = _region(default_region)
        names = [name for name in request.args.getlist("job") if name][:MAX_COMPARED]
        for name in names:
            control.training.describe_training_job(region, name)  # an unknown job: its error, not an empty chart
        return render_template("compare.html", names=names, region=region)

    @blueprint.get(f"{PREFIX}/<slug>/<name>")
    def job_detail(slug: str, name: str) -> str:
        kind = _kind(kinds, slug)
        region = _region(default_region)
        described = kind.describe(region, name)
        status = described[f"{kind.prefix}Status"]
        if slug == "endpoints":
            serving = read_new_lines(account, region, name, LogCursor(), group=endpoint_log_group(name),
                                     stream_prefix="")[-SERVING_LOG_LINES:]
            return render_template("endpoint_detail.html", kind=kind, name=name, region=region,
                                   described=described, status=status, serving_log=serving)
        if slug == "tuning-jobs":
            trials = tuning_trials(control, region, name)
            objectives = [trial.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value") for trial in trials]
            return render_template("tuning_detail.html", kind=kind, name=name, region=region, described=described,
                                   status=status, trials=trials, objectives=objectives)
        if slug == "glue-runs":
            run_id = glue_runs.split_run_name(name)[1]
            output = {group: read_new_lines(account, region, name, LogCursor(), group=group, stream_prefix=run_id)
                      for group in (OUTPUT_LOG_GROUP, ERROR_LOG_GROUP)}
            return render_template("glue_run_detail.html", kind=kind, name=name, region=region, described=described,
                                   status=status, output=output)
        if slug != "training-jobs":
            return render_template("job_detail.html", kind=kind, name=name, region=region, described=described,
                                   status=status)
        artifacts = control.artifacts.list(name, region=region, account=account)
        definitions = [d.name for d in compile_definitions(metric_definitions(described["AlgorithmSpecification"]))]
        return render_template("training_detail.html", kind=kind, name=name, region=region, job=described,
                               described=described,
                               status=status, artifacts=artifacts, metric_names=definitions)

    @blueprint.get(f"{PREFIX}/<slug>/<name>/status")
    def job_status(slug: str, name: str) -> Response:
        """The job's status line (polled by the detail page to update without a reload)."""
        kind = _kind(kinds, slug)
        region = _region(default_region)
        described = kind.describe(region, name)
        return Response(render_template("_status.html", kind=kind, described=described, name=name, region=region,
                                        status=described[f"{kind.prefix}Status"]))

    @blueprint.post(f"{PREFIX}/<slug>/<name>/stop")
    def stop(slug: str, name: str) -> Any:
        kind = _kind(kinds, slug)
        if kind.stop is None:
            abort(404)
        region = _region(default_region)
        kind.stop(region, name)
        return redirect(url_for("console.job_detail", slug=slug, name=name, region=region), code=303)

    @blueprint.errorhandler(graph.GraphUnavailable)
    def graph_unavailable(error: graph.GraphUnavailable) -> tuple[str, int]:
        return render_template("error.html", message=str(error), status=503), 503

    @blueprint.errorhandler(graph.GraphRefused)
    def graph_refused(error: graph.GraphRefused) -> tuple[str, int]:
        """A 4xx from the graph server (an unknown ML id) is that answer, not an unavailable server."""
        return render_template("error.html", message=error.message, status=error.status), error.status

    def graph_reader() -> graph.GraphReader:
        url = health_facts().get("graph")
        if not url:
            raise graph.GraphUnavailable("no graph server runs beside this edge")
        return graph.GraphReader(str(url))

    @blueprint.get(f"{PREFIX}/graph")
    def graph_overview() -> str:
        reader = graph_reader()
        vertices, edges = reader.label_counts()
        asked = {name: request.args.get(name, "").strip()[:1024] for name in ("id", "key", "value")}
        found = reader.search(asked["id"], asked["key"], asked["value"]) if any(asked.values()) else None
        return render_template("graph.html", vertex_counts=vertices, edge_counts=edges,
                               loader_jobs=reader.loader_jobs(), asked=asked, found=found,
                               limit=graph.DEFAULT_NEIGHBOURS, max_limit=graph.MAX_NEIGHBOURS)

    @blueprint.get(f"{PREFIX}/graph/explore")
    def graph_explore() -> str:
        vertex_id = request.args.get("id", "").strip()[:1024]
        if not vertex_id:
            abort(400)
        return render_template("graph_explore.html", vertex_id=vertex_id, limit=graph.bound(request.args.get("limit")),
                               max_limit=graph.MAX_NEIGHBOURS)

    @blueprint.get(f"{PREFIX}/graph/neighbours.json")
    def graph_neighbours() -> Response:
        """One click of the explorer: a vertex's edges, at most ``limit`` of them (bounded server-side)."""
        found = graph_reader().neighbourhood(request.args.get("id", "")[:1024], graph.bound(request.args.get("limit")))
        return Response(json.dumps(found), content_type="application/json")

    def sagemaker_lookup(slug: str, name: str) -> dict[str, Any] | None:
        """The console's Describe of a SageMaker resource behind an ML record (``None``: not here)."""
        try:
            return kinds[slug].describe(default_region, name)
        except (KeyError, ServiceError):
            return None

    def ml_reader() -> neptune_ml.NeptuneMlReader:
        return neptune_ml.NeptuneMlReader(graph_reader(), sagemaker_lookup)

    @blueprint.get(f"{PREFIX}/graph/ml")
    def graph_ml() -> str:
        return render_template("graph_ml.html", tables=ml_reader().every_kind(), titles=neptune_ml.TITLES,
                               shown=neptune_ml.RECORDS_SHOWN)

    @blueprint.get(f"{PREFIX}/graph/ml/<kind>/<ml_id>")
    def graph_ml_record(kind: str, ml_id: str) -> str:
        try:
            neptune_ml.ml_kind(kind)
        except LookupError:
            abort(404)
        record = ml_reader().record(kind, ml_id)
        return render_template("graph_ml_record.html", record=record, title=neptune_ml.TITLES[kind])

    @blueprint.get(f"{PREFIX}/s3")
    def s3_buckets() -> str:
        return render_template("s3_buckets.html", buckets=s3_browser.buckets(account))

    @blueprint.get(f"{PREFIX}/s3/<bucket>")
    def s3_level(bucket: str) -> str:
        prefix = request.args.get("prefix", "")
        page = ListRequest.from_args(request.args).page
        return render_template("s3_level.html", bucket=bucket, prefix=prefix,
                               level=s3_browser.level(account, bucket, prefix, page))

    @blueprint.get(f"{PREFIX}/s3/<bucket>/object")
    def s3_object(bucket: str) -> str:
        key_name = request.args.get("key", "")
        key = s3_browser.find_object(account, bucket, key_name)
        facts = s3_browser.metadata(key)
        kind = s3_browser.preview_kind(key_name, str(facts.get("content-type", "")))
        text, table = None, None
        if kind == "text":
            text = key.value[:s3_browser.PREVIEW_BYTES].decode("utf-8", errors="replace")
            text, table = s3_browser.shaped_preview(key_name, text, key.size <= s3_browser.PREVIEW_BYTES)
        return render_template("s3_object.html", bucket=bucket, key=key_name, facts=facts, kind=kind, text=text,
                               table=table, truncated=key.size > s3_browser.PREVIEW_BYTES)

    @blueprint.get(f"{PREFIX}/s3/<bucket>/download")
    def s3_download(bucket: str) -> Response:
        """The object's bytes: an attachment, or inline for a raster image's preview (never HTML or SVG)."""
        key_name = request.args.get("key", "")
        key = s3_browser.find_object(account, bucket, key_name)
        image = s3_browser.image_type(key_name) if request.args.get("inline") else None
        filename = key_name.rsplit("/", 1)[-1].replace('"', "") or "object"
        headers = {} if image else {"Content-Disposition": f'attachment; filename="{filename}"'}
        return Response(key.value, content_type=image or "application/octet-stream", headers=headers)

    @blueprint.post(f"{PREFIX}/training-jobs/<name>/interrupt")
    def interrupt(name: str) -> Any:
        """A managed-spot interruption, as ``mlharbor interrupt`` injects it."""
        region = _region(default_region)
        control.training.interrupt_training_job(region, name)
        return redirect(url_for("console.job_detail", slug="training-jobs", name=name, region=region), code=303)

    @blueprint.post(f"{PREFIX}/endpoints/<name>/invoke")
    def invoke(name: str) -> str:
        """InvokeEndpoint through the endpoint backend, as the runtime API calls it; the answer and its latency."""
        region = _region(default_region)
        body = request.form.get("body", "").encode()
        content_type = request.form.get("content_type") or "application/json"
        accept = request.form.get("accept") or None
        started = time.perf_counter()
        try:
            answer = control.endpoints.invoke_endpoint(region, name, body, content_type, accept)
        except ServiceError as error:
            return render_template("_invoke_result.html", error=f"{error.code}: {error.message}",
                                   seconds=time.perf_counter() - started)
        return render_template("_invoke_result.html", answer=answer, seconds=time.perf_counter() - started,
                               text=answer.body.decode("utf-8", errors="replace")[:INVOKE_PREVIEW_CHARS])

    @blueprint.get(f"{PREFIX}/training-jobs/<name>/metrics.json")
    def metrics(name: str) -> Response:
        region = _region(default_region)
        job = control.training.describe_training_job(region, name)
        try:
            after = float(request.args["after"]) if request.args.get("after") else None
        except ValueError:
            abort(400)
        series = metric_index.series(account, region, name, after)
        body = {"done": job.is_terminal,
                "metrics": {metric: {"t": [t for t, _ in points], "v": [v for _, v in points]}
                            for metric, points in sorted(series.items())}}
        return Response(json.dumps(body), content_type="application/json")

    @blueprint.get(f"{PREFIX}/training-jobs/<name>/logs")
    def logs(name: str) -> Response:
        """Server-sent events: the job's log lines as they arrive, then ``end`` once it has finished."""
        region = _region(default_region)
        control.training.describe_training_job(region, name)  # an unknown job: the error page, not a stream
        cursor = LogCursor.decode(request.headers.get("Last-Event-ID") or request.args.get("cursor"))
        events = _log_events(control, account, region, name, cursor)
        return Response(stream_with_context(events), content_type="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return blueprint


def tuning_trials(control: ControlPlane, region: str, name: str) -> list[dict[str, Any]]:
    """Every trial of a tuning job as ``ListTrainingJobsForHyperParameterTuningJob`` summarises it, oldest first."""
    job = control.tuning.describe_hyper_parameter_tuning_job(region, name)
    return [tuning_responses.trial_summary(job, trial, control.training.jobs.find((region, trial.training_job_name)))
            for trial in job.trials]


def _log_events(control: ControlPlane, account: str, region: str, name: str, cursor: LogCursor) -> Iterator[str]:
    started = last_sent = time.monotonic()
    yield "retry: 1000\n\n"
    while time.monotonic() - started < LOG_STREAM_MAX_SECONDS:
        finished = control.training.describe_training_job(region, name).is_terminal
        lines = read_new_lines(account, region, name, cursor)
        if lines:
            payload = json.dumps([{"t": line.timestamp_ms, "s": line.stream, "m": line.message} for line in lines])
            yield f"id: {cursor.encode()}\nevent: lines\ndata: {payload}\n\n"
            last_sent = time.monotonic()
        elif finished:
            # the shipper flushes a finished job's last lines before its status is final, so none are left
            yield "event: end\ndata: {}\n\n"
            return
        elif time.monotonic() - last_sent > LOG_KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"
            last_sent = time.monotonic()
        time.sleep(LOG_POLL_SECONDS)


def isotime(epoch: float) -> str:
    """Epoch seconds as UTC ISO 8601 to the second (what the API's timestamps mean)."""
    return datetime.datetime.fromtimestamp(float(epoch), datetime.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _kind(kinds: dict[str, JobKind], slug: str) -> JobKind:
    kind = kinds.get(slug)
    if kind is None:
        abort(404)
    return kind


def _region(default: str) -> str:
    region = request.args.get("region") or default
    if not region.replace("-", "").isalnum() or len(region) > 32:
        abort(400)
    return region
