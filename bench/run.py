"""``make bench``: every benchmark, each printing its side-by-side ratios."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

BENCHES = ["training_bench.py", "checkpoint_bench.py", "graph_bench.py", "gnn_bench.py", "edge_server_bench.py",
           "endpoint_bench.py", "docker_bench.py", "transform_bench.py", "tuning_bench.py", "glue_bench.py",
           "console_bench.py",
           "neptune_ml_bench.py"]


def main() -> int:
    here = Path(__file__).resolve().parent
    for name in BENCHES:
        path = here / name
        if path.exists():
            try:
                runpy.run_path(str(path), run_name="__main__")
            except SystemExit as ended:  # a bench ending with sys.exit(main()) must not end the others
                if ended.code:
                    print(f"{name} exited with {ended.code}", flush=True)
            print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
