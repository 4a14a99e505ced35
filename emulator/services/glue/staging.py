"""Bringing a run's inputs onto local disk before it starts: the script, ``--extra-py-files``, ``--extra-files``,
and ``--additional-python-modules``: wheels from S3 are installed offline into the run's own folder
(``pip install --no-index --no-deps``), and each named requirement must be satisfied by what is installed or
by those wheels (nothing is downloaded from the network).

Every object lands under the run's work dir by a name the server chooses from the key's last part
(:func:`emulator.core.safepath.fresh_target`), never where a key would put it.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from packaging.requirements import InvalidRequirement, Requirement

from emulator.core.safepath import UnsafePathError, fresh_target
from emulator.runners.s3io import DataError, S3Location
from emulator.services.glue.launch import (
    ADDITIONAL_PYTHON_MODULES,
    BOOKMARK_IN_FILE,
    BOOKMARK_OUT_FILE,
    CONNECTIONS_FILE,
    ERROR_FILE,
    EXTRA_FILES,
    EXTRA_PY_FILES,
    RunFiles,
    uri_list,
)

_RESERVED = {ERROR_FILE, BOOKMARK_IN_FILE, BOOKMARK_OUT_FILE, CONNECTIONS_FILE, "script", "py-files", "files",
             "wheels", "site-packages"}
#: how long installing a run's wheels may take
_PIP_TIMEOUT_SECONDS = 300


class StagingError(Exception):
    """A run's inputs could not be made ready; the message is the run's ``ErrorMessage``."""


@dataclass(frozen=True)
class StagedInputs:
    """A run's inputs on local disk."""

    script: Path
    py_paths: list[Path]
    py_files: list[Path]
    extra_files: list[Path]


def stage_inputs(s3: Any, script_location: str, arguments: dict[str, str], files: RunFiles) -> StagedInputs:
    """Download what a run needs; raise :class:`StagingError` saying what is missing or refused."""
    modules = [item.strip() for item in arguments.get(ADDITIONAL_PYTHON_MODULES, "").split(",") if item.strip()]
    wheels = [spec for spec in modules if spec.startswith("s3://")]
    site = files.work_dir / "site-packages"
    if wheels:
        install_wheels([download(s3, uri, files.work_dir / "wheels", ADDITIONAL_PYTHON_MODULES) for uri in wheels],
                       site)
    check_python_modules([spec for spec in modules if spec not in wheels], site)
    script = download(s3, script_location, files.script_dir, "script")
    py_files = [download(s3, uri, files.py_files_dir, EXTRA_PY_FILES) for uri in uri_list(arguments, EXTRA_PY_FILES)]
    extra = [download(s3, uri, files.work_dir, EXTRA_FILES) for uri in uri_list(arguments, EXTRA_FILES)]
    # a .py is imported from its folder; a .zip (or .egg/.whl) is itself a path entry
    py_paths = [site] if wheels else []
    py_paths += [files.py_files_dir] if any(p.suffix == ".py" for p in py_files) else []
    py_paths += [p for p in py_files if p.suffix in (".zip", ".egg", ".whl")]
    return StagedInputs(script, py_paths, py_files, extra)


def install_wheels(wheels: list[Path], target: Path) -> None:
    """``pip install`` the run's wheels into ``target``, offline and without their dependencies."""
    not_wheels = [path.name for path in wheels if path.suffix != ".whl"]
    if not_wheels:
        raise StagingError(f"ModuleInstallError: --additional-python-modules from S3 must be wheels (.whl), not "
                           f"{', '.join(not_wheels)}.")
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
               "--disable-pip-version-check", "--target", str(target), *(str(path) for path in wheels)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=_PIP_TIMEOUT_SECONDS, check=False)
    except subprocess.TimeoutExpired:
        raise StagingError("ModuleInstallError: installing --additional-python-modules took too long.") from None
    if done.returncode != 0:
        said = [line for line in done.stderr.splitlines() if line.strip()]
        raise StagingError(f"ModuleInstallError: --additional-python-modules: "
                           f"{said[-1] if said else 'pip exited with ' + str(done.returncode)}")


def download(s3: Any, uri: str, directory: Path, what: str) -> Path:
    """One object into ``directory`` under its key's last part."""
    try:
        location = S3Location.parse(uri)
    except DataError:
        raise StagingError(f"{what}: {uri!r} is not an s3:// URI of an object.") from None
    name = location.key.rsplit("/", 1)[-1]
    if not name or name in (".", "..") or name in _RESERVED:
        raise StagingError(f"{what}: {uri} does not name a file mlharbor can place (its last part is {name!r}).")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        target = fresh_target(directory, name)
    except (UnsafePathError, OSError) as error:
        raise StagingError(f"{what}: {uri} cannot be placed: {error}") from None
    try:
        body = s3.get_object(Bucket=location.bucket, Key=location.key)["Body"]  # its error code says which is missing
        with open(target, "wb") as out:
            for chunk in body.iter_chunks(1024 * 1024):
                out.write(chunk)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code in ("NoSuchKey", "NoSuchBucket", "404"):
            raise StagingError(f"{what} {uri} does not exist in S3 ({code}).") from None
        raise StagingError(f"{what} {uri} could not be downloaded: {error}") from None
    except (BotoCoreError, OSError) as error:
        raise StagingError(f"{what} {uri} could not be downloaded: {error}") from None
    return target


def check_python_modules(specs: list[str], site: Path | None = None) -> None:
    """Each requirement must already be installed, in the server's environment or the run's ``site``.

    Raises:
        StagingError: a requirement no installed distribution satisfies (mlharbor has no network).
    """
    for spec in specs:
        if spec.endswith(".whl"):
            raise StagingError(f"ModuleInstallError: --additional-python-modules {spec}: a wheel must be an s3:// "
                               "URI of the wheel in S3.")
        try:
            requirement = Requirement(spec)
        except InvalidRequirement:
            raise StagingError(f"ModuleInstallError: --additional-python-modules {spec!r} is not a requirement "
                               "(name, name==version, name>=version) nor an s3:// wheel.") from None
        installed = _installed_version(requirement.name, site)
        if installed is None:
            raise StagingError(f"ModuleInstallError: --additional-python-modules {spec}: {requirement.name} is not "
                               "installed and cannot be installed offline (mlharbor downloads nothing at run "
                               "time; give its wheel as an s3:// URI).")
        if requirement.specifier and installed not in requirement.specifier:
            raise StagingError(f"ModuleInstallError: --additional-python-modules {spec}: {requirement.name} "
                               f"{installed} is installed and another version cannot be installed offline.")


def _installed_version(name: str, site: Path | None) -> str | None:
    if site is not None and site.is_dir():
        for distribution in importlib.metadata.distributions(path=[str(site)]):
            if _normalized(distribution.metadata["Name"] or "") == _normalized(name):
                return distribution.version
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _normalized(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")
