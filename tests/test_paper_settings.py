"""Methods in their papers' settings: RMSProp, VEEGAN's own objective, SR as its authors' code
computes it, PacGAN's maxout D, and the paper-setting benchmark rows."""

import copy
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_tutorial import benchmark, data, loop, models, paper_settings, regularizers, train, veegan
from gan_tutorial.errors import ConfigError


def test_rmsprop_is_built_and_a_wrong_name_is_refused():
    cfg = train.TrainConfig(optimizer="rmsprop", lr_d=5e-5, lr_g=5e-5, progress=False, steps=1)
    state = loop.new_state(models.MLPGenerator(2, 2, 8, 1), models.MLPDiscriminator(2, 8, 1),
                           data.toy("ring8", 256, seed=0), cfg)
    assert isinstance(state.opt_d, torch.optim.RMSprop) and isinstance(state.opt_g, torch.optim.RMSprop)
    assert state.opt_d.param_groups[0]["lr"] == 5e-5
    with pytest.raises(ConfigError, match="optimizer"):
        train.TrainConfig(optimizer="sgd").validate()


def test_authors_compensation_sets_the_normalised_values_to_gamma():
    g = torch.Generator().manual_seed(0)
    W = torch.randn(7, 5, generator=g, dtype=torch.float64)
    s = np.linalg.svd(W.numpy(), compute_uv=False)  # independent: numpy's SVD
    ratio = s / s[0]
    first = regularizers.SpectralCompensation(W, "authors").double()
    np.testing.assert_allclose(torch.linalg.svdvals(first(W)).detach().numpy(), ratio, rtol=1e-10)  # plain SN
    dyn = regularizers.SpectralCompensation(W, "dynamic").double()
    np.testing.assert_allclose(torch.linalg.svdvals(dyn(W)).detach().numpy(), ratio + ratio * (1 - ratio), rtol=1e-10)
    gamma = torch.tensor([1.0, 0.9, 0.2, 0.8, 0.05], dtype=torch.float64)
    out = regularizers.compensated_spectrum(torch.tensor(s), "authors", gamma=gamma).numpy()
    np.testing.assert_allclose(out / s[0], np.maximum(gamma.numpy(), ratio), rtol=1e-12)


def test_maxout_takes_the_largest_piece():
    torch.manual_seed(0)
    layer = models.Maxout(3, 4, pieces=5)
    x = torch.randn(6, 3)
    pieces = (x @ layer.linear.weight.T + layer.linear.bias).reshape(6, 4, 5)
    torch.testing.assert_close(layer(x), pieces.max(2).values)
    D = models.MaxoutDiscriminator(8, hidden=6, depth=3, pieces=5)
    assert D(torch.randn(10, 8)).shape == (10,)


def _veegan_state(seed=0):
    torch.manual_seed(seed)
    G, F = models.MLPGenerator(4, 2, 16, 2), veegan.Reconstructor(2, 4, 16, 2)
    D = veegan.JointDiscriminator(4, 2, 16, 1)
    cfg = train.TrainConfig(steps=1, batch_size=32, lr_d=1e-3, lr_g=1e-3, progress=False, seed=seed)
    return loop.new_state(G, D, data.toy("ring8", 512, seed=0), cfg, extras={"F": F})


def test_veegan_paper_step_updates_d_with_its_own_loss_only_at_the_same_weights():
    ref, state = _veegan_state(), _veegan_state()
    G, F, D = ref.G, ref.extras["F"], ref.D
    x_real, z, eps = ref.sampler.sample(), ref.noise(), ref.noise()  # the draws the step makes
    d_loss = veegan.veegan_d_loss(D(z, G(z).detach()), D((F(x_real) + eps).detach(), x_real))
    d_grads = torch.autograd.grad(d_loss, list(D.parameters()))
    gf_loss = D(z, G(z)).mean() + 0.5 * (z - F(G(z))).pow(2).sum(1).mean()
    g_grads = torch.autograd.grad(gf_loss, list(G.parameters()))
    before_d, before_g = copy.deepcopy(state.D), copy.deepcopy(state.G)
    out = veegan.veegan_paper_step(state)
    assert out["g_loss"].item() == pytest.approx(gf_loss.item(), rel=1e-5)
    # Adam's first step moves each weight by lr * sign(its gradient)
    for p0, p1, grad in zip(before_d.parameters(), state.D.parameters(), d_grads):
        moved = grad.abs() > 1e-6
        torch.testing.assert_close((p1 - p0)[moved], -1e-3 * grad.sign()[moved], rtol=1e-3, atol=1e-6)
    for p0, p1, grad in zip(before_g.parameters(), state.G.parameters(), g_grads):
        moved = grad.abs() > 1e-6
        torch.testing.assert_close((p1 - p0)[moved], -1e-3 * grad.sign()[moved], rtol=1e-3, atol=1e-6)


def test_fit_veegan_names_its_objectives():
    G, F, D = models.MLPGenerator(4, 2, 8, 1), veegan.Reconstructor(2, 4, 8, 1), veegan.JointDiscriminator(4, 2, 8, 1)
    with pytest.raises(ConfigError, match="course, paper"):
        veegan.fit_veegan(G, F, D, data.toy("ring8", 64, seed=0), train.TrainConfig(steps=1), objective="ali")


def test_new_setting_fields_keep_the_committed_results_resumable():
    first = json.loads(Path("benchmarks/results/toy/runs.jsonl").read_text().splitlines()[0])
    assert benchmark.setting_id(benchmark.Setting()) == first["setting"]
    assert benchmark.setting_id(benchmark.Setting(n_critic=5)) != first["setting"]


def test_every_paper_row_has_its_own_setting_and_source_and_a_tiny_run_writes_the_table(tmp_path):
    assert len({m.name for m in paper_settings.PAPER_METHODS}) == len(paper_settings.PAPER_METHODS)
    for m in paper_settings.PAPER_METHODS:
        assert m.setting is not None and len(m.note) > 20, m.name
    tiny = [dataclasses.replace(m, setting=dataclasses.replace(m.setting, steps=3, n_train=2000, n_scored=100))
            for m in paper_settings.PAPER_METHODS if m.name in ("wgan", "veegan", "pacgan4")]
    records = benchmark.run_benchmark(tiny, ["ring8"], range(1), out=tmp_path, log=lambda s: None)
    assert sorted(r["method"] for r in records) == ["pacgan4", "veegan", "wgan"]
    assert all(r["steps"] == 3 and not r["error"] for r in records)
    setting = json.loads((tmp_path / "settings.json").read_text())["settings"]
    assert setting["wgan"]["optimizer"] == "rmsprop" and setting["veegan"]["latent_dim"] == 254
    assert "its own setting" in (tmp_path / "table.md").read_text()
    again = benchmark.run_benchmark(tiny, ["ring8"], range(1), out=tmp_path, log=lambda s: None)
    assert [r["wall_time_s"] for r in again] == [r["wall_time_s"] for r in records]  # resumed, not rerun


def test_mode_tracker_records_coverage_at_each_logging_step():
    from gan_tutorial import metrics, sampling

    centers, std = data.toy_spec("ring8")
    z = torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    tracker = metrics.ModeTracker(centers, std, z)
    torch.manual_seed(0)
    G = models.MLPGenerator(2, 2, 16, 2)
    train.fit(G, models.MLPDiscriminator(2, 16, 2), data.toy("ring8", 512, seed=0),
              train.TrainConfig(steps=30, log_every=10, progress=False, n_samples=8), callbacks=[tracker])
    assert tracker.step == [10, 20, 30]
    final = metrics.mode_coverage(sampling.sample(G, z), centers, std)
    assert tracker.modes[-1] == final["modes"] and tracker.high_quality[-1] == final["high_quality"]


@pytest.mark.parametrize("name, steps", [("veegan_60k", 60_000), ("veegan_100k", 100_000)])
def test_the_long_veegan_rows_are_the_paper_row_trained_longer(name, steps):
    rows = {m.name: m for m in paper_settings.PAPER_METHODS}
    short, long_ = rows["veegan"], rows[name]
    assert long_.veegan == short.veegan == "paper" and long_.setting.steps == steps
    assert dataclasses.replace(long_.setting, steps=short.setting.steps) == short.setting
