"""Translations of D's inputs: each image shifted by its own offset, edges repeated, gradients kept."""

import pytest
import torch

from gan_tutorial import train
from gan_tutorial.augment import Translated, translate
from gan_tutorial.errors import ConfigError


def _by_hand(x: torch.Tensor, dy: torch.Tensor, dx: torch.Tensor, s: int) -> torch.Tensor:
    """The same shift written as a loop over images and pixels, clamping indices at the edges."""
    B, C, H, W = x.shape
    out = torch.empty_like(x)
    for b in range(B):
        for i in range(H):
            for j in range(W):
                row = min(max(i + int(dy[b]) - s, 0), H - 1)
                col = min(max(j + int(dx[b]) - s, 0), W - 1)
                out[b, :, i, j] = x[b, :, row, col]
    return out


def test_translate_matches_a_loop_over_pixels_with_the_same_offsets():
    x = torch.randn(5, 3, 6, 7)
    torch.manual_seed(3)
    shifted = translate(x, 2)
    torch.manual_seed(3)
    dy, dx = torch.randint(0, 5, (2, 5, 1))
    torch.testing.assert_close(shifted, _by_hand(x, dy[:, 0], dx[:, 0], 2))
    assert not torch.equal(shifted, x)
    assert translate(x, 0) is x


def test_translate_passes_gradients_to_the_pixels_it_shows():
    x = torch.randn(4, 1, 8, 8, requires_grad=True)
    translate(x, 1).sum().backward()
    assert x.grad.sum().item() == pytest.approx(4 * 64)  # every output pixel comes from one input pixel


def test_the_wrapper_shifts_only_while_training():
    D = torch.nn.Flatten()
    wrapped = Translated(D, 0.25)
    x = torch.arange(64.0).reshape(1, 1, 8, 8).repeat(16, 1, 1, 1)
    assert not torch.equal(wrapped(x), D(x))  # 16 images, shifts of up to 2 pixels: some move
    torch.testing.assert_close(wrapped.eval()(x), D(x))


def test_fit_trains_with_translated_inputs_and_refuses_a_bad_fraction():
    from gan_tutorial import models

    x = torch.rand(32, 1, 28, 28) * 2 - 1
    G, D = models.DCGANGenerator(8, width=8), models.DCGANDiscriminator(width=8)
    history = train.fit(G, D, x, train.TrainConfig(steps=3, batch_size=8, translate=0.125, device="cpu",
                                                   progress=False, log_every=1))
    assert len(history.d_loss) == 3 and all(v == v for v in history.d_loss)
    with pytest.raises(ConfigError, match="translate must be a fraction"):
        train.TrainConfig(translate=0.5).validate()
