"""How fast is the package's training loop? Against the usual way of writing one.

    python benchmarks/speed.py --device cpu --steps 200
    python benchmarks/speed.py --device cuda --steps 500 --batch-size 64 512

For each model (DCGAN on MNIST-sized images with the ns loss, the same DCGAN without batch
norm in D as a WGAN-div critic, the MLP GAN on grid25) and batch size, it times
(a) a reference loop written the common way: a DataLoader over a CPU TensorDataset, float32
    and the default memory layout, `.item()` on the losses every step; for ns a discriminator
    ending in Sigmoid with nn.BCELoss and label tensors, the fake batch made with a graph and
    detached for D; for wgan_div the penalty k E||grad D||^p written with autograd.grad;
(b) the package's `train.fit` with its defaults (data on the device with index sampling,
    logits with softplus losses, losses read back every `log_every` steps, D's weights
    frozen in the G step's backward, fused Adam on CUDA, and the speed path that
    `config.fast_path` picks: bf16 autocast where the processor computes bf16 natively,
    channels_last for conv nets), printed in the `(b) path` column;
(c) `train.fit` with `compile=True` (torch.compile of G and D; not for penalty methods),
    timed after its compilation, whose one-off cost is printed separately,
in the same process, alternating (a, b, c, a, b, c, ...) so that all see the same machine
state, and prints steps/s, images/s and the ratios (b)/(a), (c)/(a) of the medians.
`--paths` also times `fit` with each of the four settings of amp x channels_last forced.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch import nn

from gan_tutorial import config, data, models, train


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


LOSS = {"dcgan": "ns", "wgan_div": "wgan_div", "mlp": "ns"}


def make_models(kind: str, seed: int = 0):
    torch.manual_seed(seed)
    if kind in ("dcgan", "wgan_div"):
        return (models.DCGANGenerator(64, 1, 28, width=64),
                models.DCGANDiscriminator(1, 28, width=64, batch_norm=kind == "dcgan"))
    return models.MLPGenerator(8, 2, hidden=128, depth=3), models.MLPDiscriminator(2, hidden=128, depth=3)


def make_data(kind: str) -> torch.Tensor:
    if kind in ("dcgan", "wgan_div"):
        return data.images("mnist5k")[0]
    return data.toy("grid25", 100_000, seed=0)


def _timed_reference(G: nn.Module, D: nn.Module, x: torch.Tensor, steps: int, batch_size: int,
                     device: torch.device, step) -> float:
    """The common loop around ``step(real, opt_d, opt_g) -> (d_loss, g_loss)``: a shuffled
    DataLoader over a CPU TensorDataset, a copy to the device and ``.item()`` every step."""
    G.to(device).train()
    D.to(device).train()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch_size,
                                         shuffle=True, drop_last=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    log = []
    _sync(device)
    t0 = time.perf_counter()
    done = 0
    while done < steps:
        for (real,) in loader:
            err_d, err_g = step(real.to(device), opt_d, opt_g)
            log.append((err_d.item(), err_g.item()))  # a host sync every step
            done += 1
            if done == steps:
                break
    _sync(device)
    return time.perf_counter() - t0


def reference_loop(G: nn.Module, D: nn.Module, x: torch.Tensor, steps: int, batch_size: int,
                   device: torch.device) -> float:
    """The common way (as in many tutorials); returns the wall time of ``steps`` steps."""
    D_prob = nn.Sequential(D, nn.Sigmoid())
    criterion = nn.BCELoss()

    def step(real, opt_d, opt_g):
        b = real.size(0)
        ones, zeros = torch.full((b,), 1.0, device=device), torch.full((b,), 0.0, device=device)
        # Update D: maximise log D(x) + log(1 - D(G(z)))
        opt_d.zero_grad()
        err_real = criterion(D_prob(real), ones)
        fake = G(torch.randn(b, G.latent_dim, device=device))
        err_fake = criterion(D_prob(fake.detach()), zeros)
        (err_real + err_fake).backward()
        opt_d.step()
        # Update G: maximise log D(G(z))
        opt_g.zero_grad()
        err_g = criterion(D_prob(fake), ones)
        err_g.backward()
        opt_g.step()
        return err_real + err_fake, err_g

    return _timed_reference(G, D_prob, x, steps, batch_size, device, step)


def reference_wdiv_loop(G: nn.Module, D: nn.Module, x: torch.Tensor, steps: int, batch_size: int,
                        device: torch.device, k: float = 2.0, p: float = 6.0) -> float:
    """WGAN-div written the common way (one critic step per G step, as the package's default)."""

    def step(real, opt_d, opt_g):
        b = real.size(0)
        fake = G(torch.randn(b, G.latent_dim, device=device)).detach()
        # Update D: maximise E D(real) - E D(fake) - k E ||grad D(x_hat)||^p
        eps = torch.rand(b, 1, 1, 1, device=device)
        x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
        (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
        err_d = D(fake).mean() - D(real).mean() + k * grad.flatten(1).pow(2).sum(1).pow(p / 2).mean()
        opt_d.zero_grad()
        err_d.backward()
        opt_d.step()
        # Update G: maximise E D(G(z))
        err_g = -D(G(torch.randn(b, G.latent_dim, device=device))).mean()
        opt_g.zero_grad()
        err_g.backward()
        opt_g.step()
        return err_d, err_g

    return _timed_reference(G, D, x, steps, batch_size, device, step)


def package_loop(G: nn.Module, D: nn.Module, x: torch.Tensor, steps: int, batch_size: int,
                 device: torch.device, loss: str = "ns", **speed) -> float:
    """``train.fit`` with the same models, optimiser settings and number of steps."""
    config = train.TrainConfig(loss=loss, steps=steps, batch_size=batch_size, device=str(device),
                               progress=False, log_every=100, n_samples=16, **speed)
    _sync(device)
    t0 = time.perf_counter()
    train.fit(G, D, x, config)
    _sync(device)
    return time.perf_counter() - t0


def measure(kind: str, batch_size: int, steps: int, repeats: int, device: torch.device) -> dict:
    x = make_data(kind)
    loss = LOSS[kind]
    reference = reference_wdiv_loop if kind == "wgan_div" else reference_loop
    compiled = loss != "wgan_div"  # double backward cannot go through torch.compile
    times = {"a": [], "b": [], "c": []}
    # one untimed warm-up of each (allocator, cuDNN autotuning); (c)'s includes its compilation
    reference(*make_models(kind), x, min(steps, 20), batch_size, device)
    warm_b = package_loop(*make_models(kind), x, min(steps, 20), batch_size, device, loss)
    warm_c = package_loop(*make_models(kind), x, min(steps, 20), batch_size, device, loss, compile=True) \
        if compiled else float("nan")
    for _ in range(repeats):
        times["a"].append(reference(*make_models(kind), x, steps, batch_size, device))
        times["b"].append(package_loop(*make_models(kind), x, steps, batch_size, device, loss))
        if compiled:
            times["c"].append(package_loop(*make_models(kind), x, steps, batch_size, device, loss, compile=True))
    a, b = (statistics.median(times[k]) for k in "ab")
    c = statistics.median(times["c"]) if compiled else float("nan")
    path = config.fast_path(device, kind != "mlp", train.TrainConfig())[2]
    return {"model": kind, "batch": batch_size, "path": path, "a_steps_s": steps / a, "b_steps_s": steps / b,
            "a_img_s": steps * batch_size / a, "b_img_s": steps * batch_size / b, "ratio": a / b,
            "c_steps_s": steps / c, "ratio_c": a / c, "compile_s": warm_c - warm_b}


def measure_paths(kind: str, batch_size: int, steps: int, device: torch.device) -> list[tuple[str, float]]:
    """``fit``'s steps/s with each of amp x channels_last forced (one run each, after a warm-up)."""
    x, out = make_data(kind), []
    for amp in (False, True):
        for cl in (False, True):
            n = steps if not amp or config.cpu_has_native_bf16() or device.type != "cpu" else max(10, steps // 10)
            package_loop(*make_models(kind), x, min(n, 10), batch_size, device, LOSS[kind], amp=amp, channels_last=cl)
            t = package_loop(*make_models(kind), x, n, batch_size, device, LOSS[kind], amp=amp, channels_last=cl)
            out.append((f"{'bf16' if amp else 'fp32'}{'+channels_last' if cl else ''}", n / t))
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--steps", type=int, default=200, help="timed steps per run")
    parser.add_argument("--batch-size", type=int, nargs="+", default=[64], help="one or more")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each loop")
    parser.add_argument("--models", nargs="+", default=["dcgan", "wgan_div", "mlp"],
                        choices=["dcgan", "wgan_div", "mlp"])
    parser.add_argument("--paths", action="store_true", help="also time fit with each speed path forced")
    args = parser.parse_args(argv)
    device = train.resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(f"device: {device.type} ({name}), native bf16: {config.cpu_has_native_bf16()}, torch "
          f"{torch.__version__}, threads {torch.get_num_threads()}, {args.steps} steps x {args.repeats} "
          "alternating runs, medians")
    print("| model (loss) | batch | (a) steps/s | (b) steps/s | (b) path | (a) images/s | (b) images/s "
          "| (b)/(a) | (c) steps/s | (c)/(a) | (c) compile s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in args.models:
        for bs in args.batch_size:
            r = measure(kind, bs, args.steps, args.repeats, device)
            print(f"| {r['model']} ({LOSS[kind]}) | {r['batch']} | {r['a_steps_s']:.1f} | {r['b_steps_s']:.1f} | "
                  f"{r['path']} | {r['a_img_s']:.0f} | {r['b_img_s']:.0f} | {r['ratio']:.2f}x | "
                  f"{r['c_steps_s']:.1f} | {r['ratio_c']:.2f}x | {r['compile_s']:.0f} |", flush=True)
    if args.paths:
        print("\n| model (loss) | batch | " + " | ".join(("fp32", "fp32+channels_last", "bf16",
                                                        "bf16+channels_last")) + " |  (fit, steps/s)")
        print("|---|---|---|---|---|---|")
        for kind in args.models:
            for bs in args.batch_size:
                cells = " | ".join(f"{v:.1f}" for _, v in measure_paths(kind, bs, args.steps, device))
                print(f"| {kind} ({LOSS[kind]}) | {bs} | {cells} |", flush=True)


if __name__ == "__main__":
    main()
