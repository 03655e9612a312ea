"""Re-create the pinned weights of the colour feature network, the feature network of the colour metric.

    python tools/make_colour_features.py            # writes gan_tutorial/assets/colour_features.pt

How the shipped file was made (the one that ``evaluation.colour_metric.colour_feature_network()``
loads and checks): ``colour_metric.random_feature_state(seed=0)``, random weights drawn in
float64 by torch's CPU generator and rounded to float16, nothing trained; saved through a
buffer so that the bytes do not depend on the file's name. The same seed gives the same bytes
on every processor, so running this again reproduces ``COLOUR_FEATURES_SHA256``; a different
seed or network needs that constant updated and every colour result re-scored.
"""

import argparse
import hashlib
import io
from pathlib import Path

import torch

from gan_tutorial.evaluation import colour_metric

OUT = Path(__file__).resolve().parents[1] / "gan_tutorial" / "assets" / "colour_features.pt"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--seed", type=int, default=colour_metric.COLOUR_FEATURES_SEED)
    args = p.parse_args()
    state = colour_metric.random_feature_state(args.seed)
    buffer = io.BytesIO()  # through a buffer: the archive's inner name is then "archive", whatever the file's
    torch.save(state, buffer)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(buffer.getvalue())
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    pinned = "the pinned file" if digest == colour_metric.COLOUR_FEATURES_SHA256 else "NOT the pinned file"
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e3:.0f} kB, "
          f"{sum(v.numel() for v in state.values()):,} weights), sha256 {digest}: {pinned}")


if __name__ == "__main__":
    main()
