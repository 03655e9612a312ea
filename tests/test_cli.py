import json
import subprocess
import sys

import pytest
import torch

from gan_tutorial import cli, train


def test_train_writes_samples_metrics_and_a_checkpoint(tmp_path):
    out = tmp_path / "run"
    code = cli.main(["train", "--steps", "40", "--batch-size", "32", "--out", str(out), "--no-progress"])
    assert code == 0
    assert (out / "samples.png").stat().st_size > 1000
    assert [p.name for p in out.glob("step_*.pt")] == ["step_00000040.pt"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"] == "ring8" and metrics["loss"] == "ns" and metrics["steps"] == 40
    assert len(metrics["mode_coverage"]["per_mode"]) == 8
    assert metrics["config"]["batch_size"] == 32 and metrics["config"]["lr_d"] == 2e-4
    assert metrics["config"]["lr_decay"] == "constant" and metrics["config"]["ema"] == 0.0


def test_train_with_decay_and_a_moving_average(tmp_path):
    out = tmp_path / "run"
    code = cli.main(["train", "--steps", "20", "--batch-size", "32", "--lr-decay", "linear", "--ema", "0.9",
                     "--out", str(out), "--no-progress"])
    assert code == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["lr_decay"] == "linear" and config["ema"] == 0.9
    state = train.load_checkpoint(out / "step_00000020.pt")
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(2e-4 / 20)
    assert state["G_ema"].keys() == state["G"].keys() and any(
        not (state["G_ema"][k] == state["G"][k]).all() for k in state["G"])


def test_train_with_instance_noise_and_a_bad_value(tmp_path, capsys):
    out = tmp_path / "noisy"
    assert cli.main(["train", "--steps", "10", "--batch-size", "32", "--instance-noise", "0.5",
                     "--out", str(out), "--no-progress"]) == 0
    config = json.loads((out / "metrics.json").read_text())["config"]
    assert config["instance_noise"] == 0.5 and config["noise_until"] == 0.5
    assert cli.main(["train", "--steps", "10", "--instance-noise", "-1", "--out", str(out), "--no-progress"]) == 2
    assert "instance_noise must be a std >= 0" in capsys.readouterr().err


def test_list_names_data_and_losses(capsys):
    assert cli.main(["list"]) == 0
    text = capsys.readouterr().out
    assert "ring8" in text and "mnist5k" in text and "minimax" in text


@pytest.mark.parametrize("args,message", [
    (["--loss", "nss"], "unknown loss 'nss'. Did you mean 'ns'?"),
    (["--data", "ring"], "unknown data set 'ring'"),
    (["--steps", "0"], "steps must be a positive integer"),
    (["--lr-d", "-1"], "lr_d must be a positive number"),
    (["--steps", "ten"], "invalid int value"),
    (["--lr-decay", "step"], "lr_decay must be one of 'constant', 'linear', 'cosine'"),
    (["--ema", "1.5"], "ema must be a decay in [0, 1)"),
])
def test_bad_options_give_one_line(args, message, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "gan_tutorial.cli", "train", "--out",
                           str(tmp_path), *args], capture_output=True, text=True)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr


def test_train_on_a_folder_of_pictures_at_64x64(tmp_path):
    from PIL import Image

    pictures = tmp_path / "pictures"
    pictures.mkdir()
    g = torch.Generator().manual_seed(0)
    for i in range(8):  # colour pictures of another size: scaled and cropped to 64x64
        pixels = (torch.rand(80, 70, 3, generator=g) * 255).to(torch.uint8).numpy()
        Image.fromarray(pixels).save(pictures / f"{i}.png")
    out = tmp_path / "run"
    assert cli.main(["train", "--data", f"folder:{pictures}", "--steps", "2", "--batch-size", "4",
                     "--n-samples", "4", "--out", str(out), "--no-progress"]) == 0
    state = torch.load(next(out.glob("step_*.pt")), weights_only=True)
    assert state["G"]["net.0.weight"].shape[0] == 64  # latent size of the image defaults
    with Image.open(out / "samples.png") as grid:
        assert grid.mode == "RGB" and grid.size[0] > 64
