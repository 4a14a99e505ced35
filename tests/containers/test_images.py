"""The offline images (``mlharbor images --build``): cached rebuilds and the entry program's contract."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from containers.registry import BUILTIN_IMAGES
from emulator.images.build import SOURCE_LABEL, BaseRecipe, _write_context, builtin_tag, job_requirements
from tests.conftest import REPO


@pytest.mark.docker
def test_a_second_build_is_all_cached_and_quick(docker_images):
    result = subprocess.run([sys.executable, "-m", "emulator.cli", "images", "--build"], capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + len(BUILTIN_IMAGES)
    assert all(" cached in " in line for line in lines), result.stdout
    for image in BUILTIN_IMAGES:
        built = docker_images.images.get(builtin_tag(image))
        assert built.labels[SOURCE_LABEL] and built.labels["org.mlharbor.builtin"] == image.name
        assert built.attrs["Config"]["Env"].count(f"MLHARBOR_TRAIN_MODULE={image.train_module}") == 1


def test_the_base_holds_the_job_libraries_but_not_the_servers():
    names = {re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0] for requirement in job_requirements()}
    assert {"torch", "torch-geometric", "sagemaker-training", "boto3", "gremlinpython"} <= names
    assert not names & {"moto", "docker"}
    assert BaseRecipe().tag.startswith("mlharbor/base:")


def test_an_image_carries_the_containers_package_but_not_the_server(tmp_path):
    _write_context(tmp_path)
    assert sorted(entry.name for entry in (tmp_path / "mlharbor").iterdir()) == ["containers"]
    assert (tmp_path / "mlharbor" / "containers" / "contract" / "__init__.py").is_file()


@pytest.mark.docker
@pytest.mark.parametrize("image, command, code, output", [
    ("mlharbor/pytorch", ["python", "-c", "import torch, sagemaker_training, containers.contract; "
                                          "print(torch.__version__)"], 0, "2.13.0"),
    ("mlharbor/pytorch", ["serve"], 1, "failed to load"),  # serves, but there is no model on /opt/ml/model
    ("mlharbor/graph-etl", ["serve"], 2, "this image does not serve"),
    ("mlharbor/gnn", ["python", "-c", "import emulator"], 1, "No module named 'emulator'"),
])
def test_the_entry_runs_commands_and_named_programs(docker_images, image, command, code, output):
    container = docker_images.containers.run(f"{image}:latest", command, detach=True,
                                             labels={"org.mlharbor": "1", "org.mlharbor.test": "images"})
    try:
        assert container.wait(timeout=120)["StatusCode"] == code
        assert output in container.logs().decode()
    finally:
        container.remove(force=True)
