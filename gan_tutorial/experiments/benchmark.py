"""The mode-collapse benchmark: the course's losses (and a few remedies) on ring8 and grid25.

Each *method* trains the course's MLP G and D on 100,000 fixed samples of a toy mixture for
every seed, draws 2,500 samples from G and scores them with
:func:`gan_tutorial.metrics.mode_coverage` (VEEGAN's and PacGAN's metric: a sample is high
quality within 3 std of its nearest centre; a mode counts when it holds one such sample).
The methods are listed explicitly in :data:`METHODS`; a method is a loss plus values that
say what is done to D (spectral normalisation or regularization, packing), whether VEEGAN
trains it, and whether its samples are kept by D's rejection.

``run_benchmark`` writes into ``out``: ``runs.jsonl`` (one record per run, so an interrupted
benchmark resumes where it stopped), ``runs.csv``, ``summary.csv`` and ``table.md`` (ours
with the published rows beside them), ``samples.npz`` (every run's scored samples, for
independent re-scoring) and ``samples_<data>.png`` (:mod:`gan_tutorial.league`).
``benchmarks/mode_collapse.py`` and ``gan-tutorial benchmark`` both call :func:`main`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core import data as data_mod
from ..core import losses
from ..core.errors import ConfigError, GanTutorialError
from ..core.models import MaxoutDiscriminator, MLPDiscriminator, MLPGenerator
from ..core.sampling import rejection_sample
from ..evaluation.metrics import mode_coverage
from .league import (  # noqa: F401  (re-exported)
    DATASETS,
    PUBLISHED,
    markdown_table,
    plan_runs,
    plot_method_samples,
    run_file,
    run_key,
    summarise,
    trained_methods,
    write_results,
)
from .paper_settings import PAPER_METHODS
from .runner import Ledger, execute
from .toy_methods import (  # noqa: F401  (re-exported: the rows of the league)
    _LATER_FIELDS,
    DRS_QUANTILE,
    EXTRA_METHODS,
    INSTANCE_NOISE,
    LOSS_METHODS,
    METHODS,
    Method,
    Setting,
    methods,
    spectral_norm_d,
    spectral_regularization_d,
    static_spectral_regularization_d,
)

DEFAULT_SETTING = Setting()  # the shared setting of the league table


class Packed(nn.Module):
    """PacGAN's packing (Lin et al., 2018): D judges ``m`` samples at once.

    ``x`` ``(B, d)`` is cut into ``ceil(B / m)`` packs ``(m * d,)`` (wrapping around to fill
    the last one); each pack's score is repeated for its ``m`` members, so the scores stay
    ``(B,)`` and a mean over them is the mean over packs.
    """

    def __init__(self, D: nn.Module, m: int):
        super().__init__()
        self.D, self.m = D, m

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = len(x)
        n = -(-b // self.m)
        idx = torch.arange(n * self.m, device=x.device) % b
        scores = self.D(x[idx].reshape(n, -1))  # (n,)
        return scores.repeat_interleave(self.m, dim=0)[:b]


def build_models(method: Method, x_dim: int, setting: Setting) -> tuple[nn.Module, nn.Module]:
    """G and D for ``method``: the MLPs of the course, D transformed as the method says."""
    G = MLPGenerator(setting.latent_dim, x_dim, setting.hidden, setting.depth, batch_norm=setting.g_batch_norm)
    loss = losses.get_loss(method.loss)
    out_dim = loss.d_out_dim(setting.latent_dim, setting.vector_dim)  # O-GAN's D is an encoder of z
    d_hidden, d_depth = setting.d_hidden or setting.hidden, setting.d_depth or setting.depth
    if setting.d_maxout:
        D = MaxoutDiscriminator(x_dim * method.pack, d_hidden, d_depth, setting.d_maxout, out_dim)
    else:
        D = MLPDiscriminator(x_dim * method.pack, d_hidden, d_depth, out_dim)
    if method.pack > 1:
        D = Packed(D, method.pack)
    if method.d_transform is not None:
        D = method.d_transform(D, setting)
    return G, D


def train_method(method: Method, x: torch.Tensor, setting: Setting, seed: int, device: str, callbacks=()):
    """Train ``method``'s models on ``x`` (``callbacks`` as in :func:`gan_tutorial.train.fit`);
    returns (G, D, samples or None, error message)."""
    torch.manual_seed(seed)
    G, D = build_models(method, x.shape[1], setting)
    config = setting.train_config(method.loss, seed, device, instance_noise=method.instance_noise)
    try:
        if method.veegan:
            from ..training.veegan import JointDiscriminator, Reconstructor, fit_veegan

            F = Reconstructor(x.shape[1], setting.latent_dim, setting.hidden, setting.depth)
            D = JointDiscriminator(setting.latent_dim, x.shape[1], setting.d_hidden or setting.hidden,
                                   setting.d_depth or setting.depth)
            objective = "paper" if method.veegan == "paper" else "course"
            history = fit_veegan(G, F, D, x, config, objective=objective, callbacks=callbacks)
        else:
            from ..training.train import fit

            history = fit(G, D, x, config, callbacks=callbacks)
        return G, D, history.snapshots[-1][1], ""
    except GanTutorialError as exc:  # a diverged run is a result (0 modes); a bug is not
        return G, D, None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"


def run_one(method: Method, data_name: str, seed: int, setting: Setting = DEFAULT_SETTING,
            device: str = "cpu", with_base: bool = False) -> list[tuple[dict, np.ndarray]]:
    """Train ``method`` on ``data_name`` with ``seed``; returns [(record, samples ``(n, 2)``)].

    A ``drs`` method trains exactly as its base method (same seed, same weights), then draws
    its samples through D's rejection; ``with_base`` also returns the base method's own
    (record, samples) from that training, so that the two rows cost one run.
    """
    x = data_mod.toy(data_name, setting.n_train, seed=seed)
    t0 = time.perf_counter()
    G, D, samples, error = train_method(method, x, setting, seed, device)
    train_time = time.perf_counter() - t0
    centers, std = data_mod.toy_spec(data_name)

    def result(name: str, samples: torch.Tensor | None, error: str, seconds: float) -> tuple[dict, np.ndarray]:
        if samples is None:
            samples = torch.full((setting.n_scored, x.shape[1]), float("nan"))
        samples = torch.nan_to_num(samples, nan=1e6, posinf=1e6, neginf=-1e6)
        mc = mode_coverage(samples, centers, std)
        record = {"method": name, "loss": method.loss, "data": data_name, "seed": seed,
                  "steps": setting.steps, "modes": mc["modes"], "n_modes": len(centers),
                  "high_quality": mc["high_quality"], "reverse_kl": mc["reverse_kl"],
                  "wall_time_s": round(seconds, 2), "error": error,
                  "setting": setting_id(setting)}
        return record, samples.numpy().astype(np.float32)

    if not method.drs:
        return [result(method.name, samples, error, train_time)]
    out = [result(method.base, samples, error, train_time)] if with_base else []
    kept, drs_error = None, error
    if samples is not None:
        try:
            kept, _ = rejection_sample(G, D, setting.n_scored, setting.latent_dim, quantile=DRS_QUANTILE,
                                       generator=torch.Generator().manual_seed(seed))
        except GanTutorialError as exc:
            drs_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    out.append(result(method.name, kept, drs_error, time.perf_counter() - t0))
    return out


def setting_id(setting: Setting) -> str:
    """A short fingerprint of the whole setting: finished runs are reused only under the same one."""
    import hashlib

    defaults = {f.name: f.default for f in dataclasses.fields(Setting)}
    fields = {k: v for k, v in dataclasses.asdict(setting).items()  # later fields at their defaults
              if k not in _LATER_FIELDS or v != defaults[k]}            # leave older ids unchanged
    blob = json.dumps(fields, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _job(args) -> list[tuple[dict, np.ndarray]]:
    method, data_name, seed, setting, with_base = args
    torch.set_num_threads(1)
    return run_one(method, data_name, seed, setting, with_base=with_base)


def run_benchmark(method_list: list[Method], datasets=DATASETS, seeds=range(5),
                  setting: Setting = DEFAULT_SETTING, out: str | Path = "benchmarks/results/toy",
                  jobs: int = 1, fresh: bool = False, log=print,
                  write_every: int = 10, only: list[str] | None = None,
                  command: str = "run_benchmark(...) in Python") -> list[dict]:
    """Run every (method, data set, seed) not already in ``out/runs.jsonl``; write the tables.

    The tables are also rewritten every ``write_every`` finished runs, so that a long
    benchmark can be read (and stopped) at any time; running it again resumes it. ``only``
    names the methods of ``method_list`` to train (default: all). The tables hold every finished
    run in ``out`` of a method of ``method_list`` (any data set, any seed), so that training a
    few rows, one data set or more seeds does not drop the other runs from the files.
    """
    trained = trained_methods(method_list, only)
    out = Path(out)
    ids = {m.name: setting_id(m.setting) for m in method_list if m.setting}
    ledger = Ledger(out, key=lambda r: run_key(r["method"], r["data"], r["seed"]),
                    file=lambda r: run_file(out, r["method"], r["data"], r["seed"]),
                    keep=lambda r: r.get("setting") == ids.get(r["method"], setting_id(setting)), fresh=fresh)
    done = ledger.done
    todo = plan_runs(trained, datasets, seeds, setting, done)
    total, t0, finished = sum(1 + t[-1] for t in todo), time.perf_counter(), [0]
    budget = "each in its own setting" if any(m.setting for m in trained) else f"{setting.steps} steps each"
    log(f"benchmark: {len(trained)} methods x {len(datasets)} data sets x {len(list(seeds))} "
        f"seeds, {budget}; {len(done)} runs already done, {total} to run")
    # the tables keep every finished run in ``out`` of method_list, on any data set and seed
    seen = {*datasets, *(r["data"] for r in done.values())}
    datasets = [d for d in DATASETS if d in seen] + sorted(seen - set(DATASETS))
    names = {m.name for m in method_list}

    def write(records):  # the tables of the methods that have runs, in method_list's order
        have = {r["method"] for r in records}
        write_results(records, [m for m in method_list if m.name in have], datasets, setting, out, command)

    def finish(rows):  # each finished job gives one row, or two (a sampler method and its base)
        for record, samples in rows:
            finished[0] += 1
            i = finished[0]
            ledger.add(record, samples)
            err = f" ({record['error']})" if record["error"] else ""
            if i % write_every == 0 and i < total:  # partial tables while the benchmark runs
                write(ledger.records(lambda r: r["method"] in names))
            log(f"[{i}/{total}] {record['method']} on {record['data']}, seed {record['seed']}: "
                f"{record['modes']}/{record['n_modes']} modes, {100 * record['high_quality']:.1f}% high "
                f"quality, {record['wall_time_s']:.0f} s{err}; {time.perf_counter() - t0:.0f} s so far")

    execute([(_job, (t,), {}) for t in todo], finish, jobs)
    records = ledger.records(lambda r: r["method"] in names)
    write(records)
    return records


# ----------------------------------------------------------------------------- command line
def add_arguments(p: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared by the script and ``gan-tutorial benchmark``)."""
    s = Setting()
    p.add_argument("--losses", nargs="*", help="methods to train (default: all): "
                   f"{', '.join(m.name for m in METHODS)}, or any registered loss; with --paper, rows of "
                   "gan_tutorial.paper_settings; the tables keep the other methods' finished runs")
    p.add_argument("--data", nargs="*", default=list(DATASETS), help="ring8 grid25 (default both)")
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1; default 5 (3 with --digits)")
    p.add_argument("--steps", type=int, default=s.steps, help=f"generator steps; default {s.steps}")
    p.add_argument("--batch-size", type=int, default=s.batch_size)
    p.add_argument("--lr", type=float, default=s.lr, help="lr_d = lr_g")
    p.add_argument("--latent-dim", type=int, default=s.latent_dim)
    p.add_argument("--hidden", type=int, default=s.hidden, help=f"width of the MLPs' hidden layers; default {s.hidden}")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes; default 1")
    p.add_argument("--out", default="benchmarks/results/toy", help="output folder")
    p.add_argument("--fresh", action="store_true", help="ignore finished runs in --out")
    p.add_argument("--digits", action="store_true", help="the digit league instead (gan_tutorial.digit_league: "
                   "--losses names its rows, --steps other than the default replaces their steps; default --out "
                   "benchmarks/results/digits)")
    p.add_argument("--paper", action="store_true", help="each method in its paper's setting "
                   "(gan_tutorial.paper_settings; default --out benchmarks/results/toy_paper)")


def run_from_args(args: argparse.Namespace, command: str = "run_from_args(...) in Python") -> list[dict]:
    """Validate the options, then :func:`run_benchmark` (or the digit league with ``--digits``).

    ``command`` is the command line that re-creates the folder, written into its ``settings.json``."""
    if getattr(args, "digits", False):
        from .digit_league import digit_methods, run_digit_league

        steps = None if args.steps == Setting().steps else args.steps
        out = "benchmarks/results/digits" if args.out == "benchmarks/results/toy" else args.out
        seeds = 3 if args.seeds is None else args.seeds
        if seeds < 1:
            raise ConfigError(f"--seeds must be a positive integer, got {seeds}.")
        return run_digit_league(digit_methods(args.losses, steps), range(seeds), out, args.jobs,
                                log=lambda s: print(s, flush=True), command=command)
    for d in args.data:
        if d not in DATASETS:
            raise ConfigError(f"unknown data set {d!r} for the benchmark: use ring8 or grid25.")
    args.seeds = 5 if args.seeds is None else args.seeds
    for name in ("seeds", "steps", "batch_size", "latent_dim", "hidden", "jobs"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got "
                              f"{getattr(args, name)}.")
    if not args.lr > 0:
        raise ConfigError(f"--lr must be positive, got {args.lr}.")
    setting = Setting(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                      latent_dim=args.latent_dim, hidden=args.hidden)
    if args.paper:  # --losses picks the rows to train; the tables keep every row's finished runs
        method_list = list(PAPER_METHODS)
        if args.out == "benchmarks/results/toy":
            args.out = "benchmarks/results/toy_paper"
    else:
        method_list = methods(None) + [m for m in methods(args.losses) if m.name not in {x.name for x in METHODS}]
    return run_benchmark(method_list, args.data, range(args.seeds),
                         setting, args.out, args.jobs, args.fresh,
                         log=lambda s: print(s, flush=True), only=args.losses or None, command=command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mode_collapse", description=__doc__.split("\n")[0])
    add_arguments(parser)
    argv = sys.argv[1:] if argv is None else argv
    run_from_args(parser.parse_args(argv), command=shlex.join(["python", "benchmarks/mode_collapse.py", *argv]))
    return 0
