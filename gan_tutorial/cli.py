"""Command line: ``gan-tutorial train``, ``gan-tutorial list`` and ``gan-tutorial benchmark``.

``gan-tutorial train`` with no options trains the non-saturating GAN on ``ring8`` (about a
minute on a laptop CPU) and writes ``samples.png``, ``metrics.json`` and a checkpoint into
``--out``. Its options are :class:`gan_tutorial.config.TrainConfig`'s fields (names, help
and defaults come from there), plus ``--data``, ``--latent-dim`` and ``--root``. It builds
the models each loss needs: a vector D sized for the method, and no batch norm in a critic
trained with a gradient penalty. A bad value exits with status 2 and one line that names
the problem and the fix.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path

import torch

from .core import data as data_mod
from .core.checkpoint import check_writable
from .core.distributed import init_distributed
from .core.errors import ConfigError, GanTutorialError, unknown_name
from .core.losses import LOSSES, GANLoss
from .core.models import default_models
from .evaluation.metrics import mode_coverage
from .training.config import TrainConfig

# Defaults per kind of data, used where an option is not given on the command line.
# ring8, seeds 0-3, 5,000 steps: 8, 8, 8, 6 of 8 modes with these (7, 7, 7, 6 with lr 1e-3, latent 8)
DATA_DEFAULTS = {"toy": {"steps": 5000, "batch_size": 256, "latent_dim": 2},
                 "images": {"steps": 3000, "batch_size": 64, "latent_dim": 64}}
CLI_DEFAULTS = {"out": "runs/default"}  # where the command line differs from TrainConfig
N_TOY = 100_000  # size of the fixed training set drawn from a toy mixture (as in PacGAN)
N_SCORED = 2_500  # samples scored with mode_coverage (as in VEEGAN and PacGAN)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        self.exit(2, f"gan-tutorial: error: {message} (see 'gan-tutorial {self.prog.split()[-1]} --help')\n")


def _add_config_options(t: argparse.ArgumentParser) -> None:
    """One option per :class:`TrainConfig` field; None means "the default" (data-dependent for some)."""
    kinds = {"int": int, "float": float, "float | None": float, "str": str, "str | None": str,
             "str | GANLoss": str}
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = CLI_DEFAULTS.get(f.name, f.default)
        per_data = [f"{k} {v[f.name]}" for k, v in DATA_DEFAULTS.items() if f.name in v]
        shown = ", ".join(per_data) if per_data else repr(default)
        text = f.metadata.get("help", "")
        help_ = (text if "default" in text else f"{text} (default: {shown})").replace("%", "%%")
        if f.type in ("bool", "bool | None"):
            t.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=help_)
        elif f.type == "tuple[float, float]":
            t.add_argument(flag, type=float, nargs=2, metavar=("B1", "B2"), help=help_)
        else:
            t.add_argument(flag, type=kinds[f.type], help=help_)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="gan-tutorial", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    t = sub.add_parser("train", help="train a GAN and write samples, metrics and a checkpoint")
    t.add_argument("--data", default="ring8", help="data set (see 'gan-tutorial list'), or folder:PATH "
                   "for a folder of pictures (default: 'ring8')")
    t.add_argument("--latent-dim", type=int, help="size of z (default: toy 2, images 64)")
    t.add_argument("--root", default="data", help="folder of downloaded image sets (default: 'data')")
    _add_config_options(t)
    sub.add_parser("list", help="print the data sets and the losses")
    b = sub.add_parser("benchmark", help="the mode-collapse league table (ring8, grid25)")
    from .experiments.benchmark import add_arguments  # the options of benchmarks/mode_collapse.py

    add_arguments(b)
    return parser


def config_from_args(args: argparse.Namespace, toy: bool) -> tuple[TrainConfig, int]:
    """The :class:`TrainConfig` and latent size that the options ask for, validated."""
    defaults = {**DATA_DEFAULTS["toy" if toy else "images"], **CLI_DEFAULTS}
    values = {}
    for f in dataclasses.fields(TrainConfig):
        v = getattr(args, f.name)
        if v is None:
            v = defaults.get(f.name, f.default)
        values[f.name] = tuple(v) if f.name == "betas" else v
    if args.n_samples is None and toy:
        values["n_samples"] = N_SCORED
    latent = args.latent_dim if args.latent_dim is not None else defaults["latent_dim"]
    if latent < 1:
        raise ConfigError(f"latent-dim must be a positive integer, got {latent}.")
    config = TrainConfig(**values)
    config.validate()
    return config, latent


def models_for(loss: GANLoss, shape: tuple[int, ...], latent_dim: int):
    """G and D for samples of ``shape`` that ``loss`` can train: D outputs what the loss reads
    (a vector of ``latent_dim`` when it is compared with z), without batch norm under a penalty."""
    return default_models(shape, latent_dim=latent_dim, out_dim=loss.d_out_dim(latent_dim),
                          d_batch_norm=loss.d_batch_norm)


def train_command(args: argparse.Namespace) -> dict:
    """Run ``gan-tutorial train``; returns the metrics written to ``metrics.json``."""
    folder = args.data.startswith(data_mod.FOLDER_PREFIX)  # any folder of pictures, 64x64 RGB
    if not folder and args.data not in data_mod.DATASETS:
        raise unknown_name("data set", args.data, [*data_mod.DATASETS, data_mod.FOLDER_PREFIX + "PATH"])
    toy = args.data in data_mod.TOY_SETS
    config, latent = config_from_args(args, toy)
    loss = config.gan_loss
    rank, world = init_distributed(config.device)  # under torchrun: join the process group
    out = Path(config.out)
    if rank == 0:
        check_writable(out)
    x = _load(args.data, args.root, config.seed)
    torch.manual_seed(config.seed)  # the models' initial weights
    G, D = models_for(loss, tuple(x.shape[1:]), latent)
    from .training.train import fit

    try:
        history = fit(G, D, x, config)
    finally:
        if world > 1:
            torch.distributed.destroy_process_group()
    if rank > 0:  # rank 0 writes the files
        return {"wall_time_s": history.wall_time, "rank": rank}
    samples = history.snapshots[-1][1]
    metrics: dict = {"data": args.data, "loss": loss.name, "steps": config.steps, "processes": world,
                     "wall_time_s": round(history.wall_time, 2),
                     "final_d_loss": history.d_loss[-1], "final_g_loss": history.g_loss[-1]}
    if toy:
        centers, std = data_mod.toy_spec(args.data)
        metrics["mode_coverage"] = mode_coverage(samples, centers, std)
    _save_samples(samples, x, D, loss, args.data, config.steps, out / "samples.png")
    metrics["config"] = config.as_dict()
    metrics["history"] = history.as_dict()
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _load(name: str, root: str, seed: int) -> torch.Tensor:
    """The training tensor of ``--data``: a toy set, an image set, or ``folder:PATH``."""
    if name in data_mod.TOY_SETS:
        return data_mod.toy(name, N_TOY, seed=seed)
    if name.startswith(data_mod.FOLDER_PREFIX):
        return data_mod.image_folder(name[len(data_mod.FOLDER_PREFIX):], size=64, channels=3, progress=True)
    return data_mod.images(name, root=root)[0]


def _save_samples(samples, x, D, loss: GANLoss, data_name: str, steps: int, path: Path) -> None:
    """``samples.png``: an image grid, or 2-D samples over D's contour (1-D: histograms)."""
    from .evaluation import plots  # matplotlib only when there is something to draw

    if samples.ndim == 4:
        plots.save_image_grid(samples, path, nrow=8)
        return
    from matplotlib.figure import Figure  # no pyplot: the caller's backend is left alone

    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    if samples.shape[1] == 2:
        plots.plot_samples_2d(samples, x[:N_SCORED], D, ax=ax, title=f"{loss.name} on {data_name}, step {steps}",
                              transform=torch.sigmoid if loss.probability else None, score=loss.score)
    else:
        ax.hist([x[:N_SCORED, 0].numpy(), samples[:, 0].numpy()], bins=80, label=["real", "generated"],
                density=True)
        ax.legend()
    fig.savefig(path, dpi=120, bbox_inches="tight")


def list_command() -> None:
    print("data sets:")
    print("  toy:    " + ", ".join(data_mod.TOY_SETS))
    print("  images: " + ", ".join(data_mod.IMAGE_SETS))
    print(f"  yours:  {data_mod.FOLDER_PREFIX}PATH (a folder of PNG/JPEG pictures, trained at 64x64 RGB)")
    print("losses:")
    for name, loss in sorted(LOSSES.items()):
        extra = [f"D output: {loss.output}" + (" (latent_dim)" if loss.uses_z else "")]
        if loss.penalty is not None:
            extra.append(f"penalty {loss.penalty_name} x {loss.penalty_weight:g}")
        if loss.clip:
            extra.append(f"clip {loss.clip:g}")
        print(f"  {name:<10} " + ", ".join(extra))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
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
            print(f"{summary}; wrote samples.png, metrics.json and a checkpoint to {metrics['config']['out']}")
        elif args.command == "list":
            list_command()
        elif args.command == "benchmark":
            from .experiments.benchmark import run_from_args

            run_from_args(args, command=shlex.join(["gan-tutorial", *argv]))
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
