"""moto's CloudWatch Logs and CloudWatch backends, made durable: every change is written through
to an :class:`~emulator.observability.durable_store.ObservabilityStore` and loaded back at start.

Why at the backend and not at the HTTP edge (as the S3 journal is): CloudWatch speaks three
wire protocols (CBOR, JSON, query) and job logs come from our own shipper as well as from
users' clients; below moto's request parsing every call is the same method call, whatever
carried it. :func:`install` makes moto build these subclasses for every account and region;
each overridden mutation runs moto's own code, then records the state it left, under one lock
(moto's backends are not thread-safe, and the record must match what the answer says).

Kept: log groups (retention, KMS key, tags), log streams and their events (timestamps and
ingestion times as first put), metric data points (single values and statistic sets, with the
time moto stamped on points sent without one), metric alarms' definitions. Not kept: metric
filters, subscription filters, destinations, resource policies, queries, an alarm's state
(a restored alarm starts as a new one does).
"""

from __future__ import annotations

import datetime as dt
import importlib
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.cloudwatch.models import (
    CloudWatchBackend,
    Dimension,
    Metric,
    MetricAggregatedDatum,
    MetricDataQuery,
    MetricDatum,
    MetricDatumBase,
    MetricStat,
    cloudwatch_backends,
)
from moto.core.base_backend import BackendDict
from moto.logs.models import LogEvent, LogGroup, LogsBackend, LogStream, logs_backends
from moto.utilities.tagging_service import TaggingService

from emulator.observability.durable_store import (
    AlarmRow,
    LogEventRow,
    LogGroupRow,
    LogStreamRow,
    MetricRow,
    ObservabilityStore,
    Scope,
)

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class Restored:
    """What :func:`restore` loaded back."""

    log_groups: int
    log_streams: int
    log_events: int
    metric_points: int
    alarms: int


# -- the durable backends ------------------------------------------------------------------------
class _WriteThrough:
    """The lock and store a durable backend writes through to (``store`` is None: plain moto)."""

    store: ObservabilityStore | None = None
    _lock = threading.RLock()
    _moto_urls: str  # the service's moto ``urls`` module
    _service: str  # ``logs`` or ``cloudwatch``: which of the store's tables are this backend's
    account_id: str
    region_name: str

    @property
    def _url_module(self) -> Any:
        # moto finds a service's routes from its backend class's module name (``moto.logs.models``)
        return importlib.import_module(self._moto_urls)

    @property
    def scope(self) -> Scope:
        return Scope(self.account_id, self.region_name)

    @contextmanager
    def changing(self) -> Iterator[ObservabilityStore | None]:
        with self._lock:
            yield self.store

    def reset(self) -> None:
        # moto's reset (``/moto-api/reset``) empties the backend; what is on disk must not come back
        with self.changing() as store:
            super().reset()  # type: ignore[misc]
            if store is not None:
                store.forget(self.scope, self._service)


class DurableLogsBackend(_WriteThrough, LogsBackend):
    """moto's CloudWatch Logs backend; groups, streams and events are written through."""

    _lock = threading.RLock()
    _moto_urls = "moto.logs.urls"
    _service = "logs"

    def create_log_group(self, log_group_name: str, *args: Any, **kwargs: Any) -> LogGroup:
        with self.changing() as store:
            group = super().create_log_group(log_group_name, *args, **kwargs)
            if store is not None:
                store.put_log_group(self._group_row(group))
        return group

    def ensure_log_group(self, log_group_name: str) -> None:
        with self.changing() as store:
            super().ensure_log_group(log_group_name)
            if store is not None:
                store.put_log_group(self._group_row(self.groups[log_group_name]))

    def delete_log_group(self, log_group_name: str) -> None:
        with self.changing() as store:
            super().delete_log_group(log_group_name)
            if store is not None:
                store.delete_log_group(self.scope, log_group_name)

    def create_log_stream(self, log_group_name: str, log_stream_name: str) -> None:
        with self.changing() as store:
            super().create_log_stream(log_group_name, log_stream_name)
            if store is not None:
                store.put_log_stream(self._stream_row(self.groups[log_group_name].streams[log_stream_name]))

    def delete_log_stream(self, log_group_name: str, log_stream_name: str) -> None:
        with self.changing() as store:
            super().delete_log_stream(log_group_name, log_stream_name)
            if store is not None:
                store.delete_log_stream(self.scope, log_group_name, log_stream_name)

    def put_log_events(self, log_group_name: str, log_stream_name: str, *args: Any, **kwargs: Any) -> Any:
        with self.changing() as store:
            stream = self._stream(log_group_name, log_stream_name)
            before = len(stream.events) if stream is not None else 0
            answer = super().put_log_events(log_group_name, log_stream_name, *args, **kwargs)
            stream = self._stream(log_group_name, log_stream_name)
            if store is not None and stream is not None:
                added = [LogEventRow(event.timestamp, event.ingestion_time, event.message)
                         for event in stream.events[before:]]
                store.append_log_events(self._stream_row(stream), added)
        return answer

    def put_retention_policy(self, log_group_name: str, *args: Any, **kwargs: Any) -> None:
        with self.changing():
            super().put_retention_policy(log_group_name, *args, **kwargs)
            self._save_group(log_group_name)

    def delete_retention_policy(self, log_group_name: str) -> None:
        with self.changing():
            super().delete_retention_policy(log_group_name)
            self._save_group(log_group_name)

    def tag_resource(self, arn: str, tags: dict[str, str]) -> None:
        # also what create_log_group and tag_log_group call
        with self.changing():
            super().tag_resource(arn, tags)
            self._save_group_by_arn(arn)

    def untag_resource(self, arn: str, tag_keys: list[str]) -> None:
        with self.changing():
            super().untag_resource(arn, tag_keys)
            self._save_group_by_arn(arn)

    def tag_log_group(self, log_group_name: str, tags: dict[str, str]) -> None:
        with self.changing():
            super().tag_log_group(log_group_name, tags)
            self._save_group(log_group_name)

    def untag_log_group(self, log_group_name: str, tags: list[str]) -> None:
        with self.changing():
            super().untag_log_group(log_group_name, tags)
            self._save_group(log_group_name)

    # -- moto objects → rows --------------------------------------------------------------------
    def _stream(self, log_group_name: str, log_stream_name: str) -> LogStream | None:
        group = self.groups.get(log_group_name)
        return group.streams.get(log_stream_name) if group is not None else None

    def _save_group(self, name: str) -> None:
        if self.store is not None and name in self.groups:
            self.store.put_log_group(self._group_row(self.groups[name]))

    def _save_group_by_arn(self, arn: str) -> None:
        for name, group in self.groups.items():
            if arn in (group.arn, group.arn + ":*"):
                self._save_group(name)

    def _group_row(self, group: LogGroup) -> LogGroupRow:
        retention = group.retention_in_days
        return LogGroupRow(self.scope, group.name, int(group.creation_time),
                           int(retention) if retention is not None else None, group.kms_key_id,
                           self.list_tags_for_resource(group.arn))

    def _stream_row(self, stream: LogStream) -> LogStreamRow:
        return LogStreamRow(self.scope, stream.log_group.name, stream.log_stream_name, int(stream.creation_time),
                            stream.stored_bytes, stream.upload_sequence_token, stream.last_ingestion_time)


class DurableCloudWatchBackend(_WriteThrough, CloudWatchBackend):
    """moto's CloudWatch backend; metric data points and alarm definitions are written through."""

    _lock = threading.RLock()
    _moto_urls = "moto.cloudwatch.urls"
    _service = "cloudwatch"

    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        with self.changing() as store:
            before = len(self.metric_data)
            super().put_metric_data(namespace, metric_data)
            if store is not None:
                store.append_metrics([self._metric_row(datum) for datum in self.metric_data[before:]])

    def put_metric_alarm(self, name: str, *args: Any, **kwargs: Any) -> Any:
        with self.changing() as store:
            alarm = super().put_metric_alarm(name, *args, **kwargs)
            if store is not None:
                if args:  # moto's responses pass keywords only; a positional call is not ours to guess
                    log.warning("CloudWatch alarm %s was not kept: positional arguments", name)
                else:
                    store.put_alarm(AlarmRow(self.scope, name, _alarm_definition(kwargs)))
        return alarm

    def delete_alarms(self, alarm_names: list[str]) -> None:
        with self.changing() as store:
            super().delete_alarms(alarm_names)
            if store is not None:
                store.delete_alarms(self.scope, list(alarm_names))

    def _metric_row(self, datum: MetricDatumBase) -> MetricRow:
        dimensions = [(dimension.name, dimension.value) for dimension in datum.dimensions]
        timestamp = _naive_utc(datum.timestamp).replace(tzinfo=dt.UTC).timestamp()
        if isinstance(datum, MetricAggregatedDatum):
            statistics = {"Sum": datum.sum, "Minimum": datum.min, "Maximum": datum.max,
                          "SampleCount": datum.sample_count}
            return MetricRow(self.scope, datum.namespace, datum.name, dimensions, timestamp, datum.unit,
                             statistics=statistics)
        return MetricRow(self.scope, datum.namespace, datum.name, dimensions, timestamp, datum.unit,
                         value=datum.value)  # type: ignore[attr-defined]


# -- installing and loading back ---------------------------------------------------------------------
def install(store: ObservabilityStore) -> None:
    """From now on moto's CloudWatch Logs and CloudWatch backends write through to ``store``."""
    DurableLogsBackend.store = store
    DurableCloudWatchBackend.store = store
    _use_backend_class(logs_backends, DurableLogsBackend)
    _use_backend_class(cloudwatch_backends, DurableCloudWatchBackend)


def restore(store: ObservabilityStore) -> Restored:
    """Load everything ``store`` holds into moto (call before the first request is served)."""
    store.expire()
    groups: dict[tuple[Scope, str], LogGroup] = {}
    for row in store.log_groups():
        backend = logs_backends[row.scope.account][row.scope.region]
        group = LogGroup(row.scope.account, row.scope.region, row.name, RetentionInDays=row.retention_days,
                         kmsKeyId=row.kms_key_id)
        group.creation_time = row.created
        backend.groups[row.name] = group
        if row.tags:
            backend.tagger.tag_resource(group.arn, TaggingService.convert_dict_to_tags_input(row.tags))
        groups[(row.scope, row.name)] = group
    streams = events = 0
    for stream_row in store.log_streams():
        group = groups.get((stream_row.scope, stream_row.log_group))
        if group is None:
            continue
        stream = LogStream(group, stream_row.name)
        stream.creation_time = stream_row.created
        stream.stored_bytes = stream_row.stored_bytes
        stream.upload_sequence_token = stream_row.sequence_token
        stream.last_ingestion_time = stream_row.last_ingestion
        stream.events = [LogEvent(event.ingestion_time, {"timestamp": event.timestamp, "message": event.message})
                         for event in store.log_events(stream_row.scope, stream_row.log_group, stream_row.name)]
        group.streams[stream_row.name] = stream
        streams += 1
        events += len(stream.events)
    points = 0
    for metric in store.metrics():
        cloudwatch = cloudwatch_backends[metric.scope.account][metric.scope.region]
        cloudwatch.metric_data.append(_datum(metric))
        points += 1
    alarms = 0
    for alarm in store.alarms():
        cloudwatch = cloudwatch_backends[alarm.scope.account][alarm.scope.region]
        # moto's own method (not the durable one): the definition is already stored
        CloudWatchBackend.put_metric_alarm(cloudwatch, alarm.name, **_alarm_arguments(alarm.definition))
        alarms += 1
    return Restored(len(groups), streams, events, points, alarms)


def _use_backend_class(backends: BackendDict[Any], durable: type) -> None:
    """Make ``backends`` build ``durable`` for every account and region, including ones already made."""
    backends.backend = durable
    for account in backends.values():
        account.backend = durable
        for backend in account.values():
            if not isinstance(backend, durable):
                backend.__class__ = durable  # same state, durable methods; nothing was recorded for it yet


# -- moto's shapes ↔ JSON ------------------------------------------------------------------------------
def _naive_utc(moment: dt.datetime) -> dt.datetime:
    """moto compares data-point times as naive UTC datetimes."""
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo is not None else moment


def _datum(row: MetricRow) -> MetricDatumBase:
    dimensions = [{"Name": name, "Value": value} for name, value in row.dimensions]
    timestamp = dt.datetime.fromtimestamp(row.timestamp, dt.UTC).replace(tzinfo=None)
    if row.statistics is not None:
        stats = row.statistics
        return MetricAggregatedDatum(row.namespace, row.name, min_stat=stats["Minimum"], max_stat=stats["Maximum"],
                                     sample_count=stats["SampleCount"], sum_stat=stats["Sum"],
                                     dimensions=dimensions, timestamp=timestamp, unit=row.unit)
    return MetricDatum(row.namespace, row.name, float(row.value or 0.0), dimensions, timestamp, row.unit)


def _alarm_definition(arguments: dict[str, Any]) -> dict[str, Any]:
    """PutMetricAlarm's keyword arguments as JSON (its metric queries are moto objects)."""
    definition = dict(arguments)
    queries = definition.get("metric_data_queries")
    if queries:
        definition["metric_data_queries"] = [_query_to_json(query) for query in queries]
    return definition


def _alarm_arguments(definition: dict[str, Any]) -> dict[str, Any]:
    arguments = dict(definition)
    queries = arguments.get("metric_data_queries")
    if queries:
        arguments["metric_data_queries"] = [_query_from_json(query) for query in queries]
    return arguments


def _query_to_json(query: MetricDataQuery) -> dict[str, Any]:
    stat = query.metric_stat
    return {
        "id": query.id, "label": query.label, "period": query.period, "return_data": query.return_data,
        "expression": query.expression,
        "metric_stat": None if stat is None else {
            "metric_name": stat.metric.metric_name, "namespace": stat.metric.namespace,
            "dimensions": [[dimension.name, dimension.value] for dimension in stat.metric.dimensions],
            "period": stat.period, "stat": stat.stat, "unit": stat.unit,
        },
    }


def _query_from_json(data: dict[str, Any]) -> MetricDataQuery:
    stat = data.get("metric_stat")
    metric_stat = None
    if stat is not None:
        metric = Metric(stat["metric_name"], stat["namespace"],
                        [Dimension(name, value) for name, value in stat["dimensions"]])
        metric_stat = MetricStat(metric, stat["period"], stat["stat"], stat["unit"])
    return MetricDataQuery(data["id"], data["label"], data["period"], data["return_data"], data["expression"],
                           metric_stat)
