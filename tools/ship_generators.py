"""Write gan_tutorial/assets/pretrained.json: the trained generators that ``pretrained.load`` serves.

    python tools/ship_generators.py benchmarks/results/digits     # a digit league's seed-0 networks
    python tools/ship_generators.py benchmarks/results/colour     # the colour DCGAN's generator

For every ``models/<row>_0.pt`` of a digit-league folder (or the ``generator.pt`` of the colour
run): its path in the repository, its SHA-256, the architecture of its G and D (so the package
builds them without the league's code), and one line on how it was trained and what seed 0
scores (from ``runs.jsonl`` or ``run.json``). Entries shipped from other folders are kept.
"""

import argparse
import hashlib
import json
from pathlib import Path

import torch

from gan_tutorial import digit_league, digit_results
from gan_tutorial.experiments import colour_run

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


def colour_entry(folder: Path) -> dict:
    run = json.loads((folder / "run.json").read_text())
    path = folder / "generator.pt"
    return {
        "file": path.relative_to(ROOT).as_posix(),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "G": {"latent_dim": colour_run.LATENT_DIM, "channels": 3, "image_size": colour_run.SIZE,
              "width": colour_run.WIDTH},
        "D": None,
        "about": (f"colour_dcgan: chapter 2's 64x64 colour DCGAN on {run['train_pictures']:,} "
                  f"pictures of {run['data']}, {run['steps']:,} steps, seed {run['settings']['seed']}; Frechet colour "
                  f"distance {run['distance']:.3f} ({run['ratio']:.1f}x the floor)"),
    }


def digit_entries(folder: Path) -> dict:
    league = digit_results.load(folder)
    rows = sorted(f.stem[:-2] for f in (folder / "models").glob("*_0.pt"))
    order = [m.name for m in digit_league.METHODS]
    rows.sort(key=lambda r: order.index(r) if r in order else len(order))
    return {row: entry(folder, row, league) for row in rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("folder", type=Path)
    args = p.parse_args()
    folder = args.folder.resolve()
    shipped = {"colour_dcgan": colour_entry(folder)} if (folder / "run.json").exists() else digit_entries(folder)
    prefix = folder.relative_to(ROOT).as_posix() + "/"
    kept = {name: e for name, e in json.loads(MANIFEST.read_text())["generators"].items()
            if not e["file"].startswith(prefix) and name not in shipped}  # other folders' generators stay
    order = [m.name for m in digit_league.METHODS]  # the league's rows in order, then the colour G
    merged = {**kept, **shipped}
    rank = {name: order.index(name) if name in order else len(order) for name in merged}
    generators = {name: merged[name] for name in sorted(merged, key=rank.get)}
    MANIFEST.write_text(json.dumps({"generators": generators}, indent=1) + "\n")
    print(f"wrote {MANIFEST}: {', '.join(generators)}")


if __name__ == "__main__":
    main()
