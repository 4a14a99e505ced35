"""Result frames: the shortcuts (traversers written without objects, cached map keys, maps kept as they are)
write exactly the bytes and values of the long way."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from gremlin_python.driver.serializer import GraphBinarySerializersV1
from gremlin_python.process.traversal import Direction, T, Traverser
from gremlin_python.structure.graph import Vertex

from emulator.services.neptune import encoding
from emulator.services.neptune.encoding import write_binary, write_traversers
from emulator.services.neptune.gremlin.traversal import to_wire
from emulator.services.neptune.serializers import encode_graphbinary_response
from emulator.services.neptune.store import VertexRecord

RESULTS: list[Any] = [
    {T.id: "v1", T.label: "person::employee", "name": ["ann"], "tags": ["x", "y", "z"]},
    {"s": "n1", "t": "n2", "l": "link"},
    {Direction.IN: {T.id: "v2"}, "weight": 0.5, 7: True},
    "text", 12, 2**40, 1.5, False, None, [1, [2, 3]], {1, 2}, dt.datetime(2024, 1, 2, 3, 4, 5),
    Vertex("v3", "robot"),
]


def long_way(values: list[Any]) -> bytes:
    out = bytearray()
    write_binary([Traverser(value, 1) for value in values], out)
    return bytes(out)


def test_traversers_written_without_objects_are_the_same_bytes() -> None:
    out = bytearray()
    write_traversers(RESULTS, out)
    assert bytes(out) == long_way(RESULTS)
    request_id = str(uuid.uuid4())
    frame = encode_graphbinary_response(request_id, 206, None, RESULTS, traversers=True)
    assert frame == encode_graphbinary_response(request_id, 206, None, [Traverser(r, 1) for r in RESULTS])
    decoded = GraphBinarySerializersV1().deserialize_message(frame)["result"]["data"]
    assert [t.object for t in decoded][:3] == RESULTS[:3]


def test_map_keys_are_cached_and_the_cache_stays_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(encoding, "_KEY_BYTES", {})
    monkeypatch.setattr(encoding, "_KEY_BYTES_MAX", 3)
    maps = [{f"key{i % 5}": i, "same": "value"} for i in range(20)]
    first = bytearray()
    write_traversers(maps, first)
    again = bytearray()
    write_traversers(maps, again)  # now partly from the cache
    assert bytes(first) == bytes(again) == long_way(maps)
    assert len(encoding._KEY_BYTES) <= 3


def test_a_map_with_nothing_to_replace_is_kept_and_one_with_records_is_copied() -> None:
    value_map = RESULTS[0]
    assert to_wire(value_map) is value_map
    record = VertexRecord("v1", "person")
    with_record = {"who": record, "all": [record]}
    wired = to_wire(with_record)
    assert wired is not with_record
    assert isinstance(wired["who"], Vertex) and isinstance(wired["all"][0], Vertex)
    nested = {"inner": {"a": record}}
    assert isinstance(to_wire(nested)["inner"]["a"], Vertex)
