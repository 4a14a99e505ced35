"""The Glue job driver: runs a user's script as AWS Glue runs it, and reports how it ended.

Started by the server for every run (``python driver.py SCRIPT ARGS...`` for ``pythonshell``,
``spark-submit ... driver.py SCRIPT ARGS...`` for ``glueetl``). The script sees ``sys.argv`` =
``[SCRIPT, ARGS...]`` (the job arguments as AWS passes them, read with ``getResolvedOptions``) and runs
as ``__main__`` with its own folder on ``sys.path``. For ``glueetl`` (or wherever PySpark is installed)
``s3://`` paths in Spark are staged through the embedded S3 first (:mod:`mlharbor_glue.spark_s3`).

Exit status 0 is success. An uncaught exception prints its traceback to stderr, writes its one line
(``Type: message``) to ``<MLHARBOR_GLUE_WORK_DIR>/error.txt`` (the run's ErrorMessage) and exits 1.
"""

from __future__ import annotations

import importlib.util
import runpy
import sys
import traceback
from pathlib import Path

# this file's folder holds awsglue and mlharbor_glue; make them importable however we were started
sys.path.insert(0, str(Path(__file__).resolve().parent))

from mlharbor_glue import runenv  # noqa: E402
from mlharbor_glue.outcome import error_line  # noqa: E402


def install_s3_hooks(job_type: str) -> None:
    """Hooks Spark's readers and writers for ``s3://`` unless this is a pythonshell run without PySpark."""
    if job_type == "pythonshell" and "pyspark" not in sys.modules:
        return
    if importlib.util.find_spec("pyspark") is None:
        return
    from mlharbor_glue import spark_s3

    spark_s3.install()


def write_error(work_dir: Path, line: str) -> None:
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / runenv.ERROR_FILE).write_text(line + "\n", encoding="utf-8")


def run(argv: list[str]) -> int:
    """Runs ``argv[0]`` with ``argv[1:]`` as its arguments; returns the exit status."""
    if not argv:
        print("usage: driver.py SCRIPT [ARGS...]", file=sys.stderr)
        return 2
    env = runenv.current()
    script = Path(argv[0])
    sys.argv = [str(script), *argv[1:]]
    sys.path.insert(0, str(script.resolve().parent))
    try:
        install_s3_hooks(env.job_type)
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as stop:
        code = stop.code
        if code in (None, 0):
            return 0
        status = code if isinstance(code, int) else 1
        write_error(env.work_dir, f"SystemExit: {code}")
        return status
    except BaseException as error:  # noqa: BLE001 (every failure of the script is the run's failure)
        traceback.print_exc()
        write_error(env.work_dir, error_line(error))
        return 1
    return 0


if __name__ == "__main__":
    status = run(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(status)
