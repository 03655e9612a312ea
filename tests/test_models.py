import pytest
import torch

from gan_tutorial import models
from gan_tutorial.errors import ConfigError


def test_mlp_shapes():
    G, D = models.MLPGenerator(3, 2), models.MLPDiscriminator(2)
    x = G(torch.randn(5, 3))
    assert x.shape == (5, 2) and D(x).shape == (5,)
    assert models.MLPDiscriminator(2, out_dim=4)(x).shape == (5, 4)


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3), (64, 1), (128, 3)])
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
    for size in (16, 48, 96, 256):
        with pytest.raises(ConfigError, match="28 or a power of two from 32 to 128"):
            models.DCGANGenerator(8, 1, size)
        with pytest.raises(ConfigError, match="image_folder"):
            models.DCGANDiscriminator(1, size)


# ---- DCGAN at 64x64 against pytorch/examples dcgan/main.py (nz = 100, ngf = ndf = 64, nc = 3) ----
# Its layers, written out from that file: (in, out, kernel, has BN after). Every conv there has
# bias=False; the package keeps two biases on purpose (see the docstrings), counted below.
EXAMPLES_G = [(100, 512, 4, True), (512, 256, 4, True), (256, 128, 4, True), (128, 64, 4, True), (64, 3, 4, False)]
EXAMPLES_D = [(3, 64, 4, False), (64, 128, 4, True), (128, 256, 4, True), (256, 512, 4, True), (512, 1, 4, False)]


def _examples_count(layers) -> int:
    """Parameters of a bias-free conv stack: c_in * c_out * k * k per conv, plus BN's gamma and beta."""
    return sum(c_in * c_out * k * k + (2 * c_out if bn else 0) for c_in, c_out, k, bn in layers)


def test_examples_layer_formula_gives_the_published_counts():
    assert _examples_count(EXAMPLES_G) == 3_576_704
    assert _examples_count(EXAMPLES_D) == 2_765_568


def _convs(module, kind):
    return [m for m in module.modules() if isinstance(m, kind)]


def test_dcgan64_matches_pytorch_examples_layer_by_layer():
    G = models.DCGANGenerator(100, 3, 64, width=64)
    D = models.DCGANDiscriminator(3, 64, width=64)
    # weights: ConvTranspose2d is (in, out, k, k), Conv2d is (out, in, k, k)
    g_convs = _convs(G, torch.nn.ConvTranspose2d)
    assert [tuple(m.weight.shape) for m in g_convs] == [(i, o, k, k) for i, o, k, _ in EXAMPLES_G]
    assert [(m.stride, m.padding) for m in g_convs] == [((1, 1), (0, 0))] + [((2, 2), (1, 1))] * 4
    assert [m.num_features for m in _convs(G, torch.nn.BatchNorm2d)] == [o for _, o, _, bn in EXAMPLES_G if bn]
    assert [m.bias is not None for m in g_convs] == [False, False, False, False, True]
    d_convs = _convs(D, torch.nn.Conv2d)
    assert [tuple(m.weight.shape) for m in d_convs] == [(o, i, k, k) for i, o, k, _ in EXAMPLES_D]
    assert [(m.stride, m.padding) for m in d_convs] == [((2, 2), (1, 1))] * 4 + [((1, 1), (0, 0))]
    assert [m.num_features for m in _convs(D, torch.nn.BatchNorm2d)] == [o for _, o, _, bn in EXAMPLES_D if bn]
    assert [m.bias is not None for m in d_convs] == [True, False, False, False, True]
    # counts: the examples' numbers plus the named biases (G: last layer's 3; D: first 64, last 1)
    n_params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n_params(G) == 3_576_704 + 3
    assert n_params(D) == 2_765_568 + 64 + 1
    # feature maps: 1 -> 4 -> 8 -> 16 -> 32 -> 64 in G, and back down in D
    sides = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: sides.append(tuple(out.shape[1:])))
             for m in g_convs + d_convs]
    with torch.no_grad():
        D(G(torch.randn(2, 100)))
    for h in hooks:
        h.remove()
    assert sides == [(512, 4, 4), (256, 8, 8), (128, 16, 16), (64, 32, 32), (3, 64, 64),
                     (64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (1, 1, 1)]


@pytest.mark.parametrize("size,n", [(28, 2), (32, 3), (64, 4), (128, 5)])
def test_dcgan_counts_follow_the_layer_formula_at_every_size(size, n):
    """n stride-2 layers with filters w * 2**i; 28 starts from a 7x7 map, powers of two from 4x4."""
    latent, c, w = 64, 3, 64
    base = 7 if size == 28 else 4
    widths = [w * 2 ** i for i in range(n)]  # D's order; G's is reversed
    g = latent * widths[-1] * base * base + 2 * widths[-1]
    g += sum(a * b * 16 + 2 * b for a, b in zip(widths[::-1][:-1], widths[::-1][1:]))
    g += widths[0] * c * 16 + c
    d = c * widths[0] * 16 + widths[0]
    d += sum(a * b * 16 + 2 * b for a, b in zip(widths[:-1], widths[1:]))
    d += widths[-1] * base * base + 1
    n_params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n_params(models.DCGANGenerator(latent, c, size, width=w)) == g
    assert n_params(models.DCGANDiscriminator(c, size, width=w)) == d


def test_dcgan28_is_the_committed_model():
    """The committed 28x28 results come from these exact counts (latent 64, width 64, 1 channel)."""
    n_params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # G: 64*128*7*7 + BN 256, 128*64*4*4 + BN 128, 64*1*4*4 + 1; D: 1*64*16 + 64, 64*128*16 + BN 256, 128*49 + 1
    assert n_params(models.DCGANGenerator(64, 1, 28)) == 401_408 + 256 + 131_072 + 128 + 1_024 + 1
    assert n_params(models.DCGANDiscriminator(1, 28)) == 1_024 + 64 + 131_072 + 256 + 6_272 + 1


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
