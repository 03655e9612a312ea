"""The one training loop for every GAN: ``TrainConfig``, ``d_step``, ``g_step``, ``fit``.

``fit`` alternates ``n_critic`` discriminator steps with one generator step, ``steps``
times. ``steps`` counts generator updates. Batches are drawn on the device
(:class:`gan_tutorial.data.BatchSampler`); losses are summed on the device and read back
only every ``log_every`` steps, so the step loop does not wait on the host.

Checkpoints hold everything a resumed run needs to continue exactly as an uninterrupted one
(weights, optimiser states, every random generator, the history). They are written to a
temporary file and renamed, so a crash never leaves a half-written file behind, and read
with ``torch.load(weights_only=True)``, which refuses pickled code.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
import pickle
import signal
import threading
import time
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from . import regularizers
from .data import BatchSampler
from .errors import CheckpointError, ConfigError, DataError, GanTutorialError, ShapeError
from .losses import GANLoss, get_loss


class TrainingDiverged(GanTutorialError, RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last finite losses."""


LR_DECAYS = ("constant", "linear", "cosine")


def lr_factor(schedule: str, step: int, steps: int) -> float:
    """The learning-rate multiplier of step ``step`` (1-based) of ``steps`` under ``schedule``.

    1 at the first step; for "linear" and "cosine" it falls to ``1 / steps`` (linear) or
    about ``(pi / 2 steps)**2`` (cosine) at the last step, never to 0 inside the run.
    """
    t = (step - 1) / steps  # the fraction of the run done before this step
    if schedule == "linear":
        return 1.0 - t
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    return 1.0


def noise_std(config: TrainConfig, step: int) -> float:
    """The instance-noise std at ``step``: ``instance_noise`` falling linearly to 0 at
    ``noise_until * steps``, then 0."""
    if config.instance_noise == 0:
        return 0.0
    return config.instance_noise * max(0.0, 1.0 - step / (config.noise_until * config.steps))


def _noisy(x: Tensor, std: float) -> Tensor:
    return x if std == 0 else x + std * torch.randn_like(x)


def set_learning_rates(pairs, factor: float) -> None:
    """Set every param group of each ``(optimizer, base_lr)`` pair to ``base_lr * factor``."""
    for opt, base in pairs:
        for group in opt.param_groups:
            group["lr"] = base * factor


@torch.no_grad()
def ema_update(average: nn.Module, model: nn.Module, decay: float) -> None:
    """``average <- decay * average + (1 - decay) * model`` for the weights; buffers are copied.

    Buffers (batch norm's running statistics) are copied rather than averaged: they are
    statistics of the current model's activations. ``decay=0`` makes ``average`` a copy.
    """
    a_params = [p for p in average.parameters()]
    m_params = [p.detach() for p in model.parameters()]
    if decay == 0:
        torch._foreach_copy_(a_params, m_params)
    else:
        torch._foreach_lerp_(a_params, m_params, 1.0 - decay)
    for a, m in zip(average.buffers(), model.buffers()):
        a.copy_(m)


@dataclass
class TrainConfig:
    """Everything ``fit`` needs besides the models and the data.

    ``penalty_weight=None`` keeps the loss's own default weight. ``device="auto"`` picks
    CUDA, then MPS, then the CPU. ``out`` is where checkpoints go (none are written when it
    is None); ``resume`` is a checkpoint file, or a folder whose newest checkpoint is used.
    """

    loss: str = "ns"
    steps: int = 2000
    batch_size: int = 64
    lr_d: float = 2e-4
    lr_g: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    n_critic: int = 1
    penalty_weight: float | None = None
    device: str = "auto"
    seed: int = 0
    log_every: int = 50
    sample_every: int = 0  # 0: one snapshot, at the end
    n_samples: int = 64
    checkpoint_every: int = 0  # 0: only at the end (and on Ctrl-C)
    keep_checkpoints: int = 2
    out: str | None = None
    resume: str | None = None
    progress: bool = True
    # what to do when a loss becomes NaN/inf: "stop", or "rollback" to the last finite
    # logging step with both learning rates multiplied by rollback_lr_factor (at most
    # max_rollbacks times, then stop)
    on_divergence: str = "stop"
    rollback_lr_factor: float = 0.5
    max_rollbacks: int = 3
    # speed switches (see the appendix on speed); None means "on where it is safe"
    amp: bool | None = None  # bf16 autocast of the forward passes: auto = CUDA, no penalty
    channels_last: bool | None = None  # NHWC memory layout for images: auto = CUDA
    compile: bool = False  # torch.compile G and D (not with gradient penalties)
    reuse_fake: bool = False  # G step reuses the last D step's fake batch (one G forward less)
    # learning-rate schedule: "constant", or "linear" / "cosine" decay of both learning rates
    # to 0 at the last step (the last steps then make small moves and the samples sharpen)
    lr_decay: str = "constant"
    # exponential moving average of G's weights (0: off; 0.999 averages over ~1,000 steps),
    # from step ema_start on (before it the average is a copy of G). The average is kept in
    # history.G_ema, makes the snapshots and is given to callbacks as state.G_ema.
    ema: float = 0.0
    ema_start: int = 0
    # instance noise (Sonderby et al., 2017; Arjovsky and Bottou, 2017): Gaussian noise of this
    # std added to every input of D (real and fake, in D's and G's steps), falling linearly to
    # 0 at step noise_until * steps and off after it. Early on D compares the two densities
    # blurred, so G is pulled towards data it has no samples near (chapter 6).
    instance_noise: float = 0.0
    noise_until: float = 0.5

    def validate(self) -> None:
        """Raise a :class:`ConfigError` that names the field and the fix for any bad value."""
        get_loss(self.loss)
        for name in ("steps", "batch_size", "n_critic", "log_every", "n_samples", "keep_checkpoints"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}.")
        for name in ("sample_every", "checkpoint_every", "ema_start"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(f"{name} must be an integer >= 0 (0 turns it off), got {v!r}.")
        for name in ("lr_d", "lr_g"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{name} must be a positive number such as 2e-4, got {v!r}.")
        if self.penalty_weight is not None and not self.penalty_weight >= 0:
            raise ConfigError(f"penalty_weight must be >= 0 or None, got {self.penalty_weight!r}.")
        if self.lr_decay not in LR_DECAYS:
            raise ConfigError(f"lr_decay must be one of {', '.join(map(repr, LR_DECAYS))}, got {self.lr_decay!r}.")
        if not (isinstance(self.instance_noise, (int, float)) and math.isfinite(self.instance_noise)
                and self.instance_noise >= 0):
            raise ConfigError(f"instance_noise must be a std >= 0 such as 0.5 (0 turns it off), "
                              f"got {self.instance_noise!r}.")
        if not (isinstance(self.noise_until, (int, float)) and 0 < self.noise_until <= 1):
            raise ConfigError(f"noise_until must be a fraction of the run in (0, 1] such as 0.5, "
                              f"got {self.noise_until!r}.")
        if not (isinstance(self.ema, (int, float)) and 0 <= self.ema < 1):
            raise ConfigError(f"ema must be a decay in [0, 1) such as 0.999 (0 turns it off), got {self.ema!r}.")
        if self.on_divergence not in ("stop", "rollback"):
            raise ConfigError(f"on_divergence must be 'stop' or 'rollback', got {self.on_divergence!r}.")
        if not 0 < self.rollback_lr_factor < 1:
            raise ConfigError(f"rollback_lr_factor must be in (0, 1), got {self.rollback_lr_factor!r}.")
        if (not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2
                or not all(0 <= b < 1 for b in self.betas)):
            raise ConfigError(f"betas must be two numbers in [0, 1) such as (0.5, 0.999), "
                              f"got {self.betas!r}.")


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> cuda, then mps, then cpu; any other name must be available here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device {name!r} is not a device name: use 'auto', 'cpu', 'cuda' "
                          "or 'mps'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but no CUDA GPU is available here: use "
                          "device='auto' or 'cpu' (on Colab: Runtime > Change runtime type > GPU).")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None)
                                     and torch.backends.mps.is_available()):
        raise ConfigError(f"device {name!r} asked for but MPS is not available: use 'auto' or 'cpu'.")
    return device


# ----------------------------------------------------------------------------- distributed
def distributed_context() -> tuple[int, int]:
    """``(rank, world_size)`` of the running process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def init_distributed(device: str = "auto") -> tuple[int, int]:
    """Join the process group that ``torchrun`` describes in the environment, if any.

    ``torchrun --nproc_per_node N`` sets ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE`` and the
    rendezvous address; this starts the group with NCCL on GPUs and gloo on CPUs, and pins
    each process to GPU ``LOCAL_RANK``. Without those variables it does nothing.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return distributed_context()
    gpu = device in ("auto", "cuda") and torch.cuda.is_available()
    if gpu:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if gpu else "gloo")
    return distributed_context()


# ----------------------------------------------------------------------------- history
@dataclass
class History:
    """What ``fit`` records: mean losses per logging interval and sample snapshots."""

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, Tensor]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # e.g. rollbacks after a divergence
    wall_time: float = 0.0
    G_ema: nn.Module | None = None  # the moving average of G when config.ema > 0

    def as_dict(self) -> dict:
        """Plain numbers (no tensors): for JSON and for checkpoints."""
        return {"step": list(self.step), "d_loss": list(self.d_loss), "g_loss": list(self.g_loss),
                "penalty": list(self.penalty), "events": list(self.events),
                "wall_time": self.wall_time}

    def load_dict(self, state: dict) -> None:
        """Replace the recorded numbers by those of :meth:`as_dict` (snapshots are kept)."""
        for key in ("step", "d_loss", "g_loss", "penalty", "events"):
            setattr(self, key, list(state.get(key, [])))
        self.wall_time = state.get("wall_time", 0.0)


@dataclass
class TrainState:
    """What a callback sees: the models, the step just finished, the history so far."""

    step: int
    G: nn.Module
    D: nn.Module
    history: History
    config: TrainConfig
    sampler: BatchSampler
    G_ema: nn.Module | None = None  # the moving average of G (config.ema > 0), else None

    @property
    def G_eval(self) -> nn.Module:
        """The generator to evaluate: the moving average when there is one, else G."""
        return self.G if self.G_ema is None else self.G_ema


# ----------------------------------------------------------------------------- steps
def _autocast(x: Tensor, amp: bool):
    return torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp)


def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, loss: GANLoss,
           x_real: Tensor, z: Tensor, penalty_weight: float, amp: bool = False,
           x_fake: Tensor | None = None, noise: float = 0.0) -> tuple[Tensor, Tensor]:
    """One update of D: minimise ``loss.d_loss`` (e.g. maximise log D(x) + log(1 - D(G(z)))).

    The fake batch is made without a graph through G (it is detached): D's update needs
    no gradient with respect to G's weights. A fake batch ``x_fake = G(z)`` made by the
    caller is used detached instead. With ``amp`` the forward passes run in bf16 autocast
    and the loss is computed in float32. ``noise`` > 0 adds Gaussian noise of that std to
    both batches first (instance noise). Returns (D loss, penalty), detached.
    """
    if x_fake is None:
        with torch.no_grad(), _autocast(z, amp):
            x_fake = G(z)
    x_fake = _noisy(x_fake.detach(), noise)
    x_real = _noisy(x_real, noise)
    with _autocast(z, amp):
        real_scores, fake_scores = D(x_real), D(x_fake)
    d_loss = loss.d_loss(real_scores.float(), fake_scores.float(), z=z, x_real=x_real,
                         x_fake=x_fake.to(x_real.dtype))
    penalty = torch.zeros((), device=d_loss.device)
    if loss.penalty is not None and penalty_weight > 0:
        penalty = regularizers.PENALTIES[loss.penalty](D, x_real, x_fake)
    opt_d.zero_grad(set_to_none=True)
    (d_loss + penalty_weight * penalty).backward()
    opt_d.step()
    if loss.clip is not None:
        regularizers.clip_weights(D, loss.clip)
    return d_loss.detach(), penalty.detach()


def g_step(G: nn.Module, D: nn.Module, opt_g: torch.optim.Optimizer, loss: GANLoss,
           z: Tensor, x_real: Tensor, amp: bool = False, x_fake: Tensor | None = None,
           noise: float = 0.0) -> Tensor:
    """One update of G: minimise ``loss.g_loss`` (e.g. the non-saturating ``-log D(G(z))``).

    Only G's optimiser steps. The backward pass needs D's gradient with respect to its
    input, not to its weights, so D's weights are frozen during it (the same G update,
    less work); under DDP they stay as they are, since DDP expects every gradient. A fake
    batch ``x_fake = G(z)`` with its graph, made by the caller, is used instead of a new one.
    ``noise`` > 0 adds instance noise to what D sees (the gradient flows through the sum to G).
    """
    inner_D = D.module if isinstance(D, DistributedDataParallel) else None
    frozen = [] if inner_D is not None else [p for p in D.parameters() if p.requires_grad]
    for p in frozen:
        p.requires_grad_(False)
    try:
        with _autocast(z, amp):
            x_fake = _noisy(G(z) if x_fake is None else x_fake, noise)  # what D sees, as in d_step
            x_real = _noisy(x_real, noise) if loss.g_needs_real else x_real
            fake_scores = D(x_fake)
            real_scores = D(x_real) if loss.g_needs_real else None
        context = {"z": z, "x_real": x_real, "x_fake": x_fake}
        if real_scores is not None:
            context["real_scores"] = real_scores.float()
        g_loss = loss.g_loss(fake_scores.float(), **context)
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        for p in frozen:
            p.requires_grad_(True)
    opt_g.step()
    return g_loss.detach()


@torch.no_grad()
def sample(G: nn.Module, z: Tensor) -> Tensor:
    """``G(z)`` in evaluation mode (batch norm uses running statistics), on the CPU."""
    was_training = G.training
    G.eval()
    x = G(z).float().cpu()
    G.train(was_training)
    return x


def log_ratio_score(scores: Tensor) -> Tensor:
    """D's scalar logit from its raw output: ``(B,)`` as is, a vector ``(B, k)`` averaged.

    For the ``ns``/``minimax`` losses the optimal D's logit is ``log p_data(x) / p_G(x)``
    (chapter 1); O-GAN's D is ``avg E(x)`` trained with such a base loss, hence the average.
    """
    if scores.ndim == 1:
        return scores
    if scores.ndim == 2:
        return scores.mean(1)
    raise ShapeError(f"D's output must be (B,) or (B, k) for rejection sampling, got {tuple(scores.shape)}.")


@torch.no_grad()
def rejection_sample(G: nn.Module, D: nn.Module, n: int, latent_dim: int, quantile: float = 0.99,
                     calibration: int = 10_000, batch: int = 10_000, max_draws: int | None = None,
                     generator: torch.Generator | None = None) -> tuple[Tensor, dict]:
    """``n`` samples of G kept by discriminator rejection sampling (Azadi et al., 2019).

    With ``s(x) = log p_data(x) / p_G(x)`` (D's logit, :func:`log_ratio_score`), drawing
    ``x ~ p_G`` and keeping it with probability ``min(1, exp(s(x) - log M))`` leaves the
    density ``min(p_G, p_data / M)`` (normalised): exactly ``p_data`` once
    ``M >= max p_data / p_G``, which keeps a fraction ``1 / M`` of the draws (chapter 6
    derives both). ``log M`` is the ``quantile`` of ``s`` over ``calibration`` draws: 1.0
    takes their maximum; lower values keep more draws and correct less.

    Returns the samples ``(n, d)`` on the CPU and ``{"acceptance", "log_M", "draws"}``.
    Raises ``ConfigError`` for bad arguments and when ``max_draws`` (default ``1000 n``)
    draws keep fewer than ``n``: then D rejects nearly everything (lower ``quantile``, raise
    ``max_draws``, or train D and G longer so that they agree). ``draws`` and ``acceptance``
    count the draws after the calibration ones.
    """
    if not 0 < quantile <= 1:
        raise ConfigError(f"quantile must be in (0, 1], got {quantile}: 0.99 caps log M at the 99th percentile.")
    for name, v in (("n", n), ("latent_dim", latent_dim), ("calibration", calibration), ("batch", batch)):
        if v < 1:
            raise ConfigError(f"{name} must be a positive integer, got {v}.")
    max_draws = 1000 * n if max_draws is None else max_draws
    device = next(iter(G.parameters()), torch.empty(0)).device
    modes = G.training, D.training
    G.eval()
    D.eval()

    def draw(m: int) -> tuple[Tensor, Tensor]:
        z = torch.randn(m, latent_dim, generator=generator).to(device)
        x = G(z)
        return x.float().cpu(), log_ratio_score(D(x).float()).cpu()

    try:
        log_m = torch.quantile(draw(calibration)[1], quantile).item()
        kept, n_kept, draws = [], 0, 0
        while n_kept < n:
            if draws >= max_draws:
                raise ConfigError(
                    f"rejection sampling kept {n_kept} of {draws} draws, fewer than the {n} asked for: "
                    f"D rejects nearly everything. Lower quantile (now {quantile}) or raise max_draws.")
            x, s = draw(batch)
            draws += batch
            u = torch.rand(batch, generator=generator)
            keep = u < torch.exp((s - log_m).clamp(max=0.0))
            kept.append(x[keep])
            n_kept += int(keep.sum())
    finally:
        G.train(modes[0])
        D.train(modes[1])
    return torch.cat(kept)[:n], {"acceptance": n_kept / draws, "log_M": log_m, "draws": draws}


# ----------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: str | Path, state: dict) -> Path:
    """Write ``state`` with ``torch.save`` to a temporary file, then rename it over ``path``.

    The rename is atomic, so ``path`` is always either the old file or the complete new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint with ``weights_only=True``; a clear error if it is missing or damaged."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist: check the path, or start "
                              "without resume.")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; a cut file loses its index
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted (not a complete torch.save "
                              "archive): use an older checkpoint or start again.")
    with zipfile.ZipFile(path) as archive:  # CRC-32 of every member: catches flipped bytes
        try:
            bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            bad = str(exc)
    if bad is not None:
        raise CheckpointError(f"checkpoint {path} is corrupted (a checksum fails in {bad}): use an older "
                              "checkpoint or start again.")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        raise CheckpointError(f"checkpoint {path} holds pickled code or objects, which weights_only loading "
                              "refuses: it was not written by gan_tutorial; open it with "
                              "torch.load(..., weights_only=False) only if you trust its source.") from None
    except Exception as exc:  # a truncated zip, a bad magic number, a file cut short
        raise CheckpointError(f"checkpoint {path} is truncated or corrupted ({type(exc).__name__}): use an "
                              "older checkpoint or start again.") from None


def checkpoint_files(folder: str | Path) -> list[Path]:
    """The checkpoints ``step_*.pt`` in ``folder``, oldest first."""
    return sorted(Path(folder).glob("step_*.pt"))


def load_resume(resume: str | Path, map_location: str | torch.device = "cpu") -> tuple[dict, Path]:
    """Load the checkpoint to resume from: a file, or the newest readable one in a folder.

    In a folder, a damaged newest checkpoint (a crash while a disk filled up, a partial
    copy) is reported with a warning and the previous one is used instead.
    """
    path = Path(resume)
    if not path.is_dir():
        return load_checkpoint(path, map_location), path
    files = checkpoint_files(path)
    if not files:
        raise CheckpointError(f"no checkpoint (step_*.pt) in {path}: check the folder, or start "
                              "without resume.")
    for candidate in reversed(files):
        try:
            return load_checkpoint(candidate, map_location), candidate
        except CheckpointError as exc:
            warnings.warn(f"{exc} Falling back to the previous checkpoint.", stacklevel=3)
    raise CheckpointError(f"no readable checkpoint in {path}: start again without resume.")


def check_writable(folder: str | Path) -> Path:
    """Create ``folder`` if needed and make sure files can be written there."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write_test{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"output folder {folder} cannot be written ({exc.strerror or exc}): "
                          "choose another output folder.") from None
    return folder


# ----------------------------------------------------------------------------- fit
def _as_tensor(data) -> Tensor:
    if isinstance(data, (tuple, list)) and data and isinstance(data[0], Tensor):
        data = data[0]  # (x, labels)
    if not isinstance(data, Tensor):
        raise DataError(f"data must be a tensor (N, ...) or a tuple (x, labels), got "
                        f"{type(data).__name__}.")
    if data.ndim < 2 or len(data) == 0:
        raise DataError(f"data must be shaped (N, ...) with N > 0, got {tuple(data.shape)}.")
    if not data.is_floating_point():
        raise DataError(f"data must be floating point (images scaled to [-1, 1]), got {data.dtype}: "
                        "use x.float() / 127.5 - 1 for 0..255 pixels.")
    if not torch.isfinite(data).all():
        raise DataError("data holds NaN or inf values: clean or drop those samples first.")
    if data.ndim == 4:
        if data.shape[1] not in (1, 3, 4) and data.shape[-1] in (1, 3, 4):
            raise ShapeError(f"images must be laid out (N, C, H, W), got {tuple(data.shape)}, which "
                             "looks like (N, H, W, C): use x.permute(0, 3, 1, 2).")
        lo, hi = float(data.min()), float(data.max())
        if lo < -1.001 or hi > 1.001:
            raise DataError(f"images must be scaled to [-1, 1] (G ends in tanh), got values in "
                            f"[{lo:.3g}, {hi:.3g}]: use x / 127.5 - 1 for 0..255 pixels, "
                            "or 2 * x - 1 for [0, 1].")
    return data


def _check_models(G: nn.Module, D: nn.Module, loss: GANLoss, x: Tensor, device) -> None:
    latent = getattr(G, "latent_dim", None)
    if not isinstance(latent, int):
        raise ConfigError("G must have an integer attribute latent_dim (the size of z).")
    was = G.training, D.training
    G.eval(), D.eval()
    try:
        with torch.no_grad():
            try:
                out = G(torch.zeros(2, latent, device=device))
            except RuntimeError as exc:
                raise ShapeError(f"G failed on z of shape (2, {latent}): {str(exc).splitlines()[0]}. "
                                 "Check G.latent_dim against G's first layer.") from None
            if tuple(out.shape[1:]) != tuple(x.shape[1:]):
                raise ShapeError(f"G makes samples of shape {tuple(out.shape[1:])} but the data has "
                                 f"{tuple(x.shape[1:])}: build G for the data's shape.")
            try:
                scores = D(x[:2].to(device))
            except RuntimeError as exc:
                raise ShapeError(f"D failed on a data batch of shape {tuple(x[:2].shape)}: "
                                 f"{str(exc).splitlines()[0]}. Build D for the data's shape.") from None
    finally:
        G.train(was[0]), D.train(was[1])
    if loss.output == "scalar" and tuple(scores.shape) != (2,):
        raise ShapeError(f"loss {loss.name!r} needs D to return one score per sample (B,), got "
                         f"{tuple(scores.shape)}: build D with out_dim=None.")
    if loss.output == "vector" and scores.ndim != 2:
        raise ShapeError(f"loss {loss.name!r} needs D to return a vector per sample (B, k), got "
                         f"{tuple(scores.shape)}: build D with out_dim=k.")


def fit(G: nn.Module, D: nn.Module, data, config: TrainConfig | None = None,
        callbacks: Sequence[Callable[[TrainState], None]] = ()) -> History:
    """Train G and D on ``data`` ``(N, ...)`` (or ``(x, labels)``) and return the :class:`History`.

    Each of the ``config.steps`` iterations makes ``n_critic`` D steps (a fresh real batch
    and a fresh z each) and one G step. Callbacks run every ``log_every`` steps and at the end.
    """
    config = config or TrainConfig()
    config.validate()
    loss = get_loss(config.loss)
    x = _as_tensor(data)
    rank, world = distributed_context()
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
    penalty_weight = loss.penalty_weight if config.penalty_weight is None else config.penalty_weight
    out = check_writable(config.out) if config.out and rank == 0 else None  # rank 0 writes
    cuda = device.type == "cuda"
    amp = (cuda and loss.penalty is None) if config.amp is None else config.amp
    channels_last = (cuda if config.channels_last is None else config.channels_last) and x.ndim == 4

    torch.manual_seed(config.seed + rank)  # penalties' random draws differ across ranks
    G.to(device).train()
    D.to(device).train()
    _check_models(G, D, loss, x, device)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    sampler = BatchSampler(x, config.batch_size, device, seed=config.seed, rank=rank, world=world)
    z_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    z_fixed = torch.randn(config.n_samples, G.latent_dim,
                          generator=torch.Generator().manual_seed(config.seed + 2)).to(device)
    fused = {"fused": True} if cuda else {}
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas, **fused)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas, **fused)
    G_run, D_run = G, D
    if config.compile and loss.penalty is None:  # double backward cannot go through compile
        G_run, D_run = torch.compile(G), torch.compile(D)
    if world > 1:  # gradients are averaged over the ranks during backward
        ids = [device.index] if device.type == "cuda" else None
        G_run, D_run = (DistributedDataParallel(m, device_ids=ids) for m in (G_run, D_run))
    history = History()
    G_ema = history.G_ema = copy.deepcopy(G).requires_grad_(False) if config.ema > 0 else None
    lr_scale = [1.0]  # lowered by each rollback after a divergence; kept in checkpoints

    def set_lr(step: int) -> None:
        set_learning_rates(((opt_d, config.lr_d), (opt_g, config.lr_g)),
                           lr_scale[0] * lr_factor(config.lr_decay, step, config.steps))

    def state_dict(step: int) -> dict:
        return {"step": step, "G": G.state_dict(), "D": D.state_dict(), "lr_scale": lr_scale[0],
                "G_ema": G_ema.state_dict() if G_ema is not None else {},
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "sampler": sampler.state_dict(), "z_generator": z_gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if cuda else [],
                "history": history.as_dict(), "config": dataclasses.asdict(config)}

    def restore(state: dict) -> int:
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        lr_scale[0] = float(state.get("lr_scale", 1.0))
        if G_ema is not None:
            G_ema.load_state_dict(state["G_ema"] if state.get("G_ema") else state["G"])
        sampler.load_state_dict(state["sampler"])
        z_gen.set_state(state["z_generator"])
        torch.set_rng_state(state["torch_rng"])
        if cuda and state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        history.load_dict(state["history"])
        return int(state["step"])

    def write_checkpoint(step: int) -> None:
        if out is None:
            return
        save_checkpoint(out / f"step_{step:08d}.pt", state_dict(step))
        for old in checkpoint_files(out)[:-config.keep_checkpoints]:
            old.unlink()

    start = restore(load_resume(config.resume, map_location=device)[0]) if config.resume else 0
    latent, bs, local = G.latent_dim, config.batch_size, sampler.local
    sums = torch.zeros(3, device=device)  # running sums of (d_loss, g_loss, penalty)
    count, t0, step, rollbacks = 0, time.perf_counter(), start, 0
    good = copy.deepcopy(state_dict(start)) if config.on_divergence == "rollback" else None
    bar = tqdm(total=config.steps, initial=start, disable=not config.progress or rank > 0,
               desc=f"{config.loss}", dynamic_ncols=True)
    with _deferred_interrupt() as interrupted:
        while step < config.steps:
            step += 1
            set_lr(step)
            noise = noise_std(config, step)
            x_fake = None
            for i in range(config.n_critic):
                x_real = sampler.sample()
                z = torch.randn(bs, latent, device=device, generator=z_gen)[local]  # this rank's slice
                if config.reuse_fake and i == config.n_critic - 1:
                    with _autocast(z, amp):
                        x_fake = G_run(z)  # with its graph, for the G step
                d_loss, penalty = d_step(G_run, D_run, opt_d, loss, x_real, z, penalty_weight, amp, x_fake,
                                         noise)
            if x_fake is None:
                z = torch.randn(bs, latent, device=device, generator=z_gen)[local]
            g_loss = g_step(G_run, D_run, opt_g, loss, z, x_real, amp, x_fake, noise)
            if G_ema is not None:
                ema_update(G_ema, G, config.ema if step > config.ema_start else 0.0)
            sums += torch.stack([d_loss, g_loss, penalty])
            count += 1
            bar.update(1)

            if step % config.log_every == 0 or step == config.steps:
                if world > 1:
                    dist.all_reduce(sums)
                    sums /= world
                d_mean, g_mean, p_mean = (sums / count).tolist()  # the one host sync
                sums.zero_()
                count = 0
                if not all(math.isfinite(v) for v in (d_mean, g_mean, p_mean)):
                    if good is not None and rollbacks < config.max_rollbacks:
                        rollbacks += 1
                        bad_step, step = step, restore(copy.deepcopy(good))
                        lr_scale[0] *= config.rollback_lr_factor
                        history.events.append(
                            f"loss not finite by step {bad_step}: rolled back to "
                            f"step {step}, learning rates x{config.rollback_lr_factor:g}")
                        good = copy.deepcopy(state_dict(step))
                        bar.n = step
                        bar.refresh()
                        continue
                    bar.close()
                    last = (f"last finite losses: d_loss={history.d_loss[-1]:.4g}, "
                            f"g_loss={history.g_loss[-1]:.4g} at step {history.step[-1]}"
                            if history.step else "no finite losses were logged before")
                    kept = f"; the last checkpoint in {out} is kept" if out else ""
                    raise TrainingDiverged(
                        f"training diverged: a loss became NaN or inf by step {step} ({last}){kept}. "
                        "Lower lr_d/lr_g, or set on_divergence='rollback'.")
                history.step.append(step)
                history.d_loss.append(d_mean)
                history.g_loss.append(g_mean)
                history.penalty.append(p_mean)
                bar.set_postfix(d_loss=f"{d_mean:.3f}", g_loss=f"{g_mean:.3f}")
                if good is not None:
                    good = copy.deepcopy(state_dict(step))
                state = TrainState(step, G, D, history, config, sampler, G_ema)
                for callback in callbacks if rank == 0 else ():
                    callback(state)
            if (config.sample_every and step % config.sample_every == 0) or step == config.steps:
                history.snapshots.append((step, sample(G if G_ema is None else G_ema, z_fixed)))
            checkpoint_due = bool(config.checkpoint_every and step % config.checkpoint_every == 0)
            stop = interrupted.is_set()
            if world > 1:  # the ranks agree on stopping, at logging and checkpoint steps only
                stop = (step % config.log_every == 0 or checkpoint_due) and _any_rank(stop, device)
            if checkpoint_due or stop:
                history.wall_time += time.perf_counter() - t0
                t0 = time.perf_counter()
                write_checkpoint(step)
            if stop:  # Ctrl-C: the step finished and is on disk; now stop
                bar.close()
                raise KeyboardInterrupt(f"training interrupted after step {step}"
                                        + (f"; resume from {out}" if out else ""))
    bar.close()
    history.wall_time += time.perf_counter() - t0
    if out is not None and not (out / f"step_{config.steps:08d}.pt").exists():
        write_checkpoint(config.steps)
    return history


def _any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if ``flag`` is True on any rank (one small all-reduce)."""
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


class _deferred_interrupt:
    """Turn Ctrl-C (SIGINT) into a flag that ``fit`` checks after each completed step.

    Stopping mid-step would leave D updated and G not; deferring to the step boundary lets
    the checkpoint hold a state from which resuming is exact. Outside the main thread
    (where signal handlers cannot be set) it does nothing.
    """

    def __enter__(self) -> threading.Event:
        self.event, self.previous = threading.Event(), None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, lambda *_: self.event.set())
        return self.event

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
