"""Reading the digit league back: the verdicts of the papers' comparisons, and the folder's files."""

import json

import numpy as np
import pytest
import torch

from gan_tutorial import digit_league, digit_results
from gan_tutorial.errors import ConfigError


def _league(tmp_path, fds: dict[str, list[float]]):
    records = [{"method": m, "seed": s, "fd": fd, "floor": 4.0, "curve": [[1, 2 * fd], [2, fd]]}
               for m, values in fds.items() for s, fd in enumerate(values)]
    (tmp_path / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return digit_results.load(tmp_path)


@pytest.mark.parametrize("a, b, claim, verdict", [
    ([10, 11, 12], [20, 21, 22], "better", "reproduced"),      # 10 below, SE of the difference 0.82
    ([20, 21, 22], [10, 11, 12], "better", "refuted"),
    ([10, 20, 30], [12, 22, 32], "better", "within noise"),    # 2 below, 2 SE = 16.3
    ([10, 20, 30], [12, 22, 32], "no worse", "within noise"),  # no loss detected is not a reproduction
    ([10, 11, 12], [20, 21, 22], "no worse", "reproduced"),
    ([20, 21, 22], [10, 11, 12], "no worse", "refuted"),
])
def test_compare_states_each_claim_by_two_standard_errors_of_the_difference(tmp_path, a, b, claim, verdict):
    league = _league(tmp_path, {"a": a, "b": b})
    c = digit_results.compare(league, "a", "b", claim)
    assert c["verdict"] == verdict
    assert c["difference"] == pytest.approx(np.mean(b) - np.mean(a))
    assert c["se"] == pytest.approx(np.sqrt(np.var(a, ddof=1) / 3 + np.var(b, ddof=1) / 3))


def test_compare_refuses_one_seed_an_unknown_method_and_an_unknown_claim(tmp_path):
    league = _league(tmp_path, {"a": [1.0], "b": [2.0, 3.0]})
    with pytest.raises(ConfigError, match="2 seeds"):
        digit_results.compare(league, "a", "b")
    with pytest.raises(ConfigError, match="no digit-league runs of 'c'"):
        digit_results.compare(league, "c", "b")
    with pytest.raises(ConfigError, match="claim"):
        digit_results.compare(league, "b", "b", "worse")
    with pytest.raises(ConfigError, match="no digit league"):
        digit_results.load(tmp_path / "empty")


def test_a_rerun_replaces_the_older_record_of_the_same_run(tmp_path):
    (tmp_path / "runs.jsonl").write_text(json.dumps({"method": "a", "seed": 0, "fd": 9.0}) + "\n"
                                         + json.dumps({"method": "a", "seed": 0, "fd": 5.0}) + "\n")
    assert [r["fd"] for r in digit_results.load(tmp_path).runs("a")] == [5.0]


def test_a_live_league_reads_back_its_samples_models_and_curves(tmp_path, monkeypatch):
    monkeypatch.setattr(digit_results.tempfile, "mkdtemp", lambda prefix: str(tmp_path))
    league = digit_results.for_notebook(["ogan"], quick=True, steps=2)
    (record,) = league.runs("ogan")
    assert [p[0] for p in record["curve"]] == [1, 2] and record["curve"][-1][1] == pytest.approx(record["fd"], 1e-3)
    G, D = league.models("ogan")
    z = torch.randn(1000, digit_league.LATENT_DIM, generator=torch.Generator().manual_seed(10_000))
    images = digit_league.to_uint8(G(z).detach())
    assert np.array_equal(images, digit_league.to_uint8(league.samples("ogan")))  # the stored samples are G's
    assert D(league.samples("ogan")[:2]).shape == (2, digit_league.LATENT_DIM)
    assert league.summary["ogan"]["seeds"] == 1
    assert league.row("ogan") == f"{record['fd']:.1f} (1 seed) ({record['ratio']:.1f}x the floor)"


COMMITTED = digit_results.RESULTS  # benchmarks/results/digits, from the repository root (pytest's cwd)


# Scoring is inference with pinned weights: re-scoring every committed league under the default,
# AVX2 and SSE4.1 kernels (ATEN_CPU_CAPABILITY, ONEDNN_MAX_CPU_ISA) gave the same numbers to the
# last stored digit; the tolerance below is the records' rounding (4 decimals), not the kernels'.
def test_the_committed_league_rescores_from_its_saved_images():
    from gan_tutorial import metrics

    league = digit_results.load(COMMITTED)
    classifier, _ = metrics.digit_classifier()
    assert {m.name for m in digit_league.METHODS} == set(league.summary)
    for r in league.records:
        again = metrics.digit_protocol(league.samples(r["method"], r["seed"]), classifier, floor_draws=0)
        assert again["distance"] == pytest.approx(r["fd"], abs=1e-4), (r["method"], r["seed"])
        for key in digit_league.DIAGNOSIS:
            assert again[key] == pytest.approx(r[key], abs=1e-4), (r["method"], r["seed"], key)
    for name, row in league.summary.items():
        fds = [r["fd"] for r in league.runs(name)]
        assert row["seeds"] == len(fds) == 3 and row["fd"] == pytest.approx(np.mean(fds), abs=1e-3)
        assert row["fd_se"] == pytest.approx(np.std(fds, ddof=1) / np.sqrt(3), abs=1e-3)


def test_each_row_runs_the_learning_rate_its_tuning_chose():
    league = digit_results.load(COMMITTED)
    best = {}
    for r in league.tuning:
        if not r["error"] and (r["method"] not in best or r["fd_training"] < best[r["method"]][1]):
            best[r["method"]] = (r["lr"], r["fd_training"])
    assert {m.name: m.lr for m in digit_league.METHODS} == {name: lr for name, (lr, _) in best.items()}
    assert {len([r for r in league.tuning if r["method"] == m.name]) for m in digit_league.METHODS} == {2}
    settings = {json.loads(r["setting"])["name"]: json.loads(r["setting"]) for r in league.records}
    for m in digit_league.METHODS:  # the committed runs are the rows as written in the package
        assert settings[m.name] == json.loads(m.setting()), m.name


def test_class_mix_counts_the_classes_the_classifier_reads(tmp_path):
    league = _league(tmp_path, {"a": [1.0, 2.0]})
    images = np.zeros((1000, 28, 28), dtype=np.uint8)
    np.savez(tmp_path / "samples.npz", **{"a/0": images, "a/1": images})

    def cycling(x):  # reads sample i as class i mod 10: a balanced mix
        return torch.nn.functional.one_hot(torch.arange(len(x)) % 10, 10).float()

    def threes(x):
        return torch.nn.functional.one_hot(torch.full((len(x),), 3), 10).float()

    balanced = digit_results.class_mix(league, "a", cycling)
    assert balanced["counts"] == [100.0] * 10 and balanced["kl"] == pytest.approx(0.0, abs=1e-9)
    assert balanced["missing"] == []
    only3 = digit_results.class_mix(league, "a", threes)
    assert only3["counts"][3] == 1000.0 and only3["missing"] == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert only3["kl"] == pytest.approx(0.1 * (9 * np.log(0.1 / 1e-6) + np.log(0.1)), rel=1e-4)
