"""A child's output as lines: what the process runner's jobs and the Docker runner's containers print.

A line too long for one CloudWatch Logs event is handed on in pieces, so what is held never grows
with the line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

#: a line longer than this is handed on in pieces of at most this many bytes: CloudWatch Logs'
#: event limit (256 KiB, counting the message's UTF-8 bytes plus 26), so a piece is one log event
LINE_PIECE_BYTES = 256 * 1024 - 26
_READ_BYTES = 64 * 1024


class LineSplitter:
    """Cuts a byte stream into lines (without their newline), and a longer line than ``max_bytes`` into
    pieces of at most ``max_bytes``, so what is held never grows with the line: a 200 MiB line without
    a newline was once kept whole (and the server's memory never shrank back).

    A cut falls on a UTF-8 character boundary, so valid text is never mangled at one.
    """

    def __init__(self, max_bytes: int = LINE_PIECE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pending = bytearray()

    def feed(self, chunk: bytes) -> list[str]:
        """The lines and pieces complete once ``chunk`` is added."""
        self._pending += chunk
        pieces = []
        while True:
            newline = self._pending.find(b"\n", 0, self.max_bytes + 1)
            if newline != -1:
                pieces.append(_text(self._pending[:newline]))
                del self._pending[: newline + 1]
            elif len(self._pending) > self.max_bytes:
                cut = _character_boundary(self._pending, self.max_bytes)
                pieces.append(_text(self._pending[:cut]))
                del self._pending[:cut]
            else:
                return pieces

    def close(self) -> list[str]:
        """What is left after the stream ended (a last line without its newline)."""
        rest, self._pending = self._pending, bytearray()
        return [_text(rest)] if rest else []


def _character_boundary(data: bytearray, limit: int) -> int:
    """The largest cut ``<= limit`` that does not split a UTF-8 sequence (``limit`` if none is near)."""
    for cut in range(limit, max(0, limit - 3), -1):
        if data[cut] & 0xC0 != 0x80:  # not a continuation byte: a character starts here
            return cut
    return limit


def _text(raw: bytes | bytearray) -> str:
    return bytes(raw).decode(errors="replace").rstrip("\r")


def pump_lines(stream: IO[bytes] | None, on_line: Callable[[str], None]) -> None:
    """Hand each line a child writes to ``on_line`` (see :class:`LineSplitter`) until the stream ends."""
    if stream is None:
        return
    splitter = LineSplitter()
    read = getattr(stream, "read1", stream.read)  # what is there now: a line is handed on when it ends
    while chunk := read(_READ_BYTES):
        for line in splitter.feed(chunk):
            on_line(line)
    for line in splitter.close():
        on_line(line)
