"""The vendored front-end files are the ones the manifest names, each with its licence; pages fetch
nothing from another origin."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

CONSOLE = Path(__file__).resolve().parents[2] / "emulator" / "console"
VENDOR = CONSOLE / "static" / "vendor"


def manifest() -> dict[str, str]:
    entries = {}
    for line in (VENDOR / "MANIFEST.sha256").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        entries[name.strip()] = digest
    return entries


def test_every_vendored_file_matches_its_checksum() -> None:
    entries = manifest()
    on_disk = {str(path.relative_to(VENDOR)) for path in VENDOR.rglob("*") if path.is_file()}
    assert on_disk - {"MANIFEST.sha256", "SOURCES.md"} == set(entries)
    for name, digest in entries.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_every_library_carries_its_licence() -> None:
    libraries = {name.split("/")[0] for name in manifest()}
    assert libraries == {"cytoscape", "htmx", "uplot"}
    for library in libraries:
        assert f"{library}/LICENSE" in manifest()


def test_templates_load_nothing_from_another_origin() -> None:
    for template in (CONSOLE / "templates").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), template.name
