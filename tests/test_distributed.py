"""Two processes with gloo on the CPU give the single-process result; the commands are the appendix's."""

import re
import shlex
import sys
from pathlib import Path

import pytest
import torch

from gan_tutorial import train

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-5  # float summation order differs between one and two processes


def _appendix_commands() -> list[str]:
    text = (ROOT / "book" / "distributed.md").read_text()
    block = re.search(r":name: ddp-commands\n(.*?)```", text, re.S).group(1)
    return [line for line in block.strip().splitlines() if line.strip()]


def _run(command: str, out_root: Path, *extra: str) -> None:
    import subprocess

    words = shlex.split(command.replace("runs/ddp", str(out_root)))
    launcher = {"gan-tutorial": [sys.executable, "-m", "gan_tutorial.cli"],
                "torchrun": [sys.executable, "-m", "torch.distributed.run"]}[words[0]]
    proc = subprocess.run([*launcher, *words[1:], "--no-progress", *extra], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]


def _weights(path: Path) -> dict:
    state = train.load_checkpoint(train.load_resume(path)[1])
    return {f"{k}.{n}": v for k in ("G", "D") for n, v in state[k].items()}


def _max_difference(a: dict, b: dict) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_appendix_lists_the_three_commands():
    commands = _appendix_commands()
    assert [c.split()[0] for c in commands] == ["gan-tutorial", "torchrun", "gan-tutorial"]
    assert "--nproc_per_node 2" in commands[1] and "--resume runs/ddp/two" in commands[2]


def test_two_processes_equal_one_and_resume_on_one(tmp_path):
    """The NS loss with R1, a penalty on real points: besides the losses, D's update holds a
    penalty on D's input gradient (a double backward) with no random draw, so the comparison
    also checks that penalties stay correct under DDP."""
    one, two, resumed = _appendix_commands()
    for command in (one, two, resumed):
        _run(command, tmp_path, "--loss", "ns_r1")
    w1, w2 = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    assert _max_difference(w1, w2) < TOLERANCE
    assert any(float((w1[k] - _weights(tmp_path / "resumed")[k]).abs().max()) > 0 for k in w1)
    state = train.load_checkpoint(train.load_resume(tmp_path / "resumed")[1])
    assert state["step"] == 40 and state["history"]["step"][-1] == 40
    # the resumed run continues the two-process one: its history starts with it
    two_hist = train.load_checkpoint(train.load_resume(tmp_path / "two")[1])["history"]
    assert state["history"]["d_loss"][: len(two_hist["d_loss"])] == two_hist["d_loss"]


def test_batch_that_does_not_split_evenly_is_named():
    from gan_tutorial.data import BatchSampler
    from gan_tutorial.errors import DataError

    with pytest.raises(DataError, match="divisible by the number of processes"):
        BatchSampler(torch.zeros(10, 2), 63, rank=0, world=2)
    halves = [BatchSampler(torch.arange(100.0)[:, None], 8, seed=3, rank=r, world=2).sample() for r in (0, 1)]
    whole = BatchSampler(torch.arange(100.0)[:, None], 8, seed=3).sample()
    assert torch.equal(torch.cat(halves), whole)
