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
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import losses, metrics
from .config import TrainConfig, resolve_device
from .errors import ConfigError, GanTutorialError
from .models import DCGANDiscriminator, DCGANGenerator

LATENT_DIM = 64


@dataclass(frozen=True)
class DigitMethod:
    """A row of the digit league: a registered ``loss`` and the settings it trains with."""

    name: str
    loss: str
    steps: int = 2000
    batch_size: int = 64
    lr: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    optimizer: str = "adam"
    lr_decay: str = "linear"
    width: int = 32
    ema: float = 0.0
    note: str = ""

    def setting(self) -> str:
        """The record's ``setting``: every field as JSON (fields at a default added later are left out,
        so the runs recorded before they existed still resume)."""
        d = dataclasses.asdict(self)
        for name in _LATER_FIELDS:
            if d[name] == _LATER_FIELDS[name]:
                del d[name]
        return json.dumps(d, sort_keys=True)


_LATER_FIELDS = {"ema": 0.0}  # fields added after runs were recorded, with the default those runs had


METHODS = [
    DigitMethod("ns", "ns", lr=1e-3, note="chapter 2's DCGAN"),
    DigitMethod("wgan", "wgan", lr=2e-4, optimizer="rmsprop", n_critic=5, steps=800,
                note="clipping, RMSProp and n_critic 5 as in Arjovsky et al. (2017); 800 G steps = 4,000 D steps"),
    DigitMethod("wgan_gp", "wgan_gp", lr=1e-3, betas=(0.5, 0.9),
                note="Gulrajani et al.'s penalty (lambda 10); n_critic 1 and WGAN-div's betas, so the two differ "
                     "only in the penalty"),
    DigitMethod("wgan_div", "wgan_div", lr=1e-3, betas=(0.5, 0.9), note="Wu et al. (2018): k = 2, p = 6"),
    DigitMethod("sphere_r1", "sphere_r1", lr=1e-3, betas=(0.5, 0.9), note="Sphere GAN, R = 1, D on S^16"),
    DigitMethod("sphere_r3", "sphere", lr=1e-3, betas=(0.5, 0.9), note="Sphere GAN, R = 3, D on S^16"),
    DigitMethod("gan_qp", "gan_qp", lr=1e-3, note="GAN-QP, the base of O-GAN"),
    DigitMethod("ogan", "ogan", lr=1e-3, note="O-GAN on GAN-QP (chapter 5)"),
    DigitMethod("ogan_mse", "ogan_mse", lr=1e-3, note="chapter 5's squared-error ablation"),
]
"""The league's rows, in their order. Every row: DCGAN of width 32, batch 64, learning rate
falling linearly to 0, 2,000 G steps (``wgan``: see its note); ``lr`` is the one of the two
candidates of :func:`tuning_candidates` that :func:`run_tuning` scored lower on training digits
(``benchmarks/results_digits/tuning.csv``; a test checks the choice)."""

VECTOR_DIM = 16  # out_dim of a vector D whose loss does not read z (Sphere GAN)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Images in [-1, 1] ``(N, 1, 28, 28)`` -> ``uint8`` ``(N, 28, 28)``, pixel ``round((x + 1) * 127.5)``."""
    return torch.round((x.float().clamp(-1, 1) + 1) * 127.5).to(torch.uint8)[:, 0].numpy()


def from_uint8(u: np.ndarray) -> torch.Tensor:
    """The inverse of :func:`to_uint8` up to rounding: ``(N, 28, 28)`` uint8 -> ``(N, 1, 28, 28)`` in [-1, 1]."""
    return torch.from_numpy(u.astype(np.float32))[:, None] / 127.5 - 1


def build_models(method: DigitMethod) -> tuple[torch.nn.Module, torch.nn.Module]:
    """The DCGAN G and D of width ``method.width`` for 28x28 digits, D as the loss needs it."""
    if method.loss == "sphere_r1" and "sphere_r1" not in losses.LOSSES:
        losses.register(losses.sphere_loss(1))
    loss = losses.get_loss(method.loss)
    out_dim = None if loss.output == "scalar" else LATENT_DIM if loss.uses_z else VECTOR_DIM
    G = DCGANGenerator(LATENT_DIM, 1, 28, width=method.width)
    D = DCGANDiscriminator(1, 28, width=method.width, batch_norm=loss.penalty is None, out_dim=out_dim)
    return G, D


def _score(G, z, classifier, **protocol) -> tuple[np.ndarray, dict]:
    """1,000 samples of ``G`` for codes ``z`` as uint8, and the protocol's score of exactly those images."""
    from .train import sample

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
    from .checkpoint import checkpoint_files, save_checkpoint
    from .train import fit

    torch.manual_seed(seed)
    G, D = build_models(method)
    every = max(1, method.steps // curve_points)
    log_every = max(1, every // 5)  # losses at five times the curve's resolution
    resume = str(work) if work is not None and checkpoint_files(work) else None
    config = TrainConfig(loss=method.loss, steps=method.steps, batch_size=method.batch_size, lr_d=method.lr,
                         lr_g=method.lr, betas=method.betas, n_critic=method.n_critic, optimizer=method.optimizer,
                         lr_decay=method.lr_decay, seed=seed, device=device, progress=False, n_samples=16,
                         log_every=log_every, ema=method.ema, out=str(work) if work is not None else None,
                         checkpoint_every=_checkpoint_every(method, log_every) if work is not None else 0,
                         resume=resume)
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
                save_checkpoint(work / "curve_G" / f"step_{state.step:08d}.pt",
                                {k: v.half() if v.is_floating_point() else v
                                 for k, v in state.G_eval.state_dict().items()})
                with open(curve_file, "a") as fh:
                    fh.write(json.dumps(curve[-1]) + "\n")

    t0, error = time.perf_counter(), ""
    history = None
    try:
        history = fit(G, D, x_train, config, callbacks=[record_curve])
        G = history.G_ema if history.G_ema is not None else G  # a moving average of G is what is sampled
    except GanTutorialError as exc:  # a diverged run is a result; a bug is not
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    seconds = history.wall_time if history is not None else time.perf_counter() - t0  # summed over resumes
    images, score = _score(G, z.to(device), classifier, reference=reference)  # exactly the stored images
    if models_dir is not None and seed == 0:
        path = Path(models_dir) / f"{method.name}_0.pt"
        torch.save({"G": G.state_dict(), "D": D.state_dict(), "method": dataclasses.asdict(method)},
                   path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)  # atomic: a crash leaves the old file or none
    curve.append([method.steps, round(score["distance"], 3)])
    record = {"method": method.name, "loss": method.loss, "seed": seed, **score_fields(score),
              "steps": method.steps, "wall_time_s": round(seconds, 1),
              "error": error, "curve": curve, "losses": _losses(history),
              "setting": method.setting()}
    return record, images


DIAGNOSIS = ("confident", "precision", "recall", "rarest_class", "commonest_class", "class_kl")
"""What a record keeps beside the distance (:func:`gan_tutorial.metrics.digit_protocol`)."""


def score_fields(score: dict) -> dict:
    """A record's numbers from a :func:`~gan_tutorial.metrics.digit_protocol` result."""
    out = {"fd": round(score["distance"], 4), "floor": round(score["floor"], 4),
           "floor_std": round(score["floor_std"], 4), "ratio": round(score["ratio"], 3),
           **{k: round(score[k], 4) for k in DIAGNOSIS}, "class_mix": score["class_mix"]}
    if "real" in score:
        out["real"] = {k: round(score["real"][k], 4) for k in DIAGNOSIS}
    return out


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


def summarise(records: list[dict], order: list[str]) -> list[dict]:
    """One row per method: mean distance over seeds, its standard error, the floor, and the
    means of the diagnosis (:data:`DIAGNOSIS`) where the records hold it."""
    rows = []
    for name in order:
        rs = [r for r in records if r["method"] == name]
        if not rs:
            continue
        fd = np.array([r["fd"] for r in rs], dtype=float)
        se = float(fd.std(ddof=1) / math.sqrt(len(fd))) if len(fd) > 1 else float("nan")
        floor = float(np.mean([r["floor"] for r in rs]))
        row = {"method": name, "seeds": len(rs), "fd": round(float(fd.mean()), 3), "fd_se": round(se, 3),
               "floor": round(floor, 3), "floor_std": rs[0]["floor_std"], "ratio": round(float(fd.mean()) / floor, 2)}
        for key in DIAGNOSIS:
            row[key] = round(float(np.mean([r[key] for r in rs])), 4) if all(key in r for r in rs) else ""
        rows.append(row)
    return rows


SUMMARY_FIELDS = ["method", "seeds", "fd", "fd_se", "floor", "floor_std", "ratio", *DIAGNOSIS]


def write_results(records: list[dict], method_list: list[DigitMethod], out: Path) -> None:
    """runs.csv, summary.csv, table.md, samples.npz and one sample figure per method."""
    order = [m.name for m in method_list]
    records = sorted(records, key=lambda r: (order.index(r["method"]), r["seed"]))
    fields = ["method", "loss", "seed", "fd", "floor", "ratio", *DIAGNOSIS, "steps", "wall_time_s", "error"]
    with open(out / "runs.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fields, extrasaction="ignore", restval="")
        w.writeheader()
        w.writerows(records)
    rows = summarise(records, order)
    with open(out / "summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, SUMMARY_FIELDS)
        w.writeheader()
        w.writerows(rows)
    notes = {m.name: m for m in method_list}
    lines = ["| method | seeds | distance | ratio | confident | precision | recall | rarest class | steps | setting |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    pct = lambda v: f"{100 * v:.0f}%" if v != "" else ""  # noqa: E731
    num = lambda v: f"{v:.2f}" if v != "" else ""  # noqa: E731
    for r in rows:
        m = notes[r["method"]]
        se = "" if math.isnan(r["fd_se"]) else f" ± {r['fd_se']:.1f}"
        lines.append(f"| `{r['method']}` | {r['seeds']} | {r['fd']:.1f}{se} | {r['ratio']:.1f} | "
                     f"{pct(r['confident'])} | {num(r['precision'])} | {num(r['recall'])} | "
                     f"{pct(r['rarest_class'])} | {m.steps:,} | "
                     f"{m.optimizer} lr {m.lr:g}, n_critic {m.n_critic}, {m.lr_decay}"
                     f"{f', EMA {m.ema:g}' if m.ema else ''}, width {m.width}; {m.note} |")
    real = next((r["real"] for r in records if "real" in r), None)
    real_line = (f" Real training digits score: confident {pct(real['confident'])}, "
                 f"precision {num(real['precision'])}, recall {num(real['recall'])}, "
                 f"rarest class {pct(real['rarest_class'])}." if real else "")
    (out / "table.md").write_text(
        "Digit league: 1,000 samples of G against the 1,000 held-out digits of `mnist5k` (`metrics.digit_protocol`, "
        "pinned classifier), GANs trained on the 4,000 training digits; mean ± standard error over seeds; ratio = "
        f"distance / floor (the floor: {rows[0]['floor']:.2f}, training digits against the same set)."
        f"{real_line}\n\n" + "\n".join(lines) + "\n")
    arrays = {f"{r['method']}/{r['seed']}": np.load(out / "runs" / f"{r['method']}_{r['seed']}.npy") for r in records}
    np.savez_compressed(out / "samples.npz", **arrays)
    for name in order:
        if f"{name}/0" in arrays:
            _sample_figure(arrays[f"{name}/0"][:64], f"{name}, seed 0", out / f"samples_{name}.png")


def rescore(out: str | Path, log=print) -> list[dict]:
    """Score every run of a league folder again from its stored images with the pinned classifier.

    Rewrites each record's distance, floor, ratio and diagnosis (``runs.jsonl`` keeps one
    record per run, the latest) and every table; the curves, losses and timings are kept as
    they were recorded (curve points were scored during training and their generators are
    not kept, so they are not re-scored). Returns the records.
    """
    out = Path(out)
    records = list({(r["method"], r["seed"]): r
                    for r in map(json.loads, (out / "runs.jsonl").read_text().splitlines())}.values())
    classifier, _ = metrics.digit_classifier()
    floor = None
    (out / "runs").mkdir(exist_ok=True)
    with np.load(out / "samples.npz") as saved:
        for r in records:
            images = saved[f"{r['method']}/{r['seed']}"]
            np.save(out / "runs" / f"{r['method']}_{r['seed']}.npy", images)
            score = metrics.digit_protocol(from_uint8(images), classifier, floor_draws=0 if floor else 5)
            floor = floor or {k: score[k] for k in ("floor", "floor_std", "real")}
            score.update(floor, ratio=score["distance"] / floor["floor"])
            r.update(score_fields(score), scored_with=f"pinned digit classifier {metrics.DIGIT_CLASSIFIER_SHA256[:12]}")
            log(f"{r['method']} seed {r['seed']}: {r['fd']:.2f}")
    (out / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    methods, seen = [], set()
    for r in records:
        if r["method"] not in seen:
            seen.add(r["method"])
            setting = json.loads(r["setting"])
            methods.append(DigitMethod(**{**setting, "betas": tuple(setting["betas"])}))
    write_results(records, methods, out)
    return records


def _sample_figure(images: np.ndarray, title: str, path: Path) -> None:
    from matplotlib.figure import Figure  # a figure of its own: the caller's backend is left alone

    from .plots import image_grid

    fig = Figure(figsize=(4, 4.3))
    ax = fig.subplots()
    ax.imshow(image_grid(from_uint8(images), nrow=8)[..., 0], cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _execute(todo, x_train, classifier, jobs: int, finish, reference: str = "held-out",
             models_dir: Path | None = None, device: str = "cpu", work_root: Path | None = None) -> None:
    """``run_one`` for every ``(method, seed)`` in ``todo``, ``jobs`` processes of one thread each.

    With ``work_root`` each run checkpoints into ``work_root/<method>_<seed>`` and resumes from there."""
    def args(m, s):
        work = Path(work_root) / f"{m.name}_{s}" if work_root is not None else None
        return (m, s, x_train, classifier, device), {"reference": reference, "models_dir": models_dir, "work": work}

    if jobs > 1 and len(todo) > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=torch.set_num_threads, initargs=(1,)) as pool:
            futures = [pool.submit(run_one, *a, **kw) for a, kw in (args(m, s) for m, s in todo)]
            for fut in as_completed(futures):
                finish(*fut.result())
    else:
        for m, s in todo:
            a, kw = args(m, s)
            finish(*run_one(*a, **kw))


TUNING_STEPS = 500


def tuning_candidates(method: DigitMethod) -> list[DigitMethod]:
    """The same effort for every row: two learning rates, one seed, ``TUNING_STEPS`` steps."""
    lrs = (5e-5, 2e-4) if method.optimizer == "rmsprop" else (2e-4, 1e-3)
    return [dataclasses.replace(method, lr=lr, steps=TUNING_STEPS) for lr in lrs]


def run_tuning(method_list: list[DigitMethod], out: str | Path = "benchmarks/results_digits", jobs: int = 1,
               log=print) -> list[dict]:
    """Each row's candidates, scored against *training* digits (never the held-out ones): ``tuning.csv``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "tuning.jsonl"
    done = {}
    if log_path.exists():
        for r in map(json.loads, log_path.read_text().splitlines()):
            done[r["setting"]] = r
    todo = [(c, 0) for m in method_list for c in tuning_candidates(m)
            if c.setting() not in done]
    log(f"digit tuning: {len(method_list)} rows x 2 learning rates; {len(done)} done, {len(todo)} to run")
    (x_train, _), _ = metrics.mnist5k_split()
    classifier, _ = metrics.digit_classifier()

    def finish(record, images):
        record = {**record, "lr": json.loads(record["setting"])["lr"]}
        with open(log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        done[record["setting"]] = record
        log(f"tuning {record['method']} lr {record['lr']:g}: distance to training digits {record['fd']:.1f}, "
            f"{record['wall_time_s']:.0f} s {record['error']}")

    _execute(todo, x_train, classifier, jobs, finish, reference="training")
    rows = sorted(done.values(), key=lambda r: ([m.name for m in METHODS].index(r["method"]), r["lr"]))
    with open(out / "tuning.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, ["method", "lr", "steps", "fd_training", "wall_time_s", "error"])
        w.writeheader()
        w.writerows({"method": r["method"], "lr": r["lr"], "steps": r["steps"], "fd_training": r["fd"],
                     "wall_time_s": r["wall_time_s"], "error": r["error"]} for r in rows)
    return rows


def run_digit_league(method_list: list[DigitMethod], seeds=range(3), out: str | Path = "benchmarks/results_digits",
                     jobs: int = 1, log=print, device: str = "cpu") -> list[dict]:
    """Run every (method, seed) not already in ``out/runs.jsonl`` under the same setting; write the tables."""
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    log_path = out / "runs.jsonl"
    wanted = {m.name: m.setting() for m in method_list}
    done = {}
    saved = np.load(out / "samples.npz") if (out / "samples.npz").exists() else {}
    if log_path.exists():
        for line in log_path.read_text().splitlines():
            r = json.loads(line)
            npy, key = out / "runs" / f"{r['method']}_{r['seed']}.npy", f"{r['method']}/{r['seed']}"
            if not npy.exists() and key in saved:  # a fresh clone: runs/ is not committed, samples.npz is
                np.save(npy, saved[key])
            if wanted.get(r["method"]) == r["setting"] and npy.exists():
                done[r["method"], r["seed"]] = r
    todo = [(m, s) for s in seeds for m in method_list if (m.name, s) not in done]
    log(f"digit league: {len(method_list)} methods x {len(list(seeds))} seeds; {len(done)} done, {len(todo)} to run")
    (x_train, _), _ = metrics.mnist5k_split()
    classifier, _ = metrics.digit_classifier()

    def finish(record, images):
        np.save(out / "runs" / f"{record['method']}_{record['seed']}.npy", images)
        with open(log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        done[record["method"], record["seed"]] = record
        log(f"{record['method']} seed {record['seed']}: distance {record['fd']:.1f} ({record['ratio']:.1f}x the floor "
            f"{record['floor']:.2f}), {record['wall_time_s']:.0f} s {record['error']}")
        write_results(list(done.values()), method_list, out)

    (out / "models").mkdir(exist_ok=True)
    _execute(todo, x_train, classifier, jobs, finish, models_dir=out / "models", device=device,
             work_root=out / "work")
    records = [r for (name, _), r in done.items() if name in wanted]
    if records:
        write_results(records, method_list, out)
    return records


def digit_methods(names: list[str] | None, steps: int | None = None) -> list[DigitMethod]:
    """The rows named (default all), with ``steps`` replaced when given."""
    by_name = {m.name: m for m in METHODS}
    unknown = [n for n in names or [] if n not in by_name]
    if unknown:
        raise ConfigError(f"unknown digit-league method(s) {', '.join(unknown)}: use {', '.join(by_name)}.")
    chosen = [by_name[n] for n in names] if names else list(METHODS)
    return [dataclasses.replace(m, steps=steps) for m in chosen] if steps else chosen


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="digit_league", description=__doc__.split("\n")[0])
    p.add_argument("--methods", nargs="*", help=f"rows (default all): {', '.join(m.name for m in METHODS)}")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1; default 3")
    p.add_argument("--steps", type=int, help="replace every row's steps (a shorter trial)")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes")
    p.add_argument("--out", default="benchmarks/results_digits")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto; one process per job")
    p.add_argument("--tune", action="store_true", help=f"the tuning runs instead: two learning rates per row, "
                   f"{TUNING_STEPS:,} steps, scored against training digits (tuning.csv)")
    args = p.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1 or (args.steps is not None and args.steps < 1):
        raise ConfigError("--seeds, --jobs and --steps must be positive integers.")
    log = lambda s: print(s, flush=True)  # noqa: E731
    if args.tune:
        run_tuning(digit_methods(args.methods), args.out, args.jobs, log=log)
    else:
        device = str(resolve_device(args.device))
        if device != "cpu" and args.jobs > 1:
            raise ConfigError(f"--jobs {args.jobs} forks processes, which {device} does not survive: use --jobs 1 "
                              "on a GPU (one run at a time is fast there).")
        run_digit_league(digit_methods(args.methods, args.steps), range(args.seeds), args.out, args.jobs, log=log,
                         device=device)
    return 0
