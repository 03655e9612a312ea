import dataclasses
import math
import os
import signal
import struct
import zipfile

import pytest
import torch

from gan_tutorial import data, losses, models, train
from gan_tutorial.errors import CheckpointError, ConfigError, DataError, ShapeError

X = data.toy("ring8", 512, seed=0)


def _models(seed=0, latent=4):
    torch.manual_seed(seed)
    return models.MLPGenerator(latent, 2, hidden=16, depth=2), models.MLPDiscriminator(2, hidden=16, depth=2)


def _config(**kw):
    base = dict(steps=12, batch_size=16, log_every=4, progress=False, lr_d=1e-3, lr_g=1e-3)
    return train.TrainConfig(**{**base, **kw})


def test_fit_runs_and_records_history():
    G, D = _models()
    before = [p.clone() for p in G.parameters()]
    h = train.fit(G, D, X, _config(n_critic=2, sample_every=6, n_samples=10))
    assert h.step == [4, 8, 12]
    assert len(h.d_loss) == len(h.g_loss) == 3
    assert all(torch.isfinite(torch.tensor(h.d_loss + h.g_loss)))
    assert [s for s, _ in h.snapshots] == [6, 12] and h.snapshots[0][1].shape == (10, 2)
    assert all(not torch.equal(a, b) for a, b in zip(before, G.parameters()))


def test_fit_is_deterministic_for_a_seed():
    runs = []
    for _ in range(2):
        G, D = _models()
        train.fit(G, D, X, _config())
        runs.append(torch.cat([p.flatten() for p in G.parameters()]))
    assert torch.equal(runs[0], runs[1])


def test_d_step_detaches_the_fake_batch():
    G, D = _models()
    opt = torch.optim.Adam(D.parameters())
    from gan_tutorial.losses import get_loss

    train.d_step(G, D, opt, get_loss("ns"), X[:8], torch.randn(8, 4), 0.0)
    assert all(p.grad is None for p in G.parameters())
    assert all(p.grad is not None for p in D.parameters())


def test_callbacks_see_each_logging_step():
    seen = []
    G, D = _models()
    train.fit(G, D, X, _config(), callbacks=[lambda s: seen.append((s.step, s.history.step[-1]))])
    assert seen == [(4, 4), (8, 8), (12, 12)]


def _weights(*mods):
    return torch.cat([p.detach().flatten() for m in mods for p in m.state_dict().values()
                      if p.is_floating_point()])


def test_resume_reproduces_an_uninterrupted_run(tmp_path):
    G1, D1 = _models()
    h1 = train.fit(G1, D1, X, _config(steps=12))
    G2, D2 = _models()
    train.fit(G2, D2, X, _config(steps=8, out=str(tmp_path)))
    G3, D3 = _models(seed=123)  # different init: everything must come from the checkpoint
    h3 = train.fit(G3, D3, X, _config(steps=12, resume=str(tmp_path)))
    assert torch.equal(_weights(G1, D1), _weights(G3, D3))
    assert h3.step == h1.step and h3.d_loss[-1] == h1.d_loss[-1]


def test_checkpoints_are_kept_and_rotated(tmp_path):
    G, D = _models()
    train.fit(G, D, X, _config(steps=12, checkpoint_every=3, keep_checkpoints=2, out=str(tmp_path)))
    assert [p.name for p in train.checkpoint_files(tmp_path)] == ["step_00000009.pt", "step_00000012.pt"]
    assert not list(tmp_path.glob(".*tmp*"))
    state = train.load_checkpoint(tmp_path / "step_00000012.pt")
    assert state["step"] == 12 and set(state) >= {"G", "D", "opt_g", "opt_d", "torch_rng"}


def test_ctrl_c_finishes_the_step_writes_a_checkpoint_and_resumes_exactly(tmp_path):
    def interrupt(state):
        if state.step == 4:
            os.kill(os.getpid(), signal.SIGINT)

    G, D = _models()
    with pytest.raises(KeyboardInterrupt, match="after step 4"):
        train.fit(G, D, X, _config(log_every=2, out=str(tmp_path)), callbacks=[interrupt])
    assert [p.name for p in train.checkpoint_files(tmp_path)] == ["step_00000004.pt"]
    G2, D2 = _models(seed=5)
    train.fit(G2, D2, X, _config(log_every=2, resume=str(tmp_path)))
    G1, D1 = _models()
    train.fit(G1, D1, X, _config(log_every=2))
    assert torch.equal(_weights(G1, D1), _weights(G2, D2))


def test_damaged_and_pickled_checkpoints_are_refused(tmp_path):
    G, D = _models()
    train.fit(G, D, X, _config(steps=4, out=str(tmp_path)))
    good = train.checkpoint_files(tmp_path)[-1]
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(good.read_bytes()[:200])
    with pytest.raises(CheckpointError, match="truncated"):
        train.load_checkpoint(bad)

    # flip one byte inside the largest tensor's storage (a bit flip on disk or in a copy)
    with zipfile.ZipFile(good) as archive:
        info = max(archive.infolist(), key=lambda i: i.file_size)
    raw = bytearray(good.read_bytes())
    name_len, extra_len = struct.unpack("<HH", raw[info.header_offset + 26:info.header_offset + 30])
    raw[info.header_offset + 30 + name_len + extra_len + info.file_size // 2] ^= 0xFF
    flipped = tmp_path / "flipped.pt"
    flipped.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="corrupted"):
        train.load_checkpoint(flipped)

    class Payload:
        def __reduce__(self):
            return (print, ("this ran while loading",))

    evil = tmp_path / "evil.pt"
    torch.save({"step": 1, "x": Payload()}, evil)
    with pytest.raises(CheckpointError, match="pickled code"):
        train.load_checkpoint(evil)
    with pytest.raises(CheckpointError, match="does not exist"):
        train.load_checkpoint(tmp_path / "nope.pt")


def test_atomic_save_leaves_the_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "c.pt"
    train.save_checkpoint(path, {"step": 1})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        train.save_checkpoint(path, {"step": 2})
    assert train.load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


@pytest.mark.parametrize("field,value,match", [
    ("steps", 0, "steps must be a positive integer"),
    ("batch_size", -1, "batch_size"),
    ("lr_d", 0.0, "lr_d must be a positive number"),
    ("n_critic", 0, "n_critic"),
    ("loss", "wgan-gpp", "unknown loss"),
    ("lr_decay", "exponential", "lr_decay must be one of 'constant', 'linear', 'cosine'"),
    ("ema", 1.0, "ema must be a decay in"),
    ("ema_start", -1, "ema_start must be an integer >= 0"),
    ("instance_noise", -0.1, "instance_noise must be a std >= 0"),
    ("noise_until", 0.0, "noise_until must be a fraction of the run"),
])
def test_bad_config_values_are_named(field, value, match):
    with pytest.raises(ConfigError, match=match):
        _config(**{field: value}).validate()


def test_models_that_do_not_fit_the_data_are_named():
    G, D = _models()
    with pytest.raises(ShapeError, match=r"G makes samples of shape \(2,\)"):
        train.fit(G, D, torch.randn(64, 3), _config())
    G, _ = _models()
    vector_D = models.MLPDiscriminator(2, hidden=8, out_dim=3)
    with pytest.raises(ShapeError, match="one score per sample"):
        train.fit(G, vector_D, X, _config())
    with pytest.raises(DataError, match="NaN"):
        train.fit(*_models(), torch.full((8, 2), float("nan")), _config())


def test_unavailable_device_is_named():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        train.resolve_device("cuda")
    assert train.resolve_device("auto").type in ("cpu", "mps")


def test_g_step_freezes_d_only_during_its_backward_and_gives_the_same_update():
    from gan_tutorial.losses import get_loss

    G1, D1 = _models()
    G2, D2 = _models()
    z, x = torch.randn(8, 4), X[:8]
    train.g_step(G1, D1, torch.optim.SGD(G1.parameters(), lr=0.1), get_loss("ns"), z, x)
    # the textbook way: nothing frozen
    opt = torch.optim.SGD(G2.parameters(), lr=0.1)
    get_loss("ns").g_loss(D2(G2(z))).backward()
    opt.step()
    for a, b in zip(G1.parameters(), G2.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert all(p.requires_grad and p.grad is None for p in D1.parameters())


# ----------------------------------------------------------------------------- schedules, EMA
def test_lr_factor_schedules():
    assert [train.lr_factor("linear", s, 4) for s in (1, 2, 3, 4)] == [1.0, 0.75, 0.5, 0.25]
    assert train.lr_factor("cosine", 1, 10) == 1.0
    assert train.lr_factor("cosine", 6, 10) == pytest.approx(0.5)  # half the run done
    assert train.lr_factor("cosine", 10, 10) == pytest.approx(0.5 * (1 + math.cos(0.9 * math.pi)))
    assert train.lr_factor("constant", 7, 10) == 1.0


@pytest.mark.parametrize("schedule", ["constant", "linear", "cosine"])
def test_fit_follows_the_lr_schedule(tmp_path, schedule):
    G, D = _models()
    train.fit(G, D, X, _config(steps=12, lr_d=2e-3, lr_g=1e-3, lr_decay=schedule, out=str(tmp_path)))
    state = train.load_checkpoint(tmp_path / "step_00000012.pt")
    f = train.lr_factor(schedule, 12, 12)  # the rate of the last step taken
    assert state["opt_d"]["param_groups"][0]["lr"] == pytest.approx(2e-3 * f, rel=1e-12)
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * f, rel=1e-12)


def test_ema_update_averages_weights_and_copies_buffers():
    a, b = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        a.weight.fill_(1.0), b.weight.fill_(3.0)
    b(torch.randn(8, 3))  # b's running statistics move
    train.ema_update(a, b, 0.25)
    assert torch.equal(a.weight, torch.full((3,), 2.5))  # 0.25 * 1 + 0.75 * 3
    assert torch.equal(a.running_mean, b.running_mean) and a.num_batches_tracked == 1
    train.ema_update(a, b, 0.0)
    assert torch.equal(a.weight, b.weight)


def test_fit_keeps_the_moving_average_of_g(tmp_path):
    # decay 0.5 from step 0: G_ema = 0.25 G_0 + 0.25 G_1 + 0.5 G_2, G_k the weights after step k
    G, D = _models()
    g0 = _weights(G)
    h = train.fit(G, D, X, _config(steps=2, ema=0.5, checkpoint_every=1, keep_checkpoints=2,
                                   out=str(tmp_path), n_samples=5))
    g1 = torch.cat([v.flatten() for v in train.load_checkpoint(tmp_path / "step_00000001.pt")["G"].values()])
    expected = 0.25 * g0 + 0.25 * g1 + 0.5 * _weights(G)
    torch.testing.assert_close(_weights(h.G_ema), expected, rtol=0, atol=1e-7)
    torch.testing.assert_close(h.snapshots[-1][1], train.sample(h.G_ema, _z_fixed(5)), rtol=0, atol=0)
    assert all(not p.requires_grad for p in h.G_ema.parameters())
    # before ema_start the average is a copy of G; no average at all by default
    G, D = _models()
    h = train.fit(G, D, X, _config(steps=4, ema=0.9, ema_start=4))
    assert torch.equal(_weights(h.G_ema), _weights(G))
    assert train.fit(*_models(), X, _config(steps=2)).G_ema is None


def _z_fixed(n, latent=4, seed=0):
    return torch.randn(n, latent, generator=torch.Generator().manual_seed(seed + 2))


def test_resume_with_ema_and_decay_reproduces_an_uninterrupted_run(tmp_path):
    kw = dict(steps=12, ema=0.8, ema_start=3, lr_decay="cosine")
    G1, D1 = _models()
    h1 = train.fit(G1, D1, X, _config(**kw))
    G2, D2 = _models()
    train.fit(G2, D2, X, _config(**{**kw, "steps": 12}, out=str(tmp_path), checkpoint_every=5))
    # resume from step 10 (the checkpoint of step 12 removed): schedule and average continue
    (tmp_path / "step_00000012.pt").unlink()
    G3, D3 = _models(seed=9)
    h3 = train.fit(G3, D3, X, _config(**kw, resume=str(tmp_path)))
    assert torch.equal(_weights(G1, D1), _weights(G3, D3))
    assert torch.equal(_weights(h1.G_ema), _weights(h3.G_ema))


def test_instance_noise_schedule_and_what_d_sees():
    config = _config(steps=100, instance_noise=0.5, noise_until=0.4)
    assert [train.noise_std(config, s) for s in (0, 20, 40, 41, 100)] == [0.5, 0.25, 0.0, 0.0, 0.0]
    assert train.noise_std(_config(steps=100), 0) == 0.0

    class Recorder(torch.nn.Module):  # a D that remembers its inputs
        def __init__(self):
            super().__init__()
            self.lin, self.seen = torch.nn.Linear(2, 1), []

        def forward(self, x):
            self.seen.append(x.detach().clone())
            return self.lin(x).squeeze(1)

    G, D = models.MLPGenerator(2, 2, hidden=8), Recorder()
    ns = losses.get_loss("ns")
    x_real, z = torch.zeros(20_000, 2), torch.randn(20_000, 2)
    opt_d, opt_g = torch.optim.SGD(D.parameters(), lr=0.0), torch.optim.SGD(G.parameters(), lr=0.0)
    train.d_step(G, D, opt_d, ns, x_real, z, 0.0, noise=0.3)
    real_seen, fake_seen = D.seen
    assert abs(real_seen.std().item() - 0.3) < 0.01  # the real batch is all zeros: what D sees is the noise
    with torch.no_grad():
        clean_fake = G(z)
    assert abs((fake_seen - clean_fake).std().item() - 0.3) < 0.01
    D.seen.clear()
    train.g_step(G, D, opt_g, ns, z, x_real, noise=0.3)
    assert abs((D.seen[0] - clean_fake).std().item() - 0.3) < 0.01
    D.seen.clear()
    train.d_step(G, D, opt_d, ns, x_real, z, 0.0)  # no noise: D sees the batches as they are
    assert torch.equal(D.seen[0], x_real) and torch.equal(D.seen[1], clean_fake)


def test_instance_noise_changes_training_only_while_it_is_on():
    x = data.toy("ring8", 512, seed=0)

    def run(**kw):
        G, D = _models()
        train.fit(G, D, x, _config(steps=6, **kw))
        return torch.cat([p.flatten() for p in G.parameters()])

    torch.manual_seed(0)
    plain = run()
    torch.manual_seed(0)
    assert torch.equal(run(instance_noise=0.0, noise_until=0.3), plain)
    torch.manual_seed(0)
    assert not torch.allclose(run(instance_noise=0.5), plain)


def test_frozen_d_needs_no_weight_gradient_inside_and_gets_its_flags_back():
    D = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 1))
    D[1].weight.requires_grad_(False)  # a weight frozen by the user stays frozen afterwards
    x = torch.randn(5, 3, requires_grad=True)
    with train.frozen(D):
        assert not any(p.requires_grad for p in D.parameters())
        D(x).sum().backward()
    assert x.grad is not None and all(p.grad is None for p in D.parameters())  # the input's gradient only
    assert [p.requires_grad for p in D.parameters()] == [True, True, False, True]
    try:
        with train.frozen(D):
            raise RuntimeError("a failing step")
    except RuntimeError:
        pass
    assert [p.requires_grad for p in D.parameters()] == [True, True, False, True]


def test_a_method_s_own_loss_series_is_recorded_by_name():
    from gan_tutorial import loop

    h = loop.History()
    h.append("d_loss", 1.0)
    h.append("recon", 0.5)
    assert h.d_loss == [1.0] and h.recon == [0.5] and h.series() == ["d_loss", "g_loss", "penalty", "recon"]
    again = loop.History()
    again.load_dict(h.as_dict())
    assert again.recon == [0.5] and again.as_dict() == h.as_dict()
    with pytest.raises(AttributeError, match="no series 'kl'"):
        _ = h.kl
    old = loop.History()
    old.load_dict({"step": [5], "d_loss": [1.0], "g_loss": [2.0], "penalty": [], "recon": [0.3]})  # older checkpoints
    assert old.recon == [0.3]


def test_a_checkpointed_config_resumes_from_its_folder_once_it_holds_a_checkpoint(tmp_path):
    config = train.TrainConfig(loss="ns", steps=4, batch_size=16, progress=False, log_every=1)
    first = config.checkpointed(tmp_path / "work", every=2)
    assert (first.out, first.checkpoint_every, first.resume) == (str(tmp_path / "work"), 2, None)
    G, D = models.default_models((2,))
    before = train.fit(G, D, data.toy("ring8", 256, seed=0), first)
    again = dataclasses.replace(config, steps=6).checkpointed(tmp_path / "work", every=2)
    assert again.resume == str(tmp_path / "work")
    history = train.fit(*models.default_models((2,)), data.toy("ring8", 256, seed=0), again)
    assert history.step == [1, 2, 3, 4, 5, 6] and history.d_loss[:4] == before.d_loss  # continued, not restarted
