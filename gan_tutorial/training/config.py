"""What a training run is told: :class:`TrainConfig`, its schedules, the device and the fast path.

Every field of :class:`TrainConfig` carries its help text; the command line
(``gan-tutorial train``) is derived from these fields, so names, defaults and help live here
once. :func:`fast_path` decides, once per process, whether bf16 autocast and the
channels-last layout pay on this machine.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..core.checkpoint import checkpoint_files
from ..core.errors import ConfigError
from ..core.losses import GANLoss, get_loss

LR_DECAYS = ("constant", "linear", "cosine")
OPTIMIZERS = ("adam", "rmsprop")


def _opt(default, help: str, **cli):
    """A dataclass field with its command-line help (``cli={"skip": True}`` hides it)."""
    return field(default=default, metadata={"help": help, **cli})


@dataclass
class TrainConfig:
    """Everything ``fit`` needs besides the models and the data.

    ``loss`` is a registered name (see ``gan-tutorial list``) or a :class:`GANLoss` built in
    Python, e.g. ``losses.wgan_div_loss(sampling="fake")``. ``penalty_weight=None`` keeps the
    loss's own weight. ``amp`` and ``channels_last`` left at None are decided by
    :func:`fast_path`. ``steps`` counts generator updates.
    """

    loss: str | GANLoss = _opt("ns", "loss (see 'gan-tutorial list')")
    steps: int = _opt(2000, "generator steps")
    batch_size: int = _opt(64, "samples per batch (split over the processes under torchrun)")
    lr_d: float = _opt(2e-4, "D's learning rate")
    lr_g: float = _opt(2e-4, "G's learning rate")
    betas: tuple[float, float] = _opt((0.5, 0.999), "Adam's two betas")
    optimizer: str = _opt("adam", "adam, or rmsprop (WGAN's clipped critic in its paper; betas unused)")
    n_critic: int = _opt(1, "D steps per G step")
    penalty_weight: float | None = _opt(None, "weight of the loss's penalty (default: the loss's own)")
    device: str = _opt("auto", "auto (cuda, then mps, then cpu), cpu, cuda or mps")
    seed: int = _opt(0, "random seed (data order, z, the penalties' draws)")
    log_every: int = _opt(50, "steps between loss records (the one host sync)")
    sample_every: int = _opt(0, "steps between sample snapshots (0: one, at the end)")
    n_samples: int = _opt(64, "samples in each snapshot")
    checkpoint_every: int = _opt(0, "also write a checkpoint every N steps (0: only at the end)")
    keep_checkpoints: int = _opt(2, "newest checkpoints kept in --out")
    out: str | None = _opt(None, "output folder for checkpoints")
    resume: str | None = _opt(None, "checkpoint file (or folder: its newest) to continue from")
    progress: bool = _opt(True, "show a progress bar")
    on_divergence: str = _opt("stop", "when a loss is NaN/inf: 'stop', or 'rollback' to the last "
                              "finite logging step with both learning rates lowered")
    rollback_lr_factor: float = _opt(0.5, "learning-rate factor of each rollback")
    max_rollbacks: int = _opt(3, "rollbacks before stopping")
    amp: bool | None = _opt(None, "bf16 autocast of the forward passes (default: where it pays)")
    channels_last: bool | None = _opt(None, "NHWC layout for images (default: where it pays)")
    compile: bool = _opt(False, "torch.compile G and D (not with gradient penalties)")
    lr_decay: str = _opt("constant", "constant, linear or cosine decay of both learning rates to 0")
    ema: float = _opt(0.0, "decay of a moving average of G's weights used for sampling, e.g. "
                      "0.999 (0: off)")
    ema_start: int = _opt(0, "step from which the moving average averages (before: a copy of G)")
    instance_noise: float = _opt(0.0, "std of Gaussian noise on D's inputs, falling linearly to 0 "
                                 "at noise_until * steps, e.g. 0.5 (0: off)")
    noise_until: float = _opt(0.5, "fraction of the run at which the instance noise reaches 0")
    translate: float = _opt(0.0, "D sees every input, real and fake, shifted by a random number of pixels up to "
                            "this fraction of the side, e.g. 0.125 (differentiable augmentation; 0: off)")

    @property
    def gan_loss(self) -> GANLoss:
        """The :class:`GANLoss` that ``loss`` names (or is)."""
        return self.loss if isinstance(self.loss, GANLoss) else get_loss(self.loss)

    def checkpointed(self, work: str | Path, every: int) -> TrainConfig:
        """This config for a long run: a checkpoint into ``work`` every ``every`` steps, resumed
        from the newest one there when the run is started again (the leagues' long runs)."""
        return dataclasses.replace(self, out=str(work), checkpoint_every=every,
                                   resume=str(work) if checkpoint_files(work) else None)

    def as_dict(self) -> dict:
        """Plain values (the loss by its name): for JSON and for checkpoints."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["loss"] = self.gan_loss.name
        d["betas"] = list(self.betas)
        return d

    def validate(self) -> None:
        """Raise a :class:`ConfigError` that names the field and the fix for any bad value."""
        _ = self.gan_loss  # an unknown name is named with the valid ones
        for name in ("steps", "batch_size", "n_critic", "log_every", "n_samples", "keep_checkpoints"):
            _check(name, getattr(self, name), _is_int(getattr(self, name)) and getattr(self, name) >= 1,
                   "a positive integer")
        for name in ("sample_every", "checkpoint_every", "ema_start", "max_rollbacks"):
            v = getattr(self, name)
            _check(name, v, _is_int(v) and v >= 0, "an integer >= 0 (0 turns it off)")
        for name in ("lr_d", "lr_g"):
            v = getattr(self, name)
            _check(name, v, _is_num(v) and v > 0, "a positive number such as 2e-4")
        pw, noise = self.penalty_weight, self.instance_noise
        _check("penalty_weight", pw, pw is None or (_is_num(pw) and pw >= 0), "a number >= 0, or None")
        _check("optimizer", self.optimizer, self.optimizer in OPTIMIZERS, "one of " + ", ".join(map(repr, OPTIMIZERS)))
        _check("lr_decay", self.lr_decay, self.lr_decay in LR_DECAYS, "one of " + ", ".join(map(repr, LR_DECAYS)))
        _check("instance_noise", noise, _is_num(noise) and noise >= 0, "a std >= 0 such as 0.5 (0 turns it off)")
        _check("noise_until", self.noise_until, _is_num(self.noise_until) and 0 < self.noise_until <= 1,
               "a fraction of the run in (0, 1] such as 0.5")
        _check("translate", self.translate, _is_num(self.translate) and 0 <= self.translate < 0.5,
               "a fraction of the side in [0, 0.5) such as 0.125 (0 turns it off)")
        _check("ema", self.ema, _is_num(self.ema) and 0 <= self.ema < 1, "a decay in [0, 1) such as 0.999 (0: off)")
        _check("on_divergence", self.on_divergence, self.on_divergence in ("stop", "rollback"), "'stop' or 'rollback'")
        _check("rollback_lr_factor", self.rollback_lr_factor,
               _is_num(self.rollback_lr_factor) and 0 < self.rollback_lr_factor < 1, "a number in (0, 1)")
        b = self.betas
        _check("betas", b, isinstance(b, (tuple, list)) and len(b) == 2 and all(_is_num(v) and 0 <= v < 1 for v in b),
               "two numbers in [0, 1) such as (0.5, 0.999)")
        for name in ("amp", "channels_last"):
            v = getattr(self, name)
            _check(name, v, v is None or isinstance(v, bool), "True, False or None (None: where it pays)")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check(name: str, value, ok: bool, what: str) -> None:
    if not ok:
        raise ConfigError(f"{name} must be {what}, got {value!r}.")


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


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` -> cuda, then mps, then cpu; any other name must be available here."""
    mps = bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if mps else "cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device {name!r} is not a device name: use 'auto', 'cpu', 'cuda' "
                          "or 'mps'.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} asked for but no CUDA GPU is available here: use "
                          "device='auto' or 'cpu' (on Colab: Runtime > Change runtime type > GPU).")
    if device.type == "mps" and not mps:
        raise ConfigError(f"device {name!r} asked for but MPS is not available: use 'auto' or 'cpu'.")
    return device


# ----------------------------------------------------------------------------- the fast path
def autocast(x: torch.Tensor, amp: bool):
    """bf16 autocast on ``x``'s device when ``amp`` (the fast path's choice), else a no-op context."""
    return torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=amp)


@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 matrix products natively (AVX512-BF16 or AMX).

    Read from the processor's flags (Linux ``/proc/cpuinfo``), so the answer is the same in
    every process on a machine. Without these instructions bf16 is emulated and several
    times *slower* than float32 (measured on an AVX2-only AMD EPYC: 8x for DCGAN's D). Kernels
    held below AVX-512 (``ATEN_CPU_CAPABILITY=avx2``, or ``ONEDNN_MAX_CPU_ISA`` without bf16,
    as when simulating another processor) count as no native bf16 too.
    """
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        return False
    isa = os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()
    if "AVX512" not in torch.backends.cpu.get_cpu_capability() or not (isa == "ALL" or "BF16" in isa
                                                                        or "AMX" in isa):
        return False
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def device_name(device: str | torch.device) -> str:
    """The processor a run used, for its record: the GPU's name, or the CPU's model and bf16 support."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    name = platform.processor() or platform.machine() or "cpu"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        name = next(line.split(":", 1)[1].strip() for line in lines if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    bf16 = "native bf16" if cpu_has_native_bf16() else "no native bf16"
    return f"{name} ({bf16}), {torch.get_num_threads()} thread{'s' * (torch.get_num_threads() > 1)}"


def fast_path(device: torch.device, images: bool, config: TrainConfig) -> tuple[bool, bool, str]:
    """``(amp, channels_last, description)`` for a run: the config's choice, else where it pays.

    Default rules (``amp``/``channels_last`` left at None), measured in ``benchmarks/speed.py``
    and the speed appendix:

    * CUDA: bf16 autocast for every loss, channels-last for images;
    * CPU with AVX512-BF16 or AMX: bf16 autocast and channels-last for image (conv) models
      (about 2x for DCGAN); small MLPs stay in float32, where autocast's casts cost more
      than they save;
    * any other CPU (or MPS): float32 in the default layout. On an AVX2-only CPU bf16 is
      emulated (20x slower in ``fit``) and channels-last measured within noise of NCHW.
    """
    native = device.type == "cuda" or (device.type == "cpu" and images and cpu_has_native_bf16())
    amp = config.amp if config.amp is not None else native
    channels_last = images and (config.channels_last if config.channels_last is not None else native)
    why = ""
    if device.type == "cpu" and images and (config.amp is None or config.channels_last is None):
        why = " (CPU with native bf16)" if cpu_has_native_bf16() else " (no native bf16 on this CPU)"
    desc = f"{device.type} {'bf16' if amp else 'fp32'}{'+channels_last' if channels_last else ''}{why}"
    return amp, channels_last, desc


def make_optimizer(params, config: TrainConfig, lr: float, device: torch.device) -> torch.optim.Optimizer:
    """The optimiser ``config.optimizer`` names: Adam with ``config.betas``, or RMSProp
    (Arjovsky et al., 2017, Algorithm 1: no momentum, PyTorch's default alpha 0.99)."""
    if config.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr)
    fused = {"fused": True} if device.type == "cuda" else {}
    return torch.optim.Adam(params, lr=lr, betas=config.betas, **fused)
