"""Model archives are extracted safely; the serve environment is the contract's (no server needed)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from containers import contract
from emulator.runners.environment import serving_environment
from emulator.runners.serving import ServingError, ServingRequest, extract_model


def archive(tmp_path: Path, *members: tarfile.TarInfo, data: bytes = b"x") -> Path:
    path = tmp_path / "model.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for member in members:
            if member.isfile():
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
            else:
                tar.addfile(member)
    return path


def member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_regular_files_and_inner_links_are_extracted(tmp_path: Path):
    target = tmp_path / "model"
    extract_model(archive(tmp_path, member("code/inference.py"), member("./weights.pt"),
                          member("latest.pt", tarfile.SYMTYPE, "weights.pt")), target)
    assert (target / "code" / "inference.py").read_bytes() == b"x"
    assert (target / "latest.pt").read_bytes() == b"x"


@pytest.mark.parametrize("bad", [
    member("../escape.txt"),
    member("/etc/evil"),
    member("a/../../escape.txt"),
    member("passwd", tarfile.SYMTYPE, "/etc/passwd"),
    member("up", tarfile.SYMTYPE, "../../outside"),
    member("hard", tarfile.LNKTYPE, "../outside"),
    member("fifo", tarfile.FIFOTYPE),
    member("device", tarfile.CHRTYPE),
    member("inner/../../escape.txt", tarfile.LNKTYPE, "ok.txt"),
])
def test_members_that_escape_or_are_not_files_refuse_the_whole_archive(tmp_path: Path, bad: tarfile.TarInfo):
    target = tmp_path / "deep" / "model"
    with pytest.raises(ServingError, match="outside the model directory"):
        extract_model(archive(tmp_path, member("ok.txt"), bad), target)
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "deep" / "escape.txt").exists()
    assert not (target / "ok.txt").exists()


def test_the_model_environment_cannot_move_the_serving_port(tmp_path: Path):
    request = ServingRequest("ep", "AllTraffic", "mlharbor/pytorch", None,
                             {contract.SERVING_PORT_ENV: "1", "GREETING": "hi"}, tmp_path, "http://127.0.0.1:1",
                             "us-east-1", "ws://127.0.0.1:2/gremlin")
    env = serving_environment(request, tmp_path / "model", 5555, {"AWS_PROFILE": "mine", "PATH": "/bin"})
    assert env[contract.SERVING_PORT_ENV] == "5555" and env[contract.SERVING_HOST_ENV] == "127.0.0.1"
    assert env[contract.SM_MODEL_DIR] == str(tmp_path / "model")
    assert env[contract.GRAPH_ENDPOINT_ENV] == "ws://127.0.0.1:2/gremlin"
    assert env["GREETING"] == "hi" and "AWS_PROFILE" not in env and env["PATH"] == "/bin"
