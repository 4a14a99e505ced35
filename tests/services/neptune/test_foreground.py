"""A bulk load steps aside while a request is answered: between chunks, for a bounded time."""

from __future__ import annotations

import threading
import time

from emulator.services.neptune import foreground
from emulator.services.neptune.foreground import Foreground
from emulator.services.neptune.loader import FeedStatus, LoadJob, LoadOptions, apply_files
from emulator.services.neptune.staging import StagedLoad
from emulator.services.neptune.store import GraphStore


def test_no_request_no_wait() -> None:
    gate = Foreground()
    started = time.monotonic()
    for _ in range(1000):
        gate.step_aside()
    assert time.monotonic() - started < 0.1


def test_a_request_in_flight_holds_the_load_back_until_it_ends() -> None:
    gate = Foreground()
    gate.began()
    threading.Timer(0.001, gate.ended).start()
    started = time.monotonic()
    gate.step_aside()
    waited = time.monotonic() - started
    assert gate.in_flight == 0 and waited >= 0.0005


def test_the_wait_is_bounded_under_a_steady_stream_of_requests() -> None:
    gate = Foreground()
    gate.began()  # never ends
    started = time.monotonic()
    gate.step_aside()
    assert foreground.MOST_WAIT_S <= time.monotonic() - started < foreground.MOST_WAIT_S + 0.05


def test_the_loader_steps_aside_once_a_chunk() -> None:
    edges = "~id,~from,~to,~label\n" + "".join(f"e{i},a,b,link\n" for i in range(10))
    store = GraphStore(None)
    job = LoadJob("load", LoadOptions("s3://bucket/data/"), time.time())
    calls: list[None] = []
    apply_files(StagedLoad(store), job, [(FeedStatus("v"), b"~id\na\nb\n"), (FeedStatus("e"), edges.encode())],
                chunk_rows=4, step_aside=lambda: calls.append(None))
    assert len(calls) == 1 + 3  # the vertex file's one chunk, the edge file's 4 + 4 + 2
