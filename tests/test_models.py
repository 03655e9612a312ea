import pytest
import torch

from gan_tutorial import models
from gan_tutorial.errors import ConfigError


def test_mlp_shapes():
    G, D = models.MLPGenerator(3, 2), models.MLPDiscriminator(2)
    x = G(torch.randn(5, 3))
    assert x.shape == (5, 2) and D(x).shape == (5,)
    assert models.MLPDiscriminator(2, out_dim=4)(x).shape == (5, 4)


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3)])
def test_dcgan_shapes_and_range(size, channels):
    G = models.DCGANGenerator(16, channels, size, width=8)
    D = models.DCGANDiscriminator(channels, size, width=8)
    x = G(torch.randn(4, 16))
    assert x.shape == (4, channels, size, size)
    assert x.abs().max() <= 1.0
    assert D(x).shape == (4,)
    assert models.DCGANDiscriminator(channels, size, width=8, out_dim=5)(x).shape == (4, 5)


def test_dcgan_rules_in_the_layers():
    G = models.DCGANGenerator(16, 1, 28, width=32)
    D = models.DCGANDiscriminator(1, 28, width=32)
    g_layers, d_layers = list(G.net), list(D.net)
    assert isinstance(g_layers[-1], torch.nn.Tanh)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in g_layers[-3:])  # not on G's last
    assert isinstance(d_layers[0], torch.nn.Conv2d) and not isinstance(d_layers[1], torch.nn.BatchNorm2d)
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in d_layers)
    assert all(m.negative_slope == 0.2 for m in d_layers if isinstance(m, torch.nn.LeakyReLU))
    convs = [m.weight for m in G.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    w = torch.cat([c.flatten() for c in convs])
    assert abs(w.std().item() - 0.02) < 0.002 and abs(w.mean().item()) < 0.002


def test_default_models_pick_by_shape():
    G, D = models.default_models((2,), latent_dim=8)
    assert isinstance(G, models.MLPGenerator) and G.latent_dim == 8
    G, D = models.default_models((1, 28, 28))
    assert isinstance(D, models.DCGANDiscriminator) and G.out_shape == (1, 28, 28)


def test_bad_sizes_are_named():
    with pytest.raises(ConfigError, match="latent_dim"):
        models.MLPGenerator(0, 2)
    with pytest.raises(ConfigError, match="28 or 32"):
        models.DCGANGenerator(8, 1, 64)
