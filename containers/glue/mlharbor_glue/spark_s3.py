"""Hooks PySpark's DataFrameReader/DataFrameWriter so ``s3://`` paths go through :class:`S3Stage`.

After :func:`install`, a plain script's ``spark.read.csv("s3://b/in/")`` reads a staged local copy and
``df.write.mode("overwrite").parquet("s3://b/out/")`` writes locally, then uploads; so do the RDD API's
``sc.textFile`` and ``rdd.saveAsTextFile`` (which, as on Hadoop, refuses a path that exists). Save modes keep
their S3 meaning: ``overwrite`` replaces what is under the path, ``append`` adds files beside it,
``error``/``errorifexists`` (Spark's default) fails when the path has objects, ``ignore`` then skips.
Installing twice is harmless; local paths pass through untouched.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlharbor_glue import runenv
from mlharbor_glue.s3stage import S3Stage, is_s3

#: Reader methods and the name of their path parameter.
_READERS = {"load": "path", "csv": "path", "json": "path", "parquet": "paths", "orc": "path", "text": "paths"}
#: Writer methods (each takes ``path``).
_WRITERS = ("save", "csv", "json", "parquet", "orc", "text")
#: Attribute on a DataFrameWriter recording the mode given through ``.mode()``.
_MODE_ATTR = "_mlharbor_save_mode"
_MARK = "_mlharbor_s3_hooked"

_stage: S3Stage | None = None
_stage_lock = threading.Lock()


def stage() -> S3Stage:
    """The process's one :class:`S3Stage`, in the run's work dir."""
    global _stage
    with _stage_lock:
        if _stage is None:
            _stage = S3Stage(runenv.current().work_dir)
        return _stage


def _localize(value: Any) -> Any:
    if is_s3(value):
        return stage().localize(value)
    if isinstance(value, list | tuple):
        return type(value)(_localize(v) for v in value)
    return value


def _hook_reader(original: Callable[..., Any], parameter: str) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def read(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        if parameter in bound.arguments:
            bound.arguments[parameter] = _localize(bound.arguments[parameter])
        return original(*bound.args, **bound.kwargs)

    return read


def normalized_mode(mode: str | None) -> str:
    """Spark's save mode name in one spelling: append, overwrite, ignore or error."""
    value = (mode or "error").lower()
    return "error" if value in ("errorifexists", "default") else value


def _already_exists(uri: str) -> Exception:
    from pyspark.errors import AnalysisException

    return AnalysisException(message=f"[PATH_ALREADY_EXISTS] Path {uri} already exists. "
                                     'Set mode as "overwrite" to overwrite the existing path.')


def _hook_writer(original: Callable[..., Any]) -> Callable[..., Any]:
    signature = inspect.signature(original)

    @functools.wraps(original)
    def write(self: Any, *args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(self, *args, **kwargs)
        uri = bound.arguments.get("path")
        if not is_s3(uri):
            return original(*bound.args, **bound.kwargs)
        explicit = bound.arguments.get("mode")
        mode = normalized_mode(explicit if explicit is not None else getattr(self, _MODE_ATTR, None))
        if mode in ("error", "ignore") and stage().has_objects(uri):
            if mode == "ignore":
                return None
            raise _already_exists(uri)
        local: Path = stage().output_dir()
        bound.arguments["path"] = local.as_uri()
        result = original(*bound.args, **bound.kwargs)
        stage().upload(local, uri, replace=(mode == "overwrite"))
        return result

    return write


def _hook_mode(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def mode(self: Any, saveMode: str | None) -> Any:  # noqa: N803 (PySpark's parameter name)
        setattr(self, _MODE_ATTR, saveMode)
        return original(self, saveMode)

    return mode


def _hook_text_file(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def text_file(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        # Hadoop takes a comma-separated list of paths here
        local = ",".join(_localize(part) for part in name.split(",")) if isinstance(name, str) else name
        return original(self, local, *args, **kwargs)

    return text_file


def _hook_save_as_text_file(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def save_as_text_file(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        if not is_s3(path):
            return original(self, path, *args, **kwargs)
        if stage().has_objects(path):
            raise _already_exists(path)
        local = stage().output_dir()
        result = original(self, local.as_uri(), *args, **kwargs)
        stage().upload(local, path, replace=False)
        return result

    return save_as_text_file


def install() -> None:
    """Patches PySpark once per process (imports pyspark, starts no JVM)."""
    from pyspark import RDD, SparkContext
    from pyspark.sql.readwriter import DataFrameReader, DataFrameWriter

    if getattr(DataFrameReader, _MARK, False):
        return
    SparkContext.textFile = _hook_text_file(SparkContext.textFile)
    RDD.saveAsTextFile = _hook_save_as_text_file(RDD.saveAsTextFile)
    for name, parameter in _READERS.items():
        setattr(DataFrameReader, name, _hook_reader(getattr(DataFrameReader, name), parameter))
    for name in _WRITERS:
        setattr(DataFrameWriter, name, _hook_writer(getattr(DataFrameWriter, name)))
    DataFrameWriter.mode = _hook_mode(DataFrameWriter.mode)
    DataFrameReader._mlharbor_s3_hooked = True
