"""The runner's modules are plain files beside it (it runs as a script from any worktree); tests import them
the same way."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
