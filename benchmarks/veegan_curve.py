"""VEEGAN in its authors' setting, modes and quality recorded over a long run.

    python benchmarks/veegan_curve.py                      # ring8 and grid25, seed 0, 40,000 steps
    python benchmarks/veegan_curve.py --data ring8 --seeds 0 1 --steps 10000

The setting is ``veegan`` of :data:`gan_tutorial.paper_settings.PAPER_METHODS` with ``--steps``
in place of its capped budget. Every ``steps / 20`` steps a :class:`gan_tutorial.metrics.ModeTracker`
counts the modes and the high-quality fraction of 2,500 samples (fixed codes, seed 99). One JSON
record per (data set, seed) goes to ``--out`` (``benchmarks/results/toy_paper/veegan_curves.jsonl``);
records already there for the same steps are kept and skipped, so the command resumes.
"""

import argparse
import dataclasses
import json
import time
from pathlib import Path

import torch

from gan_tutorial import data as data_mod
from gan_tutorial.benchmark import train_method
from gan_tutorial.metrics import ModeTracker
from gan_tutorial.paper_settings import PAPER_METHODS


def curve(name: str, seed: int, steps: int) -> dict:
    """One run of the paper-setting VEEGAN on ``name`` with ``seed`` for ``steps`` steps."""
    method = next(m for m in PAPER_METHODS if m.name == "veegan")
    s = dataclasses.replace(method.setting, steps=steps)
    x = data_mod.toy(name, s.n_train, seed=seed)
    centers, std = data_mod.toy_spec(name)
    z = torch.randn(s.n_scored, s.latent_dim, generator=torch.Generator().manual_seed(99))
    tracker = ModeTracker(centers, std, z)
    t0 = time.time()
    _, _, _, error = train_method(method, x, s, seed, "cpu", callbacks=[tracker])
    if error:
        raise SystemExit(f"{name} seed {seed} diverged: {error}")
    return {"data": name, "seed": seed, "steps": tracker.step, "modes": tracker.modes,
            "hq": [round(h, 4) for h in tracker.high_quality], "wall": round(time.time() - t0)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", nargs="*", default=["ring8", "grid25"])
    p.add_argument("--seeds", nargs="*", type=int, default=[0])
    p.add_argument("--steps", type=int, default=40_000)
    p.add_argument("--out", default="benchmarks/results/toy_paper/veegan_curves.jsonl")
    args = p.parse_args(argv)
    if args.steps < 20:
        p.error(f"--steps must be at least 20 (a record every steps / 20 steps), got {args.steps}")
    out = Path(args.out)
    done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    torch.set_num_threads(1)
    for name in args.data:
        for seed in args.seeds:
            if any(r["data"] == name and r["seed"] == seed and r["steps"][-1] == args.steps for r in done):
                continue
            record = curve(name, seed, args.steps)
            with open(out, "a") as fh:
                fh.write(json.dumps(record) + "\n")
            print(f"{name} seed {seed}: {record['modes'][-1]} modes, {100 * record['hq'][-1]:.1f}% high quality "
                  f"after {args.steps} steps ({record['wall']} s)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
