"""The one runner of the leagues: finished runs kept and resumed, a pool that hands results back as they land."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from gan_tutorial.errors import ConfigError
from gan_tutorial.experiments import digit_league, runner


def _ledger(out, keep=lambda r: True):
    return runner.Ledger(out, key=lambda r: f"{r['method']}/{r['seed']}",
                         file=lambda r: out / "runs" / f"{r['method']}_{r['seed']}.npy", keep=keep)


def test_a_ledger_keeps_runs_with_their_samples_and_a_later_record_wins(tmp_path):
    ledger = _ledger(tmp_path)
    ledger.add({"method": "a", "seed": 0, "v": 1}, np.zeros(3))
    ledger.add({"method": "a", "seed": 0, "v": 2}, np.ones(3))
    ledger.add({"method": "b", "seed": 0, "v": 3}, np.ones(3))
    again = _ledger(tmp_path, keep=lambda r: r["method"] == "a")
    assert list(again.done) == ["a/0"] and again.done["a/0"]["v"] == 2
    assert len((tmp_path / "runs.jsonl").read_text().splitlines()) == 3  # nothing is rewritten, only appended


def test_a_fresh_clone_unpacks_the_samples_of_its_finished_runs(tmp_path):
    _ledger(tmp_path).add({"method": "a", "seed": 1}, np.arange(4))
    np.savez(tmp_path / "samples.npz", **{"a/1": np.arange(4)})
    (tmp_path / "runs" / "a_1.npy").unlink()  # runs/ is git-ignored; samples.npz is committed
    ledger = _ledger(tmp_path)
    assert "a/1" in ledger.done and np.array_equal(np.load(tmp_path / "runs" / "a_1.npy"), np.arange(4))
    np.savez(tmp_path / "samples.npz")  # neither file: the run is not counted as done
    (tmp_path / "runs" / "a_1.npy").unlink()
    assert _ledger(tmp_path).done == {}


def _square(x):
    return x * x


@pytest.mark.parametrize("jobs", [1, 2])
def test_execute_hands_every_result_back_in_this_process(jobs):
    got = []
    runner.execute([(_square, (i,), {}) for i in range(5)], got.append, jobs=jobs)
    assert sorted(got) == [0, 1, 4, 9, 16]


def test_the_settings_record_holds_the_command(tmp_path):
    command = "python benchmarks/digit_league.py --league converged"
    runner.write_settings(tmp_path, {"ns": {"lr": 2e-4}}, command)
    saved = json.loads((tmp_path / "settings.json").read_text())
    assert saved == {"command": command, "settings": {"ns": {"lr": 2e-4}}}


def test_the_converged_league_is_the_recipe_for_every_row():
    rows = digit_league.digit_methods(None, league="converged")
    assert [m.name for m in rows] == ["wgan_div", "sphere_r1", "ogan", "wgan_gp", "gan_qp", "ns", "ogan_mse"]
    for m in rows:
        recipe = (m.steps, m.lr, m.betas, m.lr_decay, m.width, m.ema)
        assert recipe == (30_000, 2e-4, (0.5, 0.999), "constant", 64, 0.999), m.name
    assert [m.steps for m in digit_league.digit_methods(["ns"], steps=7, league="converged")] == [7]
    with pytest.raises(ConfigError, match="unknown digit league 'long'"):
        digit_league.digit_methods(None, league="long")


RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


@pytest.mark.parametrize("folder", sorted(p.name for p in RESULTS.iterdir() if p.is_dir()))
def test_every_committed_results_folder_says_how_it_was_made(folder):
    # benchmarks/results/<league>/settings.json: the settings and the command that re-creates the folder
    saved = json.loads((RESULTS / folder / "settings.json").read_text())
    assert saved["settings"], folder
    if saved["command"] is None:  # made by hand: the note says how
        assert len(saved["note"]) > 100, folder
        return
    for part in saved["command"].split(" && "):
        words = part.split()
        assert words[0] == "python" and (RESULTS.parents[1] / words[1]).is_file(), part  # a script of the repository
        if "--out" in words:
            assert words[words.index("--out") + 1] == f"benchmarks/results/{folder}", part


def test_the_results_live_in_one_folder():
    # every league writes under benchmarks/results/<league>/; nothing names the old flat folders
    root = RESULTS.parents[1]
    sources = [*root.glob("gan_tutorial/**/*.py"), *root.glob("benchmarks/*.py"), *root.glob("tools/*.py"),
               *root.glob("book/*.ipynb"), *root.glob("book/*.md"), root / "README.md"]
    old = re.compile(r"results_(digits|paper|long|wide|large|sphere|colour)")
    stale = [str(p.relative_to(root)) for p in sources if old.search(p.read_text())]
    assert stale == []
