"""Builds the built-in images without any container registry (``mlharbor images --build``).

No registry is reachable here, so nothing can start ``FROM python:…``. The base image is made
from parts that are: ``debootstrap`` puts a minimal Debian bookworm (whose ``python3`` is 3.11,
the version the wheels are for) in a directory, this interpreter's ``pip`` installs the job
libraries into it from the configured local indexes, and ``docker import`` turns the directory
into ``mlharbor/base:<digest>``. Each built-in is then an ordinary ``docker build`` of
``containers/Dockerfile.offline`` on that base: the project's packages and an entry program
mapping ``train``/``serve``/the processing default to the built-in's modules.

Everything is cached by content: the base's tag is the digest of its recipe (suite, packages,
requirements), and each built-in carries a label with the digest of its build context, so a
second build with nothing changed only asks Docker two questions per image.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from containers.registry import BUILTIN_IMAGES, BuiltinImage

#: bump when the way the base is made changes (invalidates every cached base)
RECIPE_VERSION = 1
BASE_REPOSITORY = "mlharbor/base"
#: label on every image we build: which recipe or context digest it was built from
SOURCE_LABEL = "org.mlharbor.source-digest"
BUILT_TAG = "latest"
#: the project's packages copied into every built-in (what its modules may import): the built-ins and the
#: container contract they share, never the server (an import-linter contract keeps containers/ off it)
PROJECT_PACKAGES = ("containers",)
#: requirements of the server that no job container needs
_SERVER_ONLY = {"moto", "docker"}
#: what the built-in images need beyond the project's requirements (the xgboost image's library), pinned
#: to the server's own so a model trained by one runner loads in the other
IMAGE_ONLY_REQUIREMENTS = ("xgboost-cpu==3.2.0",)
_DEBIAN_PACKAGES = ("python3", "python-is-python3", "ca-certificates", "procps")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


class BuildError(RuntimeError):
    """An image could not be built; the message says which step and why."""


def project_root() -> Path:
    """The directory holding the project's packages (``containers/`` lies in it)."""
    import containers

    return Path(containers.__file__).resolve().parent.parent


def job_requirements() -> tuple[str, ...]:
    """The project's runtime requirements, minus what only the server uses (moto, the Docker SDK), plus
    :data:`IMAGE_ONLY_REQUIREMENTS` where the project does not list them yet."""
    found = []
    for requirement in importlib.metadata.requires("mlharbor") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower()
        if name not in _SERVER_ONLY:
            found.append(requirement.split(";", 1)[0].strip())
    named = {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0].lower() for requirement in found}
    found += [extra for extra in IMAGE_ONLY_REQUIREMENTS if extra.split("==", 1)[0] not in named]
    return tuple(sorted(found))


@dataclass(frozen=True)
class BaseRecipe:
    """What goes into ``mlharbor/base``; its digest is the image's tag.

    Args:
        suite: the Debian release (bookworm: python3 is 3.11).
        mirror: where debootstrap fetches packages (``MLHARBOR_DEBIAN_MIRROR`` overrides).
        debian_packages: installed by debootstrap beside its minimal base.
        requirements: pip requirements installed into ``/usr/local/lib/python3.11/dist-packages``.
    """

    suite: str = "bookworm"
    mirror: str = field(default_factory=lambda: os.environ.get("MLHARBOR_DEBIAN_MIRROR",
                                                               "http://deb.debian.org/debian"))
    debian_packages: tuple[str, ...] = _DEBIAN_PACKAGES
    requirements: tuple[str, ...] = field(default_factory=job_requirements)

    @property
    def digest(self) -> str:
        recipe = {"version": RECIPE_VERSION, "suite": self.suite, "packages": self.debian_packages,
                  "requirements": self.requirements}
        return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def tag(self) -> str:
        return f"{BASE_REPOSITORY}:{self.digest}"


class Progress:
    """One line per step, with how long it took; long steps say they have started."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def note(self, text: str) -> None:
        print(f"  {text}", file=self.stream, flush=True)

    @contextmanager
    def step(self, title: str) -> Iterator[None]:
        print(f"… {title}", file=self.stream, flush=True)
        started = time.monotonic()
        yield
        print(f"✓ {title} ({time.monotonic() - started:.1f} s)", file=self.stream, flush=True)


@dataclass(frozen=True)
class BuiltImage:
    """One image after a build: its tag, whether it came from the cache, how long it took."""

    tag: str
    cached: bool
    seconds: float


def builtin_tag(image: BuiltinImage) -> str:
    """The local tag a built-in is built as and the Docker runner runs (``mlharbor/gnn:latest``)."""
    return f"{image.name}:{BUILT_TAG}"


class ImageBuilder:
    """Builds the base and the built-ins with the Docker SDK.

    Args:
        client: a ``docker.DockerClient``.
        cache_dir: scratch space for the base's root filesystem (``~/.cache/mlharbor/images``).
        progress: where steps are reported.
        recipe: the base recipe (the project's own by default).
    """

    def __init__(self, client: Any, cache_dir: Path | None = None, progress: Progress | None = None,
                 recipe: BaseRecipe | None = None) -> None:
        self.client = client
        self.cache_dir = cache_dir or default_cache_dir()
        self.progress = progress or Progress()
        self.recipe = recipe or BaseRecipe()

    def build_all(self, names: list[str] | None = None, force: bool = False) -> list[BuiltImage]:
        """Build the base and the named built-ins (all by default); cached images are kept.

        Raises:
            BuildError: a step failed (its log's last lines are in the message).
        """
        wanted = [image for image in BUILTIN_IMAGES if names is None or image.name in names]
        unknown = set(names or []) - {image.name for image in BUILTIN_IMAGES}
        if unknown:
            raise BuildError(f"not built-in images: {sorted(unknown)}")
        results = [self.ensure_base(force)]
        results += [self.build_builtin(image, force) for image in wanted]
        return results

    # -- the base ---------------------------------------------------------------------
    def ensure_base(self, force: bool = False) -> BuiltImage:
        """``mlharbor/base:<digest>``: imported from a debootstrap root unless Docker has it."""
        started = time.monotonic()
        tag = self.recipe.tag
        if not force and self._image_exists(tag):
            self.progress.note(f"{tag}: cached")
            return BuiltImage(tag, True, time.monotonic() - started)
        _check_host()
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        rootfs = self.cache_dir / f"rootfs-{self.recipe.digest}"
        log_path = self.cache_dir / f"base-{self.recipe.digest}.log"
        shutil.rmtree(rootfs, ignore_errors=True)
        with log_path.open("w") as log_file:
            with self.progress.step(f"debootstrap {self.recipe.suite} (minbase + python3) into {rootfs}"):
                _run(["debootstrap", "--variant=minbase", f"--include={','.join(self.recipe.debian_packages)}",
                      self.recipe.suite, str(rootfs), self.recipe.mirror], log_file, log_path)
            site = rootfs / "usr" / "local" / "lib" / "python3.11" / "dist-packages"
            with self.progress.step(f"pip install {len(self.recipe.requirements)} requirements (local indexes)"):
                _run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-warn-conflicts",
                      "--no-input", "--target", str(site), *self.recipe.requirements], log_file, log_path)
            _trim(rootfs)
            with self.progress.step(f"docker import → {tag}"):
                self._import(rootfs, tag, log_path)
        shutil.rmtree(rootfs, ignore_errors=True)  # Docker holds it now; the image is the cache
        return BuiltImage(tag, False, time.monotonic() - started)

    def _import(self, rootfs: Path, tag: str, log_path: Path) -> None:
        repository, version = tag.rsplit(":", 1)
        tar = subprocess.Popen(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", "-", "."],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            self.client.api.import_image_from_data(
                tar.stdout, repository=repository, tag=version,
                changes=["ENV LANG=C.UTF-8", "ENV PYTHONUNBUFFERED=1", f"LABEL {SOURCE_LABEL}={self.recipe.digest}",
                         'CMD ["/bin/sh"]'],
            )
        except Exception as error:
            raise BuildError(f"docker import of {rootfs} failed: {error}") from error
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            tar.wait()
        if tar.returncode != 0:
            raise BuildError(f"tar of {rootfs} failed with code {tar.returncode} (see {log_path})")

    # -- the built-ins ----------------------------------------------------------------
    def build_builtin(self, image: BuiltinImage, force: bool = False) -> BuiltImage:
        """``docker build`` of one built-in on the base; skipped when its context is unchanged."""
        started = time.monotonic()
        tag = builtin_tag(image)
        with tempfile.TemporaryDirectory(prefix="mlharbor-context-") as scratch:
            context = Path(scratch)
            _write_context(context)
            args = {"BASE": self.recipe.tag, "TRAIN_MODULE": image.train_module,
                    "SERVE_MODULE": image.serve_module or "",
                    "PROCESS_MODULE": image.process_module or image.train_module}
            digest = _context_digest(context, args)
            if not force and self._label(tag) == digest:
                self.progress.note(f"{tag}: cached")
                return BuiltImage(tag, True, time.monotonic() - started)
            previous = self._image_id(tag)
            with self.progress.step(f"docker build {tag}"):
                try:
                    built, _ = self.client.images.build(
                        path=str(context), dockerfile="Dockerfile", tag=tag, buildargs=args,
                        labels={SOURCE_LABEL: digest, "org.mlharbor.builtin": image.name},
                        rm=True, forcerm=True, pull=False,
                    )
                except Exception as error:
                    raise BuildError(f"docker build of {tag} failed: {_build_log(error)}") from error
            if previous is not None and previous != built.id:
                self._remove_untagged(previous)
        return BuiltImage(tag, False, time.monotonic() - started)

    # -- Docker questions -------------------------------------------------------------
    def _image_id(self, tag: str) -> str | None:
        import docker.errors

        try:
            return str(self.client.images.get(tag).id)
        except docker.errors.ImageNotFound:
            return None

    def _remove_untagged(self, image_id: str) -> None:
        """Drop the image a rebuild replaced, unless something still uses or names it."""
        import docker.errors

        try:
            if not self.client.images.get(image_id).tags:
                self.client.images.remove(image_id)
        except docker.errors.APIError:
            pass  # a container or another tag still uses it: it stays

    def _image_exists(self, tag: str) -> bool:
        return self._label(tag) is not None

    def _label(self, tag: str) -> str | None:
        """The image's source-digest label; ``None`` when there is no such image."""
        import docker.errors

        try:
            labels = self.client.images.get(tag).labels or {}
        except docker.errors.ImageNotFound:
            return None
        return labels.get(SOURCE_LABEL, "")


def default_cache_dir() -> Path:
    """``MLHARBOR_IMAGE_CACHE``, else ``~/.cache/mlharbor/images``."""
    configured = os.environ.get("MLHARBOR_IMAGE_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mlharbor" / "images"


def _check_host() -> None:
    """The base needs root (debootstrap), debootstrap itself and a python3.11 pip for the wheels."""
    if os.geteuid() != 0:
        raise BuildError("building the base image runs debootstrap, which needs root: run `sudo mlharbor images "
                         "--build` (or build from containers/Dockerfile where a registry is reachable)")
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is not installed: `apt-get install debootstrap`")
    if sys.version_info[:2] != (3, 11):
        raise BuildError(f"the base's python is Debian bookworm's 3.11; this pip is for "
                         f"{sys.version_info.major}.{sys.version_info.minor} and would install other wheels")


def _run(argv: list[str], log_file: TextIO, log_path: Path) -> None:
    log_file.write(f"$ {' '.join(argv)}\n")
    log_file.flush()
    result = subprocess.run(argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        log_file.flush()
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        raise BuildError(f"{argv[0]} failed with code {result.returncode} (log: {log_path}):\n{tail}")


def _trim(rootfs: Path) -> None:
    """Drop what an image does not need: downloaded .debs, apt lists, docs."""
    for relative in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man"):
        directory = rootfs / relative
        if directory.is_dir():
            for entry in directory.iterdir():
                if entry.is_file() and entry.name != "lock":
                    entry.unlink()
                elif entry.is_dir() and entry.name != "partial":
                    shutil.rmtree(entry, ignore_errors=True)


def _write_context(context: Path) -> None:
    """The build context: Dockerfile, the entry program and the project's packages under ``mlharbor/``."""
    root = project_root()
    shutil.copy2(root / "containers" / "Dockerfile.offline", context / "Dockerfile")
    shutil.copy2(root / "containers" / "entrypoint.sh", context / "entrypoint.sh")
    for package in PROJECT_PACKAGES:
        if (root / package).is_dir():
            shutil.copytree(root / package, context / "mlharbor" / package, ignore=_IGNORED)


def _context_digest(context: Path, args: dict[str, str]) -> str:
    """Digest of every file's path, mode and bytes in the context, and of the build args."""
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode())
    for path in sorted(p for p in context.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(context)).encode() + b"\0")
        digest.update(str(path.stat().st_mode & 0o777).encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _build_log(error: Exception) -> str:
    """A build error's message with the last lines of its log, when Docker gave one."""
    lines = [str(error)]
    for entry in list(getattr(error, "build_log", None) or [])[-10:]:
        if isinstance(entry, dict) and entry.get("stream"):
            lines.append(entry["stream"].rstrip())
    return "\n".join(lines)
