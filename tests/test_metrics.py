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
