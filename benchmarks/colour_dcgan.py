"""Chapter 2's practice: the 64x64 colour DCGAN on the emoji pictures, resumable.

    python benchmarks/colour_dcgan.py                     # 6,000 steps into benchmarks/results/colour
    python benchmarks/colour_dcgan.py --steps 20 --out runs/colour_try

The logic lives in :mod:`gan_tutorial.experiments.colour_run`; started again, the run continues
from its newest checkpoint in ``--out/work``.
"""

import sys

from gan_tutorial.experiments.colour_run import main

if __name__ == "__main__":
    sys.exit(main())
