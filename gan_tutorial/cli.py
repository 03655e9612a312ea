"""Command line: ``gan-tutorial train``, ``gan-tutorial list`` and ``gan-tutorial benchmark``.

``gan-tutorial train`` with no options trains the non-saturating GAN on ``ring8`` (about a
minute on a laptop CPU) and writes ``samples.png``, ``metrics.json`` and a checkpoint into
``--out``. Its options mirror :class:`gan_tutorial.train.TrainConfig`. A bad value exits
with status 2 and one line that names the problem and the fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import torch

from . import data as data_mod
from .errors import ConfigError, GanTutorialError, unknown_name
from .losses import LOSSES, get_loss
from .metrics import mode_coverage
from .models import default_models
from .train import TrainConfig, check_writable, fit, init_distributed

# Defaults per kind of data, used where an option is not given on the command line.
# ring8, seeds 0-3, 5,000 steps: 8, 8, 8, 6 of 8 modes with these (7, 7, 7, 6 with lr 1e-3, latent 8)
TOY_DEFAULTS = {"steps": 5000, "batch_size": 256, "lr_d": 2e-4, "lr_g": 2e-4, "latent_dim": 2}
IMAGE_DEFAULTS = {"steps": 3000, "batch_size": 64, "lr_d": 2e-4, "lr_g": 2e-4, "latent_dim": 64}
N_TOY = 100_000  # size of the fixed training set drawn from a toy mixture (as in PacGAN)
N_SCORED = 2_500  # samples scored with mode_coverage (as in VEEGAN and PacGAN)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(2, f"gan-tutorial: error: {message} (see 'gan-tutorial {self.prog.split()[-1]} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gan-tutorial", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("train", help="train a GAN and write samples, metrics and a checkpoint")
    t.add_argument("--data", default="ring8", help="data set (see 'gan-tutorial list'); default ring8")
    t.add_argument("--loss", default="ns", help="loss (see 'gan-tutorial list'); default ns")
    t.add_argument("--steps", type=int, help="generator steps (toy 5000, images 3000)")
    t.add_argument("--batch-size", type=int, help="batch size (toy 256, images 64)")
    t.add_argument("--lr-d", type=float, help="D's learning rate (default 2e-4)")
    t.add_argument("--lr-g", type=float, help="G's learning rate (default 2e-4)")
    t.add_argument("--lr-decay", default="constant", help="constant, linear or cosine decay of both "
                   "learning rates to 0 over the run; default constant")
    t.add_argument("--ema", type=float, default=0.0, help="keep a moving average of G with this decay "
                   "(e.g. 0.999) and sample from it; default 0 (off)")
    t.add_argument("--instance-noise", type=float, default=0.0, help="std of Gaussian noise on D's inputs, "
                   "falling linearly to 0 at half the run (e.g. 0.5); default 0 (off)")
    t.add_argument("--n-critic", type=int, default=1, help="D steps per G step; default 1")
    t.add_argument("--latent-dim", type=int, help="size of z (toy 2, images 64)")
    t.add_argument("--penalty-weight", type=float, help="weight of the loss's penalty")
    t.add_argument("--device", default="auto", help="auto (cuda, mps, cpu), cpu, cuda, mps")
    t.add_argument("--seed", type=int, default=0, help="random seed; default 0")
    t.add_argument("--checkpoint-every", type=int, default=0, help="also checkpoint every N steps")
    t.add_argument("--out", default="runs/default", help="output folder; default runs/default")
    t.add_argument("--resume", help="checkpoint file (or folder) to continue from")
    t.add_argument("--root", default="data", help="folder of downloaded image sets; default data")
    t.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sub.add_parser("list", help="print the data sets and the losses")
    b = sub.add_parser("benchmark", help="the mode-collapse league table (ring8, grid25) of every loss")
    from .benchmark import add_arguments  # the options of benchmarks/mode_collapse.py

    add_arguments(b)
    return parser


def train_command(args: argparse.Namespace) -> dict:
    """Run ``gan-tutorial train``; returns the metrics written to ``metrics.json``."""
    if args.data not in data_mod.DATASETS:
        raise unknown_name("data set", args.data, data_mod.DATASETS)
    get_loss(args.loss)
    toy = args.data in data_mod.TOY_SETS
    defaults = TOY_DEFAULTS if toy else IMAGE_DEFAULTS
    pick = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in defaults.items()}
    if pick["latent_dim"] < 1:
        raise ConfigError(f"latent-dim must be a positive integer, got {pick['latent_dim']}.")
    out = Path(args.out)
    config = TrainConfig(loss=args.loss, steps=pick["steps"], batch_size=pick["batch_size"],
                         lr_d=pick["lr_d"], lr_g=pick["lr_g"], lr_decay=args.lr_decay, ema=args.ema,
                         instance_noise=args.instance_noise, n_critic=args.n_critic,
                         penalty_weight=args.penalty_weight, device=args.device, seed=args.seed,
                         checkpoint_every=args.checkpoint_every, out=str(out), resume=args.resume,
                         progress=not args.no_progress, n_samples=N_SCORED if toy else 64)
    config.validate()
    rank, world = init_distributed(args.device)  # under torchrun: join the process group
    if rank == 0:
        check_writable(out)

    if toy:
        x = data_mod.toy(args.data, N_TOY, seed=args.seed)
    else:
        x, _ = data_mod.images(args.data, root=args.root)
    out_dim = 16 if get_loss(args.loss).output == "vector" else None
    torch.manual_seed(args.seed)  # the models' initial weights
    G, D = default_models(tuple(x.shape[1:]), latent_dim=pick["latent_dim"], out_dim=out_dim)
    try:
        history = fit(G, D, x, config)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()
    if rank > 0:  # rank 0 writes the files
        return {"wall_time_s": history.wall_time, "rank": rank}

    from . import plots  # matplotlib only when there is something to draw

    samples = history.snapshots[-1][1]
    metrics: dict = {"data": args.data, "loss": args.loss, "steps": config.steps, "processes": world,
                     "wall_time_s": round(history.wall_time, 2),
                     "final_d_loss": history.d_loss[-1], "final_g_loss": history.g_loss[-1]}
    if toy:
        centers, std = data_mod.toy_spec(args.data)
        metrics["mode_coverage"] = mode_coverage(samples, centers, std)
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 5))
        if samples.shape[1] == 2:
            plots.plot_samples_2d(samples, x[:N_SCORED], D, ax=ax,
                                  title=f"{args.loss} on {args.data}, step {config.steps}")
        else:
            ax.hist([x[:N_SCORED, 0].numpy(), samples[:, 0].numpy()], bins=80,
                    label=["real", "generated"], density=True)
            ax.legend()
        fig.savefig(out / "samples.png", dpi=120, bbox_inches="tight")
        plt.close(fig)
    else:
        plots.save_image_grid(samples, out / "samples.png", nrow=8)
    metrics["config"] = dataclasses.asdict(config)
    metrics["history"] = history.as_dict()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def list_command() -> None:
    print("data sets:")
    print("  toy:    " + ", ".join(data_mod.TOY_SETS))
    print("  images: " + ", ".join(data_mod.IMAGE_SETS))
    print("losses:")
    for name, loss in sorted(LOSSES.items()):
        extra = [f"D output: {loss.output}"]
        if loss.penalty:
            extra.append(f"penalty {loss.penalty} x {loss.penalty_weight:g}")
        if loss.clip:
            extra.append(f"clip {loss.clip:g}")
        print(f"  {name:<10} " + ", ".join(extra))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            metrics = train_command(args)
            if metrics.get("rank", 0) > 0:
                return 0
            summary = f"done in {metrics['wall_time_s']:.1f} s"
            if "mode_coverage" in metrics:
                mc = metrics["mode_coverage"]
                summary += (f"; modes {mc['modes']}/{len(mc['per_mode'])}, high quality "
                            f"{100 * mc['high_quality']:.1f}%")
            print(f"{summary}; wrote samples.png, metrics.json and a checkpoint to {args.out}")
        elif args.command == "list":
            list_command()
        elif args.command == "benchmark":
            from .benchmark import run_from_args

            run_from_args(args)
        else:
            parser.print_help()
            return 2
    except GanTutorialError as exc:
        print(f"gan-tutorial: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        print(f"gan-tutorial: {exc or 'interrupted'}", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
