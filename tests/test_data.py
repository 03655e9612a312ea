import gzip
import math

import numpy as np
import pytest
import torch

from gan_tutorial import data
from gan_tutorial.errors import ConfigError, DataError


def test_ring8_spec_is_eight_unit_circle_points():
    centers, std = data.toy_spec("ring8")
    assert centers.shape == (8, 2) and std == 0.01
    torch.testing.assert_close(centers.norm(dim=1), torch.ones(8))
    angles = torch.atan2(centers[:, 1], centers[:, 0]).remainder(2 * math.pi).sort().values
    torch.testing.assert_close(angles, torch.arange(8) * (2 * math.pi / 8), atol=1e-6, rtol=0)


def test_grid25_spec_is_the_pacgan_grid():
    centers, std = data.toy_spec("grid25")
    assert centers.shape == (25, 2) and std == 0.05
    expected = {(float(a), float(b)) for a in (-4, -2, 0, 2, 4) for b in (-4, -2, 0, 2, 4)}
    assert {tuple(c) for c in centers.tolist()} == expected


def test_toy_is_seeded_and_has_the_right_spread():
    a, b = data.toy("grid25", 5000, seed=3), data.toy("grid25", 5000, seed=3)
    torch.testing.assert_close(a, b)
    assert not torch.equal(a, data.toy("grid25", 5000, seed=4))
    centers, std = data.toy_spec("grid25")
    nearest = torch.cdist(a, centers).argmin(1)
    resid = a - centers[nearest]
    assert abs(resid.std().item() - std) < 0.003
    counts = torch.bincount(nearest, minlength=25).float()
    assert counts.min() > 150 and counts.max() < 250  # 200 each on average


def test_toy_log_prob_is_a_normalised_density():
    x = torch.linspace(-8, 8, 20001)
    p = data.toy_log_prob("mix1d", x).exp()
    assert abs(torch.trapezoid(p, x).item() - 1.0) < 1e-6
    # at a centre the density is half the peak of one N(c, 0.5^2) (the other mode is far)
    peak = 0.5 / (0.5 * math.sqrt(2 * math.pi))
    assert abs(data.toy_log_prob("mix1d", torch.tensor([2.0])).exp().item() - peak) < 1e-6


def test_unknown_toy_name_suggests_the_closest():
    with pytest.raises(ConfigError, match="Did you mean 'ring8'"):
        data.toy("ring9", 10)


def test_mnist5k_is_real_digits_in_range():
    x, y = data.images("mnist5k")
    assert x.shape == (5000, 1, 28, 28) and x.dtype == torch.float32
    assert x.min().item() == -1.0 and x.max().item() == 1.0
    assert torch.equal(torch.bincount(y), torch.full((10,), 500))
    # digits are dark background with bright strokes: most pixels are -1
    assert 0.7 < (x == -1).float().mean().item() < 0.9


def _write_idx(path, array, gz=False):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    opener = gzip.open if gz else open
    with opener(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_raw_layout_is_read(tmp_path, gz):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    imgs = np.random.default_rng(0).integers(0, 256, (7, 28, 28))
    labels = np.arange(7) % 10
    suffix = ".gz" if gz else ""
    _write_idx(raw / f"t10k-images-idx3-ubyte{suffix}", imgs, gz)
    _write_idx(raw / f"t10k-labels-idx1-ubyte{suffix}", labels, gz)
    x, y = data.images("mnist", root=tmp_path, train=False, download=False)
    assert x.shape == (7, 1, 28, 28)
    torch.testing.assert_close(x[:, 0], torch.from_numpy(imgs).float() / 127.5 - 1)
    assert y.tolist() == labels.tolist()


def test_truncated_idx_file_is_reported(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    _write_idx(path, np.zeros((4, 28, 28)))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DataError, match="truncated"):
        data.read_idx(path)


def test_missing_full_set_says_how_to_get_it(tmp_path):
    with pytest.raises(DataError, match="mnist5k"):
        data.images("fashion_mnist", root=tmp_path, download=False)


def test_batch_sampler_is_reproducible_and_resumable():
    x = torch.arange(100.0).reshape(50, 2)
    s = data.BatchSampler(x, 8, seed=1)
    first = s.sample()
    state = s.state_dict()
    second = s.sample()
    assert first.shape == (8, 2)
    assert all(((row[1] - row[0]) == 1).item() for row in first)  # whole rows, not mixed
    s.load_state_dict(state)
    torch.testing.assert_close(s.sample(), second)
