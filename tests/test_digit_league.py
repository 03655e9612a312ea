"""The digit league: one protocol, uint8 samples that re-score to the table, resumable."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

from gan_tutorial import digit_league, metrics
from gan_tutorial.errors import ConfigError


def test_uint8_round_trip_is_within_half_a_grey_level():
    x = torch.rand(5, 1, 28, 28) * 2 - 1
    u = digit_league.to_uint8(x)
    assert u.dtype == np.uint8 and u.shape == (5, 28, 28)
    assert (digit_league.from_uint8(u) - x).abs().max() <= 0.5 / 127.5 + 1e-6
    assert digit_league.to_uint8(torch.tensor([-1.0, 1.0]).reshape(1, 1, 1, 2)).tolist() == [[[0, 255]]]


def test_unknown_rows_are_named():
    with pytest.raises(ConfigError, match="sphere_r9"):
        digit_league.digit_methods(["ns", "sphere_r9"])
    assert [m.steps for m in digit_league.digit_methods(["ns", "wgan"], steps=7)] == [7, 7]


def test_every_row_builds_the_models_its_loss_needs():
    for m in digit_league.METHODS:
        G, D = digit_league.build_models(m)
        out = D(G(torch.randn(2, digit_league.LATENT_DIM)))
        assert out.shape[0] == 2, m.name


def test_a_tiny_league_writes_tables_that_rescore_from_the_saved_images(tmp_path):
    rows = digit_league.digit_methods(["ns", "wgan_gp"], steps=3)
    records = digit_league.run_digit_league(rows, range(1), tmp_path, log=lambda s: None)
    assert sorted(r["method"] for r in records) == ["ns", "wgan_gp"]
    saved = np.load(tmp_path / "samples.npz")
    classifier, _ = metrics.digit_classifier()
    with open(tmp_path / "runs.csv") as fh:
        table = list(csv.DictReader(fh))
    for row in table:
        images = saved[f"{row['method']}/{row['seed']}"]
        assert images.dtype == np.uint8 and images.shape == (1000, 28, 28)
        again = metrics.digit_protocol(torch.from_numpy(images.astype(np.float32))[:, None] / 127.5 - 1, classifier)
        assert float(row["fd"]) == pytest.approx(again["distance"], abs=1e-3)
        assert float(row["floor"]) == pytest.approx(again["floor"], abs=1e-3)
    with open(tmp_path / "summary.csv") as fh:
        summary = {r["method"]: r for r in csv.DictReader(fh)}
    assert float(summary["ns"]["ratio"]) == pytest.approx(float(summary["ns"]["fd"]) / float(summary["ns"]["floor"]),
                                                          rel=1e-3)
    assert (tmp_path / "samples_ns.png").exists() and "held-out" in (tmp_path / "table.md").read_text()
    again = digit_league.run_digit_league(rows, range(1), tmp_path, log=lambda s: None)
    assert sorted(r["wall_time_s"] for r in again) == sorted(r["wall_time_s"] for r in records)  # resumed
    shutil.rmtree(tmp_path / "runs")  # a fresh clone: runs/ is git-ignored, samples.npz is committed
    again = digit_league.run_digit_league(rows, range(1), tmp_path, log=lambda s: None)
    assert sorted(r["wall_time_s"] for r in again) == sorted(r["wall_time_s"] for r in records)


def test_the_command_line_runs_the_league(tmp_path):
    out = subprocess.run([sys.executable, "-m", "gan_tutorial.cli", "benchmark", "--digits", "--losses", "ns",
                          "--seeds", "1", "--steps", "2", "--out", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "ns seed 0: distance" in out.stdout and (tmp_path / "runs.csv").exists()


def test_a_league_off_the_cpu_refuses_forked_jobs():
    # "meta" stands in for a GPU: any device but the CPU cannot be shared by forked processes
    with pytest.raises(ConfigError, match="use --jobs 1"):
        digit_league.main(["--device", "meta", "--jobs", "2", "--methods", "ns"])


def test_a_run_resumed_from_its_work_folder_ends_where_an_uninterrupted_one_does(tmp_path, monkeypatch):
    # a long league run checkpoints into its work folder; started again, it continues from there
    (x, _), _ = metrics.mnist5k_split()
    classifier, _ = metrics.digit_classifier()
    method = digit_league.DigitMethod("ns", "ns", steps=6, lr_decay="constant", ema=0.9)
    monkeypatch.setattr(digit_league, "_checkpoint_every", lambda m, log_every: 3)
    whole, whole_images = digit_league.run_one(method, 0, x[:256], classifier, work=tmp_path / "whole")
    from gan_tutorial import train

    real_step = train.gan_step

    def killed_at_step_5(state):  # the process dies during step 5; the checkpoint of step 3 is on disk
        if state.step == 5:
            raise KeyboardInterrupt
        return real_step(state)

    monkeypatch.setattr(train, "gan_step", killed_at_step_5)
    with pytest.raises(KeyboardInterrupt):
        digit_league.run_one(method, 0, x[:256], classifier, work=tmp_path / "cut")
    assert [p.name for p in (tmp_path / "cut").glob("step_*.pt")] == ["step_00000003.pt"]
    monkeypatch.setattr(train, "gan_step", real_step)
    resumed, resumed_images = digit_league.run_one(method, 0, x[:256], classifier, work=tmp_path / "cut")
    assert np.array_equal(resumed_images, whole_images) and resumed["fd"] == whole["fd"]
    assert resumed["curve"] == whole["curve"]  # step 4's point, recorded before the crash, is not recorded twice
    assert json.loads(resumed["setting"])["ema"] == 0.9 and "ema" not in json.loads(
        digit_league.DigitMethod("ns", "ns").setting())  # rows without a moving average keep their old records
    assert sorted(p.name for p in (tmp_path / "whole" / "curve_G").glob("*.pt")) == [
        f"step_{s:08d}.pt" for s, _ in whole["curve"][:-1]]
