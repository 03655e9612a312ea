"""The digit league: the course's image methods on real digits, one protocol, several seeds.

Every run trains on the 4,000 training digits of :func:`gan_tutorial.metrics.mnist5k_split`
(the 1,000 held-out digits are used only for scoring), draws 1,000 samples of G for fixed
codes, stores them as ``uint8`` images (pixel ``round((x + 1) * 127.5)``) and scores exactly
those stored images with :func:`gan_tutorial.metrics.digit_protocol` (distance to the
held-out digits, and the floor of 1,000 training digits against them). A method is a
registered loss plus its settings (:data:`METHODS`, written once here); ``run_digit_league``
writes into ``out``:

* ``runs.jsonl`` (one record per finished run: an interrupted league resumes) and ``runs.csv``
  (``method, seed, fd, floor, ratio, steps, wall_time_s, error``);
* ``summary.csv`` (``method, seeds, fd, fd_se, floor, floor_std, ratio``) and ``table.md``;
* ``samples.npz``: key ``"<method>/<seed>"``, the 1,000 scored samples ``(1000, 28, 28)`` uint8;
* ``samples_<method>.png``: 64 samples of seed 0.

``benchmarks/digit_league.py`` and ``gan-tutorial benchmark --digits`` call :func:`main`.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ..core.checkpoint import save_checkpoint
from ..core.errors import ConfigError, GanTutorialError
from ..core.sampling import sample
from ..evaluation import metrics
from ..training.config import TrainConfig, resolve_device
from ..training.train import fit
from .digit_methods import (  # noqa: F401  (re-exported: the league's rows)
    CONVERGED,
    LATENT_DIM,
    LEAGUES,
    METHODS,
    RECIPE,
    VECTOR_DIM,
    DigitMethod,
    build_models,
    from_uint8,
    to_uint8,
)
from .digit_tables import DIAGNOSIS, rescore, score_fields, summarise, write_results  # noqa: F401
from .runner import Ledger, execute, write_settings


def _score(G, z, classifier, **protocol) -> tuple[np.ndarray, dict]:
    """1,000 samples of ``G`` for codes ``z`` as uint8, and the protocol's score of exactly those images."""
    images = to_uint8(torch.nan_to_num(sample(G, z), nan=-1.0))
    return images, metrics.digit_protocol(from_uint8(images), classifier, **protocol)


CHECKPOINT_SECONDS = 180  # a long run writes a checkpoint about this often (steps estimated from its speed)


def run_one(method: DigitMethod, seed: int, x_train: torch.Tensor, classifier, device: str = "cpu",
            reference: str = "held-out", curve_points: int = 10,
            models_dir: Path | None = None, work: Path | None = None) -> tuple[dict, np.ndarray]:
    """Train ``method`` with ``seed`` on ``x_train``; returns its record and its 1,000 uint8 samples.

    The record's ``curve`` holds ``[step, distance]`` at ``curve_points`` even points of the run
    (distances to ``reference``, no floor); ``reference="training"`` is the tuning score. With
    ``models_dir``, seed 0's trained G and D are saved there as ``<method>_0.pt`` (for the
    chapters that use the trained networks, e.g. O-GAN's encoder). With ``work`` (a folder of
    this run's own), the run writes a checkpoint every few minutes there and continues from the
    newest one when it is started again; its curve points and the generator sampled at each of
    them (``curve_G/step_XXXXXXXX.pt``, for re-scoring) are kept there too.
    """

    torch.manual_seed(seed)
    G, D = build_models(method)
    every = max(1, method.steps // curve_points)
    log_every = max(1, every // 5)  # losses at five times the curve's resolution
    config = train_config(method, seed, device, log_every, work)
    resume = config.resume
    z = torch.randn(metrics.N_SCORED_DIGITS, LATENT_DIM, generator=torch.Generator().manual_seed(10_000 + seed))
    curve_file = work / "curve.jsonl" if work is not None else None
    curve: list[list[float]] = ([json.loads(line) for line in curve_file.read_text().splitlines()]
                                if resume and curve_file.exists() else [])

    def record_curve(state) -> None:
        if state.step % every == 0 and state.step < method.steps:  # the last point is the final score below
            if curve and curve[-1][0] >= state.step:
                return  # recorded before an interruption
            d = _score(state.G_eval, z.to(device), classifier, floor_draws=0, reference=reference)[1]["distance"]
            curve.append([state.step, round(d, 3)])
            if work is not None:
                save_checkpoint(work / "curve_G" / f"step_{state.step:08d}.pt", _half(state.G_eval.state_dict()))
                with open(curve_file, "a") as fh:
                    fh.write(json.dumps(curve[-1]) + "\n")

    t0, error = time.perf_counter(), ""
    history = None
    try:
        history = fit(G, D, x_train, config, callbacks=[record_curve])
        G = history.G_ema if history.G_ema is not None else G  # a moving average of G is what is sampled
        G.load_state_dict(_half(G.state_dict()))  # G as shipped (half precision) is G as scored
    except GanTutorialError as exc:  # a diverged run is a result; a bug is not
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    seconds = history.wall_time if history is not None else time.perf_counter() - t0  # summed over resumes
    images, score = _score(G, z.to(device), classifier, reference=reference)  # exactly the stored images
    if models_dir is not None and seed == 0:  # half precision: what the chapters and pretrained.load read
        save_checkpoint(Path(models_dir) / f"{method.name}_0.pt",
                        {"G": _half(G.state_dict()), "D": _half(D.state_dict()), "method": dataclasses.asdict(method)})
    curve.append([method.steps, round(score["distance"], 3)])
    record = {"method": method.name, "loss": method.loss, "seed": seed, **score_fields(score),
              "steps": method.steps, "wall_time_s": round(seconds, 1),
              "error": error, "curve": curve, "losses": _losses(history),
              "setting": method.setting()}
    return record, images


def _half(state: dict) -> dict:
    return {k: v.detach().half() if v.is_floating_point() else v for k, v in state.items()}


def train_config(method: DigitMethod, seed: int, device: str, log_every: int, work: Path | None) -> TrainConfig:
    """The :class:`TrainConfig` of one run of ``method``; with ``work``, checkpoints there and resumes
    from the newest one it holds."""
    config = TrainConfig(loss=method.loss, steps=method.steps, batch_size=method.batch_size, lr_d=method.lr,
                         lr_g=method.lr, betas=method.betas, n_critic=method.n_critic, optimizer=method.optimizer,
                         lr_decay=method.lr_decay, seed=seed, device=device, progress=False, n_samples=16,
                         log_every=log_every, ema=method.ema, translate=method.translate)
    return config if work is None else config.checkpointed(work, _checkpoint_every(method, log_every))


def _checkpoint_every(method: DigitMethod, log_every: int) -> int:
    """Steps between checkpoints: about :data:`CHECKPOINT_SECONDS` at width 64 on one CPU thread
    (about 60 ms per D and G step pair), a multiple of ``log_every``."""
    steps = CHECKPOINT_SECONDS / (0.06 * method.n_critic * (method.width / 64) ** 2)
    return max(1, int(steps) // log_every) * log_every


def _losses(history) -> dict:
    """The run's mean losses per logging interval, as plain lists (empty after a divergence)."""
    if history is None:
        return {}
    return {key: [round(v, 5) for v in getattr(history, key)] if key != "step" else list(history.step)
            for key in ("step", "d_loss", "g_loss", "penalty") if getattr(history, key)}


def _calls(todo, x_train, classifier, reference: str = "held-out", models_dir: Path | None = None,
           device: str = "cpu", work_root: Path | None = None) -> list:
    """:func:`run_one` for every ``(method, seed)`` of ``todo``, as calls for :func:`runner.execute`;
    with ``work_root`` each run checkpoints into ``work_root/<method>_<seed>`` and resumes from there."""
    return [(run_one, (m, s, x_train, classifier, device),
             {"reference": reference, "models_dir": models_dir,
              "work": Path(work_root) / f"{m.name}_{s}" if work_root is not None else None})
            for m, s in todo]


TUNING_STEPS = 500


def tuning_candidates(method: DigitMethod) -> list[DigitMethod]:
    """The same effort for every row: two learning rates, one seed, ``TUNING_STEPS`` steps."""
    lrs = (5e-5, 2e-4) if method.optimizer == "rmsprop" else (2e-4, 1e-3)
    return [dataclasses.replace(method, lr=lr, steps=TUNING_STEPS) for lr in lrs]


def run_tuning(method_list: list[DigitMethod], out: str | Path = "benchmarks/results/digits", jobs: int = 1,
               log=print) -> list[dict]:
    """Each row's candidates, scored against *training* digits (never the held-out ones): ``tuning.csv``."""
    out = Path(out)
    ledger = Ledger(out, key=lambda r: r["setting"], file=None, name="tuning.jsonl")
    done = ledger.done
    todo = [(c, 0) for m in method_list for c in tuning_candidates(m) if c.setting() not in done]
    log(f"digit tuning: {len(method_list)} rows x 2 learning rates; {len(done)} done, {len(todo)} to run")
    (x_train, _), _ = metrics.mnist5k_split()
    classifier, _ = metrics.digit_classifier()

    def finish(result):
        record, _ = result
        record = {**record, "lr": json.loads(record["setting"])["lr"]}
        ledger.add(record)
        log(f"tuning {record['method']} lr {record['lr']:g}: distance to training digits {record['fd']:.1f}, "
            f"{record['wall_time_s']:.0f} s {record['error']}")

    execute(_calls(todo, x_train, classifier, reference="training"), finish, jobs)
    rows = sorted(done.values(), key=lambda r: ([m.name for m in METHODS].index(r["method"]), r["lr"]))
    with open(out / "tuning.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, ["method", "lr", "steps", "fd_training", "wall_time_s", "error"])
        w.writeheader()
        w.writerows({"method": r["method"], "lr": r["lr"], "steps": r["steps"], "fd_training": r["fd"],
                     "wall_time_s": r["wall_time_s"], "error": r["error"]} for r in rows)
    return rows


def run_digit_league(method_list: list[DigitMethod], seeds=range(3), out: str | Path = "benchmarks/results/digits",
                     jobs: int = 1, log=print, device: str = "cpu",
                     command: str = "run_digit_league(...) in Python") -> list[dict]:
    """Run every (method, seed) not already in ``out/runs.jsonl`` under the same setting; write the tables
    and ``settings.json`` (the rows' settings and ``command``, the command that re-creates the folder)."""
    out = Path(out)
    wanted = {m.name: m.setting() for m in method_list}
    ledger = Ledger(out, key=lambda r: f"{r['method']}/{r['seed']}",
                    file=lambda r: out / "runs" / f"{r['method']}_{r['seed']}.npy",
                    keep=lambda r: wanted.get(r["method"]) == r["setting"])
    todo = [(m, s) for s in seeds for m in method_list if f"{m.name}/{s}" not in ledger.done]
    log(f"digit league: {len(method_list)} methods x {len(list(seeds))} seeds; {len(ledger.done)} done, "
        f"{len(todo)} to run")
    (x_train, _), _ = metrics.mnist5k_split()
    classifier, _ = metrics.digit_classifier()
    write_settings(out, {m.name: json.loads(m.setting()) for m in method_list}, command)

    def finish(result):
        record, images = result
        ledger.add(record, images)
        log(f"{record['method']} seed {record['seed']}: distance {record['fd']:.1f} ({record['ratio']:.1f}x the floor "
            f"{record['floor']:.2f}), {record['wall_time_s']:.0f} s {record['error']}")
        write_results(ledger.records(), method_list, out)

    (out / "models").mkdir(exist_ok=True)
    execute(_calls(todo, x_train, classifier, models_dir=out / "models", device=device, work_root=out / "work"),
            finish, jobs)
    records = ledger.records()
    if records:
        write_results(records, method_list, out)
    return records


OUT = {"short": "benchmarks/results/digits", "converged": "benchmarks/results/digits_converged"}


def digit_methods(names: list[str] | None, steps: int | None = None, league: str = "short",
                  width: int | None = None) -> list[DigitMethod]:
    """The rows named of ``league`` (default all), with ``steps`` and ``width`` replaced when given."""
    if league not in LEAGUES:
        raise ConfigError(f"unknown digit league {league!r}: use {', '.join(LEAGUES)}.")
    by_name = {m.name: m for m in LEAGUES[league]}
    unknown = [n for n in names or [] if n not in by_name]
    if unknown:
        raise ConfigError(f"unknown digit-league method(s) {', '.join(unknown)}: use {', '.join(by_name)}.")
    chosen = [by_name[n] for n in names] if names else list(LEAGUES[league])
    return [dataclasses.replace(m, steps=steps or m.steps, width=width or m.width) for m in chosen]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="digit_league", description=__doc__.split("\n")[0])
    p.add_argument("--methods", nargs="*", help=f"rows (default all): {', '.join(m.name for m in METHODS)}")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1; default 3")
    p.add_argument("--steps", type=int, help="replace every row's steps (a shorter trial)")
    p.add_argument("--width", type=int, help="replace every row's network width (DCGAN filters of the last layer)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    p.add_argument("--league", default="short", choices=list(LEAGUES),
                   help="short: width 32, 2,000 steps (default); converged: the long recipe (digit_methods.RECIPE)")
    p.add_argument("--out", help=f"default {OUT['short']} (short) or {OUT['converged']} (converged)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto; one process per job")
    p.add_argument("--tune", action="store_true", help=f"the tuning runs instead: two learning rates per row, "
                   f"{TUNING_STEPS:,} steps, scored against training digits (tuning.csv)")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1 or any(v is not None and v < 1 for v in (args.steps, args.width)):
        raise ConfigError("--seeds, --jobs, --steps and --width must be positive integers.")
    log = lambda s: print(s, flush=True)  # noqa: E731
    args.out = args.out or OUT[args.league]
    if args.tune:
        run_tuning(digit_methods(args.methods, league=args.league), args.out, args.jobs, log=log)
    else:
        device = str(resolve_device(args.device))
        if device != "cpu" and args.jobs > 1:
            raise ConfigError(f"--jobs {args.jobs} forks processes, which {device} does not survive: use --jobs 1 "
                              "on a GPU (one run at a time is fast there).")
        command = "python benchmarks/digit_league.py " + " ".join(sys.argv[1:] if argv is None else argv)
        run_digit_league(digit_methods(args.methods, args.steps, args.league, args.width), range(args.seeds), args.out,
                         args.jobs, log=log, device=device, command=command.strip())
    return 0
