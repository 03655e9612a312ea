"""The colour DCGAN run: a few steps on a few emoji write every file, and a restart resumes."""

import json

import numpy as np
import pytest
import torch

from gan_tutorial.experiments import colour_run


@pytest.fixture()
def few_emoji(monkeypatch):
    from gan_tutorial.core import emoji_data

    try:
        x = emoji_data.emoji(limit=80)
    except Exception as exc:  # the font is not installed here
        pytest.skip(f"{exc}")
    monkeypatch.setattr(colour_run.data_mod, "images", lambda name: (x, torch.arange(len(x))))
    return x


def test_a_short_run_writes_its_files_and_resumes_from_its_checkpoint(tmp_path, few_emoji):
    record = colour_run.run(steps=4, out=tmp_path, device="cpu", snapshots=2)
    assert record["held_out"] == 8 and record["train_pictures"] == 72 and record["steps"] == 4
    scored = np.load(tmp_path / "samples.npz")["scored"]
    assert scored.shape == (8, 64, 64, 3) and scored.dtype == np.uint8
    assert record["distance"] > 0 and record["ratio"] == pytest.approx(record["distance"] / record["floor"], rel=1e-3)
    assert json.loads((tmp_path / "run.json").read_text())["distance"] == record["distance"]
    assert (tmp_path / "generator.pt").exists() and (tmp_path / "snapshots" / "step_00000004.npy").exists()
    saved = json.loads((tmp_path / "settings.json").read_text())  # the settings and what re-creates the folder
    assert saved["settings"]["steps"] == 4 and saved["settings"]["width"] == 64 and "colour_run.run" in saved["command"]
    again = colour_run.run(steps=6, out=tmp_path, device="cpu", snapshots=2)  # resumes at step 4
    assert again["losses"]["step"][:1] == record["losses"]["step"][:1] and again["steps"] == 6
    assert sorted(p.name for p in (tmp_path / "work").glob("step_*.pt"))[-1] == "step_00000006.pt"


def test_uint8_pictures_round_trip():
    x = torch.rand(3, 3, 8, 8) * 2 - 1
    u = colour_run.to_uint8(x)
    assert u.shape == (3, 8, 8, 3) and (colour_run.from_uint8(u) - x).abs().max() <= 0.5 / 127.5 + 1e-6


def test_the_shipped_generator_makes_the_scored_samples(tmp_path, few_emoji, monkeypatch):
    import hashlib

    from gan_tutorial.evaluation import pretrained

    colour_run.run(steps=3, out=tmp_path, device="cpu", snapshots=1)
    entry = {"file": "generator.pt", "sha256": hashlib.sha256((tmp_path / "generator.pt").read_bytes()).hexdigest(),
             "G": {"latent_dim": colour_run.LATENT_DIM, "channels": 3, "image_size": colour_run.SIZE,
                   "width": colour_run.WIDTH}, "D": None, "about": "try: a test"}
    monkeypatch.setattr(pretrained, "manifest", lambda: {"try": entry})
    G = pretrained.load("try", root=tmp_path)
    z = torch.randn(8, G.latent_dim, generator=torch.Generator().manual_seed(10_000))  # seed 0's scored codes
    with torch.no_grad():
        images = colour_run.to_uint8(G(z))
    diff = np.abs(images.astype(int) - np.load(tmp_path / "samples.npz")["scored"].astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # the weights as shipped were the weights scored
    with torch.no_grad():  # the last row of the samples over training: the same fixed codes as every other row
        last = colour_run.to_uint8(G(colour_run.snapshot_codes()))
    assert np.abs(last.astype(int) - np.load(tmp_path / "snapshots" / "step_00000003.npy").astype(int)).max() <= 1
    with pytest.raises(pretrained.ConfigError, match="ships its generator only"):
        pretrained.load("try", discriminator=True, root=tmp_path)
