import numpy as np
import torch
from PIL import Image

from gan_tutorial import models, plots


def test_image_grid_places_each_image():
    x = torch.stack([torch.full((1, 3, 3), v) for v in (-1.0, 0.0, 1.0)])
    grid = plots.image_grid(x, nrow=2, padding=1)
    assert grid.shape == (1 + 2 * 4, 1 + 2 * 4, 1)
    assert grid[1:4, 1:4].max() == 0.0          # first image: -1 -> 0
    assert np.allclose(grid[1:4, 5:8], 0.5)     # second: 0 -> 0.5
    assert np.allclose(grid[5:8, 1:4], 1.0)     # third: 1 -> 1
    assert np.allclose(grid[5:8, 5:8], 1.0)     # empty slot: pad value


def test_save_image_grid_writes_a_png(tmp_path):
    path = plots.save_image_grid(torch.rand(6, 3, 8, 8) * 2 - 1, tmp_path / "g.png", nrow=3, scale=1)
    img = Image.open(path)
    assert img.size == (2 + 3 * 10, 2 + 2 * 10) and img.mode == "RGB"


def test_plot_samples_2d_draws_d_surface():
    D = models.MLPDiscriminator(2, hidden=8)
    X, Y, Z = plots.d_surface(D, (-1, 1), (-2, 2), n=5)
    assert Z.shape == (5, 5) and ((Z > 0) & (Z < 1)).all()
    assert X[0, 0] == -1 and Y[-1, 0] == 2
    ax = plots.plot_samples_2d(torch.randn(20, 2), torch.randn(20, 2), D)
    assert len(ax.collections) >= 2


def test_figsize_fits_the_column_at_readable_text():
    import matplotlib.pyplot as plt
    import pytest

    assert plots.figsize() == (plots.COLUMN_WIDTH_IN, plots.PANEL_HEIGHT_IN)
    assert plots.figsize(3, 2, aspect=1) == (7.5, 5.0)   # square panels 2.5 inches wide
    assert plots.figsize(2, 1, width=5) == (5, plots.PANEL_HEIGHT_IN)
    with pytest.raises(ValueError, match="wider than the book's column"):
        plots.figsize(width=12)
    with pytest.raises(ValueError, match="at least one row"):
        plots.figsize(0)
    # drawn at the column's width and 100 dpi, shown in the book's 688-px column: 10-pt text
    # is 10/72 inch = 13.9 px drawn, about 12.7 px shown (the browser test asks for 9)
    drawn_px = plots.COLUMN_WIDTH_IN * plots.DPI
    assert 9 < plots.FONT_SIZE / 72 * plots.DPI * 688 / drawn_px < 14
    fig, axes = plots.subplots(2, 3, aspect=1)
    assert axes.shape == (2, 3) and tuple(fig.get_size_inches()) == (7.5, 5.0)
    plt.close(fig)


def test_book_style_sets_sizes_but_not_the_backend():
    import matplotlib
    import matplotlib.pyplot as plt

    backend = matplotlib.get_backend()
    with plt.rc_context():
        assert plots.book_style() is None  # nothing for a notebook cell to print
        assert plt.rcParams["font.size"] == plots.FONT_SIZE == plots.BOOK_STYLE["font.size"]
        assert tuple(plt.rcParams["figure.figsize"]) == (plots.COLUMN_WIDTH_IN, plots.PANEL_HEIGHT_IN)
        assert plt.rcParams["figure.dpi"] == plots.DPI and plt.rcParams["savefig.dpi"] == "figure"
        assert min(plt.rcParams[k] for k in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize")) >= 9
    assert matplotlib.get_backend() == backend


def test_plot_mode_samples_titles_each_panel_with_its_coverage():
    import matplotlib.pyplot as plt

    from gan_tutorial import data

    centers, std = data.toy_spec("ring8")
    samples = {"on the modes": centers.repeat(10, 1), "one mode": centers[:1].repeat(80, 1), "far": centers * 3}
    fig = plots.plot_mode_samples(samples, centers, std, ncols=2)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["on the modes\n8/8 modes, 100% HQ", "one mode\n1/8 modes, 100% HQ", "far\n0/8 modes, 0% HQ"]
    assert fig.get_size_inches()[0] == plots.COLUMN_WIDTH_IN and len(fig.axes) == 4  # 2 x 2, the last one blank
    plt.close(fig)
