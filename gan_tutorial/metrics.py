"""Metrics: mode coverage on the toy mixtures, and a Frechet distance for digits that works offline."""

from __future__ import annotations

import functools
import hashlib
import math
from pathlib import Path

import torch
from torch import Tensor

from .errors import CheckpointError, ConfigError, ShapeError
from .sampling import evaluating, sample


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


# ----------------------------------------------------------------------------- Frechet distance
def frechet_distance(mu1: Tensor, sigma1: Tensor, mu2: Tensor, sigma2: Tensor) -> float:
    """Frechet distance between the Gaussians N(mu1, sigma1) and N(mu2, sigma2).

    ``d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^{1/2})`` (Dowson and
    Landau, 1982), the formula of FID (Heusel et al., 2017). The trace of the matrix square
    root is computed as ``Tr((s1^{1/2} sigma2 s1^{1/2})^{1/2})``, the sum of the square roots of
    the eigenvalues of a symmetric positive semi-definite matrix, in float64.
    """
    mu1, mu2 = mu1.to(torch.float64), mu2.to(torch.float64)
    s1, s2 = sigma1.to(torch.float64), sigma2.to(torch.float64)
    evals, evecs = torch.linalg.eigh(s1)
    root1 = evecs @ torch.diag(evals.clamp(min=0).sqrt()) @ evecs.T
    middle = root1 @ s2 @ root1
    tr_covmean = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    return float(((mu1 - mu2) ** 2).sum() + torch.trace(s1) + torch.trace(s2) - 2 * tr_covmean)


def gaussian_stats(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(d,)`` and unbiased covariance ``(d, d)`` of ``features`` ``(n, d)``, in float64."""
    f = features.detach().to(torch.float64).cpu()
    return f.mean(0), torch.cov(f.T)


class DigitClassifier(torch.nn.Module):
    """A small CNN for 28x28 digits; ``features(x)`` is its 128-d penultimate layer.

    It plays the role that the Inception network plays in FID: a network trained on real
    images whose features summarise what a digit looks like. Its pinned weights ship with
    the package (:func:`digit_classifier`), so it needs no download and no training.
    """

    def __init__(self, n_classes: int = 10):
        super().__init__()
        nn = torch.nn
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # (B, 32, 14, 14)
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 64, 7, 7)
            nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),          # (B, 128)
        )
        self.head = nn.Linear(128, n_classes)

    def features(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.body(x))


def mnist5k_split(seed: int = 0, n_test_per_class: int = 100):
    """Split ``mnist5k`` into ``(x_train, y_train), (x_test, y_test)``, balanced per class."""
    from .data import images

    x, y = images("mnist5k")
    g = torch.Generator().manual_seed(seed)
    test = torch.zeros(len(y), dtype=torch.bool)
    for c in range(10):
        idx = (y == c).nonzero().squeeze(1)
        test[idx[torch.randperm(len(idx), generator=g)[:n_test_per_class]]] = True
    return (x[~test], y[~test]), (x[test], y[test])


def _shift(x: Tensor, g: torch.Generator, max_shift: int = 2) -> Tensor:
    """Random translations by up to ``max_shift`` pixels (padding with the background -1)."""
    pad = torch.nn.functional.pad(x, [max_shift] * 4, value=-1.0)
    dx, dy = torch.randint(0, 2 * max_shift + 1, (2,), generator=g).tolist()
    return pad[..., dy:dy + x.shape[-2], dx:dx + x.shape[-1]]


@torch.no_grad()
def accuracy(model: torch.nn.Module, x: Tensor, y: Tensor, batch_size: int = 500) -> float:
    """Fraction of ``x`` that ``model`` classifies as ``y``."""
    device = next(model.parameters()).device
    with evaluating(model):
        correct = sum(int((model(x[i:i + batch_size].to(device)).argmax(1).cpu() == y[i:i + batch_size]).sum())
                      for i in range(0, len(x), batch_size))
    return correct / len(x)


def train_digit_classifier(x: Tensor, y: Tensor, epochs: int = 12, batch_size: int = 64,
                           lr: float = 1e-3, seed: int = 0, device: str | torch.device = "cpu",
                           progress: bool = False) -> DigitClassifier:
    """Train :class:`DigitClassifier` on digits ``x`` ``(N, 1, 28, 28)`` in [-1, 1], labels ``y``.

    Adam with a learning rate that decays linearly to 0, and random shifts of up to two
    pixels as augmentation.
    """
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = DigitClassifier().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(x) // batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / steps)
    model.train()
    for _ in tqdm(range(epochs), disable=not progress, desc="digit classifier"):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x) - batch_size + 1, batch_size):
            idx = perm[i:i + batch_size]
            xb, yb = _shift(x[idx], g).to(device), y[idx].to(device)
            loss = torch.nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model.eval()


DIGIT_CLASSIFIER_FILE = Path(__file__).resolve().parent / "assets" / "digit_classifier.pt"
DIGIT_CLASSIFIER_SHA256 = "39c0a33b52f34c461678fd39dcec5d9bd9090d29aaea6a6cb0c5dae526d4561f"
"""The pinned weights of the digit metric's feature network (``tools/make_digit_classifier.py`` made them)."""


@functools.lru_cache(maxsize=1)
def _pinned_state() -> dict[str, Tensor]:
    path = DIGIT_CLASSIFIER_FILE
    if not path.is_file():
        raise CheckpointError(f"the digit classifier's weights {path} are missing from the package: reinstall "
                              "gan-tutorial (pip install --force-reinstall gan-tutorial), or from a clone run "
                              "`git checkout gan_tutorial/assets`.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != DIGIT_CLASSIFIER_SHA256:
        raise CheckpointError(f"the digit classifier's weights {path} are not the pinned ones (sha256 "
                              f"{digest[:12]}..., expected {DIGIT_CLASSIFIER_SHA256[:12]}...): distances scored "
                              "with them would not be comparable with the course's. Reinstall the package; a "
                              "deliberately new network needs DIGIT_CLASSIFIER_SHA256 updated and every digit "
                              "result re-scored.")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in state.items()}  # stored in float16; used in float32


@functools.lru_cache(maxsize=4)
def _held_out_accuracy(device: str) -> float:
    return accuracy(_pinned_model(device), *mnist5k_split()[1])


def _pinned_model(device: str) -> DigitClassifier:
    model = DigitClassifier()
    model.load_state_dict(_pinned_state())
    return model.to(device).eval()


def digit_classifier(device: str | torch.device = "cpu") -> tuple[DigitClassifier, float]:
    """The course's digit classifier, with pinned weights, and its accuracy on the held-out digits.

    Like the Inception network of FID, the feature network of the digit metric is fixed: its
    weights ship with the package (``assets/digit_classifier.pt``, float16) and are checked
    against :data:`DIGIT_CLASSIFIER_SHA256` when loaded; they are never trained at run time,
    so a distance means the same on every machine. They were trained by
    :func:`train_digit_classifier` on the 4,000 training digits of :func:`mnist5k_split`
    (``tools/make_digit_classifier.py`` says how). Returns ``(model in eval mode, accuracy)``.
    """
    device = str(torch.device(device))
    return _pinned_model(device), _held_out_accuracy(device)


@torch.no_grad()
def digit_features(classifier: DigitClassifier, x: Tensor, batch_size: int = 500) -> Tensor:
    """Penultimate-layer features ``(N, 128)`` of images ``x`` ``(N, 1, 28, 28)`` in [-1, 1].

    Pairs ``(N, 2, 28, 28)`` of a conditional G (an image and its label plane,
    :func:`gan_tutorial.models.with_labels`) are scored on their image channel.
    """
    if x.ndim != 4 or x.shape[1] not in (1, 2) or tuple(x.shape[-2:]) != (28, 28):
        raise ShapeError(f"the digit classifier takes digits (N, 1, 28, 28) (or labelled pairs "
                         f"(N, 2, 28, 28)), got {tuple(x.shape)}.")
    x = x[:, :1]
    device = next(classifier.parameters()).device
    with evaluating(classifier):
        return torch.cat([classifier.features(x[i:i + batch_size].to(device)).cpu()
                          for i in range(0, len(x), batch_size)])


def frechet_digit_distance(classifier: DigitClassifier, x1: Tensor, x2: Tensor) -> float:
    """Frechet distance between two sets of digit images in the classifier's feature space.

    Compare only numbers computed with the same sample sizes: the estimate is biased upwards
    for small samples.
    """
    return frechet_distance(*gaussian_stats(digit_features(classifier, x1)),
                            *gaussian_stats(digit_features(classifier, x2)))


N_SCORED_DIGITS = 1000  # samples of G scored, and training digits per floor draw
CONFIDENT = 0.9  # a sample is read confidently when the classifier's top probability is at least this
PR_NEIGHBOURS = 3  # k of the k-nearest-neighbour manifolds of precision and recall


def precision_recall(real: Tensor, fake: Tensor, k: int = PR_NEIGHBOURS) -> tuple[float, float]:
    """Improved precision and recall of ``fake`` ``(m, d)`` against ``real`` ``(n, d)`` features.

    Each set's manifold is the union of balls around its points, a point's radius being the
    distance to its ``k``-th nearest neighbour in its own set (Kynkaanniemi et al., 2019).
    *Precision*: the share of fake points inside the real manifold (how many samples look
    real); *recall*: the share of real points inside the fake manifold (how much of the data
    G covers). Distances in float64.
    """
    real, fake = real.detach().double().cpu(), fake.detach().double().cpu()
    if min(len(real), len(fake)) <= k:
        raise ShapeError(f"precision and recall with k = {k} need more than {k} points in each set, got "
                         f"{len(real)} real and {len(fake)} fake.")

    def radii(x: Tensor) -> Tensor:  # distance to the k-th neighbour, the point itself excluded
        return torch.cdist(x, x).kthvalue(k + 1, dim=1).values

    d = torch.cdist(fake, real)  # (m, n)
    precision = (d <= radii(real)[None, :]).any(1).double().mean()
    recall = (d <= radii(fake)[:, None]).any(0).double().mean()
    return float(precision), float(recall)


@torch.no_grad()
def digit_outputs(classifier: DigitClassifier, x: Tensor, batch_size: int = 500) -> tuple[Tensor, Tensor]:
    """The classifier's features ``(N, 128)`` and class probabilities ``(N, 10)`` of digits ``x``."""
    features = digit_features(classifier, x, batch_size)
    head = classifier.head
    probs = torch.softmax(head(features.to(head.weight.device)).float(), dim=1).cpu()
    return features, probs


def class_stats(probs: Tensor) -> dict:
    """What the classifier reads in a set of digits from its probabilities ``(N, 10)``.

    ``confident``: share of digits whose top probability is at least :data:`CONFIDENT`;
    ``class_mix``: share of each class among the argmax readings (10 numbers, summing to 1);
    ``rarest_class`` and ``commonest_class``: the smallest and largest of those shares;
    ``class_kl``: ``KL(mix || uniform)`` in nats (0 for a balanced mix, ``log 10`` for one class).
    """
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double()
    mix = counts / counts.sum()
    nz = mix > 0
    return {"confident": float((probs.max(1).values >= CONFIDENT).double().mean()),
            "class_mix": [round(float(m), 4) for m in mix],
            "rarest_class": float(mix.min()), "commonest_class": float(mix.max()),
            "class_kl": float((mix[nz] * torch.log(mix[nz] * len(mix))).sum())}


def digit_protocol(samples: Tensor, classifier: DigitClassifier | None = None, floor_draws: int = 5,
                   seed: int = 0, reference: str = "held-out") -> dict:
    """The course's one image-quality protocol: G's distance and the floor, on one held-out set.

    ``distance``: the Frechet digit distance of ``samples`` (the first 1,000 are scored) to
    the 1,000 held-out digits of :func:`mnist5k_split`. ``floor``: the same distance for
    1,000 of the 4,000 *training* digits drawn without replacement, mean over ``floor_draws``
    draws (``floor_std`` their spread): what a G that reproduced the training set would score.
    GANs train on the training digits only; the held-out ones are used only here.

    Beside the distance, what it is made of: ``confident``, ``class_mix``, ``rarest_class``,
    ``commonest_class`` and ``class_kl`` (:func:`class_stats`), and ``precision`` and ``recall``
    (:func:`precision_recall`, k = 3, against the reference digits). With a floor, ``real``
    holds the same numbers for the first floor draw of training digits: what real digits score.

    ``floor_draws=0`` skips the floor (``floor`` and ``ratio`` are NaN, no ``real``): for
    curves over training. ``reference="training"`` scores against the first 1,000 training
    digits instead, the score used to *choose* settings, so that tuning never sees a held-out digit.
    """
    if len(samples) < N_SCORED_DIGITS:
        raise ShapeError(f"score {N_SCORED_DIGITS} samples of G (the protocol's sample size), got "
                         f"{len(samples)}: draw more with train.sample(G, z) for z of that size.")
    if reference not in ("held-out", "training") or floor_draws < 0:
        raise ConfigError(f"digit_protocol takes reference='held-out' or 'training' and floor_draws >= 0, got "
                          f"reference={reference!r}, floor_draws={floor_draws}.")
    classifier = classifier if classifier is not None else digit_classifier()[0]
    (x_tr, _), (x_te, _) = mnist5k_split()
    g = torch.Generator().manual_seed(seed)
    tuning_set = x_tr[torch.randperm(len(x_tr), generator=torch.Generator().manual_seed(1))[:N_SCORED_DIGITS]]
    ref_features = digit_features(classifier, x_te if reference == "held-out" else tuning_set)
    ref = gaussian_stats(ref_features)

    def score(x: Tensor) -> dict:
        features, probs = digit_outputs(classifier, x)
        precision, recall = precision_recall(ref_features, features)
        return {"distance": frechet_distance(*gaussian_stats(features), *ref), "precision": precision,
                "recall": recall, **class_stats(probs)}

    floors, real = [], None
    for _ in range(floor_draws if reference == "held-out" else 0):
        drawn = score(x_tr[torch.randperm(len(x_tr), generator=g)[:N_SCORED_DIGITS]])
        floors.append(drawn.pop("distance"))
        real = real or drawn
    out = score(samples[:N_SCORED_DIGITS])
    floor = float(torch.tensor(floors).mean()) if floors else float("nan")
    out.update(floor=floor, floor_std=float(torch.tensor(floors).std()) if len(floors) > 1 else 0.0,
               ratio=out["distance"] / floor)
    if real is not None:
        out["real"] = real
    return out


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
