"""The Glue job driver as a pythonshell run starts it: argv, exit status, error.txt; getResolvedOptions."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

GLUE = Path(__file__).resolve().parents[3] / "containers" / "glue"
DRIVER = GLUE / "driver.py"


def run_driver(tmp_path: Path, script: str, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    path = tmp_path / "script.py"
    path.write_text(script)
    work = tmp_path / "work"
    env = {**os.environ, "PYTHONPATH": str(GLUE), "MLHARBOR_GLUE_WORK_DIR": str(work),
           "MLHARBOR_GLUE_JOB_TYPE": "pythonshell"}
    done = subprocess.run([sys.executable, str(DRIVER), str(path), *args], env=env, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    return done, work / "error.txt"


def test_script_gets_the_job_arguments_as_aws_passes_them(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from awsglue.utils import getResolvedOptions\n"
        "args = getResolvedOptions(sys.argv, ['JOB_NAME', 'input', 'limit'])\n"
        "print('ARGV0', sys.argv[0].endswith('script.py'), __name__)\n"
        "print('ARGS', args['JOB_NAME'], args['input'], args['limit'])\n"
    )
    done, error = run_driver(tmp_path, script, "--JOB_NAME", "etl", "--JOB_RUN_ID", "jr_1", "--input",
                             "s3://b/in/", "--limit=-5", "--job-bookmark-option", "job-bookmark-disable")
    assert done.returncode == 0, done.stderr
    assert "ARGV0 True __main__" in done.stdout
    assert "ARGS etl s3://b/in/ -5" in done.stdout
    assert not error.exists()


def test_an_uncaught_exception_fails_with_its_one_line(tmp_path: Path) -> None:
    done, error = run_driver(tmp_path, "def f():\n    raise KeyError('no column named x')\nf()\n")
    assert done.returncode == 1
    assert "Traceback" in done.stderr and "in f" in done.stderr
    assert error.read_text().strip() == "KeyError: 'no column named x'"


def test_a_missing_required_argument_names_it(tmp_path: Path) -> None:
    script = "import sys\nfrom awsglue.utils import getResolvedOptions\ngetResolvedOptions(sys.argv, ['JOB_NAME', 'out'])\n"
    done, error = run_driver(tmp_path, script, "--JOB_NAME", "etl")
    assert done.returncode == 1
    assert error.read_text().strip() == "GlueArgumentError: the following arguments are required: --out"


def test_a_syntax_error_fails_the_run(tmp_path: Path) -> None:
    done, error = run_driver(tmp_path, "print('ok'\n")
    assert done.returncode == 1
    assert error.read_text().startswith("SyntaxError: ")


@pytest.mark.parametrize(("code", "status"), [("0", 0), ("None", 0), ("3", 3)])
def test_sys_exit_keeps_its_status(tmp_path: Path, code: str, status: int) -> None:
    done, error = run_driver(tmp_path, f"import sys\nsys.exit({code})\n")
    assert done.returncode == status
    assert error.exists() == (status != 0)


def test_the_script_folder_is_importable(tmp_path: Path) -> None:
    (tmp_path / "helper_mod.py").write_text("VALUE = 42\n")
    done, _ = run_driver(tmp_path, "import helper_mod\nprint('V', helper_mod.VALUE)\n")
    assert done.returncode == 0, done.stderr
    assert "V 42" in done.stdout


def test_pythonshell_without_pyspark_use_does_not_import_it(tmp_path: Path) -> None:
    done, _ = run_driver(tmp_path, "import sys\nprint('SPARK', 'pyspark' in sys.modules)\n")
    assert "SPARK False" in done.stdout
