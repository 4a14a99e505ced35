"""A job's own Python environment in the process runner: the job image's interpreter, not the server's.

On SageMaker a job's ``python3`` is its image's, and ``pip install -r requirements.txt`` changes
that image's copy only. Run as local processes, a job would otherwise share the server's
interpreter, and a ``torch==…`` line would replace the server's torch. So every host of a job gets
a virtual environment of its own (made in milliseconds, without pip: nothing is copied) whose
``site-packages`` ends with the server's own, read-only: torch, the toolkit and mlharbor's
containers import as they would in the image, and whatever the job installs lands in its
environment and shadows the server's copy without touching it (pip leaves a package it finds
outside its environment where it is). The environment's ``bin/`` comes first on the job's
``PATH``, so ``python``, ``python3`` and ``pip`` from a shell, ``ContainerEntrypoint`` or a
toolkit's ``sys.executable -m pip`` all mean the job's environment.
"""

from __future__ import annotations

import os
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path

#: the .pth file that appends the server's site-packages (and runs their own .pth files: editable installs)
SERVER_SITE_PTH = "_mlharbor_server_site.pth"


@dataclass(frozen=True)
class JobInterpreter:
    """One job host's environment.

    Args:
        prefix: the environment's directory (its ``sys.prefix``).
    """

    prefix: Path

    @property
    def bin_dir(self) -> Path:
        return self.prefix / "bin"

    @property
    def python(self) -> str:
        return str(self.bin_dir / "python3")

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with this environment active: first on ``PATH``, ``VIRTUAL_ENV`` naming it."""
        env = dict(base)
        path = env.get("PATH") or os.defpath
        env["PATH"] = os.pathsep.join([str(self.bin_dir), path])
        env["VIRTUAL_ENV"] = str(self.prefix)
        env.pop("PYTHONHOME", None)  # it would point the job's python back at another installation
        return env


def server_site_dirs() -> list[str]:
    """The server's own ``site-packages`` directories (its virtual environment's, when it runs in one)."""
    paths = sysconfig.get_paths()
    return list(dict.fromkeys([paths["purelib"], paths["platlib"]]))


def create(prefix: Path, site_dirs: list[str] | None = None) -> JobInterpreter:
    """Make the environment at ``prefix`` (an existing one is reused: a retried job keeps its installs)."""
    interpreter = JobInterpreter(prefix)
    if not (prefix / "pyvenv.cfg").exists():
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=False).create(prefix)
    site_packages = Path(_site_packages(prefix))
    site_packages.mkdir(parents=True, exist_ok=True)
    lines = [f"import site; site.addsitedir({directory!r})" for directory in site_dirs or server_site_dirs()]
    (site_packages / SERVER_SITE_PTH).write_text("\n".join(lines) + "\n")
    _write_pip_scripts(interpreter)
    return interpreter


def _site_packages(prefix: Path) -> str:
    """Where the environment at ``prefix`` keeps its packages (what its own pip installs into)."""
    return sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})


def _write_pip_scripts(interpreter: JobInterpreter) -> None:
    """``pip`` and ``pip3`` for a shell in the job: the server's pip module, run by the job's python."""
    script = (f"#!{interpreter.python}\n"
              "import sys\n"
              "from pip._internal.cli.main import main\n"
              "sys.exit(main())\n")
    for name in ("pip", "pip3", f"pip{sys.version_info.major}.{sys.version_info.minor}"):
        path = interpreter.bin_dir / name
        path.write_text(script)
        path.chmod(0o755)
