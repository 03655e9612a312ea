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

import dataclasses
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import regularizers
from .data import BatchSampler
from .errors import CheckpointError, ConfigError, DataError, GanTutorialError, ShapeError
from .losses import GANLoss, get_loss


class TrainingDiverged(GanTutorialError, RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last finite losses."""


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

    def validate(self) -> None:
        """Raise a :class:`ConfigError` that names the field and the fix for any bad value."""
        get_loss(self.loss)
        for name in ("steps", "batch_size", "n_critic", "log_every", "n_samples", "keep_checkpoints"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}.")
        for name in ("sample_every", "checkpoint_every"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ConfigError(f"{name} must be an integer >= 0 (0 turns it off), got {v!r}.")
        for name in ("lr_d", "lr_g"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"{name} must be a positive number such as 2e-4, got {v!r}.")
        if self.penalty_weight is not None and not self.penalty_weight >= 0:
            raise ConfigError(f"penalty_weight must be >= 0 or None, got {self.penalty_weight!r}.")


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


# ----------------------------------------------------------------------------- history
@dataclass
class History:
    """What ``fit`` records: mean losses per logging interval and sample snapshots."""

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, Tensor]] = field(default_factory=list)
    wall_time: float = 0.0

    def as_dict(self) -> dict:
        """Plain numbers (no tensors): for JSON and for checkpoints."""
        return {"step": list(self.step), "d_loss": list(self.d_loss), "g_loss": list(self.g_loss),
                "penalty": list(self.penalty), "wall_time": self.wall_time}


@dataclass
class TrainState:
    """What a callback sees: the models, the step just finished, the history so far."""

    step: int
    G: nn.Module
    D: nn.Module
    history: History
    config: TrainConfig
    sampler: BatchSampler


# ----------------------------------------------------------------------------- steps
def d_step(G: nn.Module, D: nn.Module, opt_d: torch.optim.Optimizer, loss: GANLoss,
           x_real: Tensor, z: Tensor, penalty_weight: float) -> tuple[Tensor, Tensor]:
    """One update of D: minimise ``loss.d_loss`` (e.g. maximise log D(x) + log(1 - D(G(z)))).

    The fake batch is made without a graph through G (it is detached): D's update needs
    no gradient with respect to G's weights. Returns (D loss, penalty), detached.
    """
    with torch.no_grad():
        x_fake = G(z)
    real_scores, fake_scores = D(x_real), D(x_fake)
    d_loss = loss.d_loss(real_scores, fake_scores, z=z, x_real=x_real, x_fake=x_fake)
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
           z: Tensor, x_real: Tensor) -> Tensor:
    """One update of G: minimise ``loss.g_loss`` (e.g. the non-saturating ``-log D(G(z))``).

    Only G's optimiser steps; D's gradients from this pass are discarded by the next
    ``d_step``'s ``zero_grad``.
    """
    x_fake = G(z)
    fake_scores = D(x_fake)
    context = {"z": z, "x_real": x_real, "x_fake": x_fake}
    if loss.g_needs_real:
        context["real_scores"] = D(x_real)
    g_loss = loss.g_loss(fake_scores, **context)
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
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
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # truncated zip, bad magic, or a pickled object refused
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"checkpoint {path} cannot be read safely ({first[:160]}); it may be "
                              "truncated, corrupted or hold pickled code: use an older "
                              "checkpoint or start again.") from None


def checkpoint_files(folder: str | Path) -> list[Path]:
    """The checkpoints ``step_*.pt`` in ``folder``, oldest first."""
    return sorted(Path(folder).glob("step_*.pt"))


def _resolve_resume(resume: str | Path) -> Path:
    path = Path(resume)
    if path.is_dir():
        files = checkpoint_files(path)
        if not files:
            raise CheckpointError(f"no checkpoint (step_*.pt) in {path}: check the folder, or "
                                  "start without resume.")
        return files[-1]
    return path


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
        raise DataError(f"data must be floating point (images scaled to [-1, 1]), got {data.dtype}.")
    if not torch.isfinite(data).all():
        raise DataError("data holds NaN or inf values: clean or drop those samples first.")
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
    want = (2,) if loss.output == "scalar" else None
    if want is not None and tuple(scores.shape) != want:
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
    device = resolve_device(config.device)
    penalty_weight = loss.penalty_weight if config.penalty_weight is None else config.penalty_weight

    torch.manual_seed(config.seed)
    G.to(device).train()
    D.to(device).train()
    _check_models(G, D, loss, x, device)
    sampler = BatchSampler(x, config.batch_size, device, seed=config.seed)
    z_gen = torch.Generator(device=device).manual_seed(config.seed + 1)
    z_fixed = torch.randn(config.n_samples, G.latent_dim,
                          generator=torch.Generator().manual_seed(config.seed + 2)).to(device)
    fused = {"fused": True} if device.type == "cuda" else {}
    opt_d = torch.optim.Adam(D.parameters(), lr=config.lr_d, betas=config.betas, **fused)
    opt_g = torch.optim.Adam(G.parameters(), lr=config.lr_g, betas=config.betas, **fused)
    history, start = History(), 0
    out = Path(config.out) if config.out else None

    def state_dict(step: int) -> dict:
        return {"step": step, "G": G.state_dict(), "D": D.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(),
                "sampler": sampler.state_dict(), "z_generator": z_gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
                "history": history.as_dict(), "config": dataclasses.asdict(config)}

    def write_checkpoint(step: int) -> None:
        if out is None:
            return
        save_checkpoint(out / f"step_{step:08d}.pt", state_dict(step))
        for old in checkpoint_files(out)[:-config.keep_checkpoints]:
            old.unlink()

    if config.resume:
        state = load_checkpoint(_resolve_resume(config.resume), map_location=device)
        G.load_state_dict(state["G"])
        D.load_state_dict(state["D"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        sampler.load_state_dict(state["sampler"])
        z_gen.set_state(state["z_generator"])
        torch.set_rng_state(state["torch_rng"])
        if device.type == "cuda" and state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        for key, values in state["history"].items():
            if key != "wall_time":
                getattr(history, key).extend(values)
        history.wall_time = state["history"]["wall_time"]
        start = int(state["step"])

    latent, bs = G.latent_dim, config.batch_size
    sums = torch.zeros(3, device=device)  # running sums of (d_loss, g_loss, penalty)
    count, t0, step = 0, time.perf_counter(), start
    bar = tqdm(total=config.steps, initial=start, disable=not config.progress,
               desc=f"{config.loss}", dynamic_ncols=True)
    with _deferred_interrupt() as interrupted:
        for step in range(start + 1, config.steps + 1):
            for _ in range(config.n_critic):
                x_real = sampler.sample()
                z = torch.randn(bs, latent, device=device, generator=z_gen)
                d_loss, penalty = d_step(G, D, opt_d, loss, x_real, z, penalty_weight)
            z = torch.randn(bs, latent, device=device, generator=z_gen)
            g_loss = g_step(G, D, opt_g, loss, z, x_real)
            sums += torch.stack([d_loss, g_loss, penalty])
            count += 1
            bar.update(1)

            if step % config.log_every == 0 or step == config.steps:
                d_mean, g_mean, p_mean = (sums / count).tolist()  # the one host sync
                if not all(math.isfinite(v) for v in (d_mean, g_mean, p_mean)):
                    bar.close()
                    last = (f"last finite losses: d_loss={history.d_loss[-1]:.4g}, "
                            f"g_loss={history.g_loss[-1]:.4g} at step {history.step[-1]}"
                            if history.step else "no finite losses were logged before")
                    raise TrainingDiverged(
                        f"training diverged: a loss became NaN or inf by step {step} ({last}); "
                        "lower lr_d/lr_g or add a penalty, and resume from the last checkpoint.")
                history.step.append(step)
                history.d_loss.append(d_mean)
                history.g_loss.append(g_mean)
                history.penalty.append(p_mean)
                sums.zero_()
                count = 0
                bar.set_postfix(d_loss=f"{d_mean:.3f}", g_loss=f"{g_mean:.3f}")
                state = TrainState(step, G, D, history, config, sampler)
                for callback in callbacks:
                    callback(state)
            if (config.sample_every and step % config.sample_every == 0) or step == config.steps:
                history.snapshots.append((step, sample(G, z_fixed)))
            checkpoint_due = config.checkpoint_every and step % config.checkpoint_every == 0
            if checkpoint_due or interrupted.is_set():
                history.wall_time += time.perf_counter() - t0
                t0 = time.perf_counter()
                write_checkpoint(step)
            if interrupted.is_set():  # Ctrl-C: the step finished and is on disk; now stop
                bar.close()
                raise KeyboardInterrupt(f"training interrupted after step {step}"
                                        + (f"; resume from {out}" if out else ""))
    bar.close()
    history.wall_time += time.perf_counter() - t0
    if out is not None and not (out / f"step_{config.steps:08d}.pt").exists():
        write_checkpoint(config.steps)
    return history


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
