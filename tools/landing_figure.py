"""Make book/landing_samples.png, the landing page's figure: the best samples of each chapter.

    .venv/bin/python tools/landing_figure.py

Every panel comes from something committed, never from a new run:

- chapters 2 and 5: the stored output image of one figure cell, found by its myst-nb figure
  name (so re-executing a chapter moves nothing), and one panel of it, cut out along the
  white gaps that matplotlib leaves between subplots;
- chapters 3 and 4: 36 of the scored samples of seed 0 in the converged digit league
  (`benchmarks/results/digits_converged/samples.npz`), titled with the run's distance from
  its `runs.jsonl`;
- chapters 1 and 6: the scored samples of the toy league (`benchmarks/results/toy/` for the
  non-saturating GAN on ring8, `benchmarks/results/toy_large_batch/` for the method that meets
  chapter 6's target), drawn here.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script, not a notebook: no display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "landing_samples.png"

# chapter: (notebook, figure name, panel index in reading order (None: the whole image), title)
STORED = {
    2: ("02_dcgan", "ch2-fig-conditional", 0, "2. conditional DCGAN:\nFD 13.0 (3.1x the floor)"),
    5: ("05_o_gan", "ch5-fig-recon", None, "5. O-GAN: x and G(N(E(x))),\nlabel kept 81%"),
}
CONVERGED = ROOT / "benchmarks" / "results" / "digits_converged"
DIGITS = {3: ("wgan_div", "3. WGAN-div"), 4: ("sphere_r1", "4. Sphere GAN (R=1)")}  # chapter: (row, title)
RESULTS = ROOT / "benchmarks" / "results"
TOY = {  # chapter: (folder, data set, method, seed, title)
    1: ("toy", "ring8", "ns", 0, "1. non-saturating GAN,\nring8: 8/8 modes"),
    6: ("toy_large_batch", "grid25", "ogan_ns+noise+drs", 0, "6. ogan_ns+noise+drs on grid25:\n25/25 modes, 98.2% HQ"),
}


def stored_image(notebook: str, name: str) -> Image.Image:
    """The PNG that the cell with figure name `name` stored (its last image output)."""
    nb = json.loads((ROOT / "book" / f"{notebook}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("name") == name:
            pngs = [o["data"]["image/png"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
            if not pngs:
                raise LookupError(f"{notebook}: the cell of {name} stores no image; re-execute the chapter")
            return Image.open(io.BytesIO(base64.b64decode(pngs[-1]))).convert("RGB")
    raise LookupError(f"{notebook}: no cell has the figure name {name}")


def _runs(mask: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """[start, stop) of the runs of True in `mask` separated by at least `min_gap` False."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return []
    runs, start = [], idx[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if b - a > min_gap:
            runs.append((start, a + 1))
            start = b
    runs.append((start, idx[-1] + 1))
    return runs


def panels(img: Image.Image, min_gap: int = 12) -> list[Image.Image]:
    """The subplots of a matplotlib figure in reading order, cut along its white gaps; narrow
    pieces (colour bars, stray labels) are dropped."""
    ink = np.asarray(img.convert("L")) < 245
    boxes = []
    for top, bottom in _runs(ink.any(axis=1), min_gap):
        for left, right in _runs(ink[top:bottom].any(axis=0), min_gap):
            boxes.append((left, top, right, bottom))
    widest = max(r - left for left, _, r, _ in boxes)
    return [img.crop(b) for b in boxes if b[2] - b[0] >= 0.5 * widest]


def toy_panel(ax, chapter: int) -> None:
    folder, data_name, method, seed, title = TOY[chapter]
    x = np.load(RESULTS / folder / "samples.npz")[f"{data_name}/{method}/{seed}"]
    if data_name == "grid25":
        cx, cy = np.meshgrid(np.arange(-4, 5, 2), np.arange(-4, 5, 2))
        lim = 6
    else:  # ring8: eight modes on the unit circle
        angle = np.arange(8) * np.pi / 4
        cx, cy, lim = np.cos(angle), np.sin(angle), 1.5
    ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:orange", alpha=0.4)
    ax.scatter(cx, cy, s=14, c="k", marker="x")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", xticks=[], yticks=[])
    ax.set_title(title, fontsize=10)


def digit_panel(ax, chapter: int) -> None:
    row, name = DIGITS[chapter]
    record = next(r for r in map(json.loads, (CONVERGED / "runs.jsonl").read_text().splitlines())
                  if r["method"] == row and r["seed"] == 0)
    x = np.load(CONVERGED / "samples.npz")[f"{row}/0"][:36]  # (36, 28, 28) uint8
    grid = np.full((6 * 30 + 2, 6 * 30 + 2), 255, dtype=np.uint8)
    for i, digit in enumerate(x):
        r, c = divmod(i, 6)
        grid[2 + 30 * r:30 + 30 * r, 2 + 30 * c:30 + 30 * c] = digit
    ax.imshow(grid, cmap="gray", vmin=0, vmax=255)
    ax.set_axis_off()
    ax.set_title(f"{name}, {record['steps']:,} steps:\nFD {record['fd']:.1f} ({record['ratio']:.1f}x the floor)",
                 fontsize=10)


def main() -> None:
    fig, axes = plt.subplots(2, 3, figsize=(7.5, 6.0))
    for chapter, ax in enumerate(axes.flat, start=1):
        if chapter in STORED:
            notebook, name, panel, title = STORED[chapter]
            img = stored_image(notebook, name)
            ax.imshow(img if panel is None else panels(img)[panel])
            ax.set_axis_off()
            ax.set_title(title, fontsize=10)
        elif chapter in DIGITS:
            digit_panel(ax, chapter)
        else:
            toy_panel(ax, chapter)
    fig.tight_layout()
    fig.savefig(OUT, dpi=100)
    print(f"wrote {OUT.relative_to(ROOT)} ({Image.open(OUT).size[0]}x{Image.open(OUT).size[1]})")


if __name__ == "__main__":
    main()
