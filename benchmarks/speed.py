"""How fast is the package's training loop? Against the usual way of writing one.

    python benchmarks/speed.py --device cpu --steps 200
    python benchmarks/speed.py --device cuda --steps 500 --batch-size 64 512

For each model (DCGAN on MNIST-sized images, the MLP GAN on grid25) and batch size, it times
(a) a reference loop written the common way: a DataLoader over a CPU TensorDataset, a
    discriminator ending in Sigmoid with nn.BCELoss and label tensors, `.item()` on both
    losses every step, the fake batch made with a graph and detached for D;
(b) the package's `train.fit` with its defaults (data on the device with index sampling,
    logits with softplus losses, losses read back every `log_every` steps, D's weights
    frozen in the G step's backward, fused Adam, channels_last and bf16 autocast on CUDA),
(c) `train.fit` with `reuse_fake=True` (the G step reuses the D step's fake batch, as (a) does),
in the same process, alternating (a, b, a, b, ...) so that both see the same machine state,
and prints steps/s, images/s and the ratio (b)/(a) of the medians.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gan_tutorial import data, models, train  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def make_models(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    if kind == "dcgan":
        return models.DCGANGenerator(64, 1, 28, width=64), models.DCGANDiscriminator(1, 28, width=64)
    return models.MLPGenerator(8, 2, hidden=128, depth=3), models.MLPDiscriminator(2, hidden=128, depth=3)


def make_data(kind: str) -> torch.Tensor:
    if kind == "dcgan":
        return data.images("mnist5k")[0]
    return data.toy("grid25", 100_000, seed=0)


def reference_loop(G: nn.Module, D: nn.Module, x: torch.Tensor, steps: int, batch_size: int,
                   device: torch.device) -> float:
    """The common way (as in many tutorials); returns the wall time of ``steps`` steps."""
    G.to(device).train()
    D_prob = nn.Sequential(D, nn.Sigmoid()).to(device).train()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch_size,
                                         shuffle=True, drop_last=True)
    opt_d = torch.optim.Adam(D_prob.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    criterion = nn.BCELoss()
    log = []
    _sync(device)
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        for (real,) in loader:
            real = real.to(device)
            b = real.size(0)
            ones = torch.full((b,), 1.0, device=device)
            zeros = torch.full((b,), 0.0, device=device)
            # Update D: maximise log D(x) + log(1 - D(G(z)))
            opt_d.zero_grad()
            err_real = criterion(D_prob(real), ones)
            z = torch.randn(b, G.latent_dim, device=device)
            fake = G(z)
            err_fake = criterion(D_prob(fake.detach()), zeros)
            (err_real + err_fake).backward()
            opt_d.step()
            # Update G: maximise log D(G(z))
            opt_g.zero_grad()
            err_g = criterion(D_prob(fake), ones)
            err_g.backward()
            opt_g.step()
            log.append(((err_real + err_fake).item(), err_g.item()))  # a host sync every step
            done += 1
            if done == steps:
                break
    _sync(device)
    return time.perf_counter() - t0


def package_loop(G: nn.Module, D: nn.Module, x: torch.Tensor, steps: int, batch_size: int,
                 device: torch.device, compile: bool = False, reuse_fake: bool = False) -> float:
    """``train.fit`` with the same models, optimiser settings and number of steps."""
    config = train.TrainConfig(loss="ns", steps=steps, batch_size=batch_size, device=str(device),
                               progress=False, log_every=100, n_samples=16, compile=compile,
                               reuse_fake=reuse_fake)
    _sync(device)
    t0 = time.perf_counter()
    train.fit(G, D, x, config)
    _sync(device)
    return time.perf_counter() - t0


def measure(kind: str, batch_size: int, steps: int, repeats: int, device: torch.device,
            compile: bool = False) -> dict:
    x = make_data(kind)
    times = {"a": [], "b": [], "c": []}
    # one untimed warm-up of each (allocator, cuDNN autotuning, compilation)
    reference_loop(*make_models(kind), x, min(steps, 20), batch_size, device)
    package_loop(*make_models(kind), x, min(steps, 20), batch_size, device, compile)
    for _ in range(repeats):
        times["a"].append(reference_loop(*make_models(kind), x, steps, batch_size, device))
        times["b"].append(package_loop(*make_models(kind), x, steps, batch_size, device, compile))
        times["c"].append(package_loop(*make_models(kind), x, steps, batch_size, device, compile, True))
    a, b, c = (statistics.median(times[k]) for k in "abc")
    return {"model": kind, "batch": batch_size, "a_steps_s": steps / a, "b_steps_s": steps / b,
            "a_img_s": steps * batch_size / a, "b_img_s": steps * batch_size / b, "ratio": a / b,
            "c_steps_s": steps / c, "ratio_c": a / c}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per run")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64], help="one or more")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each loop")
    parser.add_argument("--models", nargs="+", default=["dcgan", "mlp"], choices=["dcgan", "mlp"])
    parser.add_argument("--compile", action="store_true", help="torch.compile G and D in (b)")
    args = parser.parse_args(argv)
    device = train.resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"device: {device.type} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{args.steps} steps x {args.repeats} alternating runs, medians")
    print("| model | batch | (a) steps/s | (b) steps/s | (a) images/s | (b) images/s | (b)/(a) "
          "| (c) steps/s | (c)/(a) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in args.models:
        for bs in args.batch_size:
            r = measure(kind, bs, args.steps, args.repeats, device, args.compile)
            print(f"| {r['model']} | {r['batch']} | {r['a_steps_s']:.1f} | {r['b_steps_s']:.1f} | "
                  f"{r['a_img_s']:.0f} | {r['b_img_s']:.0f} | {r['ratio']:.2f}x | {r['c_steps_s']:.1f} | "
                  f"{r['ratio_c']:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
