"""Chapter 2's practice: the 64x64 colour DCGAN of pytorch/examples on real colour pictures.

One long run, checkpointed every few minutes into ``out/work`` and resumed from there when
started again. It trains ``models.DCGANGenerator(100, 3, 64, width=64)`` against
``models.DCGANDiscriminator(3, 64, width=64)`` with the non-saturating loss, Adam at 2e-4,
betas (0.5, 0.999), batch 64 and a moving average of G (decay 0.999) on the training pictures
of :func:`~gan_tutorial.core.emoji_data.emoji_split`, and writes into ``out``:

* ``snapshots/step_XXXXXXXX.npy``: 36 samples of G's average for fixed codes, ``uint8`` ``(36, 64, 64, 3)``,
  at even points of the run (samples over training);
* ``samples.npz``: ``scored``, the samples the colour protocol scores (as many as held-out pictures);
* ``generator.pt``: the averaged G in half precision (what ``pretrained.load("colour_dcgan")`` serves);
* ``run.json``: the settings, the device, the wall time, the losses, the colour protocol's
  distance, floor and ratio, and the nearest-training-picture distances of the samples
  against the training set's own.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from ..core import data as data_mod
from ..core.checkpoint import save_checkpoint
from ..core.emoji_data import emoji_split
from ..core.models import DCGANDiscriminator, DCGANGenerator
from ..core.sampling import sample
from ..evaluation import colour_metric
from ..training.config import TrainConfig, device_name, resolve_device
from ..training.train import fit
from .runner import write_settings

LATENT_DIM, WIDTH, SIZE, SNAPSHOT_SAMPLES = 100, 64, 64, 36
OUT = "benchmarks/results/colour"


def snapshot_codes() -> torch.Tensor:
    """The fixed codes of the samples over training (``snapshots/``): ``(36, 100)``, seeded."""
    return torch.randn(SNAPSHOT_SAMPLES, LATENT_DIM, generator=torch.Generator().manual_seed(7))


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` in [-1, 1] -> ``uint8`` ``(N, H, W, 3)``."""
    return torch.round((x.float().clamp(-1, 1) + 1) * 127.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()


def from_uint8(u: np.ndarray) -> torch.Tensor:
    """The inverse of :func:`to_uint8` up to rounding."""
    return torch.from_numpy(u.astype(np.float32)).permute(0, 3, 1, 2) / 127.5 - 1


def config(steps: int, out: Path, seed: int, device: str) -> TrainConfig:
    """The run's settings: pytorch/examples' DCGAN recipe plus a moving average of G for sampling."""
    config = TrainConfig(loss="ns", steps=steps, batch_size=64, lr_d=2e-4, lr_g=2e-4, betas=(0.5, 0.999), ema=0.999,
                         seed=seed, device=device, log_every=50, progress=True, n_samples=16)
    return config.checkpointed(out / "work", every=500)


def run(steps: int = 6_000, out: str | Path = OUT, data: str = "emoji_all", seed: int = 0, device: str = "auto",
        snapshots: int = 10, command: str = "colour_run.run(...) in Python") -> dict:
    """Train (or resume) the colour DCGAN and write the run's files into ``out``; returns ``run.json``.

    ``command`` is written into ``out/settings.json`` with the settings: what re-creates the folder."""
    out = Path(out)
    (out / "snapshots").mkdir(parents=True, exist_ok=True)
    x, _ = data_mod.images(data)
    x_train, x_test = emoji_split(x)
    torch.manual_seed(seed)
    G = DCGANGenerator(LATENT_DIM, 3, SIZE, width=WIDTH)
    D = DCGANDiscriminator(3, SIZE, width=WIDTH)
    cfg = config(steps, out, seed, str(resolve_device(device)))
    write_settings(out, {"data": data, "width": WIDTH, "latent_dim": LATENT_DIM, "image_size": SIZE,
                         **{k: v for k, v in cfg.as_dict().items() if k not in ("out", "resume", "device")}}, command)
    z_show = snapshot_codes()
    every = max(cfg.log_every, steps // snapshots // cfg.log_every * cfg.log_every)

    def snapshot(state) -> None:
        if state.step % every == 0:
            images = to_uint8(sample(state.G_eval, z_show.to(state.device)).cpu())
            np.save(out / "snapshots" / f"step_{state.step:08d}.npy", images)

    history = fit(G, D, x_train, cfg, callbacks=[snapshot])
    G_avg = history.G_ema if history.G_ema is not None else G
    return finish(G_avg, history, x_train, x_test, cfg, data, out)


def finish(G, history, x_train, x_test, cfg: TrainConfig, data: str, out: Path) -> dict:
    """Score the trained G as shipped (half precision), find each sample's nearest training picture,
    write the run's files."""
    shipped = {k: v.detach().half() if v.is_floating_point() else v for k, v in G.state_dict().items()}
    G.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in shipped.items()})
    z = torch.randn(len(x_test), LATENT_DIM, generator=torch.Generator().manual_seed(10_000 + cfg.seed))
    scored = to_uint8(sample(G, z.to(next(G.parameters()).device)).cpu())
    np.savez_compressed(out / "samples.npz", scored=scored)
    last = to_uint8(sample(G, snapshot_codes().to(next(G.parameters()).device)).cpu())  # the fixed codes, at the end
    np.save(out / "snapshots" / f"step_{cfg.steps:08d}.npy", last)
    fake = from_uint8(scored)
    score = colour_metric.colour_protocol(fake, x_test, x_train)
    _, nn_fake = colour_metric.nearest_neighbours(fake, x_train)
    _, nn_train = colour_metric.training_nearest_neighbours(x_train)
    save_checkpoint(out / "generator.pt", {"G": shipped})
    record = {"data": data, "train_pictures": len(x_train), "held_out": len(x_test),
              "settings": cfg.as_dict() | {"out": None, "resume": None},
              "device": device_name(cfg.device),
              "wall_time_s": round(history.wall_time, 1), "steps": cfg.steps,
              "distance": round(score["distance"], 4), "floor": round(score["floor"], 4),
              "floor_std": round(score["floor_std"], 4), "ratio": round(score["ratio"], 3),
              "nearest_training_distance": _quantiles(nn_fake[:, 0]),
              "training_own_nearest_distance": _quantiles(nn_train[:, 0]),
              "losses": {"step": history.step, "d_loss": history.d_loss, "g_loss": history.g_loss}}
    (out / "run.json").write_text(json.dumps(record, indent=1) + "\n")
    return record


def _quantiles(d: torch.Tensor) -> dict:
    q = torch.quantile(d.double(), torch.tensor([0.0, 0.05, 0.5], dtype=torch.float64))
    return {"min": round(float(q[0]), 3), "p5": round(float(q[1]), 3), "median": round(float(q[2]), 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="colour_dcgan", description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=6_000, help="generator steps (default 6,000)")
    p.add_argument("--data", default="emoji_all", help="emoji, emoji_all, or folder:PATH (any pictures)")
    p.add_argument("--out", default=OUT)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    args = p.parse_args(argv)
    command = shlex.join(["python", "benchmarks/colour_dcgan.py", *(sys.argv[1:] if argv is None else argv)])
    record = run(args.steps, args.out, args.data, args.seed, args.device, command=command)
    print(f"distance {record['distance']:.3f} (floor {record['floor']:.3f}, {record['ratio']:.2f}x) "
          f"after {record['steps']:,} steps, {record['wall_time_s']:.0f} s")
    return 0
