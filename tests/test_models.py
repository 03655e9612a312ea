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


# ---- the conditional DCGAN (chapter 2): pairs (image, label plane) ----
def test_label_plane_round_trips_every_class():
    from gan_tutorial.errors import DataError, ShapeError

    for k in (2, 10, 37):
        y = torch.arange(k)
        pairs = models.with_labels(torch.zeros(k, 1, 28, 28), y, k)
        assert pairs.shape == (k, 2, 28, 28)
        assert torch.equal(models.read_label_plane(pairs, k), y)
        assert pairs[:, 1].amin().item() == -1.0 and pairs[:, 1].amax().item() == 1.0
    with pytest.raises(DataError, match="0..9"):
        models.label_plane(torch.tensor([10]), 10, 28)
    with pytest.raises(ShapeError, match="integers"):
        models.label_plane(torch.tensor([0.5]), 10, 28)
    with pytest.raises(ShapeError, match="one label per image"):
        models.with_labels(torch.zeros(3, 1, 28, 28), torch.tensor([0, 1]), 10)


def test_conditional_generator_draws_the_class_mix_it_is_given():
    probs = torch.tensor([0.5, 0.3, 0.2])
    G = models.ConditionalDCGANGenerator(noise_dim=4, n_classes=3, class_probs=probs, width=8)
    assert G.latent_dim == 5 and G.out_shape == (2, 28, 28)
    z = torch.randn(200_000, 5, generator=torch.Generator().manual_seed(0))
    freq = torch.bincount(G.labels(z), minlength=3).float() / len(z)
    se = (probs * (1 - probs) / len(z)).sqrt()
    assert ((freq - probs).abs() < 5 * se).all(), freq
    # the images carry the label that picked them, and latent_for lands in the class asked for
    y = torch.tensor([0, 1, 2, 2, 0])
    zy = G.latent_for(y, torch.randn(5, 4))
    assert torch.equal(G.labels(zy), y)
    with torch.no_grad():
        out = G.eval()(zy)
    assert out.shape == (5, 2, 28, 28) and torch.equal(models.read_label_plane(out, 3), y)
    assert out[:, :1].abs().max() <= 1
    with pytest.raises(ConfigError, match="class_probs"):
        models.ConditionalDCGANGenerator(n_classes=3, class_probs=[0.5, -0.1, 0.6])


def test_projection_discriminator_adds_the_label_embedding_to_the_logit():
    D = models.ProjectionDCGANDiscriminator(n_classes=3, width=8).eval()
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    pairs = [models.with_labels(x, torch.full((4,), k), 3) for k in range(3)]
    with torch.no_grad():
        h = D.body(x).sum(dim=(2, 3))  # (4, channels): the pooled features
        base = D.head(D.body(x)).flatten()
        for k in range(3):
            torch.testing.assert_close(D(pairs[k]), base + h @ D.embed.weight[k])
        assert not torch.allclose(D(pairs[0]), D(pairs[1]))  # the label changes the score
