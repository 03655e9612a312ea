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
