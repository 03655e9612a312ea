"""The one runner of the leagues: finished runs kept and resumed, a pool that hands results back as they land."""

import json

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
