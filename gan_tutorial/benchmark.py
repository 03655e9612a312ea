"""The mode-collapse benchmark: every registered loss (and a few remedies) on ring8 and grid25.

Each *method* trains the course's MLP G and D on 100,000 fixed samples of a toy mixture for
every seed, draws 2,500 samples from G and scores them with
:func:`gan_tutorial.metrics.mode_coverage` (VEEGAN's and PacGAN's metric: a sample is high
quality within 3 std of its nearest centre; a mode counts when it holds one such sample).
The methods are every loss in :data:`gan_tutorial.losses.LOSSES` at run time (variants whose
name holds a ``:`` only when asked for) plus the rows of :data:`EXTRA_METHODS`: VEEGAN,
spectral normalisation, spectral regularization and PacGAN-style packing of D's input.

``run_benchmark`` writes into ``out``: ``runs.jsonl`` (one record per run, so an interrupted
benchmark resumes where it stopped), ``runs.csv``, ``summary.csv`` and ``table.md`` (ours
with the published rows beside them), ``samples.npz`` (every run's scored samples, for
independent re-scoring) and ``samples_<data>.png``. ``benchmarks/mode_collapse.py`` and
``gan-tutorial benchmark`` both call :func:`main`.
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
from torch import nn

from . import data as data_mod
from . import losses, regularizers
from .errors import ConfigError
from .metrics import mode_coverage
from .models import MLPDiscriminator, MLPGenerator
from .train import TrainConfig, fit, rejection_sample

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


@dataclass(frozen=True)
class Setting:
    """One budget for every method (no tuning per method or per seed)."""

    steps: int = 2000
    batch_size: int = 256
    lr: float = 1e-3
    lr_decay: str = "linear"  # both learning rates fall linearly to 0: sharper final samples
    betas: tuple[float, float] = (0.5, 0.999)
    latent_dim: int = 8
    hidden: int = 128
    depth: int = 3
    n_train: int = 100_000
    n_scored: int = 2_500
    vector_dim: int = 16  # out_dim of a vector D whose loss does not use z (Sphere GAN)


@dataclass(frozen=True)
class Method:
    """A row of the table: a registered ``loss`` plus what is done to D (or VEEGAN)."""

    name: str
    loss: str = "ns"
    d_transform: str | None = None  # "sn", "sr_dynamic", "sr_static", "pack4"
    trainer: str = "gan"  # or "veegan"
    sampler: str | None = None  # "drs": G's samples kept by discriminator rejection sampling
    instance_noise: float = 0.0  # std of the noise on D's inputs, annealed to 0 at half the run
    note: str = ""

    @property
    def base(self) -> str | None:
        """The method whose training this one repeats: its name without ``+sampler`` (or ``None``)."""
        return self.name.removesuffix(f"+{self.sampler}") if self.sampler is not None else None


DRS_QUANTILE = 0.995  # log M = this quantile of D's logit over 10,000 draws (one value for all)
INSTANCE_NOISE = 0.5  # std of the instance noise at step 0, falling to 0 at half the run (one value for all)


EXTRA_METHODS = {
    "veegan": Method("veegan", trainer="veegan", note="reconstructor F, D on (z, x) pairs"),
    "ns+sn": Method("ns+sn", d_transform="sn", note="spectral normalisation of D"),
    "ns+sr": Method("ns+sr", d_transform="sr_dynamic", note="spectral regularization, dynamic"),
    "pacgan4": Method("pacgan4", d_transform="pack4", note="ns, D sees packs of 4 samples"),
    "ns+drs": Method("ns+drs", loss="ns", sampler="drs", note="ns, samples kept by D's rejection"),
    "ogan_ns+drs": Method("ogan_ns+drs", loss="ogan_ns", sampler="drs",
                          note="ogan_ns, samples kept by D's rejection"),
    "ogan_ns+noise": Method("ogan_ns+noise", loss="ogan_ns", instance_noise=INSTANCE_NOISE,
                            note="ogan_ns, instance noise on D's inputs"),
    "ogan_ns+noise+drs": Method("ogan_ns+noise+drs", loss="ogan_ns", instance_noise=INSTANCE_NOISE,
                                sampler="drs", note="ogan_ns+noise, samples kept by D's rejection"),
}


def methods(names: list[str] | None = None, variants: bool = False) -> list[Method]:
    """The methods named (default: every registered loss, then :data:`EXTRA_METHODS`)."""
    registered = [k for k in losses.LOSSES if variants or ":" not in k]
    if not names:
        return [Method(k, loss=k) for k in registered] + list(EXTRA_METHODS.values())
    out = []
    for name in names:
        if name in EXTRA_METHODS:
            out.append(EXTRA_METHODS[name])
        elif name in losses.LOSSES:
            out.append(Method(name, loss=name))
        else:
            raise ConfigError(f"unknown method {name!r}: use a loss ({', '.join(losses.LOSSES)}) "
                              f"or one of {', '.join(EXTRA_METHODS)}.")
    return out


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
    G = MLPGenerator(setting.latent_dim, x_dim, setting.hidden, setting.depth)
    loss = losses.get_loss(method.loss)
    out_dim = None
    if loss.output == "vector":  # O-GAN's D is an encoder: one output per latent coordinate
        uses_z = "z" in loss._d_args or "z" in loss._g_args
        out_dim = setting.latent_dim if uses_z else setting.vector_dim
    t = method.d_transform
    if t is not None and t.startswith("pack"):
        m = int(t[4:])
        return G, Packed(MLPDiscriminator(x_dim * m, setting.hidden, setting.depth, out_dim), m)
    D = MLPDiscriminator(x_dim, setting.hidden, setting.depth, out_dim)
    if t == "sn":
        regularizers.spectral_norm(D)
    elif t == "sr_dynamic":
        regularizers.spectral_regularization(D, "dynamic")
    elif t == "sr_static":
        regularizers.spectral_regularization(D, "static", top=setting.hidden // 2)
    elif t is not None:
        raise ConfigError(f"unknown D transform {t!r}.")
    return G, D


def run_one(method: Method, data_name: str, seed: int, setting: Setting = Setting(),
            device: str = "cpu", with_base: bool = False) -> list[tuple[dict, np.ndarray]]:
    """Train ``method`` on ``data_name`` with ``seed``; returns [(record, samples ``(n, 2)``)].

    A method with a ``sampler`` trains exactly as its base method (same seed, same weights),
    then draws its samples through the sampler; ``with_base`` also returns the base method's
    own (record, samples) from that training, so that the two rows cost one run.
    """
    if method.sampler not in (None, "drs"):
        raise ConfigError(f"unknown sampler {method.sampler!r}: use 'drs' or None.")
    x = data_mod.toy(data_name, setting.n_train, seed=seed)
    torch.manual_seed(seed)
    G, D = build_models(method, x.shape[1], setting)
    config = TrainConfig(loss=method.loss, steps=setting.steps, batch_size=setting.batch_size,
                         lr_d=setting.lr, lr_g=setting.lr, lr_decay=setting.lr_decay,
                         betas=setting.betas, device=device,
                         seed=seed, progress=False, n_samples=setting.n_scored,
                         instance_noise=method.instance_noise,
                         log_every=max(1, setting.steps // 20))
    t0 = time.perf_counter()
    error = ""
    try:
        if method.trainer == "veegan":
            from .veegan import JointDiscriminator, Reconstructor, fit_veegan

            F = Reconstructor(x.shape[1], setting.latent_dim, setting.hidden, setting.depth)
            D = JointDiscriminator(setting.latent_dim, x.shape[1], setting.hidden, setting.depth)
            history = fit_veegan(G, F, D, x, config)
        else:
            history = fit(G, D, x, config)
        samples = history.snapshots[-1][1]
    except Exception as exc:  # a diverged run is a result (0 modes), not a crash of the table
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        samples = None
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

    if method.sampler is None:
        return [result(method.name, samples, error, train_time)]
    out = [result(method.base, samples, error, train_time)] if with_base else []
    kept, drs_error = None, error
    if samples is not None:
        try:
            kept, _ = rejection_sample(G, D, setting.n_scored, setting.latent_dim, quantile=DRS_QUANTILE,
                                       generator=torch.Generator().manual_seed(seed))
        except Exception as exc:
            drs_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    out.append(result(method.name, kept, drs_error, time.perf_counter() - t0))
    return out


def setting_id(setting: Setting) -> str:
    """A short fingerprint of the whole setting: finished runs are reused only under the same one."""
    import hashlib

    blob = json.dumps(dataclasses.asdict(setting), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def _key(method: str, data_name: str, seed: int) -> str:
    return f"{data_name}/{method}/{seed}"


def _run_file(out: Path, method: str, data_name: str, seed: int) -> Path:
    return out / "runs" / f"{data_name}_{method}_{seed}.npy"


def _job(args) -> list[tuple[dict, np.ndarray]]:
    method, data_name, seed, setting, with_base = args
    torch.set_num_threads(1)
    return run_one(method, data_name, seed, setting, with_base=with_base)


def run_benchmark(method_list: list[Method], datasets=DATASETS, seeds=range(5),
                  setting: Setting = Setting(), out: str | Path = "benchmarks/results",
                  jobs: int = 1, fresh: bool = False, log=print,
                  write_every: int = 10) -> list[dict]:
    """Run every (method, data set, seed) not already in ``out/runs.jsonl``; write the tables.

    The tables are also rewritten every ``write_every`` finished runs, so that a long
    benchmark can be read (and stopped) at any time; running it again resumes it.
    """
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    log_path = out / "runs.jsonl"
    done: dict[str, dict] = {}
    if log_path.exists() and not fresh:
        # a clean checkout has samples.npz but not the per-run files (git-ignored): unpack it
        packed = np.load(out / "samples.npz") if (out / "samples.npz").exists() else {}
        for line in log_path.read_text().splitlines():
            r = json.loads(line)
            path = _run_file(out, r["method"], r["data"], r["seed"])
            if not path.exists() and _key(r["method"], r["data"], r["seed"]) in packed:
                np.save(path, packed[_key(r["method"], r["data"], r["seed"])])
            same = r.get("setting") == setting_id(setting)
            if same and _run_file(out, r["method"], r["data"], r["seed"]).exists():
                done[_key(r["method"], r["data"], r["seed"])] = r
    elif fresh and log_path.exists():
        log_path.unlink()
    wanted = {_key(m.name, d, s) for d in datasets for m in method_list for s in seeds}
    # seed-major order: an interrupted benchmark has every method on its first seeds
    todo = [(m, d, s, setting) for s in seeds for d in datasets for m in method_list
            if _key(m.name, d, s) not in done]
    # a sampler method trains as its base method does: one run gives both rows
    names = {m.name for m in method_list}
    paired = {(m.base, d, s) for m, d, s, _ in todo if m.base in names and _key(m.base, d, s) not in done}
    todo = [(m, d, s, st, (m.base, d, s) in paired) for m, d, s, st in todo if (m.name, d, s) not in paired]
    total, t0 = sum(1 + t[-1] for t in todo), time.perf_counter()
    log(f"benchmark: {len(method_list)} methods x {len(datasets)} data sets x {len(list(seeds))} "
        f"seeds, {setting.steps} steps each; {len(done)} runs already done, {total} to run")

    def finish(i, record, samples):
        np.save(_run_file(out, record["method"], record["data"], record["seed"]), samples)
        with open(log_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        done[_key(record["method"], record["data"], record["seed"])] = record
        err = f" ({record['error']})" if record["error"] else ""
        if i % write_every == 0 and i < total:  # partial tables while the benchmark runs
            write_results([r for k, r in done.items() if k in wanted], method_list, datasets, setting, out)
        log(f"[{i}/{total}] {record['method']} on {record['data']}, seed {record['seed']}: "
            f"{record['modes']}/{record['n_modes']} modes, {100 * record['high_quality']:.1f}% high "
            f"quality, {record['wall_time_s']:.0f} s{err}; {time.perf_counter() - t0:.0f} s so far")

    def drain(jobs_done):  # each finished job gives one row, or two (a sampler method and its base)
        rows = (row for rows in jobs_done for row in rows)
        for i, (record, samples) in enumerate(rows, 1):
            finish(i, record, samples)

    if jobs > 1 and total > 1:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_job, t) for t in todo]
            drain(fut.result() for fut in as_completed(futures))
    else:
        drain(_job(t) for t in todo)
    records = [r for k, r in done.items() if k in wanted]
    write_results(records, method_list, datasets, setting, out)
    return records


# ----------------------------------------------------------------------------- tables
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


def write_results(records: list[dict], method_list: list[Method], datasets, setting: Setting,
                  out: Path) -> None:
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
    header = (f"Mode collapse on ring8 and grid25: {s.steps} steps, batch {s.batch_size}, Adam lr "
              f"{s.lr:g} ({s.lr_decay} decay) betas {s.betas}, latent {s.latent_dim}, MLPs {s.depth} x {s.hidden}, "
              f"{s.n_train:,} training samples, {s.n_scored:,} scored samples; mean ± standard "
              "error over seeds. The last column counts the seeds with every mode covered and, "
              "in brackets, those that also have at least 95% high-quality samples.\n\n")
    (out / "table.md").write_text(header + markdown_table(rows, order, datasets))
    arrays = {_key(r["method"], r["data"], r["seed"]): np.load(_run_file(out, r["method"], r["data"], r["seed"]))
              for r in records}
    np.savez_compressed(out / "samples.npz", **arrays)
    for d in datasets:
        plot_method_samples(arrays, order, d, out / f"samples_{d}.png")
    (out / "setting.json").write_text(json.dumps(dataclasses.asdict(setting), indent=2))


def plot_method_samples(arrays: dict[str, np.ndarray], method_order: list[str], data_name: str,
                        path: Path, seed: int = 0, ncols: int = 6) -> None:
    """One panel per method: the scored samples of ``seed`` (orange) over the mode centres."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = [m for m in method_order if _key(m, data_name, seed) in arrays]
    if not names:
        return
    centers, std = data_mod.toy_spec(data_name)
    lim = float(centers.abs().max()) * 1.5
    ncols = min(ncols, len(names))
    nrows = -(-len(names) // ncols)
    panel = 2.2 if len(names) > 3 else 3.2  # a few methods get larger panels
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, (panel + 0.1) * nrows), squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, name in zip(axes.flat, names):
        x = arrays[_key(name, data_name, seed)]
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
    plt.close(fig)


# ----------------------------------------------------------------------------- command line
def add_arguments(p: argparse.ArgumentParser) -> None:
    """The benchmark's options (shared by the script and ``gan-tutorial benchmark``)."""
    s = Setting()
    p.add_argument("--losses", nargs="*", help="methods: registered losses and "
                   f"{', '.join(EXTRA_METHODS)} (default: all losses without ':', and those)")
    p.add_argument("--variants", action="store_true", help="also the losses whose name holds ':'")
    p.add_argument("--data", nargs="*", default=list(DATASETS), help="ring8 grid25 (default both)")
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1; default 5")
    p.add_argument("--steps", type=int, default=s.steps, help=f"generator steps; default {s.steps}")
    p.add_argument("--batch-size", type=int, default=s.batch_size)
    p.add_argument("--lr", type=float, default=s.lr, help="lr_d = lr_g")
    p.add_argument("--latent-dim", type=int, default=s.latent_dim)
    p.add_argument("--hidden", type=int, default=s.hidden, help=f"width of the MLPs' hidden layers; default {s.hidden}")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel processes; default 1")
    p.add_argument("--out", default="benchmarks/results", help="output folder")
    p.add_argument("--fresh", action="store_true", help="ignore finished runs in --out")


def run_from_args(args: argparse.Namespace) -> list[dict]:
    """Validate the options, then :func:`run_benchmark`."""
    for d in args.data:
        if d not in DATASETS:
            raise ConfigError(f"unknown data set {d!r} for the benchmark: use ring8 or grid25.")
    for name in ("seeds", "steps", "batch_size", "latent_dim", "hidden", "jobs"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be a positive integer, got "
                              f"{getattr(args, name)}.")
    if not args.lr > 0:
        raise ConfigError(f"--lr must be positive, got {args.lr}.")
    setting = Setting(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                      latent_dim=args.latent_dim, hidden=args.hidden)
    return run_benchmark(methods(args.losses, args.variants), args.data, range(args.seeds),
                         setting, args.out, args.jobs, args.fresh,
                         log=lambda s: print(s, flush=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mode_collapse", description=__doc__.split("\n")[0])
    add_arguments(parser)
    run_from_args(parser.parse_args(argv))
    return 0
