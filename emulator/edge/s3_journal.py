"""Keeps the embedded S3 on disk, so buckets and objects survive a restart (even a SIGKILL).

moto keeps S3 in memory. This WSGI middleware sits in front of it: after every S3 request
that changed something (PUT, POST, DELETE answered 2xx) it writes the affected object (or
bucket) as moto now holds it to ``<data dir>/s3``, atomically; at start-up the journal is
loaded back into moto's backend before the first request is served. Reads cost nothing extra.
Path-style addressing is what boto3 uses against a custom endpoint; that is what is journaled.

An object is kept with its metadata, its tags and its ETag (a multipart upload's ``"…-N"``
ETag is not the MD5 of the bytes, so it is recorded rather than recomputed). Whether a request
is an S3 request is asked of moto's own dispatcher, so signed, presigned and unsigned
(anonymous) requests are journaled alike: exactly what moto served as S3.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication

from emulator.core.atomic import write_atomic

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_MUTATING = frozenset({"PUT", "POST", "DELETE"})


class S3Journal:
    """The on-disk copy of the embedded S3.

    Args:
        root: the journal's directory.
        account_id: the moto account whose S3 is kept.
    """

    def __init__(self, root: Path, account_id: str) -> None:
        self.root = root
        self.account_id = account_id
        self._lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)

    # -- the middleware ----------------------------------------------------------------
    def wrap(self, dispatcher: DomainDispatcherApplication) -> WSGIApp:
        """``dispatcher`` (moto's server application) with every S3 mutation it answers journaled."""
        app: WSGIApp = dispatcher

        def journaled(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            target = _s3_target(environ) if _served_as_s3(dispatcher, environ) else None
            if target is None:
                return app(environ, start_response)
            status: list[str] = []

            def remember(status_line: str, headers: Any, *args: Any) -> Any:
                status.append(status_line)
                return start_response(status_line, headers, *args)

            body = app(environ, remember)
            if status and status[0][:1] == "2":
                try:
                    self.sync(*target)
                except Exception:  # the request succeeded; say loudly that the copy did not
                    log.exception("S3 journal could not record %s/%s", *target)
            return body

        return journaled

    # -- recording ---------------------------------------------------------------------
    def sync(self, bucket_name: str, key: str | None) -> None:
        """Make the journal match moto for one object, or for a whole bucket when ``key`` is None."""
        backend = self._backend()
        with self._lock:
            bucket = backend.buckets.get(bucket_name)
            directory = self.root / bucket_name
            if bucket is None:
                shutil.rmtree(directory, ignore_errors=True)
                return
            if not (directory / "bucket.json").exists():
                write_atomic(directory / "bucket.json", json.dumps({"region": bucket.region_name}).encode())
            if key is not None:
                self._sync_key(backend, bucket, directory, key)
            else:
                self._sync_bucket(bucket, directory)

    def _sync_key(self, backend: Any, bucket: Any, directory: Path, key: str) -> None:
        fake = bucket.keys.get(key)
        data_path, meta_path = _object_paths(directory, key)
        if fake is None:
            data_path.unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            return
        etag = fake.etag.strip('"')
        if not (data_path.exists() and _journaled_etag(meta_path) == etag):
            write_atomic(data_path, fake.value)  # a tagging call leaves the bytes alone: no rewrite
        tags = {tag["Key"]: tag["Value"] for tag in _object_tags(backend, fake)}
        meta = {"key": key, "metadata": dict(fake.metadata), "etag": etag, "tags": tags}
        write_atomic(meta_path, json.dumps(meta).encode())

    def _sync_bucket(self, bucket: Any, directory: Path) -> None:
        present = set(bucket.keys.keys())
        for meta_path in (directory / "objects").glob("*.json"):
            key = json.loads(meta_path.read_text())["key"]
            if key not in present:
                meta_path.unlink(missing_ok=True)
                meta_path.with_suffix(".data").unlink(missing_ok=True)

    # -- loading -----------------------------------------------------------------------
    def restore(self) -> tuple[int, int]:
        """Load every journaled bucket and object into moto; returns (buckets, objects)."""
        backend = self._backend()
        buckets = objects = 0
        for directory in sorted(path for path in self.root.iterdir() if path.is_dir()):
            if not _BUCKET_NAME.match(directory.name) or not (directory / "bucket.json").exists():
                continue
            region = json.loads((directory / "bucket.json").read_text())["region"]
            if directory.name not in backend.buckets:
                backend.create_bucket(directory.name, region)
            buckets += 1
            for meta_path in sorted((directory / "objects").glob("*.json")):
                meta = json.loads(meta_path.read_text())
                data_path = meta_path.with_suffix(".data")
                if not data_path.exists():
                    continue
                # journals written before ETags and tags were kept have neither: MD5 and no tags, as then
                fake = backend.put_object(directory.name, meta["key"], data_path.read_bytes(), etag=meta.get("etag"),
                                          disable_notification=True)
                fake.set_metadata(meta["metadata"])
                if meta.get("tags"):
                    backend.tagger.tag_resource(fake.arn, backend.tagger.convert_dict_to_tags_input(meta["tags"]))
                objects += 1
        return buckets, objects

    def _backend(self) -> Any:
        from moto.s3.models import s3_backends

        return s3_backends[self.account_id]["aws"]


def _object_tags(backend: Any, fake: Any) -> list[dict[str, str]]:
    """An object's tags as moto holds them (``[{"Key": …, "Value": …}]``)."""
    return backend.tagger.list_tags_for_resource(fake.arn)["Tags"]


def _served_as_s3(dispatcher: DomainDispatcherApplication, environ: dict[str, Any]) -> bool:
    """Whether moto routes this mutating request to S3: asked of moto's own routing, since an
    unsigned request carries no SigV4 scope that names the service (moto falls back to S3)."""
    if environ.get("REQUEST_METHOD") not in _MUTATING:
        return False
    return getattr(dispatcher.get_application(environ), "service", None) == "s3"


def _journaled_etag(meta_path: Path) -> str | None:
    try:
        return json.loads(meta_path.read_text()).get("etag")
    except (OSError, ValueError):
        return None


def _s3_target(environ: dict[str, Any]) -> tuple[str, str | None] | None:
    """(bucket, key or None) of a mutating, path-style S3 request; else None."""
    if environ.get("REQUEST_METHOD") not in _MUTATING:
        return None
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if environ["REQUEST_METHOD"] == "PUT" and "uploadId" in query:
        return None  # a part of a multipart upload: the object changes at CompleteMultipartUpload
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", errors="replace")
    bucket, _, key = path.lstrip("/").partition("/")
    if not _BUCKET_NAME.match(bucket):
        return None
    if "delete" in query:  # DeleteObjects: many keys, resync the bucket
        return bucket, None
    return bucket, key or None


def _object_paths(directory: Path, key: str) -> tuple[Path, Path]:
    name = hashlib.sha256(key.encode()).hexdigest()
    return directory / "objects" / f"{name}.data", directory / "objects" / f"{name}.json"


