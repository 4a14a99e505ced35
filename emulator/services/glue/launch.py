"""How one Glue run is launched: the command line and environment of the job driver (pure, no IO).

The contract with the job runtime (``containers/glue/``): every run goes through its driver,
``driver.py <script> <args...>``: a ``pythonshell`` run under the server's Python, a ``glueetl`` run as the
driver program of ``spark-submit`` (``local[N]`` or a standalone ``spark://`` master). The driver writes the
script's one-line error to ``<work dir>/error.txt``; bookmarks and connections travel as files named by
``MLHARBOR_GLUE_*`` variables.
"""

from __future__ import annotations

import importlib.util
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from emulator.services.glue.records import GLUE_ETL

REPO = Path(__file__).resolve().parents[3]
RUNTIME_DIR = REPO / "containers" / "glue"
DRIVER = RUNTIME_DIR / "driver.py"

def spark_home() -> Path:
    """The installed pyspark's folder: Spark's own home (its bin/, jars/), found without importing pyspark."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        raise FileNotFoundError("pyspark is not installed: glueetl runs need it (pip install pyspark==3.5.8)")
    return Path(spec.origin).parent


#: the special arguments Glue itself reads (https://docs.aws.amazon.com/glue/latest/dg/aws-glue-programming-etl-glue-arguments.html)
EXTRA_PY_FILES = "--extra-py-files"
EXTRA_FILES = "--extra-files"
ADDITIONAL_PYTHON_MODULES = "--additional-python-modules"
SPARK_CONF = "--conf"
#: mlharbor's own: the standalone master one job runs on, over the server's ``--spark-master``
SPARK_MASTER_ARGUMENT = "--mlharbor-spark-master"

ERROR_FILE = "error.txt"
BOOKMARK_IN_FILE = "bookmark-in.json"
BOOKMARK_OUT_FILE = "bookmark-out.json"
CONNECTIONS_FILE = "connections.json"
#: names the run in every process it starts, so a restarted server finds what an interrupted run left
RUN_ID_ENV = "MLHARBOR_GLUE_RUN_ID"


@dataclass(frozen=True)
class RunFiles:
    """Where one run's files lie on local disk (all under its work dir)."""

    work_dir: Path

    @property
    def script_dir(self) -> Path:
        return self.work_dir / "script"

    @property
    def py_files_dir(self) -> Path:
        return self.work_dir / "py-files"

    @property
    def files_dir(self) -> Path:
        return self.work_dir / "files"

    @property
    def error(self) -> Path:
        return self.work_dir / ERROR_FILE

    @property
    def bookmark_in(self) -> Path:
        return self.work_dir / BOOKMARK_IN_FILE

    @property
    def bookmark_out(self) -> Path:
        return self.work_dir / BOOKMARK_OUT_FILE

    @property
    def connections(self) -> Path:
        return self.work_dir / CONNECTIONS_FILE


@dataclass(frozen=True)
class RunIdentity:
    """Who a run is, as its environment names it."""

    job_type: str
    job_name: str
    run_id: str


@dataclass(frozen=True)
class LaunchPlan:
    """A process to start: its argv, environment additions and working directory."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


def uri_list(arguments: dict[str, str], key: str) -> list[str]:
    """A comma-separated argument (``--extra-py-files s3://a.py,s3://b.zip``) as its items."""
    return [item.strip() for item in arguments.get(key, "").split(",") if item.strip()]


def spark_confs(arguments: dict[str, str]) -> list[str]:
    """The ``key=value`` pairs of Glue's ``--conf`` argument, whose value may chain ``k=v --conf k2=v2``."""
    value = arguments.get(SPARK_CONF, "").strip()
    if not value:
        return []
    words = shlex.split(value)
    return [word for word in words if word != SPARK_CONF]


def spark_master(arguments: dict[str, str], server_master: str, cores: int) -> str:
    """Where a glueetl run's executors go: the run's ``--mlharbor-spark-master``, else the server's
    ``--spark-master``, else ``local[cores]`` on this machine."""
    return arguments.get(SPARK_MASTER_ARGUMENT) or server_master or f"local[{cores}]"


def run_environment(identity: RunIdentity, files: RunFiles, py_paths: list[Path],
                    inherited_pythonpath: str) -> dict[str, str]:
    """The ``MLHARBOR_GLUE_*`` variables and the Python path of a run (the AWS access ones come from the caller)."""
    python_path = [str(RUNTIME_DIR), *(str(path) for path in py_paths)]
    if inherited_pythonpath:
        python_path.append(inherited_pythonpath)
    spark = {"SPARK_HOME": str(spark_home())} if identity.job_type == GLUE_ETL else {}
    return {
        **spark,
        "PYTHONPATH": ":".join(python_path),
        "PYTHONUNBUFFERED": "1",
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "MLHARBOR_GLUE_JOB_TYPE": identity.job_type,
        "MLHARBOR_GLUE_JOB_NAME": identity.job_name,
        RUN_ID_ENV: identity.run_id,
        "MLHARBOR_GLUE_WORK_DIR": str(files.work_dir),
        "MLHARBOR_GLUE_BOOKMARK_IN": str(files.bookmark_in),
        "MLHARBOR_GLUE_BOOKMARK_OUT": str(files.bookmark_out),
        "MLHARBOR_GLUE_CONNECTIONS": str(files.connections),
    }


def launch_plan(identity: RunIdentity, files: RunFiles, script: Path, script_argv: list[str], env: dict[str, str],
                master: str, py_files: list[Path], extra_files: list[Path], confs: list[str]) -> LaunchPlan:
    """The driver's command line for a ``pythonshell`` or ``glueetl`` run.

    Args:
        master: ``local[N]`` or ``spark://HOST:PORT`` (glueetl only).
        py_files: downloaded ``--extra-py-files`` (handed to Spark's executors too).
        extra_files: downloaded ``--extra-files``.
        confs: Spark ``key=value`` settings.
    """
    if identity.job_type != GLUE_ETL:
        return LaunchPlan([sys.executable, str(DRIVER), str(script), *script_argv], env, files.work_dir)
    argv = [str(spark_home() / "bin" / "spark-submit"), "--master", master, "--name", identity.job_name,
            "--conf", "spark.driver.host=127.0.0.1", "--conf", "spark.driver.bindAddress=127.0.0.1",
            "--conf", "spark.ui.showConsoleProgress=false"]
    if py_files:
        argv += ["--py-files", ",".join(str(path) for path in py_files)]
    if extra_files:
        argv += ["--files", ",".join(str(path) for path in extra_files)]
    for conf in confs:
        argv += ["--conf", conf]
    return LaunchPlan([*argv, str(DRIVER), str(script), *script_argv], env, files.work_dir)
