"""Image references resolve to built-ins: plain names, tags, digests and AWS DLC URIs."""

from __future__ import annotations

import pytest

from containers.registry import UnknownImageError, image_name, resolve


@pytest.mark.parametrize("reference", [
    "mlharbor/pytorch",
    "mlharbor/pytorch:latest",
    "mlharbor/pytorch:2.1",
    "mlharbor/pytorch@sha256:" + "a" * 64,
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310",
    "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.0.1-gpu-py310-cu118-ubuntu20.04-sagemaker",
])
def test_references_that_name_the_pytorch_builtin(reference):
    assert resolve(reference).name == "mlharbor/pytorch"


def test_registry_ports_are_not_tags():
    assert image_name("localhost:5000/team/image:1.0") == "localhost:5000/team/image"


@pytest.mark.parametrize("reference", ["someone/else:1", "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-algo:1"])
def test_unknown_images_say_which_builtins_exist(reference):
    with pytest.raises(UnknownImageError, match="mlharbor/pytorch"):
        resolve(reference)
