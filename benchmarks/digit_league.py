"""The digit league: every image method on the 4,000 training digits, one Frechet protocol.

    python benchmarks/digit_league.py                          # all rows, 3 seeds, into benchmarks/results/digits
    python benchmarks/digit_league.py --methods ns wgan_gp --seeds 1 --steps 200 --out runs/digits

The logic lives in :mod:`gan_tutorial.digit_league`; finished runs are kept in
``--out/runs.jsonl`` and skipped when the command is run again.
"""

import sys

from gan_tutorial.digit_league import main

if __name__ == "__main__":
    sys.exit(main())
