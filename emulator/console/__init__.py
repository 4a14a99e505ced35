"""The console: server-rendered pages on the edge's own origin to watch and steer what mlharbor runs.

The pages read the control plane's backends in process (never HTTP to the server itself); actions go
through the same backend calls the APIs make. :mod:`.paths` says which requests are the console's,
:mod:`.guard` keeps it same-origin with a CSRF token, :mod:`.routes` is the Flask blueprint.
"""

from emulator.console.paths import PREFIX, is_console_request
from emulator.console.routes import console_blueprint

__all__ = ["PREFIX", "console_blueprint", "is_console_request"]
