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


# ---- data.image_folder: any folder of pictures, on files the test writes ----
def _write_images(folder):
    """Mixed PNG and JPEG files of other sizes and modes, one in a sub-folder; returns their arrays."""
    from PIL import Image

    rng = np.random.default_rng(0)
    (folder / "sub").mkdir(parents=True)
    arrays = {
        "a.png": rng.integers(0, 256, (40, 100, 3), dtype=np.uint8),  # wide RGB
        "b.jpg": rng.integers(0, 256, (120, 90, 3), dtype=np.uint8),  # tall JPEG
        "sub/c.JPEG": rng.integers(0, 256, (64, 64, 3), dtype=np.uint8),
        "d.png": rng.integers(0, 256, (30, 30), dtype=np.uint8),  # grey, smaller than the size
    }
    for name, arr in arrays.items():
        Image.fromarray(arr).save(folder / name)
    Image.fromarray(arrays["a.png"]).convert("RGBA").save(folder / "sub" / "e.png")  # with alpha
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"skipped")
    return arrays


def test_image_folder_reads_mixed_files_to_the_unit_range(tmp_path):
    _write_images(tmp_path)
    x = data.image_folder(tmp_path, size=64)
    assert x.shape == (5, 3, 64, 64) and x.dtype == torch.float32
    assert x.min().item() >= -1.0 and x.max().item() <= 1.0 and x.min().item() < -0.9 and x.max().item() > 0.9
    # pixels are v / 127.5 - 1 for integers v
    v = (x + 1) * 127.5
    torch.testing.assert_close(v, v.round(), atol=1e-4, rtol=0)
    # sorted by relative path: a.png, b.jpg, d.png, sub/c.JPEG, sub/e.png; the grey one has R = G = B
    assert torch.equal(x[2, 0], x[2, 1]) and torch.equal(x[2, 1], x[2, 2])
    torch.testing.assert_close(x[4], x[0])  # the RGBA copy of a.png reads as a.png
    grey = data.image_folder(tmp_path, size=32, channels=1, cache=False)
    assert grey.shape == (5, 1, 32, 32)


def test_image_folder_scales_the_short_side_and_crops_the_centre(tmp_path):
    from PIL import Image

    # a 60x20 picture, black but for the columns 10..49: a squashed copy would show black on
    # both sides; the centre crop (columns 20..39 at size 20) is all white
    arr = np.zeros((20, 60, 3), dtype=np.uint8)
    arr[:, 10:50] = 255
    Image.fromarray(arr).save(tmp_path / "wide.png")
    x = data.image_folder(tmp_path, size=20, cache=False)
    assert x.shape == (1, 3, 20, 20) and torch.equal(x, torch.ones(1, 3, 20, 20))
    # at size 10 the short side halves: the centre is still white, the content is not squashed
    x = data.image_folder(tmp_path, size=10, cache=False)
    assert torch.equal(x, torch.ones(1, 3, 10, 10))
    # a tall picture, its top quarter red: the crop keeps the middle, so no red is left
    tall = np.zeros((80, 20, 3), dtype=np.uint8)
    tall[:20, :, 0] = 255
    (tmp_path / "wide.png").unlink()
    Image.fromarray(tall).save(tmp_path / "tall.png")
    assert torch.equal(data.image_folder(tmp_path, size=20, cache=False), -torch.ones(1, 3, 20, 20))


def test_image_folder_caches_one_tensor_file_and_notices_changes(tmp_path):
    from PIL import Image

    arrays = _write_images(tmp_path)
    first = data.image_folder(tmp_path, size=16)
    caches = sorted(p.name for p in tmp_path.glob(".gan_tutorial-*.pt"))
    assert caches == [".gan_tutorial-16px-RGB.pt"]
    torch.testing.assert_close(data.image_folder(tmp_path, size=16), first)  # read from the cache
    # the cache is what is read: change it by hand and the next load returns the changed copy
    stored = torch.load(tmp_path / caches[0], weights_only=True)
    stored["x"][0] = 0
    torch.save(stored, tmp_path / caches[0])
    assert torch.equal(data.image_folder(tmp_path, size=16)[0], -torch.ones(3, 16, 16))
    # a new image invalidates it
    Image.fromarray(arrays["a.png"]).save(tmp_path / "f.png")
    again = data.image_folder(tmp_path, size=16)
    assert len(again) == 6
    torch.testing.assert_close(again[0], first[0])
    assert data.image_folder(tmp_path, size=16, limit=2).shape == (2, 3, 16, 16)


def test_image_folder_errors_name_the_problem_and_the_fix(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        data.image_folder(tmp_path / "nope")
    with pytest.raises(DataError, match="is empty"):
        data.image_folder(tmp_path)
    (tmp_path / "readme.txt").write_text("hi")
    with pytest.raises(DataError, match=r"no PNG or JPEG images .*readme.txt"):
        data.image_folder(tmp_path)
    _write_images(tmp_path / "pics")
    (tmp_path / "pics" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    with pytest.raises(DataError, match=r"1 of 6 images .*broken\.jpg.*Delete or re-save"):
        data.image_folder(tmp_path / "pics")
    good = tmp_path / "pics" / "a.png"  # a truncated PNG is named too
    good.write_bytes(good.read_bytes()[:200])
    with pytest.raises(DataError, match=r"2 of 6 images .*a\.png.*broken\.jpg"):
        data.image_folder(tmp_path / "pics")
    with pytest.raises(DataError, match="channels must be 1"):
        data.image_folder(tmp_path / "pics", channels=4)


def test_image_folder_without_write_access_warns_and_still_loads(tmp_path, monkeypatch):
    _write_images(tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(torch, "save", refuse)
    with pytest.warns(UserWarning, match="cannot write the cache"):
        x = data.image_folder(tmp_path, size=8)
    assert x.shape == (5, 3, 8, 8) and not list(tmp_path.glob(".gan_tutorial-*"))
