"""The one-line error a failed run reports as its ErrorMessage."""

from __future__ import annotations

#: AWS cuts ErrorMessage; a line this long says enough and keeps the record small.
MAX_ERROR_CHARS = 2048


def error_line(error: BaseException) -> str:
    """``Type: first line of the message`` (a py4j error's Java message starts after its prefix)."""
    message = str(error).strip()
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    line = f"{type(error).__name__}: {first}" if first else type(error).__name__
    return line[:MAX_ERROR_CHARS]
