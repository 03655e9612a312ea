"""Is quality traded for speed? The DCGAN of chapter 2 and a WGAN-div critic, float32 against
the fast path, several seeds, on the course's one digit protocol.

    python benchmarks/fast_path_quality.py --steps 600 --seeds 0 1 2
    python benchmarks/fast_path_quality.py --paths fp32 bf16+channels_last   # force a path

Each run trains on the 4,000 training digits of ``metrics.mnist5k_split()`` with the same
seed, budget and settings, draws 1,000 samples and scores them with
``metrics.digit_protocol`` (the 1,000 held-out digits; the floor is 1,000 training digits
against them). ``fast`` is what ``fit`` picks on this machine (``config.fast_path``). Results
go to ``--out`` (``runs.csv``, one row per run; resumable) and a table is printed: mean ±
standard error over seeds, and the per-seed difference fast - fp32 with its standard error.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import time
from pathlib import Path

import torch

from gan_tutorial import config, metrics, models, train

PATHS = {"fp32": {"amp": False, "channels_last": False}, "fast": {},
         "fp32+channels_last": {"amp": False, "channels_last": True},
         "bf16+channels_last": {"amp": True, "channels_last": True}}
LOSSES = {"ns": {"batch_norm": True}, "wgan_div": {"batch_norm": False}}


def run(loss: str, path: str, seed: int, steps: int, x: torch.Tensor, classifier) -> dict:
    torch.manual_seed(seed)
    G = models.DCGANGenerator(64, 1, 28, width=64)
    D = models.DCGANDiscriminator(1, 28, width=64, **LOSSES[loss])
    cfg = train.TrainConfig(loss=loss, steps=steps, batch_size=64, seed=seed, device="cpu",
                            progress=False, log_every=max(1, steps // 10), n_samples=16, **PATHS[path])
    t0 = time.perf_counter()
    train.fit(G, D, x, cfg)
    seconds = time.perf_counter() - t0
    z = torch.randn(metrics.N_SCORED_DIGITS, 64, generator=torch.Generator().manual_seed(1000 + seed))
    score = metrics.digit_protocol(train.sample(G, z), classifier)
    chosen = config.fast_path(torch.device("cpu"), True, cfg)[2]
    return {"loss": loss, "path": path, "chosen": chosen, "seed": seed, "steps": steps,
            "distance": round(score["distance"], 3), "floor": round(score["floor"], 3),
            "seconds": round(seconds, 1)}


def _mean_se(v: list[float]) -> str:
    if len(v) < 2:
        return f"{v[0]:.1f}" if v else ""
    return f"{statistics.mean(v):.1f} ± {statistics.stdev(v) / math.sqrt(len(v)):.1f}"


def table(rows: list[dict], paths: list[str]) -> str:
    lines = ["| loss | path (what fit ran) | seeds | Frechet digit distance | floor | seconds per run |",
             "|---|---|---|---|---|---|"]
    for loss in LOSSES:
        for path in paths:
            rs = [r for r in rows if r["loss"] == loss and r["path"] == path]
            if rs:
                lines.append(f"| {loss} | {path} ({rs[0]['chosen']}) | {len(rs)} | "
                             f"{_mean_se([float(r['distance']) for r in rs])} | {float(rs[0]['floor']):.2f} | "
                             f"{_mean_se([float(r['seconds']) for r in rs])} |")
        base = {int(r["seed"]): float(r["distance"]) for r in rows if r["loss"] == loss and r["path"] == paths[0]}
        for path in paths[1:]:
            diff = [float(r["distance"]) - base[int(r["seed"])] for r in rows
                    if r["loss"] == loss and r["path"] == path and int(r["seed"]) in base]
            if diff:
                lines.append(f"| {loss} | {path} - {paths[0]}, per seed | {len(diff)} | {_mean_se(diff)} | | |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--paths", nargs="+", default=["fp32", "fast"], choices=list(PATHS))
    p.add_argument("--losses", nargs="+", default=list(LOSSES), choices=list(LOSSES))
    p.add_argument("--out", default="benchmarks/results/fast_path")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "runs.csv"
    rows = list(csv.DictReader(log.open())) if log.exists() else []
    done = {(r["loss"], r["path"], int(r["seed"]), int(r["steps"])) for r in rows}
    (x, _), _ = metrics.mnist5k_split()
    classifier, acc = metrics.digit_classifier()
    print(f"native bf16 on this CPU: {config.cpu_has_native_bf16()}; classifier accuracy {acc:.3f}", flush=True)
    for seed in args.seeds:  # seed-major: an interrupted run has every setting on its first seeds
        for loss in args.losses:
            for path in args.paths:
                if (loss, path, seed, args.steps) in done:
                    continue
                r = run(loss, path, seed, args.steps, x, classifier)
                new = not log.exists()
                with log.open("a", newline="") as fh:
                    w = csv.DictWriter(fh, list(r))
                    if new:
                        w.writeheader()
                    w.writerow(r)
                rows.append({k: str(v) for k, v in r.items()})
                print(r, flush=True)
    rows = [r for r in rows if int(r["steps"]) == args.steps]
    text = table(rows, args.paths)
    (out / "table.md").write_text(f"DCGAN on the 4,000 training digits, {args.steps} steps, batch 64; "
                                  "mean ± standard error over seeds.\n\n" + text + "\n")
    print(text)


if __name__ == "__main__":
    main()
