"""Plots: image grids (no torchvision), 2-D samples over D's contour, loss curves, animations.

The house rule for the book's figures: a figure is drawn at most ``COLUMN_WIDTH_IN`` inches
wide, the width of the book's text column at 100 dpi, so that it is shown at (close to) its
natural size and its 10-point text stays readable. ``figsize``/``subplots`` size a grid of
panels to that width; ``book_style()`` sets matplotlib's defaults to match (the chapters call
it in their set-up). A grid too crowded for the column is split into several figures, not
shrunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn

from ..core.sampling import evaluating, log_ratio_score

COLUMN_WIDTH_IN = 7.5   # inches: 750 pixels at 100 dpi, shown in the book's 688-pixel column
FONT_SIZE = 10          # points: at 100 dpi and 7.5 inches, shown about 12.7 pixels high
DPI = 100               # the resolution of the book's figures (matplotlib's default)
PANEL_HEIGHT_IN = 3.2   # inches: the height of one row of plots, unless asked otherwise


def figsize(ncols: int = 1, nrows: int = 1, aspect: float | None = None,
            width: float = COLUMN_WIDTH_IN) -> tuple[float, float]:
    """(width, height) in inches of a grid of ``nrows x ncols`` panels ``width`` inches wide.

    ``aspect`` is each panel's height over its width (1 for square panels such as image grids
    and 2-D samples); by default every row is ``PANEL_HEIGHT_IN`` tall. ``width`` may be
    smaller than the column for a small figure, never larger.
    """
    if ncols < 1 or nrows < 1:
        raise ValueError(f"figsize needs at least one row and one column, got {nrows} x {ncols}.")
    if width > COLUMN_WIDTH_IN + 1e-9:
        raise ValueError(f"a figure {width} inches wide is wider than the book's column ({COLUMN_WIDTH_IN} "
                         "inches): split it into several figures instead.")
    height = nrows * (PANEL_HEIGHT_IN if aspect is None else aspect * width / ncols)
    return (width, height)


def subplots(nrows: int = 1, ncols: int = 1, aspect: float | None = None,
             width: float = COLUMN_WIDTH_IN, **kwargs):
    """``plt.subplots`` sized by :func:`figsize`, with a constrained layout (no overlapping
    labels); returns ``(fig, axes)`` as matplotlib does."""
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(nrows, ncols, figsize=figsize(ncols, nrows, aspect, width), **kwargs)


BOOK_STYLE = {  # what book_style() sets
    "figure.figsize": (COLUMN_WIDTH_IN, PANEL_HEIGHT_IN),
    "figure.dpi": DPI,
    "savefig.dpi": "figure",
    "font.size": FONT_SIZE,
    "axes.titlesize": FONT_SIZE,
    "axes.labelsize": FONT_SIZE,
    "xtick.labelsize": FONT_SIZE - 1,
    "ytick.labelsize": FONT_SIZE - 1,
    "legend.fontsize": FONT_SIZE - 1,
    "figure.titlesize": FONT_SIZE + 1,
}


def book_style() -> None:
    """Set matplotlib's defaults to the book's rule (``BOOK_STYLE``).

    Figures default to the column's width at ``DPI``, text to ``FONT_SIZE`` points (titles and
    labels the same size, tick labels and legends one point smaller), and saved figures keep
    the figure's dpi. It only sets ``rcParams``: the backend is never switched.
    """
    plt.rcParams.update(BOOK_STYLE)


def image_grid(images: Tensor, nrow: int | None = None, padding: int = 2,
               pad_value: float = 1.0) -> np.ndarray:
    """Tile ``images`` ``(N, C, H, W)`` in [-1, 1] into one ``(rows*H', cols*W', C)`` array in [0, 1].

    ``nrow`` is the number of images per row (default: a square-ish grid).
    """
    x = images.detach().float().cpu()
    if x.ndim != 4:
        raise ValueError(f"image_grid needs images shaped (N, C, H, W), got {tuple(x.shape)}.")
    n, c, h, w = x.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    x = ((x.clamp(-1, 1) + 1) / 2).permute(0, 2, 3, 1).numpy()  # (N, H, W, C) in [0, 1]
    grid = np.full((rows * (h + padding) + padding, nrow * (w + padding) + padding, c),
                   pad_value, dtype=np.float32)
    for i in range(n):
        r, col = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + col * (w + padding)
        grid[top:top + h, left:left + w] = x[i]
    return grid


def save_image_grid(images: Tensor, path: str | Path, nrow: int | None = None,
                    scale: int = 2) -> Path:
    """Save ``images`` ``(N, C, H, W)`` in [-1, 1] as one PNG grid (enlarged ``scale`` times)."""
    grid = (image_grid(images, nrow) * 255).round().astype(np.uint8)
    img = Image.fromarray(grid[..., 0] if grid.shape[2] == 1 else grid)
    img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def show_images(images: Tensor, nrow: int | None = None, ax=None, title: str | None = None):
    """Draw an image grid on ``ax`` (a new figure if None) and return the axes."""
    ax = ax or plt.figure(figsize=(4, 4)).gca()  # 400 px: shown at its natural size, half the column
    grid = image_grid(images, nrow)
    ax.imshow(grid[..., 0] if grid.shape[2] == 1 else grid, cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


@torch.no_grad()
def d_surface(D: nn.Module, xlim: Sequence[float], ylim: Sequence[float], n: int = 200,
              transform=torch.sigmoid, score=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate a 2-D ``D`` on an ``n x n`` grid; returns ``(X, Y, transform(score(D(x))))``.

    ``score`` maps D's raw outputs to one number per point (default: as they are), then
    ``transform`` applies; what is still a vector ``(B, k)`` is averaged (O-GAN's ``D = avg E``).
    """
    xs, ys = torch.linspace(*xlim, n), torch.linspace(*ylim, n)
    X, Y = torch.meshgrid(xs, ys, indexing="xy")
    pts = torch.stack([X.reshape(-1), Y.reshape(-1)], dim=1)
    device = next(D.parameters()).device
    with evaluating(D):
        scores = D(pts.to(device)).float().cpu()
    scores = score(scores) if score is not None else scores
    if transform is not None:
        scores = transform(scores)
    if scores.ndim == 2:  # a vector D: its mean (O-GAN's D is the average of E's outputs)
        scores = log_ratio_score(scores)
    return X.numpy(), Y.numpy(), scores.reshape(n, n).numpy()


def plot_samples_2d(fake: Tensor, real: Tensor | None = None, D: nn.Module | None = None,
                    ax=None, lim: float | None = None, title: str | None = None,
                    transform=torch.sigmoid, score=None):
    """Scatter 2-D ``fake`` (and ``real``) samples, over the contour of ``transform(D(x))``.

    With the default sigmoid the colours read as D's probability that a point is real.
    """
    ax = ax or plt.figure(figsize=(4.5, 4.5)).gca()
    fake = fake.detach().float().cpu()
    pts = fake if real is None else torch.cat([fake, real.detach().float().cpu()])
    lim = lim or float(pts.abs().max()) * 1.15 + 1e-3
    if D is not None:
        X, Y, Z = d_surface(D, (-lim, lim), (-lim, lim), transform=transform, score=score)
        cs = ax.contourf(X, Y, Z, levels=20, cmap="RdBu_r", alpha=0.55)
        ax.figure.colorbar(cs, ax=ax, fraction=0.046, pad=0.04,
                     label="D(x)" if transform is torch.sigmoid else "score")
    if real is not None:
        r = real.detach().float().cpu()
        ax.scatter(r[:, 0], r[:, 1], s=4, c="k", alpha=0.5, label="real")
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:orange", alpha=0.6, label="generated")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8, markerscale=3)
    if title:
        ax.set_title(title)
    return ax


def plot_mode_samples(samples: dict, centers: Tensor, std: float, ncols: int = 4, suptitle: str | None = None,
                      width: float = COLUMN_WIDTH_IN):
    """One square panel per entry of ``samples`` (name -> ``(n, 2)`` points), ``width`` inches wide in all.

    Each panel draws the points (orange) over the mode centres (black crosses) and is titled
    with its name, the modes it covers and its share of high-quality samples
    (``metrics.mode_coverage``). Returns the figure.
    """
    from .metrics import mode_coverage

    names = list(samples)
    ncols = max(1, min(ncols, len(names)))
    nrows = -(-len(names) // ncols)
    title_in = 2.4 * FONT_SIZE / 72  # two lines of title
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                             figsize=(figsize(width=width)[0], nrows * (width / ncols + title_in)))
    centers = torch.as_tensor(centers).float()
    lim = float(centers.abs().max()) * 1.5
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, name in zip(axes.flat, names):
        x = torch.as_tensor(samples[name]).float()
        cov = mode_coverage(x, centers, std)
        ax.scatter(centers[:, 0], centers[:, 1], s=12, c="k", marker="x", linewidths=1)
        ax.scatter(x[:, 0], x[:, 1], s=1, c="tab:orange", alpha=0.4, rasterized=True)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
        ax.set_title(f"{name}\n{cov['modes']}/{len(centers)} modes, {100 * cov['high_quality']:.0f}% HQ")
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def plot_losses(history, ax=None, title: str | None = None):
    """Plot D's and G's losses (and the penalty, when there is one) against the step."""
    ax = ax or plt.figure(figsize=figsize(aspect=0.5)).gca()
    ax.plot(history.step, history.d_loss, label="D loss")
    ax.plot(history.step, history.g_loss, label="G loss")
    if any(p != 0 for p in history.penalty):
        ax.plot(history.step, history.penalty, label="penalty (unweighted)", alpha=0.7)
    ax.set_xlabel("generator step")
    ax.set_ylabel("loss")
    ax.legend()
    if title:
        ax.set_title(title)
    return ax


def animate_snapshots(snapshots: Sequence[tuple[int, Tensor]], real: Tensor | None = None,
                      interval: int = 400):
    """A matplotlib animation of sample snapshots ``[(step, samples), ...]`` (images or 2-D).

    In a notebook, show it with ``IPython.display.HTML(anim.to_jshtml())``.
    """
    from matplotlib import animation

    fig, ax = plt.subplots(figsize=(4.5, 4.5))

    def draw(i):
        ax.clear()
        step, x = snapshots[i]
        if x.ndim == 4:
            show_images(x, ax=ax, title=f"step {step}")
        else:
            plot_samples_2d(x, real, ax=ax, title=f"step {step}")
        return []

    anim = animation.FuncAnimation(fig, draw, frames=len(snapshots), interval=interval)
    plt.close(fig)
    return anim
