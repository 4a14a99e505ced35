"""The Neptune-compatible graph server: Gremlin over websockets, Neptune's HTTP API and bulk loader.

``GraphServer`` is the only entry point other pieces need; see ``server.py``.
"""

from emulator.services.neptune.server import GraphServer

__all__ = ["GraphServer"]
