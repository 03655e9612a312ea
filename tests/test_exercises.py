import pytest
import torch

from gan_tutorial import exercises
from gan_tutorial.errors import ConfigError


def test_a_right_answer_passes(capsys):
    assert exercises.check("ns_g_loss", lambda f: torch.nn.functional.softplus(-f).mean()) == 5
    assert "all 5 checks passed" in capsys.readouterr().out


def test_a_wrong_answer_is_explained():
    with pytest.raises(exercises.ExerciseFailed, match="values differ"):
        exercises.check("ns_g_loss", lambda f: torch.nn.functional.softplus(f).mean())


def test_a_wrong_shape_is_explained():
    with pytest.raises(exercises.ExerciseFailed, match=r"expected shape \(\)"):
        exercises.check("ns_g_loss", lambda f: torch.nn.functional.softplus(-f))


def test_an_answer_that_crashes_is_reported():
    with pytest.raises(exercises.ExerciseFailed, match="raised ZeroDivisionError"):
        exercises.check("ns_g_loss", lambda f: 1 / 0)


def test_unknown_exercise():
    with pytest.raises(ConfigError, match="ns_g_loss"):
        exercises.check("ns_g_los", lambda f: f)
