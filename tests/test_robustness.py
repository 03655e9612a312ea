"""Bad input gets a one-line error naming the fix; divergence and damage lose nothing."""

import pytest
import torch

from gan_tutorial import cli, data, models, train
from gan_tutorial.errors import ConfigError, DataError, GanTutorialError, ShapeError

X = data.toy("ring8", 256, seed=0)


def _models(seed=0):
    torch.manual_seed(seed)
    return models.MLPGenerator(4, 2, hidden=16, depth=2), models.MLPDiscriminator(2, hidden=16, depth=2)


def _config(**kw):
    return train.TrainConfig(**{**dict(steps=12, batch_size=16, log_every=4, progress=False), **kw})


class NaNAfter(torch.nn.Module):
    """Wrap D so that its output is NaN on forward calls number first..last (1-based)."""

    def __init__(self, D, first, last=10**9):
        super().__init__()
        self.D, self.first, self.last, self.calls = D, first, last, 0

    def forward(self, x):
        self.calls += 1
        out = self.D(x)
        return out * float("nan") if self.first <= self.calls <= self.last else out


def test_images_in_the_wrong_layout_or_range_are_named():
    G = models.DCGANGenerator(8, 1, 28, width=8)
    D = models.DCGANDiscriminator(1, 28, width=8)
    with pytest.raises(ShapeError, match=r"\(N, H, W, C\): use x.permute\(0, 3, 1, 2\)"):
        train.fit(G, D, torch.zeros(8, 28, 28, 1), _config())
    with pytest.raises(DataError, match=r"scaled to \[-1, 1\].*got values in \[0, 255\]"):
        train.fit(G, D, torch.full((8, 1, 28, 28), 255.0).index_fill(0, torch.tensor([0]), 0), _config())
    with pytest.raises(DataError, match="floating point"):
        train.fit(G, D, torch.zeros(8, 1, 28, 28, dtype=torch.uint8), _config())


def test_an_unwritable_output_folder_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigError, match="cannot be written"):
        train.fit(*_models(), X, _config(out=str(blocker / "run")))


def test_latent_size_that_does_not_match_G():
    G, D = _models()
    G.latent_dim = 7  # G's first layer takes 4
    with pytest.raises(ShapeError, match=r"G failed on z of shape \(2, 7\)"):
        train.fit(G, D, X, _config())


def test_divergence_stops_with_the_step_and_the_last_finite_losses(tmp_path):
    G, D = _models()
    # one call checks the shapes, then 3 calls per step (2 in the D step, 1 in the G step):
    # calls 14-16 are step 5
    with pytest.raises(train.TrainingDiverged, match=r"by step 8 \(last finite losses: d_loss=.* at step 4\)"):
        train.fit(G, NaNAfter(D, 14), X, _config(out=str(tmp_path), checkpoint_every=4))
    # the last good checkpoint is kept and readable
    assert [p.name for p in train.checkpoint_files(tmp_path)] == ["step_00000004.pt"]
    assert train.load_checkpoint(tmp_path / "step_00000004.pt")["step"] == 4


def test_divergence_rollback_lowers_the_learning_rate_and_finishes():
    G, D = _models()
    seen = []
    lrs = lambda s: seen.append((s.step, s.opt_d.param_groups[0]["lr"], s.opt_g.param_groups[0]["lr"]))  # noqa: E731
    h = train.fit(G, NaNAfter(D, 14, 16), X, _config(on_divergence="rollback"), callbacks=[lrs])
    assert h.events == ["loss not finite by step 8: rolled back to step 4, learning rates x0.5"]
    # steps 5-8 are made again, with both learning rates halved from then on
    assert seen == [(4, 2e-4, 2e-4), (8, 1e-4, 1e-4), (12, 1e-4, 1e-4)]
    assert h.step == [4, 8, 12]
    assert all(torch.isfinite(torch.tensor(h.d_loss)))


def test_resume_falls_back_when_the_newest_checkpoint_is_damaged(tmp_path):
    G, D = _models()
    train.fit(G, D, X, _config(steps=8, checkpoint_every=4, out=str(tmp_path)))
    newest = train.checkpoint_files(tmp_path)[-1]
    newest.write_bytes(newest.read_bytes()[:100])  # a partial copy
    G2, D2 = _models(seed=9)
    with pytest.warns(UserWarning, match="Falling back to the previous checkpoint"):
        train.fit(G2, D2, X, _config(resume=str(tmp_path)))
    G1, D1 = _models()
    train.fit(G1, D1, X, _config())
    for a, b in zip(list(G1.parameters()) + list(D1.parameters()), list(G2.parameters()) + list(D2.parameters())):
        assert torch.equal(a, b)


def test_errors_are_value_or_type_errors_of_the_package():
    for cls in (ConfigError, DataError, ShapeError, train.TrainingDiverged):
        assert issubclass(cls, GanTutorialError)
    assert issubclass(ConfigError, ValueError) and issubclass(ShapeError, ValueError)


def test_cli_errors_are_one_line(tmp_path, capsys):
    def _cli(*args):
        code = cli.main(["train", "--no-progress", *args])
        return code, capsys.readouterr().err.strip().splitlines()

    blocker = tmp_path / "file"
    blocker.write_text("x")
    cases = [
        (["--data", "mnist", "--root", str(tmp_path), "--out", str(tmp_path / "a")], "use 'mnist5k'"),
        (["--device", "cuda", "--out", str(tmp_path / "b")], "no CUDA GPU"),
        (["--out", str(blocker / "run")], "cannot be written"),
        (["--n-critic", "0", "--out", str(tmp_path / "c")], "n_critic must be a positive integer"),
        (["--batch-size", "0", "--out", str(tmp_path / "d")], "batch_size must be a positive integer"),
        (["--resume", str(blocker), "--out", str(tmp_path / "e")], "is truncated or corrupted"),
    ]
    if torch.cuda.is_available():
        cases.pop(1)
    for args, message in cases:
        code, lines = _cli(*args)
        assert code == 2 and len(lines) == 1 and message in lines[0], (args, lines)
