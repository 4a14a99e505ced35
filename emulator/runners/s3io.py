"""Moving a job's data between S3 and its local tree, safely.

Channels come down as SageMaker's File mode does it
(https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_S3DataSource.html):
``S3Prefix`` takes every object under the prefix (a "directory" prefix is stripped, see
:func:`prefix_relative`), ``ManifestFile`` reads a JSON list whose first
entry is ``{"prefix": "s3://…"}`` followed by keys relative to it; ``ShardedByS3Key`` gives host
*i* of *N* every *N*-th key. An object key never decides where a file lands outside its
channel directory: keys that would escape it are refused. Going up, only what the job really
wrote leaves its tree: its symlinks and special files are skipped (:mod:`emulator.core.safepath`).
"""

from __future__ import annotations

import json
import stat
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
from boto3.exceptions import S3UploadFailedError
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.core.credentials import internal_key
from emulator.core.safepath import SkipReporter, UnsafePathError, fresh_target, tree_files, walk_tree


class DataError(Exception):
    """Input or output data could not be moved; the message is the job's ``FailureReason``."""


class StopRequested(Exception):
    """A stop arrived while data was being moved: what is left of it is not moved."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise DataError(f"ClientError: {uri!r} is not an s3:// URI")
        return cls(parsed.netloc, parsed.path.lstrip("/"))

    def child(self, *parts: str) -> S3Location:
        key = "/".join(p.strip("/") for p in (self.key, *parts) if p.strip("/"))
        return S3Location(self.bucket, key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def s3_client(endpoint_url: str, region: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=internal_key().access_key_id,
        aws_secret_access_key=internal_key().secret_access_key,
        config=Config(retries={"max_attempts": 3}),
    )


def channel_path(root: Path, relative: str) -> Path:
    """Where an object lands in its channel directory; never outside it, never through a symlink there.

    Raises:
        DataError: the key would escape the channel directory.
    """
    try:
        return fresh_target(root, relative)
    except UnsafePathError:
        raise DataError(
            f"ClientError: S3 key part {relative!r} would be written outside its channel directory"
        ) from None


def list_keys(s3: Any, location: S3Location) -> list[str]:
    """Every object key under ``location`` (a prefix), sorted."""
    keys: list[str] = []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=location.key):
            keys.extend(item["Key"] for item in page.get("Contents", []))
    except ClientError as error:
        raise DataError(f"ClientError: cannot list {location.uri}: {error.response['Error']['Message']}") from None
    return sorted(keys)


def channel_objects(s3: Any, uri: str, data_type: str = "S3Prefix") -> list[tuple[S3Location, str]]:
    """The objects under ``uri`` (an ``S3Prefix``, or a ``ManifestFile`` listing them), each with its path
    relative to the channel directory."""
    location = S3Location.parse(uri)
    if data_type == "S3Prefix":
        keys = list_keys(s3, location)
        return [(S3Location(location.bucket, key), prefix_relative(location.key, key))
                for key in keys if not key.endswith("/")]
    if data_type == "ManifestFile":
        return _manifest_objects(s3, location)
    raise DataError(f"ClientError: S3DataType {data_type} is not supported by mlharbor (use S3Prefix or ManifestFile)")


def prefix_relative(prefix: str, key: str) -> str:
    """Where an object found under an ``S3Prefix`` lands, relative to its channel directory.

    A prefix that names a "directory" (``data/train`` or ``data/train/`` for ``data/train/a.csv``)
    is stripped whole, so ``a.csv`` lands at the channel's root, as the sagemaker SDK's
    ``upload_data`` URIs (no trailing slash) expect. A prefix that ends mid-name (``data/tr``)
    or names one object (``data/train.csv``) keeps the key from the prefix's last ``/`` on.
    """
    if prefix.endswith("/") or key[len(prefix) : len(prefix) + 1] == "/":
        return key[len(prefix) :].lstrip("/")
    return key[prefix.rfind("/") + 1 :]


def _manifest_objects(s3: Any, location: S3Location) -> list[tuple[S3Location, str]]:
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"].read()
        entries = json.loads(body)
    except ClientError as error:
        message = error.response["Error"]["Message"]
        raise DataError(f"ClientError: cannot read manifest {location.uri}: {message}") from None
    except ValueError as error:
        raise DataError(f"ClientError: manifest {location.uri} is not JSON: {error}") from None
    if not isinstance(entries, list) or not entries or not isinstance(entries[0], dict) or "prefix" not in entries[0]:
        raise DataError(f"ClientError: manifest {location.uri} must be a list starting with {{\"prefix\": \"s3://…\"}}")
    prefix = S3Location.parse(entries[0]["prefix"])
    objects = []
    for relative in entries[1:]:
        if not isinstance(relative, str):
            raise DataError(f"ClientError: manifest {location.uri} has a non-string entry {relative!r}")
        objects.append((S3Location(prefix.bucket, prefix.key + relative), relative))
    return objects


def shard(objects: list[tuple[S3Location, str]], host_index: int, host_count: int) -> list[tuple[S3Location, str]]:
    """``ShardedByS3Key``: host ``host_index`` (0-based) of ``host_count`` gets every N-th key."""
    ordered = sorted(objects, key=lambda item: item[0].key)
    return ordered[host_index::host_count]


def download(s3: Any, objects: list[tuple[S3Location, str]], root: Path,
             stopped: Callable[[], bool] | None = None) -> int:
    """Download ``objects`` under ``root``; returns the bytes written.

    Raises:
        DataError: an object cannot be read.
        StopRequested: ``stopped()`` turned true (it is asked before each object).
    """
    total = 0
    for location, relative in objects:
        if stopped is not None and stopped():
            raise StopRequested(f"stopped before {location.uri}")
        target = channel_path(root, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            s3.download_file(location.bucket, location.key, str(target))
        except ClientError as error:
            message = error.response["Error"]["Message"]
            raise DataError(f"ClientError: cannot download {location.uri}: {message}") from None
        total += target.stat().st_size
    return total


def tar_directory(directory: Path, archive_path: Path, within: Path | None = None,
                  on_skip: SkipReporter | None = None) -> None:
    """Pack a job's directory's contents (not the directory itself) as ``.tar.gz``.

    Only real directories and regular files go in (:func:`~emulator.core.safepath.walk_tree`): a symlink
    the job planted is skipped, never packed as the host file it points to.
    """
    with tarfile.open(archive_path, "w:gz") as archive:
        for entry in walk_tree(directory, within, on_skip):
            info = tarfile.TarInfo(entry.relative)
            info.mode, info.mtime = stat.S_IMODE(entry.mode) & 0o777, int(entry.mtime)
            if entry.is_dir:
                info.type = tarfile.DIRTYPE
                archive.addfile(info)
            else:
                info.size = entry.size
                archive.addfile(info, entry.reader)


def upload_tree(s3: Any, directory: Path, destination: S3Location, within: Path | None = None,
                on_skip: SkipReporter | None = None) -> int:
    """Upload every regular file under a job's ``directory`` to ``destination``, keeping relative paths.

    Returns the number of files uploaded; symlinks and special files are skipped (see :func:`tar_directory`).
    """
    count = 0
    for entry in tree_files(directory, within, on_skip):
        location = destination.child(entry.relative)
        try:
            s3.upload_fileobj(entry.reader, location.bucket, location.key)
        except (ClientError, S3UploadFailedError) as error:
            raise DataError(f"ClientError: cannot upload to {location.uri}: {error}") from None
        count += 1
    return count


def upload_file(s3: Any, path: Path, location: S3Location) -> str:
    try:
        s3.upload_file(str(path), location.bucket, location.key)
    except (ClientError, S3UploadFailedError) as error:
        raise DataError(f"ClientError: cannot upload to {location.uri}: {error}") from None
    return location.uri
