"""Make book/landing_samples.png, the landing page's figure: the best samples of each chapter.

    .venv/bin/python tools/landing_figure.py

Every panel comes from something committed, never from a new run:

- chapters 1 to 5: the stored output image of one figure cell, found by its myst-nb figure
  name (so re-executing a chapter moves nothing), and one panel of it, cut out along the
  white gaps that matplotlib leaves between subplots;
- chapter 6: the scored samples of `benchmarks/results/toy_large_batch/samples.npz` (seed 0 of
  the method that meets the chapter's target), drawn here.

The numbers in the panel titles are those the book's intro.md quotes; each comes from the
same stored output or committed table (see SOURCES).
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
SOURCES = {
    1: ("01_minimax", "ch1-fig-ring8", -1, "1. non-saturating GAN on ring8:\nthe eight modes"),
    2: ("02_dcgan", "ch2-fig-conditional", 0, "2. conditional DCGAN:\nFD 12.1 (2.9x the floor)"),
    3: ("03_wgan_div", "ch3-fig-digits", 2, "3. WGAN-div, 2,000 CPU steps:\nFD 101 (seed 0)"),
    4: ("04_sphere_gan", "ch4-fig-digits", 0, "4. Sphere GAN (R=1, S^16):\nFD 39 (seed 0)"),
    5: ("05_o_gan", "ch5-fig-recon", None, "5. O-GAN: x and G(N(E(x))),\nlabel kept 81%"),
}
LARGE = ROOT / "benchmarks" / "results" / "toy_large_batch"
CH6 = ("grid25", "ogan_ns+noise+drs", 0, "6. ogan_ns+noise+drs on grid25:\n25/25 modes, 98.2% HQ")


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


def chapter6(ax) -> None:
    data_name, method, seed, title = CH6
    x = np.load(LARGE / "samples.npz")[f"{data_name}/{method}/{seed}"]
    grid = np.arange(-4, 5, 2)
    cx, cy = np.meshgrid(grid, grid)
    ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:orange", alpha=0.4)
    ax.scatter(cx, cy, s=14, c="k", marker="x")
    ax.set(xlim=(-6, 6), ylim=(-6, 6), aspect="equal", xticks=[], yticks=[])
    ax.set_title(title, fontsize=10)


def main() -> None:
    fig, axes = plt.subplots(2, 3, figsize=(7.5, 5.7))
    for ax, (notebook, name, panel, title) in zip(axes.flat, SOURCES.values()):
        img = stored_image(notebook, name)
        ax.imshow(img if panel is None else panels(img)[panel])
        ax.set_axis_off()
        ax.set_title(title, fontsize=10)
    chapter6(axes.flat[5])
    fig.tight_layout()
    fig.savefig(OUT, dpi=100)
    print(f"wrote {OUT.relative_to(ROOT)} ({Image.open(OUT).size[0]}x{Image.open(OUT).size[1]})")


if __name__ == "__main__":
    main()
