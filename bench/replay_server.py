"""A Gremlin websocket server that costs nothing: it answers with frames encoded beforehand.

``bench/graph_bench.py`` measures the client's whole path with it (websocket receive, gremlinpython's
decoder, result assembly), so the wire's share of that rate says what the graph server itself costs.
It runs in its own process, as the graph server does, so it never takes the client's interpreter lock.

Run: ``python bench/replay_server.py PAGES`` where ``PAGES`` is a pickle of a list of pages, each the
list of response frames (GraphBinary, as the graph server frames them) of one request. Request ``n``
(in the order they arrive, starting again after the last) is answered with page ``n``, each frame
carrying that request's id. The server prints its port on stdout and serves until stdin closes.
"""

from __future__ import annotations

import asyncio
import pickle
import sys
from pathlib import Path

from aiohttp import WSMsgType, web

#: a GraphBinary response starts with the version byte and the request id's "not null" flag (then the id)
RESPONSE_HEAD = b"\x81\x00"
ID_SIZE = 16


def request_id(frame: bytes) -> bytes:
    """The 16 id bytes of a GraphBinary request frame (after its mime type and version byte)."""
    start = 1 + frame[0] + 1
    return frame[start:start + ID_SIZE]


class Replay:
    """The pages, each frame split after its request id so a request's id goes in without a decode."""

    def __init__(self, pages: list[list[bytes]]) -> None:
        if not pages:
            raise ValueError("Replay needs at least one page")
        for page in pages:
            if any(not frame.startswith(RESPONSE_HEAD) for frame in page):
                raise ValueError("Replay frames must be GraphBinary responses with a request id")
        self.pages = [[frame[len(RESPONSE_HEAD) + ID_SIZE:] for frame in page] for page in pages]
        self.served = 0

    def answer(self, request: bytes) -> list[bytes]:
        head = RESPONSE_HEAD + request_id(request)
        page = self.pages[self.served % len(self.pages)]
        self.served += 1
        return [head + rest for rest in page]

    async def gremlin(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0, heartbeat=None)
        await ws.prepare(request)
        async for message in ws:
            if message.type == WSMsgType.BINARY:
                for frame in self.answer(message.data):
                    await ws.send_bytes(frame)
        return ws


async def serve(pages_file: Path) -> None:
    replay = Replay(pickle.loads(pages_file.read_bytes()))
    app = web.Application()
    app.router.add_get("/gremlin", replay.gremlin)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(port, flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the bench closes stdin
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
