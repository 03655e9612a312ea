"""The emoji image set (core.emoji_data) and the colour metric (evaluation.colour_metric)."""

import hashlib
import shutil
import unicodedata

import numpy as np
import pytest
import torch

from gan_tutorial.core import emoji_data
from gan_tutorial.errors import CheckpointError, DataError, ShapeError
from gan_tutorial.evaluation import colour_metric

FONT = next((p for p in emoji_data.FONT_PATHS if p.is_file()), None)
needs_font = pytest.mark.skipif(FONT is None, reason="the Noto Color Emoji font is not installed: "
                                "apt-get install fonts-noto-color-emoji")
DEBIAN_12_FONT_SIZE = 10_980_856  # bytes of NotoColorEmoji.ttf 2.042 (Debian 12), whose counts are documented


def smooth_pictures(n: int, seed: int, size: int = 64) -> torch.Tensor:
    """``(n, 3, size, size)`` in [-1, 1]: random colour fields, smooth at the scale of 8 pixels."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, size // 8, size // 8, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)


# ----------------------------------------------------------------------------- the emoji set
@needs_font
def test_emoji_renders_colour_pictures_on_the_background(tmp_path):
    x = emoji_data.emoji(root=tmp_path, limit=4)
    assert x.shape == (4, 3, 64, 64) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1 and x.min() < -0.5  # real drawings, not a blank canvas
    assert (x[:, 0] - x[:, 2]).abs().amax() > 1.0  # colour: red and blue differ (the red double exclamation mark)
    corners = x[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]  # (4, 3, 4): every corner of every picture
    torch.testing.assert_close(corners, torch.ones_like(corners), atol=0, rtol=0)  # white
    blue = emoji_data.emoji(root=tmp_path, limit=4, background=(0, 0, 255))[:, :, 0, 0]
    torch.testing.assert_close(blue, torch.tensor([[-1.0, -1.0, 1.0]]).expand(4, 3), atol=0, rtol=0)
    assert emoji_data.emoji(root=tmp_path, limit=4, size=28).shape == (4, 3, 28, 28)


@needs_font
def test_emoji_names_and_counts_follow_the_font():
    glyphs = emoji_data.emoji_glyphs()
    names = emoji_data.emoji_names()
    points = [ord(g) for g in glyphs]
    assert all(len(g) == 1 for g in glyphs) and points == sorted(set(points))  # singles, by code point
    assert not any(lo <= p <= hi for p in points for lo, hi in emoji_data.NOT_SINGLE)
    assert len(names) == len(glyphs) and 1300 <= len(glyphs) <= 2000
    assert names[:2] == ["U+00A9 COPYRIGHT SIGN", "U+00AE REGISTERED SIGN"]
    assert names[points.index(0x1F600)] == "U+1F600 GRINNING FACE"
    assert emoji_data.emoji_names(limit=3) == names[:3]
    everything = emoji_data.emoji_glyphs(singles_only=False)
    assert everything[:len(glyphs)] == glyphs and len(set(everything)) == len(everything)
    assert all(len(g) > 1 for g in everything[len(glyphs):])
    assert "\U0001F44B\U0001F3FD" in everything  # waving hand, medium skin tone
    if FONT.stat().st_size == DEBIAN_12_FONT_SIZE:
        unnamed = sum(not unicodedata.name(g, "") for g in glyphs)
        assert (len(glyphs), len(everything)) == (1381, 3882) and 0 <= unnamed <= 43


@needs_font
def test_emoji_cache_is_read_then_redrawn_when_the_key_changes(tmp_path, monkeypatch):
    first = emoji_data.emoji(root=tmp_path, limit=3)
    assert [p.name for p in tmp_path.iterdir()] == ["emoji-64px-first3.pt"]  # no temporary file left behind

    def refuse(*args, **kwargs):
        raise AssertionError("drawn again although the cache holds these pictures")

    monkeypatch.setattr(emoji_data, "render", refuse)
    torch.testing.assert_close(emoji_data.emoji(root=tmp_path, limit=3), first, atol=0, rtol=0)

    drawn = []
    monkeypatch.undo()
    real_render = emoji_data.render
    monkeypatch.setattr(emoji_data, "render", lambda *a: drawn.append(a[1]) or real_render(*a))
    monkeypatch.setattr(emoji_data, "RENDER_VERSION", emoji_data.RENDER_VERSION + 1)
    torch.testing.assert_close(emoji_data.emoji(root=tmp_path, limit=3), first, atol=0, rtol=0)
    assert len(drawn) == 1
    changed = tmp_path / "NotoColorEmoji.ttf"  # the same font with one byte appended: another SHA-256
    shutil.copyfile(FONT, changed)
    with changed.open("ab") as f:
        f.write(b"\0")
    torch.testing.assert_close(emoji_data.emoji(root=tmp_path, limit=3, font=changed), first, atol=0, rtol=0)
    emoji_data.emoji(root=tmp_path, limit=3, font=changed)  # now cached for the changed font
    assert [str(p) for p in drawn] == [str(FONT), str(changed)]


def test_missing_font_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(emoji_data, "FONT_PATHS", (tmp_path / "NotoColorEmoji.ttf",))
    with pytest.raises(DataError, match="apt-get install fonts-noto-color-emoji") as err:
        emoji_data.emoji(root=tmp_path)
    assert "font=PATH" in str(err.value) and "folder:PATH" in str(err.value)
    with pytest.raises(DataError, match="does not exist.*apt-get install"):
        emoji_data.emoji(root=tmp_path, font=tmp_path / "elsewhere.ttf")
    with pytest.raises(DataError, match="limit"):
        emoji_data.emoji(root=tmp_path, limit=0)
    with pytest.raises(DataError, match="background"):
        emoji_data.emoji(root=tmp_path, background=(0, 0, 256))


def test_emoji_split_is_a_seeded_partition():
    x = torch.arange(100)
    train, held_out = emoji_data.emoji_split(x)
    assert (len(train), len(held_out)) == (90, 10)
    torch.testing.assert_close(torch.cat([train, held_out]).sort().values, x, atol=0, rtol=0)
    assert torch.equal(train, train.sort().values)  # each part keeps the set's order
    assert torch.equal(emoji_data.emoji_split(x)[1], held_out)
    assert not torch.equal(emoji_data.emoji_split(x, seed=1)[1], held_out)


# ----------------------------------------------------------------------------- the pinned features
def test_shipped_features_are_the_seeded_weights():
    file = colour_metric.COLOUR_FEATURES_FILE
    assert hashlib.sha256(file.read_bytes()).hexdigest() == colour_metric.COLOUR_FEATURES_SHA256
    assert file.stat().st_size < 600_000
    shipped = torch.load(file, weights_only=True)
    seeded = colour_metric.random_feature_state(colour_metric.COLOUR_FEATURES_SEED)
    assert shipped.keys() == seeded.keys()
    for k in seeded:
        torch.testing.assert_close(shipped[k], seeded[k], atol=0, rtol=0)
        assert shipped[k].dtype == torch.float16


def test_altered_or_missing_features_are_refused(tmp_path, monkeypatch):
    data = bytearray(colour_metric.COLOUR_FEATURES_FILE.read_bytes())
    data[len(data) // 2] ^= 1  # one flipped bit inside the weights
    altered = tmp_path / "colour_features.pt"
    altered.write_bytes(bytes(data))
    monkeypatch.setattr(colour_metric, "COLOUR_FEATURES_FILE", altered)
    with pytest.raises(CheckpointError, match="not the pinned ones.*make_colour_features.py"):
        colour_metric.colour_feature_network()
    monkeypatch.setattr(colour_metric, "COLOUR_FEATURES_FILE", tmp_path / "gone.pt")
    with pytest.raises(CheckpointError, match="missing.*force-reinstall"):
        colour_metric.colour_features(torch.zeros(1, 3, 64, 64))


def test_colour_features_shapes_sizes_and_grey():
    x = smooth_pictures(6, seed=0)
    f = colour_metric.colour_features(x, batch_size=4)
    assert f.shape == (6, 128) and f.dtype == torch.float32 and not f.requires_grad
    torch.testing.assert_close(f, colour_metric.colour_features(x), atol=1e-6, rtol=0)  # batches do not matter
    small = smooth_pictures(6, seed=0, size=32)
    resized = torch.nn.functional.interpolate(small.double(), size=(64, 64), mode="bilinear", antialias=True)
    torch.testing.assert_close(colour_metric.colour_features(small), colour_metric.colour_features(resized))
    grey = x[:, :1]
    torch.testing.assert_close(colour_metric.colour_features(grey),
                               colour_metric.colour_features(grey.expand(-1, 3, -1, -1)), atol=0, rtol=0)
    with pytest.raises(ShapeError, match=r"\(N, 3, H, W\)"):
        colour_metric.colour_features(torch.zeros(2, 4, 64, 64))


def test_frechet_colour_distance_is_zero_on_itself_and_grows_with_noise():
    x = smooth_pictures(200, seed=0)
    assert abs(colour_metric.frechet_colour_distance(x, x)) < 1e-9
    g = torch.Generator().manual_seed(1)
    noise = torch.randn(x.shape, generator=g)
    d = [colour_metric.frechet_colour_distance(x, (x + s * noise).clamp(-1, 1)) for s in (0.05, 0.2, 0.5)]
    assert 0 < d[0] < d[1] < d[2]
    assert d[2] > 10 * colour_metric.frechet_colour_distance(x, smooth_pictures(200, seed=2))  # vs a fresh draw


@needs_font
def test_shifted_emoji_are_farther_than_other_emoji(tmp_path):
    x = emoji_data.emoji(root=tmp_path, limit=300)
    a, b = x[0::2], x[1::2]  # two halves of the same set
    same_kind = colour_metric.frechet_colour_distance(a, b)
    shifted = colour_metric.frechet_colour_distance(a, torch.roll(b, shifts=16, dims=3))
    assert 0 < same_kind < shifted / 2


def test_colour_protocol_reports_distance_floor_and_ratio():
    train, reference, samples = smooth_pictures(60, seed=0), smooth_pictures(20, seed=1), smooth_pictures(25, seed=2)
    out = colour_metric.colour_protocol(samples, reference, train, floor_draws=3, seed=5)
    assert out["n"] == 20
    torch.testing.assert_close(out["distance"], colour_metric.frechet_colour_distance(samples[:20], reference))
    g = torch.Generator().manual_seed(5)
    floors = [colour_metric.frechet_colour_distance(train[torch.randperm(60, generator=g)[:20]], reference)
              for _ in range(3)]
    torch.testing.assert_close(out["floor"], float(np.mean(floors)))
    torch.testing.assert_close(out["floor_std"], float(np.std(floors, ddof=1)))
    torch.testing.assert_close(out["ratio"], out["distance"] / out["floor"])
    noisy = colour_metric.colour_protocol((samples + 0.5 * torch.randn(samples.shape)).clamp(-1, 1), reference, train)
    assert noisy["ratio"] > 3 * out["ratio"]
    with pytest.raises(ShapeError, match="n = 20"):
        colour_metric.colour_protocol(samples[:19], reference, train)


# ----------------------------------------------------------------------------- nearest neighbours
def brute_force(queries: np.ndarray, keys: np.ndarray, k: int, skip_self: bool):
    d = np.linalg.norm(queries.reshape(len(queries), 1, -1) - keys.reshape(1, len(keys), -1), axis=2)
    if skip_self:
        np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :k]
    return order, np.take_along_axis(d, order, axis=1)


def test_nearest_neighbours_match_a_brute_force_search():
    g = torch.Generator().manual_seed(0)
    train, samples = torch.rand(30, 3, 4, 4, generator=g) * 2 - 1, torch.rand(10, 3, 4, 4, generator=g) * 2 - 1
    samples[3] = train[17]  # an exact copy
    idx, dist = colour_metric.nearest_neighbours(samples, train, k=3, batch_size=4)
    ref_idx, ref_dist = brute_force(samples.double().numpy(), train.double().numpy(), 3, False)
    assert idx.shape == dist.shape == (10, 3)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(dist.numpy(), ref_dist, rtol=1e-12, atol=0)
    assert idx[3, 0] == 17 and dist[3, 0] == 0.0
    with pytest.raises(ShapeError, match="k in 1..30"):
        colour_metric.nearest_neighbours(samples, train, k=31)


def test_training_nearest_neighbours_exclude_the_picture_itself():
    g = torch.Generator().manual_seed(1)
    train = torch.rand(13, 3, 4, 4, generator=g) * 2 - 1
    train[9] = train[2]  # a duplicate in the data: each is the other's neighbour, at 0
    idx, dist = colour_metric.training_nearest_neighbours(train, k=2, batch_size=5)
    ref_idx, ref_dist = brute_force(train.double().numpy(), train.double().numpy(), 2, True)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    np.testing.assert_allclose(dist.numpy(), ref_dist, rtol=1e-12, atol=0)
    assert (idx[:, 0] != torch.arange(13)).all()
    assert (idx[2, 0], idx[9, 0], dist[2, 0], dist[9, 0]) == (9, 2, 0.0, 0.0)
    assert (dist[[i for i in range(13) if i not in (2, 9)], 0] > 0.5).all()
    with pytest.raises(ShapeError, match="k in 1..12"):
        colour_metric.training_nearest_neighbours(train, k=13)
