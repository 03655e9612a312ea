"""Each method of chapter 6's league as its paper trains it: the settings, written once as data.

The shared setting (:class:`~gan_tutorial.experiments.toy_methods.Setting`) gives every method one budget;
a paper prescribes its own optimiser, learning rates, betas, ``n_critic``, sizes, noise size
and penalty weight. Each entry of :data:`PAPER_METHODS` is a :class:`~gan_tutorial.experiments.toy_methods.Method`
whose ``setting`` holds what its paper (or the authors' public code, where the paper has no
2-D experiment or leaves a value out) prescribes, with the source in ``note``.

Where a value is *not* the paper's, the entry says so in ``note``. Two departures hold for
all rows: the budget is capped for this course's CPU (the papers train 2-D mixtures for
10^5 to 4 x 10^5 iterations; here each run gets the ``steps`` below), and methods whose
papers have no 2-D experiment (WGAN, WGAN-GP's paper, SN-GAN, SR-GAN) keep the course's
MLPs (3 x 128, latent 8). ``benchmarks/mode_collapse.py --paper`` runs them into
``benchmarks/results/toy_paper/``.
"""

from __future__ import annotations

from ..core.regularizers import spectral_regularization
from .toy_methods import Method, Setting, spectral_norm_d, spectral_regularization_d


def sr_authors_d(D, setting):
    """Dynamic spectral regularization as the authors' code computes it (sigma_j -> gamma_j)."""
    return spectral_regularization(D, "authors")


# Miyato et al. (2018) and Liu et al. (2019, configs/sr.yml of their code): hinge loss, Adam
# lr 2e-4, betas (0, 0.9), 5 D steps per G step.
_SN_SR = dict(lr=2e-4, betas=(0.0, 0.9), n_critic=5, lr_decay="constant", batch_size=64, steps=2000)

# Srivastava et al.'s 2-D code: z of size 254, G and F 2 x 128, D(z, x) 1 x 128, Adam 1e-3, batch 500.
_VEEGAN = dict(lr=1e-3, betas=(0.5, 0.999), batch_size=500, latent_dim=254, hidden=128, depth=2, d_depth=1,
               lr_decay="constant")

PAPER_METHODS = [
    Method("wgan", loss="wgan", setting=Setting(optimizer="rmsprop", lr=5e-5, n_critic=5, batch_size=64,
                                                 lr_decay="constant", steps=3000),
           note="Arjovsky et al. (2017), Algorithm 1: RMSProp lr 5e-5, clip 0.01, n_critic 5, batch 64"),
    Method("wgan_gp", loss="wgan_gp", setting=Setting(lr=1e-4, betas=(0.0, 0.9), n_critic=5, penalty_weight=10.0,
                                                       batch_size=64, lr_decay="constant", steps=3000),
           note="Gulrajani et al. (2017), Algorithm 1: Adam lr 1e-4, betas (0, 0.9), n_critic 5, "
                "lambda 10, batch 64 (their toy code uses batch 256 and lambda 0.1)"),
    Method("pacgan4", loss="ns", pack=4,
           setting=Setting(lr=1e-4, betas=(0.8, 0.999), batch_size=100, latent_dim=2, hidden=400, depth=4,
                           g_batch_norm=True, d_hidden=200, d_depth=3, d_maxout=5, lr_decay="constant",
                           steps=5000),
           note="Lin et al. (2018) and their 2-D code: G 4 x 400 ReLU with batch norm, z of size 2; D 3 x 200 "
                "maxout (5 pieces); Adam lr 1e-4, beta1 0.8; batch 100; packs of 4"),
    Method("veegan", veegan="paper",
           setting=Setting(**_VEEGAN, steps=5000),
           note="Srivastava et al. (2017) and their 2-D code: z of size 254, G and F 2 x 128 ReLU, D(z, x) "
                "1 x 128; Adam lr 1e-3, beta1 0.5; batch 500; the paper's objective, simultaneous updates"),
    Method("veegan_60k", veegan="paper",
           setting=Setting(**_VEEGAN, steps=60000),
           note="as veegan, trained 12 times longer: 60,000 steps (the authors' code: 10^5), about 18 minutes "
                "per run on one core here"),
    Method("veegan_100k", veegan="paper",
           setting=Setting(**_VEEGAN, steps=100000),
           note="as veegan, at the authors' full budget: 100,000 steps (their code's default), about 30 "
                "minutes per run on one core here; trained on grid25 only (ring8 is covered at 60,000)"),
    Method("veegan_course", veegan="course",
           setting=Setting(**_VEEGAN, steps=5000),
           note="the course's VEEGAN objective (softplus, ALI term for F, alternating) in the authors' setting"),
    Method("hinge+sn", loss="hinge", d_transform=spectral_norm_d, setting=Setting(**_SN_SR),
           note="Miyato et al. (2018): hinge loss, Adam lr 2e-4, betas (0, 0.9), n_critic 5"),
    Method("hinge+sr", loss="hinge", d_transform=spectral_regularization_d, setting=Setting(**_SN_SR),
           note="Liu et al. (2019), their configs/sr.yml; the course's dynamic compensation"),
    Method("hinge+sr_authors", loss="hinge", d_transform=sr_authors_d, setting=Setting(**_SN_SR),
           note="as hinge+sr, with the compensation of the authors' code"),
]
"""The paper-setting rows of chapter 6's league, in their order."""
