"""The course's digit metric: a pinned classifier's features, the Frechet digit distance and its protocol.

Like FID, which pins one Inception network, the digit metric pins one small classifier
(:func:`digit_classifier`, weights shipped with the package and checked by SHA-256), so a
number means the same on every machine. :func:`digit_protocol` is the one protocol every
chapter and league uses: distance, floor, and what the distance is made of (confident share,
precision and recall, class mix).
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import torch
from torch import Tensor

from ..core.errors import CheckpointError, ConfigError, ShapeError
from ..core.sampling import evaluating
from .frechet import frechet_distance, gaussian_stats


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
    from ..core.data import images

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


DIGIT_CLASSIFIER_FILE = Path(__file__).resolve().parents[1] / "assets" / "digit_classifier.pt"
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
