"""Metrics: mode coverage on the toy mixtures, D's singular-value spectra, trackers, a linear probe.

The digit metric lives in :mod:`gan_tutorial.evaluation.digit_metric` and the Frechet
distance in :mod:`gan_tutorial.evaluation.frechet`; their public names are re-exported here,
where the chapters have always found them (``metrics.digit_protocol``, ``metrics.frechet_distance``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..core.sampling import evaluating, sample
from .digit_metric import (  # noqa: F401  (re-exported)
    CONFIDENT,
    DIGIT_CLASSIFIER_FILE,
    DIGIT_CLASSIFIER_SHA256,
    N_SCORED_DIGITS,
    PR_NEIGHBOURS,
    DigitClassifier,
    accuracy,
    class_stats,
    digit_classifier,
    digit_features,
    digit_outputs,
    digit_protocol,
    frechet_digit_distance,
    mnist5k_split,
    precision_recall,
    train_digit_classifier,
)
from .frechet import frechet_distance, gaussian_stats  # noqa: F401  (re-exported)


def mode_coverage(samples: Tensor, centers: Tensor, std: float, threshold: float = 3.0) -> dict:
    """Score generated samples against a mixture with known ``centers`` ``(k, d)`` and ``std``.

    A sample is *high quality* when it lies within ``threshold * std`` (Euclidean distance)
    of its nearest centre, and then counts for that centre's mode. Returns

    * ``modes`` - the number of modes holding at least one high-quality sample;
    * ``high_quality`` - the fraction of all samples that are high quality;
    * ``per_mode`` - list of the number of high-quality samples in each mode;
    * ``reverse_kl`` - ``KL(q || uniform) = sum_i q_i log(k q_i)`` where ``q`` is the
      per-mode histogram of the high-quality samples (0 when every mode has the same share,
      ``log k`` when all fall in one mode, ``inf`` when there is no high-quality sample).

    This is the metric of VEEGAN (Srivastava et al., 2017) and PacGAN (Lin et al., 2018).
    """
    samples = samples.detach().reshape(len(samples), -1).to(torch.float64).cpu()
    centers = centers.detach().reshape(len(centers), -1).to(torch.float64).cpu()
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(f"samples have dimension {samples.shape[1]} but the centres have "
                         f"{centers.shape[1]}: score samples of the same data set.")
    dist = torch.cdist(samples, centers)  # (n, k)
    nearest_dist, nearest = dist.min(dim=1)
    good = nearest_dist <= threshold * std
    per_mode = torch.bincount(nearest[good], minlength=len(centers))
    n_good = int(good.sum())
    if n_good == 0:
        reverse_kl = math.inf
    else:
        q = per_mode.double() / n_good
        nz = q > 0
        reverse_kl = float((q[nz] * torch.log(q[nz] * len(centers))).sum())
    return {
        "modes": int((per_mode > 0).sum()),
        "high_quality": n_good / len(samples) if len(samples) else 0.0,
        "per_mode": per_mode.tolist(),
        "reverse_kl": reverse_kl,
    }


# ---- chapter 6: singular-value spectra of D's weights (spectral collapse) ----
def weight_matrices(D: torch.nn.Module) -> dict[str, Tensor]:
    """Every weight of ``D`` that multiplies its input, as a matrix ``(out, in)``, by layer name.

    Linear weights are already ``(out, in)``; a convolution's ``(out, in, kh, kw)`` is reshaped
    to ``(out, in * kh * kw)`` (the map from a flattened patch to the output channels), as in
    spectral normalisation (Miyato et al., 2018). Under a parametrization (spectral norm,
    spectral regularization) the matrix is the *effective* weight that D's forward uses.
    """
    out = {}
    for name, module in D.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d,
                               torch.nn.Conv3d, torch.nn.ConvTranspose2d)):
            w = module.weight.detach()
            if isinstance(module, torch.nn.ConvTranspose2d):
                w = w.transpose(0, 1)  # stored (in, out, kh, kw)
            out[name or "weight"] = w.reshape(w.shape[0], -1)
    return out


@torch.no_grad()
def singular_spectra(D: torch.nn.Module, normalise: bool = True) -> dict[str, Tensor]:
    """The singular values ``sigma_1 >= sigma_2 >= ...`` of every weight matrix of ``D``.

    With ``normalise`` each spectrum is divided by its largest value, ``sigma_j / sigma_1``:
    the spectrum of the spectrally normalised weight ``W / sigma_1(W)`` (Liu et al., 2019).
    *Spectral collapse* is the fall of most of these values towards 0 while mode collapse
    sets in. Returns float64 tensors ``(min(out, in),)`` on the CPU, keyed by layer name.
    """
    spectra = {}
    for name, w in weight_matrices(D).items():
        s = torch.linalg.svdvals(w.to(torch.float64).cpu())
        spectra[name] = s / s[0] if normalise and s[0] > 0 else s
    return spectra


class SpectrumMonitor:
    """A ``fit`` callback that records D's normalised singular-value spectra over time.

    ``monitor.steps[i]`` is the step of record ``i`` and ``monitor.spectra[name][i]`` the
    spectrum of layer ``name`` then; :meth:`as_array` stacks one layer into
    ``(n_records, rank)``. ``every`` keeps one record in ``every`` callback calls.
    """

    def __init__(self, every: int = 1):
        self.every, self.calls = every, 0
        self.steps: list[int] = []
        self.spectra: dict[str, list[Tensor]] = {}

    def __call__(self, state) -> None:
        self.calls += 1
        if (self.calls - 1) % self.every:
            return
        self.steps.append(int(state.step))
        for name, s in singular_spectra(state.D).items():
            self.spectra.setdefault(name, []).append(s)

    def as_array(self, name: str) -> Tensor:
        """The spectra of layer ``name`` stacked into ``(n_records, rank)``."""
        return torch.stack(self.spectra[name])

    def mean_spectrum(self, name: str) -> Tensor:
        """The mean normalised singular value of layer ``name`` at each record, ``(n_records,)``."""
        return self.as_array(name).mean(1)


class ModeTracker:
    """A :func:`gan_tutorial.train.fit` callback: how many modes G covers over training.

    At every ``every``-th call (callbacks run at each logging step) it samples ``G(z)`` for
    the fixed codes ``z`` ``(n, latent_dim)`` in evaluation mode and records
    :func:`mode_coverage` against ``centers`` ``(k, d)`` and ``std``: ``tracker.step``,
    ``tracker.modes`` and ``tracker.high_quality`` (lists). With a :class:`SpectrumMonitor`
    on the same run it shows whether D's spectra fall before or as the modes go.
    """

    def __init__(self, centers: Tensor, std: float, z: Tensor, every: int = 1):
        self.centers, self.std, self.z, self.every, self.calls = centers, std, z, every, 0
        self.step: list[int] = []
        self.modes: list[int] = []
        self.high_quality: list[float] = []

    def __call__(self, state) -> None:
        self.calls += 1
        if (self.calls - 1) % self.every:
            return
        x = sample(state.G_eval, self.z.to(next(state.G_eval.parameters()).device)).float().cpu()
        mc = mode_coverage(torch.nan_to_num(x, nan=1e6, posinf=1e6, neginf=-1e6), self.centers, self.std)
        self.step.append(int(state.step))
        self.modes.append(mc["modes"])
        self.high_quality.append(mc["high_quality"])


# ---- chapter 2 ----
class FrechetTracker:
    """A :func:`gan_tutorial.train.fit` callback: the Frechet digit distance of G over training.

    Every ``every`` steps (a multiple of the config's ``log_every``) and at the last step it
    samples ``G(z)`` for the fixed codes ``z`` ``(n, latent_dim)`` in evaluation mode (from
    G's moving average when the config keeps one) and records ``frechet_distance`` between
    the classifier's features of those samples and of the reference images ``x_ref`` (whose
    statistics are computed once). Use as many codes as reference images: the estimate
    depends on the sample sizes.
    Results: ``tracker.step`` and ``tracker.distance`` (lists).
    """

    def __init__(self, classifier: DigitClassifier, x_ref: Tensor, z: Tensor, every: int = 500):
        self.classifier, self.z, self.every = classifier, z, every
        self.ref_stats = gaussian_stats(digit_features(classifier, x_ref))
        self.step: list[int] = []
        self.distance: list[float] = []

    def distance_of(self, G: torch.nn.Module) -> float:
        """The distance of ``G``'s samples for the tracker's codes to the reference images."""
        x = sample(G, self.z.to(next(G.parameters()).device))
        return frechet_distance(*gaussian_stats(digit_features(self.classifier, x)), *self.ref_stats)

    def __call__(self, state) -> None:
        if state.step % self.every == 0 or state.step == state.config.steps:
            self.step.append(state.step)
            self.distance.append(self.distance_of(state.G_eval))


# ---- chapter 5: how good a representation is (linear probe) ----
@torch.no_grad()
def encode(E: torch.nn.Module, x: Tensor, batch_size: int = 500, train_mode: bool = False) -> Tensor:
    """``E(x)`` ``(N, k)`` on the CPU, in batches, without gradients.

    In evaluation mode by default (batch norm uses its running statistics); ``train_mode``
    normalises each batch with its own statistics instead, as D saw batches during training.
    """
    device = next(E.parameters()).device
    with evaluating(E):
        E.train(train_mode)
        return torch.cat([E(x[i:i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)])


def linear_probe(train_features: Tensor, train_labels: Tensor, test_features: Tensor,
                 test_labels: Tensor, weight_decay: float = 1e-3, max_iter: int = 300) -> float:
    """Test accuracy of a multinomial logistic regression trained on frozen features.

    The features ``(N, k)`` are standardised with the training set's mean and std; the
    weights minimise ``cross_entropy + weight_decay · ‖W‖²`` by full-batch L-BFGS, from zero
    (so the result is deterministic). The usual measure of a representation: what a linear
    classifier can read off it.
    """
    ftr, fte = train_features.detach().double().cpu(), test_features.detach().double().cpu()
    mu, sd = ftr.mean(0), ftr.std(0).clamp_min(1e-12)
    ftr, fte = (ftr - mu) / sd, (fte - mu) / sd
    ytr = train_labels.cpu()
    n_classes = int(max(ytr.max(), test_labels.max())) + 1
    W = torch.zeros(ftr.shape[1], n_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([W, bias], max_iter=max_iter, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(ftr @ W + bias, ytr) + weight_decay * W.pow(2).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    with torch.no_grad():
        return float(((fte @ W + bias).argmax(1) == test_labels.cpu()).double().mean())
