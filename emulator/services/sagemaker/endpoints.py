"""Models, endpoint configs and endpoints: their records, and the serving processes behind endpoints.

CreateEndpoint records the endpoint as ``Creating`` and brings its production variants up on a
worker thread through the runner's ``serve`` (model fetched, ``serve`` started, ``/ping`` polled):
``InService`` once every variant answers, ``Failed`` with the reason otherwise. UpdateEndpoint
brings the new config up beside the old one and retires the old one only once the new one is
healthy (a failed update leaves the old one serving, as on AWS). DeleteEndpoint stops the
processes before it returns. Records persist; serving processes do not, so :meth:`recover`
brings back every endpoint that was serving. Nothing here knows about HTTP wire formats.
https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpoint.html
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.core.errors import ModelError, RuntimeValidationError, ValidationError
from emulator.core.paging import ListQuery, paginate
from emulator.observability.logs import CloudWatchLogShipper
from emulator.runners import serving
from emulator.runners.base import Runner
from emulator.runners.serving import ServingError, ServingHandle, ServingRequest
from emulator.services.sagemaker.arns import endpoint_arn, endpoint_config_arn, model_arn
from emulator.services.sagemaker.caller import USER, Caller, check_deployable, confined_model_request
from emulator.services.sagemaker.records import (
    CREATING,
    ENDPOINT_FAILED,
    IN_SERVICE,
    UPDATING,
    EndpointConfigRecord,
    EndpointRecord,
    ModelRecord,
)
from emulator.services.sagemaker.store import RecordStore
from emulator.services.sagemaker.table import RecordTable
from emulator.services.sagemaker.training import BackendSettings

log = logging.getLogger(__name__)

ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"
#: statuses whose endpoints are brought back up after a control-plane restart
_SERVING_STATUSES = (CREATING, IN_SERVICE, UPDATING)


def endpoint_log_group(name: str) -> str:
    """``/aws/sagemaker/Endpoints/<name>``: where a serving container's output goes."""
    return ENDPOINT_LOG_GROUP_PREFIX + name


def instance_stream(variant: str, workdir: Path) -> str:
    """``<variant>/i-<17 hex>``: SageMaker's per-instance stream name in the endpoint's group."""
    return f"{variant}/i-{hashlib.sha256(str(workdir).encode()).hexdigest()[:17]}"


@dataclass
class Invocation:
    """What InvokeEndpoint answers on success."""

    body: bytes
    content_type: str
    variant: str
    custom_attributes: str | None = None


@dataclass
class _Variant:
    name: str
    handle: ServingHandle
    weight: float


class EndpointBackend:
    """Every model, endpoint config and endpoint of one account, across regions.

    Args:
        settings: account, data dir, S3 and graph endpoints.
        store: durable record store.
        runner: what brings a variant up (its ``serve``).
        logs: ships serving output to CloudWatch Logs; optional.
        startup_timeout_seconds: how long a variant's ``/ping`` may take to answer.
    """

    def __init__(self, settings: BackendSettings, store: RecordStore, runner: Runner,
                 logs: CloudWatchLogShipper | None = None, startup_timeout_seconds: float = 60.0) -> None:
        self.settings = settings
        self.runner = runner
        self.logs = logs
        self.startup_timeout_seconds = startup_timeout_seconds
        self.models: RecordTable[ModelRecord] = RecordTable(store, "model", ModelRecord.from_dict)
        self.configs: RecordTable[EndpointConfigRecord] = RecordTable(
            store, "endpoint-config", EndpointConfigRecord.from_dict)
        self.endpoints: RecordTable[EndpointRecord] = RecordTable(store, "endpoint", EndpointRecord.from_dict)
        self._lock = self.endpoints.lock
        self._serving: dict[tuple[str, str], list[_Variant]] = {}
        self._generation: dict[tuple[str, str], int] = {}

    # -- models ---------------------------------------------------------------------------
    def create_model(self, region: str, request: dict[str, Any], caller: Caller = USER) -> ModelRecord:
        """CreateModel (``caller``: a job's container gets a model that serves on the Docker runner only)."""
        if primary_container(request) is None:
            raise ValidationError("Either PrimaryContainer or Containers must be provided.")
        request = confined_model_request(caller, request)
        name = request["ModelName"]
        model = ModelRecord(name, model_arn(region, self.settings.account_id, name), region, request)
        self.models.add(model, f'Cannot create already existing model "{model.arn}".')
        return model

    def describe_model(self, region: str, name: str) -> ModelRecord:
        return self._model(region, name)

    def delete_model(self, region: str, name: str) -> None:
        self._model(region, name)
        self.models.remove(region, name)

    def list_models(self, region: str, query: ListQuery) -> tuple[list[ModelRecord], str | None]:
        return paginate(self.models.in_region(region), query)

    # -- endpoint configs ------------------------------------------------------------------
    def create_endpoint_config(self, region: str, request: dict[str, Any]) -> EndpointConfigRecord:
        names = [variant["VariantName"] for variant in request["ProductionVariants"]]
        if len(names) != len(set(names)):
            raise ValidationError("VariantName must be unique within an endpoint configuration.")
        for variant in request["ProductionVariants"]:
            if variant.get("ModelName") is None:
                raise ValidationError(f"ProductionVariant {variant['VariantName']}: ModelName is required.")
            self._model(region, variant["ModelName"])
        name = request["EndpointConfigName"]
        config = EndpointConfigRecord(name, endpoint_config_arn(region, self.settings.account_id, name), region,
                                      request)
        self.configs.add(config, f'Cannot create already existing endpoint configuration "{config.arn}".')
        return config

    def describe_endpoint_config(self, region: str, name: str) -> EndpointConfigRecord:
        return self._config(region, name)

    def delete_endpoint_config(self, region: str, name: str) -> None:
        self._config(region, name)
        self.configs.remove(region, name)

    def list_endpoint_configs(self, region: str, query: ListQuery) -> tuple[list[EndpointConfigRecord], str | None]:
        return paginate(self.configs.in_region(region), query)

    # -- endpoints ---------------------------------------------------------------------------
    def create_endpoint(self, region: str, request: dict[str, Any], caller: Caller = USER) -> EndpointRecord:
        """CreateEndpoint: record it ``Creating`` and bring its variants up in the background."""
        name = request["EndpointName"]
        config = self._config(region, request["EndpointConfigName"])
        self._check_deployable(caller, config)
        endpoint = EndpointRecord(name=name, arn=endpoint_arn(region, self.settings.account_id, name),
                                  region=region, config_name=config.name, tags=list(request.get("Tags") or []))
        with self._lock:
            self.endpoints.add(endpoint, f'Cannot create already existing endpoint "{endpoint.arn}".')
            generation = self._next_generation((region, name))
        self._launch_async(endpoint, config, generation, updating=False)
        return endpoint

    def describe_endpoint(self, region: str, name: str) -> EndpointRecord:
        return self._endpoint(region, name)

    def list_endpoints(self, region: str, query: ListQuery) -> tuple[list[EndpointRecord], str | None]:
        return paginate(self.endpoints.in_region(region), query)

    def update_endpoint(self, region: str, name: str, config_name: str, caller: Caller = USER) -> EndpointRecord:
        """UpdateEndpoint: ``Updating`` while the new config comes up; the old one serves until then."""
        config = self._config(region, config_name)
        self._check_deployable(caller, config)
        with self._lock:
            endpoint = self._endpoint(region, name)
            if endpoint.status != IN_SERVICE:
                raise ValidationError(f'Cannot update in-progress endpoint "{endpoint.arn}".')
            endpoint.status = UPDATING
            endpoint.pending_config_name = config.name
            endpoint.failure_reason = None
            endpoint.last_modified_time = time.time()
            self.endpoints.save(endpoint)
            generation = self._next_generation((region, name))
        self._launch_async(endpoint, config, generation, updating=True)
        return endpoint

    def _check_deployable(self, caller: Caller, config: EndpointConfigRecord) -> None:
        """A job's container may deploy only models that serve on the Docker runner."""
        for variant in config.request["ProductionVariants"]:
            model = self.models.find((config.region, variant["ModelName"]))
            if model is not None:
                check_deployable(caller, model.name, model.request)

    def delete_endpoint(self, region: str, name: str) -> None:
        """DeleteEndpoint: the serving processes are stopped before this returns."""
        key = (region, name)
        with self._lock:
            self._endpoint(region, name)
            self.endpoints.remove(region, name)
            self._next_generation(key)  # a launch still in flight retires what it started
            variants = self._serving.pop(key, [])
        self._retire(variants)

    # -- runtime ------------------------------------------------------------------------------
    def invoke_endpoint(self, region: str, name: str, body: bytes, content_type: str | None, accept: str | None,
                        custom_attributes: str | None = None, target_variant: str | None = None) -> Invocation:
        """InvokeEndpoint: forward to one variant's ``/invocations`` (by weight, or ``TargetVariant``).

        Raises:
            RuntimeValidationError: no such endpoint in service, or no such variant.
            ModelError: the container answered non-2xx (or not at all).
        """
        with self._lock:
            variants = self._serving.get((region, name))
        if not variants:
            raise RuntimeValidationError(f"Endpoint {name} of account {self.settings.account_id} not found.")
        variant = choose_variant(variants, target_variant)
        if variant is None:
            raise RuntimeValidationError(f"Target variant {target_variant} not found for endpoint {name}.")
        try:
            result = serving.invoke(variant.handle.url, body, content_type, accept, custom_attributes)
        except ServingError as error:
            raise self._model_error(region, name, 502, str(error)) from None
        if not 200 <= result.status < 300:
            raise self._model_error(region, name, result.status, result.body.decode(errors="replace"))
        return Invocation(result.body, result.content_type, variant.name, result.custom_attributes)

    # -- start-up and shutdown -----------------------------------------------------------------
    def recover(self) -> None:
        """Bring back every endpoint that was serving (or coming up) when the control plane stopped.

        Variants come up in parallel; this returns when all are up or have failed, so a client
        that sees the server healthy finds its endpoints answering.
        """
        threads = []
        for endpoint in self.endpoints.all():
            if endpoint.status not in _SERVING_STATUSES:
                continue
            config = self.configs.find((endpoint.region, endpoint.config_name))
            with self._lock:
                endpoint.pending_config_name = None
                if endpoint.status == UPDATING:
                    endpoint.status = IN_SERVICE
                generation = self._next_generation((endpoint.region, endpoint.name))
            if config is None:
                self._fail(endpoint, generation, f"EndpointConfig {endpoint.config_name} no longer exists.")
                continue
            threads.append(self._launch_async(endpoint, config, generation, updating=False))
        for thread in threads:
            thread.join()

    def stop(self) -> None:
        """Stop every serving process (records keep their status: they come back at the next start)."""
        with self._lock:
            everything = [variant for variants in self._serving.values() for variant in variants]
            self._serving.clear()
            for key in list(self._generation):
                self._generation[key] += 1
        self._retire(everything)

    def serving_urls(self, region: str, name: str) -> dict[str, str]:
        """Each variant's serve URL (benchmarks call ``/invocations`` directly with it)."""
        with self._lock:
            return {variant.name: variant.handle.url for variant in self._serving.get((region, name), [])}

    # -- internals ---------------------------------------------------------------------------
    def _launch_async(self, endpoint: EndpointRecord, config: EndpointConfigRecord, generation: int,
                      updating: bool) -> threading.Thread:
        thread = threading.Thread(target=self._launch, args=(endpoint, config, generation, updating), daemon=True,
                                  name=f"endpoint-{endpoint.name}")
        thread.start()
        return thread

    def _launch(self, endpoint: EndpointRecord, config: EndpointConfigRecord, generation: int,
                updating: bool) -> None:
        """Bring up every variant of ``config`` for ``endpoint``; record the result. Never raises."""
        started: list[_Variant] = []
        try:
            for variant in config.request["ProductionVariants"]:
                started.append(self._start_variant(endpoint, variant))
        except ServingError as error:
            self._retire(started)
            self._fail(endpoint, generation, str(error), updating)
            return
        except Exception as error:  # a bug must not leave the endpoint Creating forever
            log.exception("bringing up endpoint %s failed", endpoint.name)
            self._retire(started)
            self._fail(endpoint, generation, f"InternalServerError: {error!r}", updating)
            return
        key = (endpoint.region, endpoint.name)
        with self._lock:
            current = self._generation.get(key) == generation  # else deleted (or stopped) meanwhile
            old = self._serving.get(key, []) if current else started
            if current:
                self._serving[key] = started  # new requests go to the new config from here on
        # The old processes are gone before the status says the update is over, so a caller that
        # sees InService never finds the old config still running.
        self._retire(old)
        if not current:
            return
        with self._lock:
            if self._generation.get(key) == generation:
                endpoint.status = IN_SERVICE
                endpoint.config_name = config.name
                endpoint.pending_config_name = None
                endpoint.failure_reason = None
                endpoint.variants = [variant_description(v, self._model_image(endpoint.region, v))
                                     for v in config.request["ProductionVariants"]]
                endpoint.last_modified_time = time.time()
                self.endpoints.save(endpoint)

    def _start_variant(self, endpoint: EndpointRecord, variant: dict[str, Any]) -> _Variant:
        model = self.models.find((endpoint.region, variant["ModelName"]))
        if model is None:
            raise ServingError(f"Could not find model \"{variant['ModelName']}\".")
        container = primary_container(model.request) or {}
        workdir = (self.settings.data_dir / "endpoints" / endpoint.region / endpoint.name
                   / f"{variant['VariantName']}-{uuid.uuid4().hex[:8]}")
        request = ServingRequest(
            endpoint_name=endpoint.name,
            variant_name=variant["VariantName"],
            image=container.get("Image", ""),
            model_data_url=container.get("ModelDataUrl"),
            environment=dict(container.get("Environment") or {}),
            workdir=workdir,
            s3_endpoint_url=self.settings.s3_endpoint_url,
            region=endpoint.region,
            graph_endpoint_url=self.settings.graph_endpoint_url,
            startup_timeout_seconds=self.startup_timeout_seconds,
        )
        stream = instance_stream(variant["VariantName"], workdir)
        handle = self.runner.serve(request, lambda line: self._log(endpoint, stream, line))
        return _Variant(variant["VariantName"], handle, float(variant.get("InitialVariantWeight", 1.0)))

    def _fail(self, endpoint: EndpointRecord, generation: int, reason: str, updating: bool = False) -> None:
        """A failed create ends ``Failed``; a failed update leaves the old config serving, with the reason."""
        key = (endpoint.region, endpoint.name)
        with self._lock:
            if self._generation.get(key) != generation:
                return
            endpoint.status = IN_SERVICE if updating else ENDPOINT_FAILED
            endpoint.pending_config_name = None
            endpoint.failure_reason = reason[:1024]
            endpoint.last_modified_time = time.time()
            self.endpoints.save(endpoint)
        if self.logs is not None:
            self.logs.flush()

    def _retire(self, variants: list[_Variant]) -> None:
        for variant in variants:
            try:
                variant.handle.stop()
            except Exception:  # one stuck process must not keep the others running
                log.exception("stopping variant %s failed", variant.name)

    def _log(self, endpoint: EndpointRecord, stream: str, line: str) -> None:
        if self.logs is not None:
            self.logs.write(endpoint.region, endpoint_log_group(endpoint.name), stream, line)

    def _model_error(self, region: str, name: str, status: int, message: str) -> ModelError:
        kind = "client" if 400 <= status < 500 else "server"
        group = endpoint_log_group(name)
        log_arn = f"arn:aws:logs:{region}:{self.settings.account_id}:log-group:{group}"
        text = (f'Received {kind} error ({status}) from primary with message "{message}". See '
                f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#logEventViewer:group={group}"
                f" in account {self.settings.account_id} for more information.")
        return ModelError(text, status, message, log_arn)

    def _model_image(self, region: str, variant: dict[str, Any]) -> str:
        model = self.models.find((region, variant["ModelName"]))
        return (primary_container(model.request) or {}).get("Image", "") if model else ""

    def _next_generation(self, key: tuple[str, str]) -> int:
        with self._lock:
            self._generation[key] = self._generation.get(key, 0) + 1
            return self._generation[key]

    def _model(self, region: str, name: str) -> ModelRecord:
        found = self.models.find((region, name))
        if found is None:
            raise ValidationError(f'Could not find model "{model_arn(region, self.settings.account_id, name)}".')
        return found

    def _config(self, region: str, name: str) -> EndpointConfigRecord:
        found = self.configs.find((region, name))
        if found is None:
            arn = endpoint_config_arn(region, self.settings.account_id, name)
            raise ValidationError(f'Could not find endpoint configuration "{arn}".')
        return found

    def _endpoint(self, region: str, name: str) -> EndpointRecord:
        found = self.endpoints.find((region, name))
        if found is None:
            raise ValidationError(f'Could not find endpoint "{endpoint_arn(region, self.settings.account_id, name)}".')
        return found


def primary_container(request: dict[str, Any]) -> dict[str, Any] | None:
    """``PrimaryContainer``, else the first of ``Containers`` (mlharbor serves one container per model)."""
    if request.get("PrimaryContainer"):
        return request["PrimaryContainer"]
    containers = request.get("Containers") or []
    return containers[0] if containers else None


def choose_variant(variants: list[_Variant], target: str | None) -> _Variant | None:
    """``TargetVariant`` when named, else a variant drawn by ``InitialVariantWeight``."""
    if target is not None:
        return next((variant for variant in variants if variant.name == target), None)
    if len(variants) == 1:
        return variants[0]
    weights = [variant.weight for variant in variants]
    if sum(weights) <= 0:
        return variants[0]
    return random.choices(variants, weights=weights)[0]


def variant_description(variant: dict[str, Any], image: str) -> dict[str, Any]:
    """One ``ProductionVariants`` entry of DescribeEndpoint."""
    count = int(variant.get("InitialInstanceCount", 1))
    weight = float(variant.get("InitialVariantWeight", 1.0))
    return {
        "VariantName": variant["VariantName"],
        "DeployedImages": [{"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": time.time()}],
        "CurrentWeight": weight,
        "DesiredWeight": weight,
        "CurrentInstanceCount": count,
        "DesiredInstanceCount": count,
    }
