import pytest
import torch

from gan_tutorial import losses
from gan_tutorial.errors import ConfigError

LOGITS = torch.tensor([-3.0, -0.5, 0.0, 0.7, 2.5], dtype=torch.float64)


def test_minimax_d_loss_matches_the_probability_form():
    r, f = LOGITS, LOGITS.flip(0) * 0.8
    expected = -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())
    torch.testing.assert_close(losses.minimax_d_loss(r, f), expected)


def test_generator_losses_match_the_probability_form():
    f = LOGITS
    torch.testing.assert_close(losses.minimax_g_loss(f), torch.log(1 - torch.sigmoid(f)).mean())
    torch.testing.assert_close(losses.ns_g_loss(f), -torch.log(torch.sigmoid(f)).mean())


def test_losses_stay_finite_for_confident_logits():
    f = torch.tensor([-200.0, 200.0])
    # -log sigmoid(-200) = 200 exactly in float arithmetic; the naive form gives inf
    torch.testing.assert_close(losses.ns_g_loss(f), torch.tensor(100.0))
    assert torch.isinf(-torch.log(torch.sigmoid(f)).mean())
    torch.testing.assert_close(losses.minimax_d_loss(f, f), torch.tensor(200.0))


def test_registry_entries_and_argument_passing():
    ns = losses.get_loss("ns")
    assert ns.d_fn is losses.minimax_d_loss and ns.g_fn is losses.ns_g_loss
    assert ns.output == "scalar"
    # extra context is accepted and ignored by functions that do not name it
    out = ns.g_loss(LOGITS, z=torch.zeros(5, 2), x_real=None)
    torch.testing.assert_close(out, losses.ns_g_loss(LOGITS))


def test_unknown_loss_lists_the_valid_ones():
    with pytest.raises(ConfigError, match=r"Did you mean 'ns'.*minimax"):
        losses.get_loss("nss")


@pytest.mark.parametrize("name, want", [("ns", None), ("wgan_gp", None), ("ogan", 12), ("sphere", 16)])
def test_a_loss_says_once_what_its_d_returns_and_whether_d_may_use_batch_norm(name, want):
    from gan_tutorial import losses

    loss = losses.get_loss(name)
    assert loss.d_out_dim(12) == want
    assert loss.d_batch_norm == (loss.penalty is None)
    assert losses.get_loss("wgan_gp").d_batch_norm is False and losses.get_loss("ns").d_batch_norm is True
    if name == "sphere":
        assert loss.d_out_dim(12, vector_dim=3) == 3
