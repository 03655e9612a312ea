"""Chapter 6: spectra, spectral normalisation and regularization, VEEGAN, the benchmark."""

import csv
import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
import torch
from torch import nn

from gan_tutorial import benchmark, cli, exercises, losses, metrics, regularizers
from gan_tutorial.errors import ConfigError
from gan_tutorial.models import MLPDiscriminator
from gan_tutorial.theory import spectral
from gan_tutorial.theory import veegan as veegan_theory
from gan_tutorial.train import TrainConfig, fit
from gan_tutorial.veegan import JointDiscriminator, Reconstructor, fit_veegan, veegan_d_loss, veegan_gf_loss


# ----------------------------------------------------------------------------- spectra
def test_spectra_of_known_weights_linear_and_conv():
    D = nn.Sequential(nn.Linear(3, 3), nn.LeakyReLU(), nn.Conv2d(2, 3, 2))
    with torch.no_grad():
        D[0].weight.copy_(torch.diag(torch.tensor([-4.0, 2.0, 1.0])))
        D[2].weight.zero_()
        D[2].weight[0, 0, 0, 0] = 3.0  # (3, 8) matrix with one non-zero entry
        D[2].weight[1, 1, 1, 1] = -1.5
    spectra = metrics.singular_spectra(D)
    assert list(spectra) == ["0", "2"]
    torch.testing.assert_close(spectra["0"], torch.tensor([1.0, 0.5, 0.25], dtype=torch.float64))
    torch.testing.assert_close(spectra["2"], torch.tensor([1.0, 0.5, 0.0], dtype=torch.float64))
    raw = metrics.singular_spectra(D, normalise=False)
    torch.testing.assert_close(raw["0"], torch.tensor([4.0, 2.0, 1.0], dtype=torch.float64))


def test_spectrum_monitor_records_every_log_step():
    torch.manual_seed(0)
    from gan_tutorial.models import MLPGenerator

    G, D = MLPGenerator(2, 2, 16, 2), MLPDiscriminator(2, 16, 2)
    mon = metrics.SpectrumMonitor()
    fit(G, D, torch.randn(64, 2), TrainConfig(steps=6, batch_size=8, log_every=2, progress=False,
                                              device="cpu"), callbacks=[mon])
    assert mon.steps == [2, 4, 6]
    assert set(mon.spectra) == {"net.0", "net.2", "net.4"}
    assert mon.as_array("net.2").shape == (3, 16) and mon.mean_spectrum("net.0").shape == (3,)
    torch.testing.assert_close(mon.as_array("net.2")[:, 0], torch.ones(3, dtype=torch.float64))


# ----------------------------------------------------------------------------- spectral norm
def test_spectral_norm_gives_unit_sigma_max():
    torch.manual_seed(0)
    D = regularizers.spectral_norm(MLPDiscriminator(2, 32, 2))
    x = torch.randn(8, 2)
    for _ in range(200):  # each training forward is one power iteration
        D(x)
    D.eval()
    for name, w in metrics.weight_matrices(D).items():
        sigma = torch.linalg.matrix_norm(w.double(), ord=2).item()
        assert abs(sigma - 1.0) < 1e-4, (name, sigma)


# ----------------------------------------------------------------------------- spectral regularization
def test_compensated_spectrum_by_hand():
    s = torch.tensor([4.0, 2.0, 1.0, 0.5])
    torch.testing.assert_close(regularizers.compensated_spectrum(s, "static", top=2),
                               torch.tensor([4.0, 4.0, 1.0, 0.5]))
    torch.testing.assert_close(regularizers.compensated_spectrum(s, "static", top=4), torch.full((4,), 4.0))
    # dynamic, gamma = current ratios (first step): sigma_j + r_j (sigma_1 - sigma_j)
    torch.testing.assert_close(regularizers.compensated_spectrum(s, "dynamic"),
                               torch.tensor([4.0, 2.0 + 0.5 * 2, 1.0 + 0.25 * 3, 0.5 + 0.125 * 3.5]))
    # a larger past ratio wins over the current one
    gamma = torch.tensor([1.0, 0.9, 0.0, 0.0])
    torch.testing.assert_close(regularizers.compensated_spectrum(s, "dynamic", gamma=gamma),
                               torch.tensor([4.0, 2.0 + 0.9 * 2, 1.75, 0.5 + 0.125 * 3.5]))
    with pytest.raises(ValueError, match="top"):
        regularizers.compensated_spectrum(s, "static")


@pytest.mark.parametrize("mode,top", [("static", 2), ("dynamic", None), ("static", 4)])
def test_parametrization_keeps_vectors_and_lifts_values(mode, top):
    r = spectral.check_parametrization(mode, top or 2)
    assert r["vector_deviation"] < 1e-12
    torch.testing.assert_close(r["singular_values"], r["predicted"], atol=1e-12, rtol=0)
    assert r["singular_values"][0].item() == pytest.approx(1.0, abs=1e-12)


def test_functional_weight_matches_parametrization_and_static_full_is_orthogonal():
    g = torch.Generator().manual_seed(1)
    W = torch.randn(6, 3, generator=g, dtype=torch.float64)
    Q = regularizers.spectral_regularized_weight(W, "static", top=3)
    torch.testing.assert_close(Q.T @ Q, torch.eye(3, dtype=torch.float64))  # every value lifted to 1
    param = regularizers.SpectralCompensation(W, "static", 2).double()
    torch.testing.assert_close(param(W), regularizers.spectral_regularized_weight(W, "static", 2))


def test_dynamic_gamma_is_a_running_max_and_gradients_flow():
    torch.manual_seed(0)
    lin = nn.Linear(4, 5)
    regularizers.spectral_regularization(lin, "dynamic")
    plist = lin.parametrizations.weight
    p = plist[0]
    opt = torch.optim.SGD(lin.parameters(), lr=0.5)
    seen = []
    for _ in range(5):
        out = lin(torch.randn(3, 4)).pow(2).sum()
        opt.zero_grad()
        out.backward()
        assert plist.original.grad is not None and torch.isfinite(plist.original.grad).all()
        opt.step()
        lin(torch.randn(1, 4))  # the new weight updates gamma
        seen.append(p.gamma.clone())
        s = torch.linalg.svdvals(plist.original.detach())
        assert (p.gamma >= s / s[0] - 1e-6).all()
    for a, b in zip(seen, seen[1:]):
        assert (b >= a).all()
    # normalised values of W_SR stay at or above gamma (theory: value in [gamma, 1])
    s_sr = torch.linalg.svdvals(lin.weight.detach())
    assert (s_sr >= p.gamma - 1e-5).all() and abs(s_sr[0].item() - 1) < 1e-5


def test_r1_penalty_of_a_linear_critic():
    D = nn.Linear(3, 1)
    with torch.no_grad():
        D.weight.copy_(torch.tensor([[1.0, -2.0, 2.0]]))
    Dfn = lambda x: D(x).squeeze(1)  # noqa: E731
    x = torch.randn(5, 3)
    assert regularizers.r1_penalty(Dfn, x, x).item() == pytest.approx(9.0)
    assert losses.LOSSES["ns_r1"].penalty is regularizers.r1_penalty


# ----------------------------------------------------------------------------- theory
def test_sympy_spectral_derivations():
    s1, s2 = spectral.s1, spectral.s2
    r = spectral.spectral_norm_2x2()
    assert r["squared_singular_values"] == [s1**2, s2**2]
    assert r["singular_values_sn"] == [1, s2 / s1]
    assert spectral.static_compensation_2x2()["W_SR^T W_SR"] == sp.eye(2)
    kept = spectral.singular_vectors_kept()
    assert kept["residuals"] == [sp.zeros(2, 1), sp.zeros(2, 1)]
    assert sp.simplify(kept["coefficients"][1] - (s2 + kept["delta_2"])) == 0
    b = spectral.dynamic_compensation_bounds()
    r_, g = sp.symbols("sigmabar gamma", nonnegative=True)
    assert sp.expand(b["value"] - (r_ + g * (1 - r_))) == 0  # the theorem's (sigma_j + delta_j) / sigma_1
    assert sp.expand(b["value - gamma"] - r_ * (1 - g)) == 0
    assert sp.expand(b["1 - value"] - (1 - r_) * (1 - g)) == 0


def test_veegan_bound_derivations():
    r = veegan_theory.jensen_gap()
    assert r["gap - KL"] == 0
    assert len(r["argmin t"]) == 1 and sp.simplify(r["argmin t"][0] - r["posterior(x=1|z)"]) == 0
    assert veegan_theory.averaged_bound()["E B - (KL + H(p_z))"] == 0


# ----------------------------------------------------------------------------- VEEGAN
def test_veegan_losses_by_hand():
    gen, rec = torch.tensor([0.0, 2.0]), torch.tensor([1.0, -1.0])
    sp_ = lambda t: math.log1p(math.exp(t))  # noqa: E731
    want_d = (sp_(0.0) + sp_(-2.0)) / 2 + (sp_(1.0) + sp_(-1.0)) / 2
    assert veegan_d_loss(gen, rec).item() == pytest.approx(want_d, rel=1e-6)
    z, z_rec = torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    want_g = (sp_(0.0) + sp_(2.0)) / 2 + 0.5 * (1.0 + 4.0) / 2 + (sp_(-1.0) + sp_(1.0)) / 2
    assert veegan_gf_loss(gen, rec, z, z_rec, recon_weight=0.5).item() == pytest.approx(want_g, rel=1e-6)


def test_fit_veegan_runs_and_records():
    torch.manual_seed(0)
    from gan_tutorial.models import MLPGenerator

    G, F = MLPGenerator(3, 2, 16, 2), Reconstructor(2, 3, 16, 2)
    D = JointDiscriminator(3, 2, 16, 2)
    assert F(torch.zeros(4, 2)).shape == (4, 3) and D(torch.zeros(4, 3), torch.zeros(4, 2)).shape == (4,)
    h = fit_veegan(G, F, D, torch.randn(128, 2), TrainConfig(steps=10, batch_size=16, log_every=5,
                                                             progress=False, device="cpu", n_samples=7))
    assert h.step == [5, 10] and len(h.recon) == 2 and h.recon[0] > 0 and h.penalty == []
    assert h.snapshots[-1][1].shape == (7, 2)


# ----------------------------------------------------------------------------- benchmark
def test_packed_discriminator_scores_packs():
    inner = MLPDiscriminator(4, 8, 1)
    D = benchmark.Packed(inner, 2)
    x = torch.randn(6, 2)
    scores = D(x)
    assert scores.shape == (6,)
    torch.testing.assert_close(scores[::2], inner(x.reshape(3, 4)))
    torch.testing.assert_close(scores[1::2], scores[::2])
    assert D(torch.randn(3, 2)).shape == (3,)  # the last pack wraps around


def test_vector_losses_get_a_vector_discriminator():
    s = benchmark.Setting(latent_dim=5, vector_dim=7, hidden=8, depth=1)
    for name, want in (("sphere", 7), ("ogan", 5), ("ogan_ns", 5), ("ns", None)):
        G, D = benchmark.build_models(benchmark.methods([name])[0], 2, s)
        assert D(torch.zeros(3, 2)).shape == ((3,) if want is None else (3, want))


def _numpy_coverage(x, centers, std):
    """A second, independent implementation of the metric (numpy, plain loops over modes)."""
    d = np.sqrt(((x[:, None, :].astype(np.float64) - centers[None]) ** 2).sum(-1))
    nearest, dist = d.argmin(1), d.min(1)
    good = dist <= 3 * std
    return len(set(nearest[good].tolist())), good.mean()


def test_benchmark_writes_tables_that_rescore_independently(tmp_path):
    s = benchmark.Setting(steps=3, batch_size=16, n_train=500, n_scored=50, hidden=8, depth=1)
    ms = benchmark.methods(["ns", "veegan", "ns+sr", "pacgan4"])
    lines = []
    records = benchmark.run_benchmark(ms, ["ring8"], range(2), s, tmp_path, log=lines.append)
    assert len(records) == 8 and "8 to run" in lines[0]
    assert [m.loss for m in benchmark.methods(["minimax", "veegan"])] == ["minimax", "ns"]
    for name in ("runs.csv", "summary.csv", "table.md", "samples.npz", "samples_ring8.png"):
        assert (tmp_path / name).stat().st_size > 0
    table = (tmp_path / "table.md").read_text()
    assert "| PacGAN4 (PacGAN Table 1) | 7.8 | 95.9 |" in table and "| veegan |" in table
    saved = np.load(tmp_path / "samples.npz")
    centers, std = benchmark.data_mod.toy_spec("ring8")
    with open(tmp_path / "runs.csv") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        modes, hq = _numpy_coverage(saved[f"ring8/{row['method']}/{row['seed']}"], centers.numpy(), std)
        assert modes == int(row["modes"]) and hq == pytest.approx(float(row["high_quality"]), abs=1e-12)
    # a second call resumes, even from a clean checkout (per-run files gone): nothing to run
    import shutil

    shutil.rmtree(tmp_path / "runs")
    lines.clear()
    benchmark.run_benchmark(ms, ["ring8"], range(2), s, tmp_path, log=lines.append)
    assert "8 runs already done, 0 to run" in lines[0]
    # under another setting (here only the learning-rate schedule differs) nothing is reused
    lines.clear()
    other = dataclasses.replace(s, lr_decay="constant")
    assert benchmark.setting_id(other) != benchmark.setting_id(s)
    benchmark.run_benchmark(benchmark.methods(["ns"]), ["ring8"], range(1), other, tmp_path, log=lines.append)
    assert "0 runs already done, 1 to run" in lines[0]


def test_sampler_method_shares_its_base_run(tmp_path):
    # "ns+drs" trains exactly as "ns": run together, one training gives both rows, and each
    # row equals the row of a run of that method alone
    s = benchmark.Setting(steps=30, batch_size=32, n_train=2000, n_scored=200, hidden=16, depth=2)
    both = benchmark.methods(["ns", "ns+drs"])
    assert [m.base for m in both] == [None, "ns"]
    lines = []
    together = benchmark.run_benchmark(both, ["ring8"], range(1), s, tmp_path / "both", log=lines.append)
    assert "2 to run" in lines[0] and len(together) == 2
    assert sum(line.startswith("[") for line in lines) == 2
    alone = {}
    for m in both:
        (r,) = benchmark.run_benchmark([m], ["ring8"], range(1), s, tmp_path / m.name, log=lambda _: None)
        alone[m.name] = r
    for r in together:
        a = alone[r["method"]]
        assert {k: v for k, v in r.items() if k != "wall_time_s"} == {k: v for k, v in a.items() if k != "wall_time_s"}
    x_both, x_alone = np.load(tmp_path / "both" / "samples.npz"), np.load(tmp_path / "ns+drs" / "samples.npz")
    np.testing.assert_array_equal(x_both["ring8/ns+drs/0"], x_alone["ring8/ns+drs/0"])
    assert not np.array_equal(x_both["ring8/ns+drs/0"], x_both["ring8/ns/0"])  # rejection changed them


def test_cli_benchmark_subcommand(tmp_path, capsys):
    code = cli.main(["benchmark", "--losses", "ns", "--data", "ring8", "--seeds", "1", "--steps", "2",
                     "--hidden", "8", "--out", str(tmp_path)])
    assert code == 0 and "[1/1] ns on ring8, seed 0" in capsys.readouterr().out
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved["settings"]["steps"] == 2 and saved["settings"]["hidden"] == 8
    assert saved["command"] == ("gan-tutorial benchmark --losses ns --data ring8 --seeds 1 --steps 2 --hidden 8 --out "
                                + str(tmp_path))  # the command that re-creates the folder
    assert cli.main(["benchmark", "--losses", "nope", "--out", str(tmp_path)]) == 2


# ----------------------------------------------------------------------------- exercises
def test_chapter6_exercises_accept_the_reference_and_reject_a_wrong_answer():
    assert exercises.check("normalised_spectrum", lambda W: torch.linalg.svdvals(W) / torch.linalg.svdvals(W)[0],
                           verbose=False) == 5
    def static_by_hand(W, top):  # numpy's SVD: the top singular values lifted to sigma_1, then / sigma_1
        u, s, vh = np.linalg.svd(W.double().numpy(), full_matrices=False)
        lifted = s.copy()
        lifted[:top] = s[0]
        return torch.from_numpy((u * (lifted / s[0])) @ vh).to(W.dtype)

    assert exercises.check("static_compensation", static_by_hand, verbose=False) == 5
    with pytest.raises(exercises.ExerciseFailed):
        exercises.check("static_compensation", lambda W, top: W / torch.linalg.svdvals(W)[0], verbose=False)
    with pytest.raises(exercises.ExerciseFailed):
        exercises.check("mode_coverage", lambda x, c, std: (len(c), 1.0), verbose=False)


@pytest.mark.parametrize("folder", ["results/toy", "results/toy_long", "results/toy_wide", "results/toy_large_batch"])
def test_committed_league_table_is_complete_and_reproduced_from_its_runs(tmp_path, folder):
    # a clean checkout has runs.jsonl and samples.npz: the runner must find every run done and
    # write the same table.md that is committed
    import shutil

    src = Path(__file__).resolve().parents[1] / "benchmarks" / folder
    if not (src / "runs.jsonl").exists():
        pytest.skip(f"benchmarks/{folder} not committed")
    for name in ("runs.jsonl", "samples.npz", "settings.json"):
        shutil.copy(src / name, tmp_path / name)
    setting_dict = json.loads((src / "settings.json").read_text())["settings"]
    setting = benchmark.Setting(**{**setting_dict, "betas": tuple(setting_dict["betas"])})
    records = [json.loads(line) for line in (src / "runs.jsonl").read_text().splitlines()]
    names = list(dict.fromkeys(r["method"] for r in records))
    ms = benchmark.methods() if folder == "results/toy" else benchmark.methods(names)
    assert {m.name for m in ms} == set(names)  # every method of the runner is in the table
    lines = []
    benchmark.run_benchmark(ms, list(benchmark.DATASETS), range(5), setting, tmp_path, log=lines.append)
    assert f"{len(ms) * 10} runs already done, 0 to run" in lines[0]
    assert (tmp_path / "table.md").read_text() == (src / "table.md").read_text()


# ----------------------------------------------------------------------------- rejection sampling
def test_rejection_sampling_derivations():
    from gan_tutorial.theory import rejection

    g = rejection.gaussian_case()
    w = sp.symbols("w", positive=True)
    assert g["critical points"] == [0]
    assert sp.simplify(g["M"] - w) == 0  # the ratio peaks at x = 0, where it is w
    assert sp.simplify(g["second derivative there"] - (1 - w**2) / w) == 0  # < 0 for w > 1: a maximum
    assert sp.simplify(g["acceptance"] * g["M"] - 1) == 0  # a fraction 1 / M is kept
    assert g["kept - p_data"] == 0
    d = rejection.capped_discrete_case()
    p_data, p_g = np.array([0.5, 0.5, 0.0]), np.array([0.7, 0.2, 0.1])
    ratio = p_data / p_g
    assert [float(v) for v in d["ratios"]] == pytest.approx(ratio)
    assert [float(v) for v in d["kept at M = max ratio"]] == pytest.approx(p_data)
    assert float(d["acceptance at M = max ratio"]) == pytest.approx(1 / ratio.max())
    capped = p_g * np.minimum(1, ratio)  # M = 1, computed here with numpy
    assert [float(v) for v in d["kept at M = 1"]] == pytest.approx(capped / capped.sum())
    assert float(d["acceptance at M = 1"]) == pytest.approx(capped.sum())
    tv = lambda p: 0.5 * np.abs(p - p_data).sum()  # noqa: E731
    assert float(d["TV(p_g, p_data)"]) == pytest.approx(tv(p_g))
    assert float(d["TV(kept at M = 1, p_data)"]) == pytest.approx(tv(capped / capped.sum()))
    assert d["TV(kept at M = max ratio, p_data)"] == 0


def test_sweep_caps_matches_the_kept_law_of_the_proposition():
    from gan_tutorial.theory import rejection

    rows = rejection.sweep_caps(quantiles=(0.5, 0.9, 1.0), n=20_000)
    for row in rows:  # measured fraction kept against Z = int min(p_g, p_data / M), 3 binomial sd
        n_draws = 20_000 / row["kept fraction"]
        sd = (row["predicted fraction"] * (1 - row["predicted fraction"]) / n_draws) ** 0.5
        assert abs(row["kept fraction"] - row["predicted fraction"]) < 3 * sd + 1e-3
    assert rows[0]["TV(kept, p_data)"] > rows[1]["TV(kept, p_data)"] > rows[2]["TV(kept, p_data)"]
    assert rows[2]["M"] == pytest.approx(3.5, rel=1e-3)  # max ratio: (0.5 / 0.5) / (0.2 / 0.7) at x = 2
    assert rows[2]["TV(kept, p_data)"] < 1e-3 and abs(rows[2]["right share"] - 0.5) < 0.02


class _ExactLogRatio(nn.Module):
    """log N(x; 0, 1) - log N(x; 0, s^2) for 1-D x: the optimal D's logit for G = s z."""

    def __init__(self, s: float, vector: bool = False):
        super().__init__()
        self.s, self.vector = s, vector

    def forward(self, x):
        x = x[:, 0]
        out = math.log(self.s) - 0.5 * x**2 * (1 - 1 / self.s**2)
        return out[:, None].expand(-1, 3) if self.vector else out


@pytest.mark.parametrize("vector", [False, True])
def test_rejection_sample_turns_a_wide_gaussian_into_the_data(vector):
    from gan_tutorial.train import rejection_sample

    s, n = 2.0, 20_000
    G = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        G.weight.fill_(s)  # G(z) = s z ~ N(0, s^2)
    D = _ExactLogRatio(s, vector)
    G.train()
    x, info = rejection_sample(G, D, n, 1, quantile=1.0, generator=torch.Generator().manual_seed(0))
    assert x.shape == (n, 1) and G.training  # train mode restored
    # the cap is the largest ratio among the calibration draws: s, up to the draw nearest 0
    assert info["log_M"] == pytest.approx(math.log(s), abs=1e-4)
    se_acc = math.sqrt(0.25 / info["draws"])
    assert info["acceptance"] == pytest.approx(1 / s, abs=5 * se_acc)
    # kept draws follow N(0, 1): variance 1 (standard error sqrt(2 / n)), mean 0
    assert x.var().item() == pytest.approx(1.0, abs=5 * math.sqrt(2 / n))
    assert x.mean().item() == pytest.approx(0.0, abs=5 / math.sqrt(n))
    # without rejection (every draw kept) the variance is s^2
    raw, raw_info = rejection_sample(G, _ExactLogRatio(1.0, vector), n, 1, quantile=1.0,
                                     generator=torch.Generator().manual_seed(0))
    assert raw_info["acceptance"] == 1.0
    assert raw.var().item() == pytest.approx(s**2, abs=5 * s**2 * math.sqrt(2 / n))


def test_rejection_sample_errors():
    from gan_tutorial.errors import ConfigError, ShapeError
    from gan_tutorial.train import rejection_sample

    G = nn.Linear(2, 2)
    with pytest.raises(ConfigError, match="quantile"):
        rejection_sample(G, MLPDiscriminator(2, 8), 10, 2, quantile=0.0)
    with pytest.raises(ConfigError, match="n must be a positive"):
        rejection_sample(G, MLPDiscriminator(2, 8), 0, 2)
    class Cube(nn.Module):
        def forward(self, x):
            return x[:, :, None]

    with pytest.raises(ShapeError, match=r"\(B,\) or \(B, k\)"):
        rejection_sample(G, Cube(), 10, 2)

    class Spiky(nn.Module):  # one calibration draw in 10,000 scores 50 higher than the rest
        def forward(self, x):
            return 50.0 * (x[:, 0] > x[:, 0].quantile(0.9999)).float()

    with pytest.raises(ConfigError, match="kept .* of 2000 draws.*Lower quantile"):
        rejection_sample(nn.Identity(), Spiky(), 100, 2, quantile=1.0, batch=1000, max_draws=2000,
                         calibration=10_000)


def test_every_sampler_method_has_a_registered_base_that_trains_the_same_way():
    samplers = [m for m in benchmark.METHODS if m.drs]
    assert {m.name for m in samplers} == {"ns+drs", "ogan_ns+drs", "ogan_ns+noise+drs"}
    for m in samplers:
        (base,) = benchmark.methods([m.base])
        assert not base.drs and base.name == m.name.removesuffix("+drs")
        same = ("loss", "d_transform", "pack", "veegan", "instance_noise")
        assert [getattr(base, f) for f in same] == [getattr(m, f) for f in same], m.name
    assert benchmark.EXTRA_METHODS["ogan_ns+noise"].instance_noise == benchmark.INSTANCE_NOISE > 0


# ----------------------------------------------------------------------------- instance noise
def test_instance_noise_derivations_against_numbers():
    from gan_tutorial.theory import noise

    r = noise.pull_towards_missing_mode()
    assert r["pull - closed form"] == 0 and r["limit v -> 0"] == 0
    a_sym, v_sym = sorted(r["pull"].free_symbols, key=lambda s: s.name)
    for a, v in ((2.0, 0.2525), (1.0, 0.1), (3.0, 2.0)):  # the gradient by autograd, as a check
        x = torch.zeros((), dtype=torch.float64, requires_grad=True)
        n0 = torch.exp(-x**2 / (2 * v))
        na = torch.exp(-(x - a) ** 2 / (2 * v))
        torch.log((n0 + na) / 2 / n0).backward()
        assert math.isclose(x.grad.item(), float(r["pull"].subs({a_sym: a, v_sym: v})), rel_tol=1e-12)
    gain = float(r["log10 gain"])
    assert math.isclose(gain, math.log10(float(r["pull with sigma 0.5"])) - (math.log10(800) - 800 / math.log(10)),
                        rel_tol=1e-6)
    b = noise.blurring_keeps_the_solution()
    phi = b["characteristic function"]
    assert b["positive for all t"]
    s_sym = next(s for s in phi.free_symbols if s.name == "sigma")
    t_sym = next(s for s in phi.free_symbols if s.name == "t")
    z = torch.randn(400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.7
    for tv in (0.5, 1.0, 3.0):  # E cos(t X) for X ~ N(0, 0.7^2), against the formula
        assert abs(torch.cos(tv * z).mean().item() - float(phi.subs({s_sym: 0.7, t_sym: tv}))) < 5e-3


def test_training_a_few_rows_keeps_the_others_in_the_tables(tmp_path):
    s = benchmark.Setting(steps=3, batch_size=16, n_train=500, n_scored=50, hidden=8, depth=1)
    ms = benchmark.methods(["ns", "minimax"])
    benchmark.run_benchmark(ms, ["ring8"], range(1), s, tmp_path, log=lambda _: None)
    lines = []
    records = benchmark.run_benchmark(ms, ["ring8"], range(2), s, tmp_path, log=lines.append, only=["ns"])
    assert "1 methods" in lines[0] and "2 runs already done, 1 to run" in lines[0]  # only ns seed 1 trains
    assert sorted((r["method"], r["seed"]) for r in records) == [("minimax", 0), ("ns", 0), ("ns", 1)]
    assert sorted(np.load(tmp_path / "samples.npz").files) == ["ring8/minimax/0", "ring8/ns/0", "ring8/ns/1"]
    assert "| minimax |" in (tmp_path / "table.md").read_text()
    # a row trained on one data set only: the tables keep the other data set's runs and columns
    records = benchmark.run_benchmark(ms, ["grid25"], range(1), s, tmp_path, log=lines.append, only=["minimax"])
    assert "3 runs already done, 1 to run" in lines[-2]
    assert sorted(r["data"] for r in records) == ["grid25", "ring8", "ring8", "ring8"]
    assert len(np.load(tmp_path / "samples.npz").files) == 4
    table = (tmp_path / "table.md").read_text()
    assert table.index("ring8 modes") < table.index("grid25 modes")
    assert (tmp_path / "samples_ring8.png").exists() and (tmp_path / "samples_grid25.png").exists()
    with pytest.raises(ConfigError, match="unknown method.*'nope'"):
        benchmark.run_benchmark(ms, ["ring8"], range(1), s, tmp_path, only=["nope"])
    with pytest.raises(ConfigError, match="unknown method.*'nope'.*hinge\\+sn"):  # before any file is written
        benchmark.main(["--paper", "--losses", "nope", "--out", str(tmp_path / "paper")])
    assert not (tmp_path / "paper").exists()
