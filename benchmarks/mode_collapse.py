"""Mode-collapse league table: every registered loss, VEEGAN and the spectral remedies.

    python benchmarks/mode_collapse.py                         # the table in benchmarks/results/toy
    python benchmarks/mode_collapse.py --losses ns veegan --seeds 2 --steps 500 --out runs/mc

Same as ``gan-tutorial benchmark``; the logic lives in :mod:`gan_tutorial.benchmark`.
Finished runs are kept in ``--out/runs.jsonl`` and skipped when the command is run again.
"""

import sys

from gan_tutorial.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
