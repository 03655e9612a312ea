"""The trained generators: one call loads them, checked by SHA-256, from a clone or a download."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gan_tutorial import digit_league, digit_results, pretrained
from gan_tutorial.errors import CheckpointError, ConfigError


@pytest.mark.parametrize("name", pretrained.available())
def test_every_shipped_generator_makes_the_samples_its_league_scored(name):
    entry = pretrained.manifest()[name]
    folder = Path(entry["file"]).parents[1]  # benchmarks/results/<league>/models/<row>_0.pt
    if not (folder / "runs.jsonl").exists():
        pytest.skip(f"{name} is not a digit league's generator (the colour run is tested in test_colour_run.py)")
    league = digit_results.load(folder)
    G = pretrained.load(name)
    assert not G.training and G.latent_dim == digit_league.LATENT_DIM
    z = torch.randn(1000, G.latent_dim, generator=torch.Generator().manual_seed(10_000))  # seed 0's scored codes
    with torch.no_grad():
        images = digit_league.to_uint8(G(z))
    stored = digit_league.to_uint8(league.samples(name, 0))
    diff = np.abs(images.astype(int) - stored.astype(int))
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-3  # the same images, up to a last-bit rounding


def test_ogans_encoder_comes_with_its_generator():
    G, E = pretrained.load("ogan", discriminator=True)
    x = G(torch.randn(4, G.latent_dim))
    assert E(x).shape == (4, G.latent_dim) and not E.training


def test_unknown_names_and_changed_files_are_refused_with_the_fix(tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="use one of ns"):
        pretrained.load("dcgan9")
    entry = pretrained.manifest()["ns"]
    fake_root = tmp_path / "clone"
    (fake_root / entry["file"]).parent.mkdir(parents=True)
    (fake_root / entry["file"]).write_bytes(b"not a checkpoint")
    monkeypatch.setattr(pretrained, "_candidates", lambda relative, root: [fake_root / relative])
    with pytest.raises(CheckpointError, match="not found with its pinned SHA-256.*allow download=True"):
        pretrained.load("ns", download=False)


def test_a_missing_file_is_downloaded_into_the_cache_and_checked(tmp_path, monkeypatch):
    entry = pretrained.manifest()["wgan_div"]
    payload = next(p for p in pretrained._candidates(entry["file"], None) if p.is_file()).read_bytes()
    monkeypatch.setattr(pretrained, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(pretrained, "_candidates", lambda relative, root: [tmp_path / "cache" / relative])
    urls = []

    class Response:
        def __init__(self, data):
            self.data = data

        def read(self):
            return self.data

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    def serve(url, timeout):
        urls.append(url)
        return Response(payload)

    monkeypatch.setattr(pretrained.urllib.request, "urlopen", serve)
    G = pretrained.load("wgan_div")
    assert urls == [f"{pretrained.REPOSITORY}/{entry['file']}"]
    assert hashlib.sha256((tmp_path / "cache" / entry["file"]).read_bytes()).hexdigest() == entry["sha256"]
    assert G(torch.randn(2, G.latent_dim)).shape == (2, 1, 28, 28)
    pretrained.load("wgan_div")  # the second call reads the cache
    assert len(urls) == 1
    monkeypatch.setattr(pretrained.urllib.request, "urlopen", lambda url, timeout: Response(b"tampered"))
    (tmp_path / "cache" / entry["file"]).unlink()
    with pytest.raises(CheckpointError, match="does not have the pinned SHA-256"):
        pretrained.load("wgan_div")


def test_the_manifest_names_files_of_the_repository_with_their_hashes():
    data = json.loads(pretrained.MANIFEST.read_text())
    for name, entry in data["generators"].items():
        path = next(p for p in pretrained._candidates(entry["file"], None) if p.is_file())
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"], name
        assert pretrained.describe(name).startswith(name)
