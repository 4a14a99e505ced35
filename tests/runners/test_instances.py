"""Instance types → a container's vCPUs and memory (pure; no engine needed)."""

from __future__ import annotations

import pytest

from emulator.runners.instances import Resources, container_limits, instance_resources

GIB = 1024**3


@pytest.mark.parametrize("instance_type, cpus, memory_gib", [
    ("ml.m5.large", 2, 8), ("ml.m5.4xlarge", 16, 64), ("ml.c5.xlarge", 4, 8), ("ml.r5.2xlarge", 8, 64),
    ("ml.t3.medium", 2, 4), ("ml.g4dn.xlarge", 4, 16), ("not-a-type", 2, 8),
])
def test_instance_types_give_their_vcpus_and_memory(instance_type, cpus, memory_gib):
    assert instance_resources(instance_type) == Resources(cpus, memory_gib * GIB)


def test_limits_never_exceed_the_machine():
    assert container_limits("ml.m5.24xlarge", Resources(2, 4 * GIB)) == Resources(2, 4 * GIB)
