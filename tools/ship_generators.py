"""Write gan_tutorial/assets/pretrained.json: the trained generators that ``pretrained.load`` serves.

    python tools/ship_generators.py benchmarks/results/digits

For every ``models/<row>_0.pt`` of a digit-league folder: its path in the repository, its
SHA-256, the architecture of its G and D (so the package builds them without the league's
code), and one line on how it was trained and what seed 0 scores (from ``runs.jsonl``).
"""

import argparse
import hashlib
import json
from pathlib import Path

import torch

from gan_tutorial import digit_league, digit_results

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "gan_tutorial" / "assets" / "pretrained.json"


def entry(folder: Path, row: str, league) -> dict:
    path = folder / "models" / f"{row}_0.pt"
    state = torch.load(path, map_location="cpu", weights_only=True)
    method = digit_league.DigitMethod(**{**state["method"], "betas": tuple(state["method"]["betas"])})
    G, D = digit_league.build_models(method)
    record = next(r for r in league.runs(row) if r["seed"] == 0)
    return {
        "file": path.relative_to(ROOT).as_posix(),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "G": {"latent_dim": G.latent_dim, "channels": 1, "image_size": 28, "width": method.width},
        "D": {"channels": 1, "image_size": 28, "width": method.width, "out_dim": D.out_dim,
              "batch_norm": any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())},
        "about": (f"{row}: {method.note}; DCGAN of width {method.width}, {method.steps:,} steps, seed 0; "
                  f"Frechet digit distance {record['fd']:.1f} ({record['ratio']:.1f}x the floor)"),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    args = p.parse_args()
    folder = args.folder.resolve()
    league = digit_results.load(folder)
    rows = sorted(f.stem[:-2] for f in (folder / "models").glob("*_0.pt"))
    order = [m.name for m in digit_league.METHODS]
    rows.sort(key=lambda r: order.index(r) if r in order else len(order))
    generators = {row: entry(folder, row, league) for row in rows}
    MANIFEST.write_text(json.dumps({"generators": generators}, indent=1) + "\n")
    print(f"wrote {MANIFEST}: {', '.join(generators)}")


if __name__ == "__main__":
    main()
