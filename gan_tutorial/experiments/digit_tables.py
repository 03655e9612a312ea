"""The digit league's files: the record of a run, the tables of a league, and re-scoring them.

``runs.csv`` (one row per run), ``summary.csv`` (one row per method: mean distance, its
standard error, the floor and the means of the diagnosis), ``table.md``, ``samples.npz`` (every
run's 1,000 scored samples, key ``"<method>/<seed>"``) and ``samples_<method>.png`` (64
samples of seed 0). :func:`rescore` scores a folder again from its stored images.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..evaluation import metrics
from .digit_methods import DigitMethod, from_uint8

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

    from ..evaluation.plots import image_grid

    fig = Figure(figsize=(4, 4.3))
    ax = fig.subplots()
    ax.imshow(image_grid(from_uint8(images), nrow=8)[..., 0], cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
