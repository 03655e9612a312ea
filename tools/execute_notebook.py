"""Execute chapter notebooks in place, storing their outputs (the book shows stored outputs).

    python tools/execute_notebook.py book/01_minimax.ipynb            # full mode (committed outputs)
    python tools/execute_notebook.py --quick book/01_minimax.ipynb    # quick mode, to try a change

    python tools/execute_notebook.py --cells 0-3,48-55 book/04_sphere_gan.ipynb  # only these cells

Full mode is what readers see; commit the notebook after a full-mode run. ``--cells`` runs
the listed cells (0-based, in order, in one kernel) and replaces only their outputs: for a
section that reads committed results, after its set-up cells; the other cells keep the
outputs of the notebook's last whole run.
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
    parser.add_argument("--cells", help="run only these cells, e.g. 0-3,48-55 (0-based)")
    args = parser.parse_args()
    os.environ["GAN_TUTORIAL_QUICK"] = "1" if args.quick else "0"
    for path in args.notebooks:
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        run = nb
        if args.cells:
            chosen = cell_indices(args.cells, len(nb.cells))
            run = nbformat.v4.new_notebook(cells=[nb.cells[i] for i in chosen], metadata=nb.metadata)
        NotebookClient(run, timeout=args.timeout, kernel_name="python3",
                       resources={"metadata": {"path": os.path.dirname(path) or "."}}).execute()
        nbformat.write(nb, path)  # the chosen cells are the same objects: their outputs are in nb
        print(f"{path}: executed in {time.perf_counter() - t0:.0f} s "
              f"({'quick' if args.quick else 'full'} mode)")


def cell_indices(spec: str, n: int) -> list[int]:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]``, every index checked against the notebook's ``n`` cells."""
    out = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    if not out or sorted(set(out)) != out or out[-1] >= n:
        raise SystemExit(f"--cells {spec!r}: give increasing indices below {n}, e.g. 0-3,48-55")
    return out


if __name__ == "__main__":
    main()
