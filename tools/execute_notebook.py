"""Execute chapter notebooks in place, storing their outputs (the book shows stored outputs).

    python tools/execute_notebook.py book/01_minimax.ipynb            # full mode (committed outputs)
    python tools/execute_notebook.py --quick book/01_minimax.ipynb    # quick mode, to try a change

Full mode is what readers see; commit the notebook after a full-mode run.
"""

from __future__ import annotations

import argparse
import os
import time

import nbformat
from nbclient import NotebookClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--quick", action="store_true", help="set GAN_TUTORIAL_QUICK=1")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds per cell")
    args = parser.parse_args()
    os.environ["GAN_TUTORIAL_QUICK"] = "1" if args.quick else "0"
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(path) or "."}}).execute()
        nbformat.write(nb, path)
        print(f"{path}: executed in {time.perf_counter() - t0:.0f} s "
              f"({'quick' if args.quick else 'full'} mode)")


if __name__ == "__main__":
    main()
