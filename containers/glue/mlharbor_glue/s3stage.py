"""How ``s3://`` paths in Spark reach the embedded S3: staging through boto3 on the machine's disk.

The S3A connector (hadoop-aws) is on no registry we can reach, so Spark never sees an ``s3://`` URI.
A read lists the objects under the path and downloads them into the run's work dir, keeping their
keys as relative paths (so ``key=value`` folders stay partitions), and Spark reads ``file://``. A
write goes to a fresh local directory and is uploaded when Spark's write returns. Every executor of
this machine (local mode or standalone workers on 127.0.0.1) shares that disk, which is what makes
this correct; the cost is one extra copy of the data each way (see the bench).
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The URI schemes Hadoop-on-AWS code uses for S3; all reach the same embedded S3.
S3_SCHEMES = ("s3://", "s3a://", "s3n://")
#: Characters that make a Hadoop path a glob.
GLOB_CHARS = "*?[{"
#: How many objects move at once (each transfer is mostly waiting on the edge).
TRANSFER_THREADS = 8
#: Files Spark writes beside the data that S3 readers do not want (checksums).
_SKIPPED_SUFFIXES = (".crc",)


@dataclass(frozen=True)
class S3Object:
    """One object found under a path: its URI, key, ETag and size."""

    bucket: str
    key: str
    etag: str
    size: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def _each(work: Callable[[Any], None], items: list[Any]) -> None:
    """``work(item)`` for every item, :data:`TRANSFER_THREADS` at a time; the first error is raised."""
    if len(items) <= 1:
        for item in items:
            work(item)
        return
    with ThreadPoolExecutor(max_workers=TRANSFER_THREADS) as pool:
        for future in [pool.submit(work, item) for item in items]:
            future.result()


def is_s3(path: object) -> bool:
    """Whether ``path`` is a string naming S3 (``s3://``, ``s3a://`` or ``s3n://``)."""
    return isinstance(path, str) and path.lower().startswith(S3_SCHEMES)


def split_uri(uri: str) -> tuple[str, str]:
    """``s3a://bucket/a/b`` -> ``("bucket", "a/b")``.

    Raises:
        ValueError: not an S3 URI, or no bucket.
    """
    if not is_s3(uri):
        raise ValueError(f"not an S3 URI: {uri!r}")
    rest = uri.split("://", 1)[1]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise ValueError(f"no bucket in S3 URI: {uri!r}")
    return bucket, key


def listing_prefix(key: str) -> str:
    """The literal part of a key before its first glob character (the whole key if none)."""
    cut = min((key.index(c) for c in GLOB_CHARS if c in key), default=len(key))
    return key[:cut]


def under(key: str, prefix: str) -> bool:
    """Whether ``key`` is the object ``prefix`` itself or lies in the folder ``prefix``."""
    if not prefix or prefix.endswith("/"):
        return key.startswith(prefix)
    return key == prefix or key.startswith(prefix + "/")


def s3_client() -> Any:
    """A boto3 S3 client on the endpoint the run was given (``AWS_ENDPOINT_URL``), path-style."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 3}))


class S3Stage:
    """Downloads S3 paths for Spark to read and uploads what Spark wrote; one per process.

    Args:
        work_dir: the run's scratch directory; staged copies live under ``<work_dir>/s3``.
        client: a boto3 S3 client (made on first use when ``None``).
    """

    def __init__(self, work_dir: Path, client: Any = None) -> None:
        self.root = Path(work_dir) / "s3"
        self._client = client
        self._counter = itertools.count()
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = s3_client()
        return self._client

    def _fresh_dir(self, kind: str) -> Path:
        with self._lock:
            path = self.root / f"{kind}-{next(self._counter)}"
        path.mkdir(parents=True, exist_ok=False)
        return path

    def list_objects(self, uri: str) -> list[S3Object]:
        """The objects (not folder markers) under ``uri``, glob characters ignored, in key order."""
        bucket, key = split_uri(uri)
        prefix = listing_prefix(key)
        globbed = prefix != key
        found: list[S3Object] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                name = item["Key"]
                if name.endswith("/") or not (name.startswith(prefix) if globbed else under(name, prefix)):
                    continue
                found.append(S3Object(bucket, name, item.get("ETag", "").strip('"'), item.get("Size", 0)))
        return found

    def download(self, objects: Iterable[S3Object]) -> Path:
        """Copies ``objects`` into a fresh local root as ``<root>/<bucket>/<key>``; returns the root."""
        root = self._fresh_dir("read")
        client = self.client

        def fetch(item: S3Object) -> None:
            target = root / item.bucket / item.key
            target.parent.mkdir(parents=True, exist_ok=True)
            client.download_file(item.bucket, item.key, str(target))

        _each(fetch, list(objects))
        return root

    def localize(self, uri: str) -> str:
        """A ``file://`` path Spark can read in place of the S3 path ``uri`` (globs kept)."""
        bucket, key = split_uri(uri)
        root = self.download(self.list_objects(uri))
        local = root / bucket / key
        if listing_prefix(key) == key and not local.exists():
            # nothing there: an empty folder, so Spark says what it says of an empty S3 prefix
            local.mkdir(parents=True)
        return local.as_uri()

    def has_objects(self, uri: str) -> bool:
        """Whether anything lies under ``uri`` (what Spark's ``error``/``ignore`` save modes test)."""
        return bool(self.list_objects(uri))

    def output_dir(self) -> Path:
        """A fresh local directory for one write (Spark creates it, so it is not made here)."""
        parent = self._fresh_dir("write")
        return parent / "out"

    def upload(self, local: Path, uri: str, replace: bool) -> int:
        """Uploads every file under ``local`` to ``uri``/relative path; returns how many.

        Args:
            replace: delete the objects already under ``uri`` first (save mode ``overwrite``).
        """
        bucket, key = split_uri(uri)
        prefix = key.rstrip("/")
        if replace:
            self.delete(uri)
        # zero-byte files (Spark's _SUCCESS marker, empty parts) carry no data, and the edge's S3
        # does not answer an empty PUT body (noted for the integrator): they are not uploaded
        files = [p for p in sorted(Path(local).rglob("*"))
                 if p.is_file() and not p.name.endswith(_SKIPPED_SUFFIXES) and p.stat().st_size > 0]
        client = self.client

        def send(path: Path) -> None:
            relative = path.relative_to(local).as_posix()
            client.upload_file(str(path), bucket, f"{prefix}/{relative}" if prefix else relative)

        _each(send, files)
        return len(files)

    def delete(self, uri: str) -> None:
        """Deletes every object under ``uri`` (folder semantics, like Hadoop's recursive delete)."""
        bucket, _ = split_uri(uri)
        objects = self.list_objects(uri)
        for start in range(0, len(objects), 1000):
            chunk = objects[start:start + 1000]
            self.client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": o.key} for o in chunk]})
