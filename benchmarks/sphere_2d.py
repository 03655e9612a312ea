"""Sphere GAN on ring8: does any setting tried cover the ring? (chapter 4)

    python benchmarks/sphere_2d.py sphere 16 1e-3 1 3000 linear 8
    #                              loss  D's out_dim  lr  n_critic  steps  lr_decay  latent_dim
    python benchmarks/sphere_2d.py sphere_r1 16 1e-3 1 3000 linear 8 sn   # D spectrally normalised
    python benchmarks/sphere_2d.py wgan_gp 0 5e-4 5 4000 constant 2 h64   # chapter 3's setting: a scalar
                                                                          # critic (out_dim 0), hidden 64

One run per call, seed 0, the course's MLPs (3 x 128, or 3 x 64 with ``h64``), batch 256, Adam
betas (0.5, 0.9); D's output is a vector of ``out_dim`` numbers, or one score with ``out_dim`` 0;
the modes covered and the high-quality percentage of 2,500 samples for fixed codes are
recorded at every logging step (ten per run) by ``metrics.ModeTracker``. The result is
appended as one JSON line to ``benchmarks/results/sphere2d/runs.jsonl``.
"""

import json
import sys
import time
from pathlib import Path

import torch

from gan_tutorial import data, losses, metrics, models, regularizers, train


def main(argv: list[str]) -> dict:
    loss, out_dim, lr, n_critic, steps, decay, latent, *options = argv
    out_dim, lr, n_critic, steps, latent = int(out_dim), float(lr), int(n_critic), int(steps), int(latent)
    torch.set_num_threads(1)
    x = data.toy("ring8", 20000, seed=0)
    centers, std = data.toy_spec("ring8")
    if loss == "sphere_r1" and loss not in losses.LOSSES:
        losses.register(losses.sphere_loss(1))
    torch.manual_seed(0)
    hidden = 64 if "h64" in options else 128
    G = models.MLPGenerator(latent, 2, hidden=hidden)
    D = models.MLPDiscriminator(2, hidden=hidden, out_dim=out_dim or None)
    if "sn" in options:  # every layer of D 1-Lipschitz (Miyato et al., 2018): no sharp peaks
        D = regularizers.spectral_norm(D)
    tracker = metrics.ModeTracker(centers, std, torch.randn(2500, latent, generator=torch.Generator().manual_seed(3)))
    t0 = time.time()
    train.fit(G, D, x, train.TrainConfig(loss=loss, steps=steps, batch_size=256, lr_d=lr, lr_g=lr, betas=(0.5, 0.9),
                                         n_critic=n_critic, lr_decay=decay, progress=False, log_every=steps // 10,
                                         n_samples=16), callbacks=[tracker])
    return {"loss": loss, "out_dim": out_dim, "lr": lr, "n_critic": n_critic, "steps": steps, "lr_decay": decay,
            "latent_dim": latent, "options": options, "seconds": round(time.time() - t0), "step": tracker.step,
            "modes": tracker.modes,
            "high_quality": [round(100 * h, 1) for h in tracker.high_quality]}


if __name__ == "__main__":
    record = main(sys.argv[1:])
    out = Path(__file__).resolve().parent / "results" / "sphere2d" / "runs.jsonl"
    out.parent.mkdir(exist_ok=True)
    with out.open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    print(record)
