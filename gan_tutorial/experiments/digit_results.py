"""Reading the digit league's results: what chapters 2-5 and the appendix show.

The league (:mod:`gan_tutorial.digit_league`) writes ``benchmarks/results/digits/``; this
module reads it back (:func:`load`), draws its curves and samples, and states each paper's
comparison as *reproduced*, *refuted* or *within noise* (:func:`compare`). In a notebook's
quick mode, :func:`for_notebook` trains a small live league with the same code into a
temporary folder and reads that instead, so CI runs every line the full mode runs.
"""

from __future__ import annotations

import csv
import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..core.errors import ConfigError

RESULTS = Path("benchmarks") / "results" / "digits"  # relative to the repository root


def _default_out() -> Path:
    """The committed league: from the repository root, from ``book/``, or beside the package."""
    for base in (Path.cwd(), Path.cwd().parent, Path(__file__).resolve().parents[1]):
        if (base / RESULTS / "runs.jsonl").exists():
            return base / RESULTS
    return RESULTS


@dataclass
class LeagueResults:
    """The league's files, read: ``summary`` and ``tuning`` rows by method, every run's record."""

    out: Path
    records: list[dict]
    summary: dict[str, dict]
    tuning: list[dict] = field(default_factory=list)

    def runs(self, method: str) -> list[dict]:
        """The records of ``method``, by seed."""
        rs = sorted((r for r in self.records if r["method"] == method), key=lambda r: r["seed"])
        if not rs:
            raise ConfigError(f"no digit-league runs of {method!r} in {self.out}: run "
                              f"`python benchmarks/digit_league.py --methods {method}` first.")
        return rs

    def samples(self, method: str, seed: int = 0) -> torch.Tensor:
        """The 1,000 scored samples of one run, back in [-1, 1] ``(1000, 1, 28, 28)``."""
        from .digit_league import from_uint8

        with np.load(self.out / "samples.npz") as saved:
            return from_uint8(saved[f"{method}/{seed}"])

    def models(self, method: str) -> tuple[torch.nn.Module, torch.nn.Module]:
        """Seed 0's trained ``(G, D)`` of ``method``, in evaluation mode."""
        from .digit_league import DigitMethod, build_models

        state = torch.load(self.out / "models" / f"{method}_0.pt", map_location="cpu", weights_only=False)
        setting = state["method"]
        G, D = build_models(DigitMethod(**{**setting, "betas": tuple(setting["betas"])}))
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        return G.eval(), D.eval()

    def row(self, method: str) -> str:
        """``"mean ± se (ratio x the floor)"`` for ``method``."""
        s = self.summary[method]
        spread = f" ± {s['fd_se']:.1f}" if isinstance(s["fd_se"], float) and math.isfinite(s["fd_se"]) else " (1 seed)"
        return f"{s['fd']:.1f}{spread} ({s['ratio']:.1f}x the floor)"


def _read_csv(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path) as fh:
        return [{k: _number(v) for k, v in r.items()} for r in csv.DictReader(fh)]


def _number(v: str):
    try:
        return int(v)
    except ValueError:
        try:
            return float(v)
        except ValueError:
            return v


def load(out: str | Path | None = None) -> LeagueResults:
    """Read ``runs.jsonl``, ``summary.csv`` and ``tuning.csv`` of a league folder (default: the committed one)."""
    out = Path(out) if out is not None else _default_out()
    if not (out / "runs.jsonl").exists():
        raise ConfigError(f"{out} holds no digit league (no runs.jsonl): run `python benchmarks/digit_league.py`.")
    records = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    latest = {(r["method"], r["seed"]): r for r in records}  # a rerun under a new setting replaces the old
    summary = {r["method"]: r for r in _read_csv(out / "summary.csv")}
    return LeagueResults(out, list(latest.values()), summary, _read_csv(out / "tuning.csv"))


def for_notebook(methods: list[str], quick: bool, steps: int = 20) -> LeagueResults:
    """Full mode: the committed league. Quick mode: a live league of ``methods``, one seed,
    ``steps`` steps, trained now by the same code (the numbers are then meaningless)."""
    if not quick:
        return load()
    from .digit_league import digit_methods, run_digit_league

    out = Path(tempfile.mkdtemp(prefix="digit_league_"))
    run_digit_league(digit_methods(methods, steps), range(1), out, log=lambda s: None)
    return load(out)


def compare(results: LeagueResults, a: str, b: str, claim: str = "better") -> dict:
    """The paper's claim about ``a`` against ``b`` on the league's distances (lower is better).

    ``claim="better"``: ``a`` scores lower than ``b``; *reproduced* when ``b - a`` exceeds two
    standard errors of the difference, *refuted* when ``a - b`` does, else *within noise*.
    ``claim="no worse"``: ``a`` costs nothing against ``b``; *refuted* when ``a`` is worse by
    over two standard errors, *reproduced* only when it is better by over two, and *within
    noise* otherwise (no loss detected, but a claim is not called reproduced on noise).
    """
    if claim not in ("better", "no worse"):
        raise ConfigError(f"claim must be 'better' or 'no worse', got {claim!r}.")
    fa = np.array([r["fd"] for r in results.runs(a)])
    fb = np.array([r["fd"] for r in results.runs(b)])
    if len(fa) < 2 or len(fb) < 2:
        raise ConfigError(f"a comparison needs at least 2 seeds of each method ({a}: {len(fa)}, {b}: {len(fb)}).")
    diff = float(fb.mean() - fa.mean())  # > 0: a is better
    se = math.sqrt(fa.var(ddof=1) / len(fa) + fb.var(ddof=1) / len(fb))
    if diff < -2 * se:
        verdict = "refuted"
    elif diff > 2 * se:
        verdict = "reproduced"
    else:
        verdict = "within noise"
    return {"a": a, "b": b, "claim": claim, "fd_a": float(fa.mean()), "fd_b": float(fb.mean()),
            "difference": diff, "se": se, "verdict": verdict}


def plot_curves(results: LeagueResults, methods: list[str], ax, floor: bool = True):
    """Distance to the held-out digits over training, every seed of each method (log scale)."""
    for i, name in enumerate(methods):
        for j, r in enumerate(results.runs(name)):
            step, fd = zip(*r["curve"])
            ax.plot(step, fd, color=f"C{i}", alpha=0.8, marker="o", ms=3, label=name if j == 0 else None)
    if floor:
        ax.axhline(results.runs(methods[0])[0]["floor"], ls="--", c="gray", label="floor (training digits)")
    ax.set_yscale("log")
    ax.set_xlabel("generator step")
    ax.set_ylabel("Frechet digit distance")
    ax.legend(fontsize=8)
    return ax


def plot_samples(results: LeagueResults, methods: list[str], axes, n: int = 64, seed: int = 0):
    """64 scored samples of seed ``seed`` of each method, one panel each, titled with its distance."""
    from ..evaluation.plots import show_images

    for ax, name in zip(np.atleast_1d(axes), methods):
        r = next(r for r in results.runs(name) if r["seed"] == seed)
        show_images(results.samples(name, seed)[:n], nrow=8, ax=ax, title=f"{name}, seed {seed}: {r['fd']:.1f}")
    return axes


def plot_losses(results: LeagueResults, method: str, ax, seed: int = 0):
    """D's and G's mean losses over one run (seed ``seed``), as the league recorded them."""
    r = next(r for r in results.runs(method) if r["seed"] == seed)
    curves = r.get("losses") or {}
    if not curves:
        raise ConfigError(f"the run {method}/{seed} recorded no losses (it diverged, or predates loss records).")
    for key, color in (("d_loss", "C0"), ("g_loss", "C1")):
        ax.plot(curves["step"], curves[key], color=color, label=key.replace("_loss", "'s loss"))
    ax.axhline(0, c="gray", lw=0.5)
    ax.set_xlabel("generator step")
    ax.set_title(f"{method}, seed {seed}")
    ax.legend(fontsize=8)
    return ax


@torch.no_grad()
def class_mix(results: LeagueResults, method: str, classifier) -> dict:
    """Which digits a row's scored samples are, read by the digit classifier, over every seed.

    ``counts``: per class, the mean count per 1,000 samples; ``kl``: KL(uniform || the samples'
    class frequencies) in nats, 0 for the balanced mix of the held-out digits; ``missing``: the
    classes under 10 per 1,000 on average.
    """
    counts = torch.zeros(10)
    runs = results.runs(method)
    for r in runs:
        counts += torch.bincount(classifier(results.samples(method, r["seed"])).argmax(1), minlength=10).float()
    counts /= len(runs)
    q = (counts / counts.sum()).clamp_min(1e-6)
    kl = float((0.1 * torch.log(0.1 / q)).sum())
    return {"counts": counts.tolist(), "kl": kl, "missing": [c for c in range(10) if counts[c] < 10]}
