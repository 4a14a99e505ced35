"""mlharbor's own HTTP API under ``/_mlharbor``: health, job controls AWS has no API for, artifacts.

Errors use the same AWS JSON shape as the emulated services, so the CLI reports them alike.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify, request

from emulator.core.awsjson import region_from_authorization
from emulator.core.errors import ServiceError, ValidationError
from emulator.services.sagemaker.plane import ControlPlane

PREFIX = "/_mlharbor"


def internal_blueprint(control: ControlPlane, health_facts: Callable[[], dict[str, Any]]) -> Blueprint:
    blueprint = Blueprint("mlharbor", __name__, url_prefix=PREFIX)

    @blueprint.errorhandler(ServiceError)
    def service_error(error: ServiceError) -> tuple[Response, int]:
        return jsonify({"__type": error.code, "message": error.message}), error.status

    @blueprint.get("/health")
    def health() -> Response:
        return jsonify({"status": "ready", **health_facts()})

    @blueprint.post("/training-jobs/<name>/interrupt")
    def interrupt(name: str) -> Response:
        """Inject a managed-spot interruption (what AWS does when it reclaims capacity)."""
        control.training.interrupt_training_job(_region(control), name)
        return jsonify({"TrainingJobName": name, "interrupted": True})

    @blueprint.get("/artifacts")
    def list_artifacts() -> Response:
        """Stored items; ``job``, ``region`` and ``account`` narrow the list (a job name alone: every region's)."""
        items = control.artifacts.list(request.args.get("job") or None, region=request.args.get("region") or None,
                                       account=request.args.get("account") or None)
        return jsonify({"artifacts": [item.to_dict() for item in items]})

    @blueprint.get("/artifacts/<path:item_id>/download")
    def download(item_id: str) -> Response:
        """One stored item as a tar stream (checkpoint set files, or ``model.tar.gz``).

        ``item_id`` is ``<account>/<region>/<job>/checkpoints/<set>`` or ``<account>/<region>/<job>/model``
        (``<job>/…`` for items stored before artifacts were kept per account and region).
        """
        item = control.artifacts.get(item_id)
        if item is None:
            raise ValidationError(f"No stored artifact {item_id!r}.")
        base = control.artifacts.root / item.path
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            if item.kind == "model":
                archive.add(base, arcname="model.tar.gz")
            else:
                for relative, _, _ in control.artifacts.manifest(item):
                    archive.add(base / relative, arcname=relative)
        return Response(buffer.getvalue(), content_type="application/x-tar")

    return blueprint


def _region(control: ControlPlane) -> str:
    return region_from_authorization(request.headers.get("Authorization"), control.config["region"])
