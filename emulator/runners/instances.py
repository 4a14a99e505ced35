"""What an ``ml.*`` instance type gives a container: vCPUs and memory, capped by this machine.

SageMaker instance types are ``ml.<family>.<size>``: the size fixes the vCPU count (``large``
2, ``xlarge`` 4, ``<N>xlarge`` 4·N) and the family the memory per vCPU (``c`` 2 GiB, ``m`` 4 GiB,
``r`` 8 GiB…), as on https://aws.amazon.com/sagemaker/pricing/ ("instance details"). The Docker
runner turns this into the container's CPU quota and memory limit, never more than this
machine has, so a job sees the resources its instance type promises where the machine allows.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_GIB = 1024**3
#: GiB of memory per vCPU by instance family (the letters before the generation digit)
_MEMORY_PER_VCPU = {"c": 2, "m": 4, "r": 8, "t": 2, "g": 4, "p": 8, "x": 16, "inf": 2, "trn": 4}
_SIZES = {"medium": 2, "large": 2, "xlarge": 4}
_TYPE = re.compile(r"^ml\.(?P<family>[a-z]+)\d[a-z0-9-]*\.(?P<size>\d*x?large|medium|metal)$")


@dataclass(frozen=True)
class Resources:
    """CPUs and memory for one container.

    Args:
        cpus: vCPUs (may be fractional once capped; Docker takes nano-CPUs).
        memory_bytes: the memory limit.
    """

    cpus: float
    memory_bytes: int

    @property
    def nano_cpus(self) -> int:
        return int(self.cpus * 1e9)


def instance_resources(instance_type: str) -> Resources:
    """The vCPUs and memory of an ``ml.*`` type (an unknown type counts as ``ml.m5.large``).

    Raises:
        ValueError: never for a well-formed name; odd names fall back to the default.
    """
    match = _TYPE.match(instance_type)
    if match is None:
        return Resources(2, 8 * _GIB)
    size = match["size"]
    if size in _SIZES:
        vcpus = _SIZES[size]
    elif size == "metal":
        vcpus = 96
    else:
        vcpus = 4 * int(size.removesuffix("xlarge"))
    family = match["family"]
    per_vcpu = _MEMORY_PER_VCPU.get(family, _MEMORY_PER_VCPU.get(family[:1], 4))
    if family == "t" and size == "medium":
        return Resources(2, 4 * _GIB)
    return Resources(vcpus, vcpus * per_vcpu * _GIB)


def machine_resources() -> Resources:
    """This machine's CPUs and physical memory."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        memory = 8 * _GIB
    return Resources(float(os.cpu_count() or 1), memory)


def container_limits(instance_type: str, machine: Resources | None = None) -> Resources:
    """The instance type's resources, each capped at what this machine has."""
    wanted = instance_resources(instance_type)
    have = machine or machine_resources()
    return Resources(min(wanted.cpus, have.cpus), min(wanted.memory_bytes, have.memory_bytes))
