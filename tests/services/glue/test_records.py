"""The pure rules of Glue runs: capacity checks, local[N], DPU-seconds, argument merge, the script's argv."""

from __future__ import annotations

import pytest

from emulator.services.glue.exceptions import InvalidInputError
from emulator.services.glue.launch import spark_confs, spark_master
from emulator.services.glue.records import (
    Capacity,
    capacity_for,
    dpu_seconds,
    local_cores,
    merge_arguments,
    run_capacity,
    script_arguments,
)


def test_local_cores_come_from_the_executors_and_never_exceed_the_machine() -> None:
    assert local_cores(Capacity("G.1X", 2, 2.0), machine_cores=16) == 4  # one executor worker of 4 vCPUs
    assert local_cores(Capacity("G.2X", 5, 10.0), machine_cores=16) == 16
    assert local_cores(Capacity("G.1X", 10, 10.0), machine_cores=2) == 2
    assert local_cores(Capacity(None, None, 10.0), machine_cores=64) == 36


def test_dpu_seconds_by_worker_type() -> None:
    assert dpu_seconds(Capacity("G.1X", 3, 3.0), 10) == 20  # two executors, factor 1
    assert dpu_seconds(Capacity("G.2X", 3, 6.0), 10) == 40
    assert dpu_seconds(Capacity("G.025X", 5, 1.25), 8) == 8
    assert dpu_seconds(Capacity(None, None, 0.0625), 16) == 1


def test_capacity_rules() -> None:
    assert capacity_for("pythonshell", None, None, None).max_capacity == 0.0625
    assert capacity_for("glueetl", None, None, None).max_capacity == 10
    assert capacity_for("glueetl", "G.2X", 4, None).dpus == 8
    for args in [("pythonshell", None, None, 0.5), ("glueetl", "G.1X", None, None), ("glueetl", None, None, 1.0),
                 ("glueetl", "G.1X", 2, 4.0)]:
        with pytest.raises(InvalidInputError):
            capacity_for(*args)


def test_arguments_merge_and_argv() -> None:
    merged = merge_arguments({"--a": "1", "--b": "1"}, {"--b": "2", "--c": "2"}, {"--c": "3"})
    assert merged == {"--a": "1", "--b": "2", "--c": "3"}
    argv = script_arguments({**merged, "--job-bookmark-option": "job-bookmark-enable"}, "j", "j_1", "jr_1", "s3://t/")
    assert argv[:10] == ["--JOB_NAME", "j", "--JOB_ID", "j_1", "--JOB_RUN_ID", "jr_1",
                         "--job-bookmark-option", "job-bookmark-enable", "--TempDir", "s3://t/"]
    assert argv[10:] == ["--a", "1", "--b", "2", "--c", "3"]


def test_spark_conf_argument_chains() -> None:
    assert spark_confs({"--conf": "spark.a=1 --conf spark.b=2"}) == ["spark.a=1", "spark.b=2"]
    assert spark_confs({}) == []


def test_spark_master_run_argument_over_server_setting_over_local() -> None:
    assert spark_master({"--mlharbor-spark-master": "spark://a:1"}, "spark://b:2", 2) == "spark://a:1"
    assert spark_master({}, "spark://b:2", 2) == "spark://b:2"
    assert spark_master({}, "", 3) == "local[3]"


def test_a_run_capacity_overrides_the_jobs() -> None:
    job = {"WorkerType": "G.1X", "NumberOfWorkers": 5, "MaxCapacity": 5.0}
    assert run_capacity("glueetl", job, {}) == Capacity("G.1X", 5, 5.0)
    assert run_capacity("glueetl", job, {"NumberOfWorkers": 2}) == Capacity("G.1X", 2, 2.0)
    assert run_capacity("glueetl", job, {"WorkerType": "G.2X"}) == Capacity("G.2X", 5, 10.0)
    assert run_capacity("glueetl", job, {"MaxCapacity": 3.0}) == Capacity(None, None, 3.0)
    assert run_capacity("pythonshell", {"MaxCapacity": 0.0625}, {"MaxCapacity": 1.0}) == Capacity(None, None, 1.0)
