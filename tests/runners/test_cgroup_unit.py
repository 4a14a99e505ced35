"""Where a job's memory cgroup goes, read from a cgroup tree laid out as the kernel does (in a temporary directory)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.runners.local import cgroup


def unified(root: Path, own: str, controllers: str = "cpu memory pids", delegated: str = "memory") -> Path:
    """A cgroup v2 hierarchy at ``root`` with this process in ``own``."""
    directory = root / own.lstrip("/")
    directory.mkdir(parents=True)
    (root / "cgroup.controllers").write_text(controllers + "\n")
    for level in [directory, *directory.parents]:
        if level == root.parent:
            break
        (level / "cgroup.controllers").write_text(controllers + "\n")
        (level / "cgroup.subtree_control").write_text(delegated + "\n")
    return directory


def test_cgroup_v2_puts_the_limit_in_memory_max_below_our_own_cgroup(tmp_path):
    own = unified(tmp_path / "fs", "/system.slice/mlharbor.service")
    (tmp_path / "self").write_text("0::/system.slice/mlharbor.service\n")
    made = cgroup.create("job-algo-1", 8 << 30, root=tmp_path / "fs", self_cgroup=tmp_path / "self")
    assert made.version == 2
    assert made.path == own / "mlharbor-job-algo-1"
    assert (made.path / "memory.max").read_text() == str(8 << 30)


def test_cgroup_v1_memory_controller_where_the_unified_hierarchy_has_no_memory(tmp_path):
    root = tmp_path / "fs"
    unified(root / "unified", "/", controllers="", delegated="")
    own = root / "memory" / "process_api" / "abc"
    own.mkdir(parents=True)
    (root / "memory" / "cgroup.procs").write_text("")
    (tmp_path / "self").write_text("4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n")
    made = cgroup.create("job-algo-1", 4 << 30, root=root, self_cgroup=tmp_path / "self")
    assert made.version == 1
    assert made.path == own / "mlharbor-job-algo-1"
    assert (made.path / "memory.limit_in_bytes").read_text() == str(4 << 30)


def test_no_hierarchy_says_why(tmp_path):
    (tmp_path / "self").write_text("0::/\n")
    with pytest.raises(cgroup.CgroupUnavailable, match="no cgroup v2 hierarchy; no cgroup v1 memory controller"):
        cgroup.create("job", 1 << 30, root=tmp_path / "nothing", self_cgroup=tmp_path / "self")
