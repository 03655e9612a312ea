import math

import pytest
import torch

from gan_tutorial.metrics import mode_coverage

CENTERS = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def test_counts_on_hand_built_samples():
    samples = torch.tensor([
        [0.0, 0.0], [0.2, -0.1], [0.29, 0.0],  # mode 0: three within 3 * 0.1
        [10.0, 0.1],                           # mode 1: one
        [0.0, 10.31],                          # near mode 2 but 0.31 > 0.3: low quality
        [5.0, 5.0], [20.0, 20.0],              # far from everything
        [10.0, 10.0],                          # mode 3: one
    ])
    m = mode_coverage(samples, CENTERS, std=0.1)
    assert m["per_mode"] == [3, 1, 0, 1]
    assert m["modes"] == 3
    assert m["high_quality"] == 5 / 8
    expected = sum(p * math.log(p * 4) for p in (3 / 5, 1 / 5, 1 / 5))
    assert m["reverse_kl"] == pytest.approx(expected, rel=1e-12)


def test_threshold_changes_the_verdict():
    samples = torch.tensor([[0.0, 10.31]])
    assert mode_coverage(samples, CENTERS, 0.1)["modes"] == 0
    assert mode_coverage(samples, CENTERS, 0.1, threshold=3.2)["per_mode"] == [0, 0, 1, 0]


def test_uniform_and_collapsed_extremes():
    uniform = CENTERS.repeat(5, 1)
    m = mode_coverage(uniform, CENTERS, 0.1)
    assert m["modes"] == 4 and m["high_quality"] == 1.0 and m["reverse_kl"] == 0.0
    collapsed = CENTERS[:1].repeat(20, 1)
    m = mode_coverage(collapsed, CENTERS, 0.1)
    assert m["modes"] == 1 and m["reverse_kl"] == pytest.approx(math.log(4))
    m = mode_coverage(torch.full((3, 2), 5.0), CENTERS, 0.1)
    assert m["modes"] == 0 and m["high_quality"] == 0.0 and math.isinf(m["reverse_kl"])


def test_dimension_mismatch_is_an_error():
    with pytest.raises(ValueError, match="dimension"):
        mode_coverage(torch.zeros(3, 3), CENTERS, 0.1)


# ----------------------------------------------------------------------------- Frechet distance
from gan_tutorial.metrics import frechet_distance, gaussian_stats  # noqa: E402


def test_frechet_distance_of_diagonal_gaussians():
    mu1, mu2 = torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 1.0, 0.0])
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 9.0])
    # closed form for commuting covariances: |mu1 - mu2|^2 + sum (sqrt(a) - sqrt(b))^2
    expected = 5.0 + (1 - 2) ** 2 + (2 - 1) ** 2 + 0.0
    assert frechet_distance(mu1, torch.diag(a), mu2, torch.diag(b)) == pytest.approx(expected, abs=1e-10)
    assert frechet_distance(mu1, torch.diag(a), mu1, torch.diag(a)) == pytest.approx(0.0, abs=1e-10)


def test_frechet_distance_of_non_commuting_2x2_covariances():
    s1 = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    s2 = torch.tensor([[1.0, -0.3], [-0.3, 3.0]], dtype=torch.float64)
    assert not torch.allclose(s1 @ s2, s2 @ s1)
    # for 2x2 M with real non-negative eigenvalues: Tr(M^1/2) = sqrt(Tr M + 2 sqrt(det M))
    m = s1 @ s2
    tr_root = math.sqrt(float(torch.trace(m)) + 2 * math.sqrt(float(torch.det(m))))
    expected = 1.0 + float(torch.trace(s1) + torch.trace(s2)) - 2 * tr_root
    got = frechet_distance(torch.zeros(2), s1, torch.tensor([1.0, 0.0]), s2)
    assert got == pytest.approx(expected, rel=1e-10)


def test_frechet_distance_from_samples_converges_to_the_closed_form():
    g = torch.Generator().manual_seed(0)
    n = 200_000
    x1 = torch.randn(n, 2, generator=g, dtype=torch.float64) * torch.tensor([1.0, 2.0])
    x2 = torch.randn(n, 2, generator=g, dtype=torch.float64) * torch.tensor([3.0, 2.0]) + 1.0
    expected = 2.0 + (1 - 3) ** 2 + 0.0
    got = frechet_distance(*gaussian_stats(x1), *gaussian_stats(x2))
    assert got == pytest.approx(expected, abs=0.05)


def test_mnist5k_split_is_balanced_and_disjoint():
    from gan_tutorial.metrics import mnist5k_split

    (x_tr, y_tr), (x_te, y_te) = mnist5k_split(seed=0)
    assert len(x_tr) == 4000 and len(x_te) == 1000
    assert torch.equal(torch.bincount(y_te), torch.full((10,), 100))
    flat_tr = {tuple(v) for v in x_tr.flatten(1).tolist()}
    assert not any(tuple(v) in flat_tr for v in x_te.flatten(1).tolist())


def test_digit_features_and_distance_on_an_untrained_classifier():
    from gan_tutorial.metrics import DigitClassifier, digit_features, frechet_digit_distance

    torch.manual_seed(0)
    model = DigitClassifier()
    x = torch.rand(300, 1, 28, 28) * 2 - 1
    assert digit_features(model, x, batch_size=64).shape == (300, 128)
    assert frechet_digit_distance(model, x, x) == pytest.approx(0.0, abs=1e-6)
    assert frechet_digit_distance(model, x, -x) > 1e-3


def test_digit_protocol_scores_against_the_held_out_digits_and_its_floor_is_training_digits():
    from gan_tutorial import metrics
    from gan_tutorial.errors import ShapeError

    classifier = metrics.DigitClassifier()  # any fixed features will do for the bookkeeping
    torch.manual_seed(0)
    (x_tr, _), (x_te, _) = metrics.mnist5k_split()
    first_draw = x_tr[torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(3))[:1000]]
    r = metrics.digit_protocol(first_draw, classifier, floor_draws=1, seed=3)
    # the samples are exactly the floor's one draw: the same distance, ratio 1
    # (equal up to the last digits: oneDNN's convolutions are not bitwise repeatable across calls)
    assert r["distance"] == pytest.approx(r["floor"], rel=1e-6) and r["ratio"] == pytest.approx(1.0, rel=1e-6)
    assert r["floor_std"] == 0.0
    direct = metrics.frechet_distance(*metrics.gaussian_stats(metrics.digit_features(classifier, first_draw)),
                                      *metrics.gaussian_stats(metrics.digit_features(classifier, x_te)))
    assert r["distance"] == pytest.approx(direct, rel=1e-6)
    r5 = metrics.digit_protocol(first_draw, classifier, floor_draws=5, seed=3)
    assert r5["distance"] == pytest.approx(r["distance"], rel=1e-6) and r5["floor_std"] > 0
    with pytest.raises(ShapeError, match="score 1000 samples"):
        metrics.digit_protocol(first_draw[:999], classifier)


def test_digit_protocol_tuning_reference_is_a_fixed_draw_of_training_digits_and_the_floor_can_be_skipped():
    from gan_tutorial import metrics
    from gan_tutorial.errors import ConfigError

    classifier = metrics.DigitClassifier()
    torch.manual_seed(0)
    (x_tr, _), (x_te, _) = metrics.mnist5k_split()
    tuning_set = x_tr[torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(1))[:1000]]
    r = metrics.digit_protocol(tuning_set, classifier, reference="training")
    assert r["distance"] == pytest.approx(0.0, abs=1e-3)  # the samples are the reference itself
    assert math.isnan(r["floor"]) and math.isnan(r["ratio"])  # no floor against training digits
    held_out = metrics.digit_protocol(tuning_set, classifier, floor_draws=0)
    direct = metrics.frechet_distance(*metrics.gaussian_stats(metrics.digit_features(classifier, tuning_set)),
                                      *metrics.gaussian_stats(metrics.digit_features(classifier, x_te)))
    assert held_out["distance"] == pytest.approx(direct, rel=1e-6) and math.isnan(held_out["floor"])
    with pytest.raises(ConfigError, match="reference"):
        metrics.digit_protocol(tuning_set, classifier, reference="test")


# ----------------------------------------------------------------------------- the pinned digit metric
def test_the_digit_classifier_is_pinned_and_never_trains(monkeypatch):
    import hashlib

    from gan_tutorial import metrics

    def no_training(*args, **kwargs):
        raise AssertionError("digit_classifier() must load the pinned weights, not train")

    from gan_tutorial.evaluation import digit_metric

    monkeypatch.setattr(digit_metric, "train_digit_classifier", no_training)
    model, acc = metrics.digit_classifier()
    assert hashlib.sha256(metrics.DIGIT_CLASSIFIER_FILE.read_bytes()).hexdigest() == metrics.DIGIT_CLASSIFIER_SHA256
    assert metrics.DIGIT_CLASSIFIER_FILE.stat().st_size < 900_000  # float16 weights, shipped in the wheel
    # 975 of the 1,000 held-out digits: what tools/make_digit_classifier.py printed for the shipped file
    assert round(acc * 1000) == 975
    (_, _), (x_te, y_te) = metrics.mnist5k_split()
    assert metrics.accuracy(model, x_te, y_te) == acc and not model.training


def test_a_changed_classifier_file_is_refused_with_the_fix(monkeypatch, tmp_path):
    from gan_tutorial import metrics
    from gan_tutorial.errors import CheckpointError
    from gan_tutorial.evaluation import digit_metric

    damaged = tmp_path / "digit_classifier.pt"
    data = bytearray(metrics.DIGIT_CLASSIFIER_FILE.read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    monkeypatch.setattr(digit_metric, "DIGIT_CLASSIFIER_FILE", damaged)
    digit_metric._pinned_state.cache_clear()
    try:
        with pytest.raises(CheckpointError, match="not the pinned ones.*Reinstall"):
            metrics.digit_classifier()
        monkeypatch.setattr(digit_metric, "DIGIT_CLASSIFIER_FILE", tmp_path / "missing.pt")
        with pytest.raises(CheckpointError, match="missing from the package"):
            metrics.digit_classifier()
    finally:
        digit_metric._pinned_state.cache_clear()


def test_precision_and_recall_on_hand_worked_sets():
    from gan_tutorial.metrics import precision_recall

    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])  # k = 1: every real radius is 1
    # fake at 0.5 and 2.9 lie in real balls; 10 does not. Fake radii (k = 1): 0.5 -> 2.4, 2.9 -> 2.4, 10 -> 7.1
    fake = torch.tensor([[0.5], [2.9], [10.0]])
    precision, recall = precision_recall(real, fake, k=1)
    assert precision == pytest.approx(2 / 3)
    assert recall == pytest.approx(1.0)  # each real point is within 2.4 of 0.5 or 2.9
    same = torch.randn(50, 4, generator=torch.Generator().manual_seed(0))
    assert precision_recall(same, same, k=3) == (1.0, 1.0)
    assert precision_recall(same, same + 100.0, k=3) == (0.0, 0.0)
    collapsed = same[:1].repeat(50, 1) + 1e-3 * torch.randn(50, 4, generator=torch.Generator().manual_seed(1))
    p, r = precision_recall(same, collapsed, k=3)  # one mode, copied: every sample looks real, little is covered
    assert p == 1.0 and r < 0.2


def test_class_stats_on_known_probabilities():
    from gan_tutorial.metrics import class_stats

    probs = torch.full((10, 10), 0.01)
    probs[torch.arange(10), torch.arange(10)] = 0.91  # one confident digit of each class
    s = class_stats(probs)
    assert s["confident"] == 1.0 and s["class_mix"] == [0.1] * 10
    assert s["rarest_class"] == s["commonest_class"] == pytest.approx(0.1) and s["class_kl"] == pytest.approx(0.0)
    probs[:, :] = 0.05
    probs[:, 3] = 0.55  # every digit read as a 3, none confidently
    s = class_stats(probs)
    assert s["confident"] == 0.0 and s["rarest_class"] == 0.0 and s["commonest_class"] == 1.0
    assert s["class_kl"] == pytest.approx(math.log(10))


def test_real_digits_score_near_perfect_on_the_pinned_protocol():
    # the first floor draw (training digits) against the held-out digits: what real digits score
    from gan_tutorial import metrics

    (x_tr, _), _ = metrics.mnist5k_split()
    drawn = x_tr[torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(5))[:1000]]
    r = metrics.digit_protocol(drawn, floor_draws=1)
    real = r["real"]
    assert 0.85 <= real["confident"] <= 1.0 and 0.85 <= real["precision"] <= 1.0 and 0.85 <= real["recall"] <= 1.0
    assert 0.05 <= real["rarest_class"] <= 0.1 <= real["commonest_class"] <= 0.15
    assert r["distance"] < 2 * r["floor"] and sum(r["class_mix"]) == pytest.approx(1.0)
