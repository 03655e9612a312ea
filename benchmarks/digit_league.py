"""The digit league: every image method on the 4,000 training digits, one Frechet protocol.

    python benchmarks/digit_league.py                          # all rows, 3 seeds, into benchmarks/results_digits
    python benchmarks/digit_league.py --methods ns wgan_gp --seeds 1 --steps 200 --out runs/digits

The logic lives in :mod:`gan_tutorial.digit_league`; finished runs are kept in
``--out/runs.jsonl`` and skipped when the command is run again.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_tutorial.digit_league import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
