"""The training core: every loss trains from the CLI and from fit, what the loop counts and
records, the layout limits, the pre-flight refusals, evaluating(), and the fast-path choice."""

import ast
import functools
import json
import platform
from pathlib import Path

import pytest
import torch
from torch import nn

from gan_tutorial import cli, config, data, losses, metrics, models, plots, regularizers, train, veegan
from gan_tutorial.errors import ConfigError, ShapeError
from gan_tutorial.sampling import evaluating

PACKAGE = Path(__file__).resolve().parents[1] / "gan_tutorial"
X = data.toy("ring8", 512, seed=0)


def _mlps(latent=4, out_dim=None, seed=0):
    torch.manual_seed(seed)
    return models.MLPGenerator(latent, 2, hidden=16, depth=2), models.MLPDiscriminator(2, 16, 2, out_dim)


def _config(**kw):
    return train.TrainConfig(**{**dict(steps=6, batch_size=16, log_every=2, progress=False, device="cpu"), **kw})


# ----------------------------------------------------------------------------- every loss
@pytest.mark.parametrize("name", sorted(losses.LOSSES))
@pytest.mark.parametrize("dataset", ["ring8", "mnist5k"])
def test_every_loss_trains_from_the_command_line_with_its_defaults(name, dataset, tmp_path, capsys):
    out = tmp_path / "run"
    code = cli.main(["train", "--loss", name, "--data", dataset, "--steps", "2", "--out", str(out),
                     "--no-progress", "--log-every", "1"])
    assert code == 0, capsys.readouterr().err
    assert (out / "samples.png").stat().st_size > 0
    assert [p.name for p in out.glob("step_*.pt")] == ["step_00000002.pt"]
    metrics_ = json.loads((out / "metrics.json").read_text())
    assert metrics_["loss"] == name and metrics_["history"]["step"] == [1, 2]


@pytest.mark.parametrize("name", sorted(losses.LOSSES))
def test_every_loss_trains_through_fit_with_the_models_the_cli_builds(name):
    loss = losses.get_loss(name)
    torch.manual_seed(0)
    G, D = cli.models_for(loss, (2,), latent_dim=3)
    h = train.fit(G, D, X, _config(loss=name))
    assert h.step == [2, 4, 6] and all(torch.isfinite(torch.tensor(h.d_loss + h.g_loss)))
    assert (h.penalty[-1] > 0) == (loss.penalty is not None)


def test_cli_models_fit_each_loss():
    for name, loss in losses.LOSSES.items():
        G, D = cli.models_for(loss, (1, 28, 28), latent_dim=12)
        shape = tuple(D(torch.zeros(2, 1, 28, 28)).shape)
        want = (2,) if loss.output == "scalar" else (2, 12) if loss.uses_z else (2, losses.VECTOR_DIM)
        assert shape == want, name
        has_bn = any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
        assert has_bn == (loss.penalty is None), name


def test_train_help_shows_every_config_field(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    import dataclasses

    for f in dataclasses.fields(train.TrainConfig):
        assert "--" + f.name.replace("_", "-") in text, f.name


# ----------------------------------------------------------------------------- what the loop does
def test_d_takes_n_critic_steps_per_g_step_and_history_averages_all_of_them():
    calls = []

    def counting_d_loss(real_scores, fake_scores):  # value = how many times D's loss was taken
        calls.append(None)
        return 0.0 * (real_scores.sum() + fake_scores.sum()) + float(len(calls))

    loss = losses.GANLoss("counting", counting_d_loss, losses.ns_g_loss)
    G, D = _mlps()
    seen = []
    h = train.fit(G, D, X, _config(loss=loss, n_critic=3, steps=4),
                  callbacks=[lambda s: seen.append((s.opt_d.state[s.D.net[0].weight]["step"].item(),
                                                    s.opt_g.state[s.G.net[0].weight]["step"].item()))])
    assert len(calls) == 12
    assert seen == [(6, 2), (12, 4)]  # Adam's step counts: 3 D updates per G update
    # log_every=2: the mean over the 6 critic steps of each interval, (1+...+6)/6 and (7+...+12)/6
    assert h.d_loss == [3.5, 9.5]


def test_registering_an_existing_name_is_an_error_unless_asked_for():
    with pytest.raises(ConfigError, match="already registered"):
        losses.register(losses.GANLoss("ns", losses.minimax_d_loss, losses.minimax_g_loss))
    assert losses.register(losses.get_loss("ns")) is losses.get_loss("ns")  # the same object: no-op
    mine = losses.sphere_loss(2, name="sphere_test_r2")
    try:
        losses.register(mine)
        assert losses.register(losses.sphere_loss(2, name="sphere_test_r2"), replace=True) is not mine
    finally:
        losses.LOSSES.pop("sphere_test_r2")


def test_a_loss_declares_what_it_needs():
    with pytest.raises(ConfigError, match="inputs must come from"):
        losses.GANLoss("bad", losses.minimax_d_loss, losses.ns_g_loss, d_inputs=("real_scores",))
    qp = losses.get_loss("gan_qp")
    assert qp.d_inputs == ("x_real", "x_fake") and qp.g_inputs == () and not qp.uses_z
    assert losses.get_loss("ogan_ns").uses_z and not losses.get_loss("sphere").uses_z
    src = (PACKAGE / "core" / "losses.py").read_text()
    assert "inspect" not in src and "signature" not in src


def test_a_penalty_critic_with_batch_norm_is_refused_with_the_fix():
    G = models.DCGANGenerator(8, 1, 28, width=8)
    x = torch.rand(16, 1, 28, 28) * 2 - 1
    with pytest.raises(ConfigError, match="batch_norm=False"):
        train.fit(G, models.DCGANDiscriminator(1, 28, width=8), x, _config(loss="wgan_gp", steps=1))
    train.fit(G, models.DCGANDiscriminator(1, 28, width=8, batch_norm=False), x, _config(loss="wgan_gp", steps=1))


def test_a_vector_d_of_the_wrong_size_for_o_gan_is_refused():
    G, D = _mlps(latent=4, out_dim=16)
    with pytest.raises(ShapeError, match="out_dim=4"):
        train.fit(G, D, X, _config(loss="ogan_ns"))


def test_veegan_runs_on_the_shared_loop_and_resumes_bit_for_bit(tmp_path):
    def run(steps, seed=0, **kw):
        torch.manual_seed(seed)
        G, F = models.MLPGenerator(3, 2, 16, 2), veegan.Reconstructor(2, 3, 16, 2)
        D = veegan.JointDiscriminator(3, 2, 16, 2)
        h = veegan.fit_veegan(G, F, D, X, _config(steps=steps, ema=0.9, **kw))
        return h, torch.cat([p.detach().flatten() for m in (G, F, D, h.G_ema) for p in m.parameters()])

    h1, w1 = run(6)
    run(4, out=str(tmp_path))
    h3, w3 = run(6, seed=1, resume=str(tmp_path))
    assert torch.equal(w1, w3) and h3.recon == h1.recon and h1.penalty == []
    assert "for step in" not in (PACKAGE / "training" / "veegan.py").read_text()


def test_plots_draw_a_vector_d():
    import matplotlib

    matplotlib.use("Agg")
    _, D = _mlps(out_dim=5)
    X_, Y_, Z = plots.d_surface(D, (-1, 1), (-1, 1), n=7, transform=None)
    want = D(torch.stack([torch.from_numpy(X_).reshape(-1), torch.from_numpy(Y_).reshape(-1)], 1).float()).mean(1)
    torch.testing.assert_close(torch.from_numpy(Z).reshape(-1), want.detach())
    _, _, S = plots.d_surface(D, (-1, 1), (-1, 1), n=7, transform=None, score=losses.sphere_score)
    assert S.min() >= 0 and S.max() <= torch.pi


# ----------------------------------------------------------------------------- modes and caches
def test_evaluating_restores_each_mode_even_after_an_error():
    a, b = nn.BatchNorm1d(2), nn.BatchNorm1d(2).eval()
    with pytest.raises(RuntimeError):
        with evaluating(a, b, None):
            assert not a.training and not b.training
            raise RuntimeError
    assert a.training and not b.training
    clf = metrics.DigitClassifier()
    metrics.digit_features(clf, torch.zeros(2, 1, 28, 28))
    metrics.accuracy(clf, torch.zeros(2, 1, 28, 28), torch.zeros(2, dtype=torch.long))
    assert clf.training


def test_spectral_regularization_follows_edits_and_new_weights():
    torch.manual_seed(0)
    lin = nn.Linear(6, 5)
    regularizers.spectral_regularization(lin, "dynamic")
    lin.train()
    with torch.no_grad():
        lin.parametrizations.weight.original.data.mul_(8.0)  # an edit through .data
    assert torch.linalg.matrix_norm(lin.weight, 2).item() == pytest.approx(1.0, abs=1e-5)
    sr = regularizers.SpectralCompensation(torch.zeros(5, 6), "static", top=2)
    for _ in range(5):  # fresh tensors, possibly at a reused address
        w = torch.randn(5, 6)
        torch.testing.assert_close(sr(w), regularizers.spectral_regularized_weight(w, "static", 2))


# ----------------------------------------------------------------------------- the fast path
def test_kernels_held_below_avx512_count_as_no_native_bf16(monkeypatch):
    # simulating another processor (make kernels) must also simulate its fast-path choice
    native = config.cpu_has_native_bf16.__wrapped__
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    assert native() is False
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA")
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX2")
    assert native() is False
    monkeypatch.setattr(torch.backends.cpu, "get_cpu_capability", lambda: "AVX512")
    flags = Path("/proc/cpuinfo").read_text().split() if Path("/proc/cpuinfo").exists() else []
    has = platform.machine() in ("x86_64", "AMD64") and ("avx512_bf16" in flags or "amx_bf16" in flags)
    assert native() is has  # with every kernel allowed, the processor's flags decide
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX512_CORE_BF16")
    assert native() is has


def test_the_fast_path_never_picks_bf16_without_native_support(monkeypatch):
    cfg = train.TrainConfig()
    cpu = torch.device("cpu")
    monkeypatch.setattr(config, "cpu_has_native_bf16", lambda: False)
    assert config.fast_path(cpu, True, cfg)[:2] == (False, False)  # the usual path: never slower
    monkeypatch.setattr(config, "cpu_has_native_bf16", lambda: True)
    assert config.fast_path(cpu, True, cfg)[:2] == (True, True)
    assert config.fast_path(cpu, False, cfg)[:2] == (False, False)  # MLPs stay in float32
    forced = train.TrainConfig(amp=False, channels_last=False)
    amp, cl, desc = config.fast_path(cpu, True, forced)
    assert (amp, cl, desc) == (False, False, "cpu fp32")
    assert config.fast_path(torch.device("cuda"), True, cfg)[:2] == (True, True)
    assert config.fast_path(torch.device("cuda"), False, cfg)[:2] == (True, False)


@pytest.mark.parametrize("penalty", [regularizers.gradient_penalty,
                                     functools.partial(regularizers.wdiv_penalty, sampling="fake"),
                                     regularizers.r1_penalty])
def test_penalties_under_bf16_autocast_match_float32(penalty):
    torch.manual_seed(0)
    D = models.DCGANDiscriminator(1, 28, width=8, batch_norm=False)
    xr, xf = torch.rand(8, 1, 28, 28) * 2 - 1, torch.rand(8, 1, 28, 28) * 2 - 1

    def value_and_grads(amp):
        torch.manual_seed(1)
        D.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            p = penalty(D, xr, xf)
        p.backward()  # the second-order backward, into D's weights
        # (biases that only shift D's output get no gradient from a penalty on its input gradient)
        return p.detach(), torch.cat([q.grad.flatten() for q in D.parameters() if q.grad is not None])

    (p32, g32), (p16, g16) = value_and_grads(False), value_and_grads(True)
    assert p16.dtype == torch.float32  # the norm is taken in float32, not bf16
    torch.testing.assert_close(p16, p32, rtol=0.05, atol=1e-6)
    cos = (g16 @ g32) / (g16.norm() * g32.norm())  # (the norms can be ~1e-13: no eps clamp)
    assert cos > 0.99


# ----------------------------------------------------------------------------- layout
def _functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_metrics_plots_benchmark_and_theory_do_not_import_the_loop():
    for path in [PACKAGE / "evaluation" / "metrics.py", PACKAGE / "evaluation" / "plots.py",
                 PACKAGE / "experiments" / "league.py", *sorted((PACKAGE / "theory").glob("*.py"))]:
        imported = {node.module for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in imported if m.split(".")[-1] in ("train", "loop")}, path.name


def test_no_function_of_the_package_switches_the_matplotlib_backend():
    # a notebook's inline backend must survive every call (chapter 6 once lost three figures)
    calls = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("use", "switch_backend"):
                owner = ast.unparse(node.func.value)
                if owner in ("matplotlib", "mpl", "plt", "matplotlib.pyplot"):
                    calls.append(f"{path.name}:{node.lineno}")
    assert calls == []


def test_the_league_figures_leave_the_backend_alone(tmp_path):
    import matplotlib

    from gan_tutorial import league

    before = matplotlib.get_backend()
    arrays = {league.run_key("ns", "ring8", 0): data.toy("ring8", 100, seed=0).numpy()}
    league.plot_method_samples(arrays, ["ns"], "ring8", tmp_path / "ring8.png")
    assert (tmp_path / "ring8.png").stat().st_size > 0 and matplotlib.get_backend() == before
