"""The mode-collapse benchmark's tables: summaries over seeds, the Markdown table, the figures.

Everything here reads finished runs (records and scored samples) or plans the ones left; nothing trains.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np
import torch

from ..core import data as data_mod
from ..core.errors import ConfigError
from ..evaluation.metrics import mode_coverage
from .runner import write_settings

DATASETS = ("ring8", "grid25")

# Published numbers with the same metric: (source, method, data, modes, high-quality %).
PUBLISHED = [
    ("VEEGAN Table 1", "GAN", "ring8", 1.0, 99.3), ("VEEGAN Table 1", "ALI", "ring8", 2.8, 0.13),
    ("VEEGAN Table 1", "Unrolled GAN", "ring8", 7.6, 35.6),
    ("VEEGAN Table 1", "VEEGAN", "ring8", 8.0, 52.9),
    ("VEEGAN Table 1", "GAN", "grid25", 3.3, 0.5), ("VEEGAN Table 1", "ALI", "grid25", 15.8, 1.6),
    ("VEEGAN Table 1", "Unrolled GAN", "grid25", 23.6, 16.0),
    ("VEEGAN Table 1", "VEEGAN", "grid25", 24.6, 40.0),
    ("PacGAN Table 1", "GAN", "ring8", 6.3, 98.2), ("PacGAN Table 1", "PacGAN4", "ring8", 7.8, 95.9),
    ("PacGAN Table 1", "GAN", "grid25", 17.3, 94.8),
    ("PacGAN Table 1", "PacGAN4", "grid25", 24.8, 93.6),
]



def run_key(method: str, data_name: str, seed: int) -> str:
    """The key of one run in ``samples.npz``."""
    return f"{data_name}/{method}/{seed}"


def run_file(out: Path, method: str, data_name: str, seed: int) -> Path:
    """Where one run's scored samples are kept (git-ignored; packed into ``samples.npz``)."""
    return out / "runs" / f"{data_name}_{method}_{seed}.npy"


def plan_runs(method_list: list, datasets, seeds, setting, done: dict) -> list[tuple]:
    """The runs to make: ``(method, data, seed, setting, with_base)``, seed-major (an
    interrupted benchmark has every method on its first seeds); a ``drs`` method and its
    base share one training run."""
    todo = [(m, d, s, m.setting or setting) for s in seeds for d in datasets for m in method_list
            if run_key(m.name, d, s) not in done]
    names = {m.name for m in method_list}
    paired = {(m.base, d, s) for m, d, s, _ in todo if m.base in names and run_key(m.base, d, s) not in done}
    return [(m, d, s, st, (m.base, d, s) in paired) for m, d, s, st in todo if (m.name, d, s) not in paired]


def trained_methods(method_list: list, only: list[str] | None) -> list:
    """The methods of ``method_list`` that ``only`` names (all if None); an unknown name is refused."""
    names = [m.name for m in method_list]
    unknown = [n for n in only or [] if n not in names]
    if unknown:
        raise ConfigError(f"unknown method(s) {', '.join(map(repr, unknown))} for this benchmark: use "
                          f"{', '.join(names)}.")
    return [m for m in method_list if not only or m.name in only]


def summarise(records: list[dict]) -> list[dict]:
    """Mean and standard error over seeds of modes and high-quality % per (method, data)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in records:
        groups.setdefault((r["method"], r["data"]), []).append(r)
    rows = []
    for (method, data_name), rs in groups.items():
        modes = np.array([r["modes"] for r in rs], dtype=float)
        hq = 100 * np.array([r["high_quality"] for r in rs], dtype=float)
        n = len(rs)

        def se(v: np.ndarray, n: int = n) -> float:
            return float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")

        rows.append({"source": "ours", "method": method, "data": data_name, "seeds": n,
                     "modes": float(modes.mean()), "modes_se": se(modes),
                     "high_quality": float(hq.mean()), "high_quality_se": se(hq),
                     "all_modes_seeds": int(sum(r["modes"] == r["n_modes"] for r in rs)),
                     "target_seeds": int(sum(r["modes"] == r["n_modes"] and r["high_quality"] >= 0.95
                                             for r in rs)),
                     "wall_time_s": float(np.mean([r["wall_time_s"] for r in rs]))})
    return rows


def _fmt(mean: float, se: float, digits: int) -> str:
    return f"{mean:.{digits}f}" if math.isnan(se) else f"{mean:.{digits}f} ± {se:.{digits}f}"


def markdown_table(rows: list[dict], method_order: list[str], datasets=DATASETS) -> str:
    """Ours (mean ± standard error over seeds) with the published rows below them."""
    by = {(r["method"], r["data"]): r for r in rows}
    head = "| method | " + " | ".join(
        f"{d} modes | {d} high quality % | {d} all modes (HQ ≥ 95%) / seeds" for d in datasets) + " |"
    lines = [head, "|" + "---|" * (1 + 3 * len(datasets))]
    for m in method_order:
        cells = []
        for d in datasets:
            r = by.get((m, d))
            if r is None:
                cells += ["", "", ""]
                continue
            cells += [_fmt(r["modes"], r["modes_se"], 1), _fmt(r["high_quality"], r["high_quality_se"], 1),
                      f"{r['all_modes_seeds']} ({r['target_seeds']}) / {r['seeds']}"]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    published: dict[tuple[str, str], dict[str, tuple[float, float]]] = {}
    for source, method, d, modes, hq in PUBLISHED:
        published.setdefault((source, method), {})[d] = (modes, hq)
    for (source, method), vals in published.items():
        cells = []
        for d in datasets:
            modes, hq = vals.get(d, (math.nan, math.nan))
            cells += [f"{modes:g}", f"{hq:g}", ""]
        lines.append(f"| {method} ({source}) | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_results(records: list[dict], method_list: list, datasets, setting,
                  out: Path, command: str = "run_benchmark(...) in Python") -> None:
    """Write runs.csv, summary.csv, table.md, samples.npz and the sample figures into ``out``."""
    order = [m.name for m in method_list]
    records = sorted(records, key=lambda r: (r["data"], order.index(r["method"]), r["seed"]))
    fields = ["method", "loss", "data", "seed", "steps", "modes", "n_modes", "high_quality",
              "reverse_kl", "wall_time_s", "error"]
    with open(out / "runs.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fields)
        w.writeheader()
        w.writerows({k: r[k] for k in fields} for r in records)
    rows = summarise(records)
    rows.sort(key=lambda r: (r["data"], order.index(r["method"])))
    pub = [{"source": s, "method": m, "data": d, "seeds": "", "modes": mo, "modes_se": "",
            "high_quality": hq, "high_quality_se": "", "all_modes_seeds": "", "target_seeds": "",
            "wall_time_s": ""} for s, m, d, mo, hq in PUBLISHED]
    with open(out / "summary.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]) if rows else list(pub[0]))
        w.writeheader()
        w.writerows(rows + pub)
    s = setting
    own = {m.name: dataclasses.asdict(m.setting) for m in method_list if getattr(m, "setting", None)}
    header = ("Mode collapse on ring8 and grid25, each method in its own setting (its paper's: "
              "`settings.json`, `gan_tutorial.paper_settings`), "
              f"{s.n_train:,} training samples, {s.n_scored:,} scored samples; mean ± standard error over "
              "seeds. The last column counts the seeds with every mode covered and, in brackets, "
              "those that also have at least 95% high-quality samples.\n\n") if own else (
              f"Mode collapse on ring8 and grid25: {s.steps} steps, batch {s.batch_size}, Adam lr "
              f"{s.lr:g} ({s.lr_decay} decay) betas {s.betas}, latent {s.latent_dim}, MLPs {s.depth} x {s.hidden}, "
              f"{s.n_train:,} training samples, {s.n_scored:,} scored samples; mean ± standard "
              "error over seeds. The last column counts the seeds with every mode covered and, "
              "in brackets, those that also have at least 95% high-quality samples.\n\n")
    (out / "table.md").write_text(header + markdown_table(rows, order, datasets))
    arrays = {run_key(r["method"], r["data"], r["seed"]): np.load(run_file(out, r["method"], r["data"], r["seed"]))
              for r in records}
    np.savez_compressed(out / "samples.npz", **arrays)
    for d in datasets:
        plot_method_samples(arrays, order, d, out / f"samples_{d}.png")
    write_settings(out, own or dataclasses.asdict(setting), command)


def plot_method_samples(arrays: dict[str, np.ndarray], method_order: list[str], data_name: str,
                        path: Path, seed: int = 0, ncols: int = 6) -> None:
    """One panel per method: the scored samples of ``seed`` (orange) over the mode centres."""
    from matplotlib.figure import Figure  # a figure of its own: the caller's backend is left alone

    names = [m for m in method_order if run_key(m, data_name, seed) in arrays]
    if not names:
        return
    centers, std = data_mod.toy_spec(data_name)
    lim = float(centers.abs().max()) * 1.5
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    panel = 2.2 if len(names) > 3 else 3.2  # a few methods get larger panels
    fig = Figure(figsize=(panel * ncols, (panel + 0.1) * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, name in zip(axes.flat, names):
        x = arrays[run_key(name, data_name, seed)]
        mc = mode_coverage(torch.from_numpy(x), centers, std)
        ax.scatter(centers[:, 0], centers[:, 1], s=12, c="k", marker="x")
        ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:orange", alpha=0.4)
        ax.set_xlim(-lim, lim)
        ax.set_ylim(-lim, lim)
        ax.set_aspect("equal")
        ax.set_title(f"{name}\n{mc['modes']}/{len(centers)}, {100 * mc['high_quality']:.0f}% HQ",
                     fontsize=8)
    fig.suptitle(f"{data_name}, seed {seed}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
