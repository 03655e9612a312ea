"""The run shared by every method: a :class:`TrainState` and :func:`run_loop` over a step function.

A *step function* makes one iteration of a method (for a GAN: ``n_critic`` D updates, then
one G update; see :func:`gan_tutorial.train.gan_step`) and returns its losses as 0-d tensors.
:func:`run_loop` owns everything around it, the same for every method: the learning-rate
schedule, the moving average of G, loss sums kept on the device and read back once per
logging interval (the one host sync), the stop or rollback after a divergence, sample
snapshots, checkpoints and Ctrl-C.
"""

from __future__ import annotations

import copy
import math
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from ..core.augment import Translated
from ..core.checkpoint import check_writable, checkpoint_files, load_resume, save_checkpoint
from ..core.data import BatchSampler
from ..core.distributed import any_rank, distributed_context, mean_over_ranks, rank_device
from ..core.errors import GanTutorialError
from ..core.sampling import sample
from .config import TrainConfig, fast_path, lr_factor, make_optimizer, resolve_device

SERIES = ("d_loss", "g_loss", "penalty")  # every GAN records these; a method may add its own


class TrainingDiverged(GanTutorialError, RuntimeError):
    """A loss became NaN or infinite; the message names the step and the last finite losses."""


@dataclass
class History:
    """What a run records: mean losses per logging interval (over every D and G step in it)
    and sample snapshots. ``penalty`` is D's unweighted regularizer (empty for a loss without
    one). Any other series a method's step returns (e.g. VEEGAN's ``recon``) is kept in
    ``extra`` under its name and read like the others, ``history.recon``."""

    step: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    penalty: list[float] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    snapshots: list[tuple[int, Tensor]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # e.g. rollbacks after a divergence
    wall_time: float = 0.0
    G_ema: nn.Module | None = None  # the moving average of G when config.ema > 0

    def __getattr__(self, name: str) -> list[float]:  # a method's own series: history.recon
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        raise AttributeError(f"History has no series {name!r} (recorded: {', '.join(self.series())})")

    def series(self) -> list[str]:
        """The names of the loss series, the three of every GAN first."""
        return [*SERIES, *self.extra]

    def append(self, name: str, value: float) -> None:
        (getattr(self, name) if name in SERIES else self.extra.setdefault(name, [])).append(value)

    def as_dict(self) -> dict:
        """Plain numbers (no tensors): for JSON and for checkpoints."""
        d = {key: list(getattr(self, key)) for key in ("step", *SERIES, "events")}
        return {**d, "extra": {k: list(v) for k, v in self.extra.items()}, "wall_time": self.wall_time}

    def load_dict(self, state: dict) -> None:
        """Replace the recorded numbers by those of :meth:`as_dict` (snapshots are kept)."""
        for key in ("step", *SERIES, "events"):
            setattr(self, key, list(state.get(key, [])))
        self.extra = {k: list(v) for k, v in state.get("extra", {}).items()}
        if state.get("recon"):  # a checkpoint written before series had names of their own
            self.extra["recon"] = list(state["recon"])
        self.wall_time = state.get("wall_time", 0.0)


@dataclass
class TrainState:
    """Everything a run holds. Step functions update it; callbacks read it.

    ``G`` and ``D`` are the models; ``extras`` any other network a method trains beside G and
    with G's optimiser, by name (VEEGAN's reconstructor ``"F"``). ``G_run``, ``D_run`` and
    ``extras_run`` are the same models as the step runs them (compiled, or wrapped for
    distributed training). ``opt_g`` updates G and the extras, ``opt_d`` updates D. ``step``
    counts G steps, 1-based: the step function runs with ``step`` already set to the
    iteration it makes.
    """

    config: TrainConfig
    G: nn.Module
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    sampler: BatchSampler
    z_gen: torch.Generator
    device: torch.device
    history: History
    extras: dict[str, nn.Module] = field(default_factory=dict)
    G_ema: nn.Module | None = None
    amp: bool = False
    path: str = ""  # the speed path taken, e.g. "cpu fp32+channels_last"
    step: int = 0
    lr_scale: float = 1.0  # lowered by each rollback after a divergence
    rank: int = 0
    world: int = 1
    G_run: nn.Module | None = None
    D_run: nn.Module | None = None
    extras_run: dict[str, nn.Module] = field(default_factory=dict)

    @property
    def G_eval(self) -> nn.Module:
        """The generator to evaluate: the moving average when there is one, else G."""
        return self.G if self.G_ema is None else self.G_ema

    def noise(self) -> Tensor:
        """A batch of codes ``z`` ``(B / world, latent_dim)``: this rank's slice of one draw."""
        z = torch.randn(self.config.batch_size, self.G.latent_dim, device=self.device, generator=self.z_gen)
        return z[self.sampler.local]

    def set_learning_rates(self) -> None:
        """Both learning rates of ``step``: base rate x schedule x rollback factor."""
        factor = self.lr_scale * lr_factor(self.config.lr_decay, self.step, self.config.steps)
        set_learning_rates(((self.opt_d, self.config.lr_d), (self.opt_g, self.config.lr_g)), factor)

    def state_dict(self) -> dict:
        """Everything a resumed run needs to continue bit for bit."""
        cuda = self.device.type == "cuda"
        return {"step": self.step, "G": self.G.state_dict(), "D": self.D.state_dict(),
                "extras": {k: m.state_dict() for k, m in self.extras.items()}, "lr_scale": self.lr_scale,
                "G_ema": self.G_ema.state_dict() if self.G_ema is not None else {},
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "sampler": self.sampler.state_dict(), "z_generator": self.z_gen.get_state(),
                "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if cuda else [],
                "history": self.history.as_dict(), "config": self.config.as_dict()}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned (models, optimisers, generators, history)."""
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        saved = state.get("extras") or ({"F": state["F"]} if state.get("F") else {})  # older checkpoints: "F"
        for name, model in self.extras.items():
            model.load_state_dict(saved[name])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.lr_scale = float(state.get("lr_scale", 1.0))
        if self.G_ema is not None:
            self.G_ema.load_state_dict(state["G_ema"] if state.get("G_ema") else state["G"])
        self.sampler.load_state_dict(state["sampler"])
        self.z_gen.set_state(state["z_generator"])
        torch.set_rng_state(state["torch_rng"])
        if self.device.type == "cuda" and state["cuda_rng"]:
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        self.history.load_dict(state["history"])
        self.step = int(state["step"])


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
    a_params = list(average.parameters())
    m_params = [p.detach() for p in model.parameters()]
    if decay == 0:
        torch._foreach_copy_(a_params, m_params)
    else:
        torch._foreach_lerp_(a_params, m_params, 1.0 - decay)
    for a, m in zip(average.buffers(), model.buffers()):
        a.copy_(m)


# ----------------------------------------------------------------------------- set-up
def new_state(G: nn.Module, D: nn.Module, x: Tensor, config: TrainConfig,
              extras: dict[str, nn.Module] | None = None, compilable: bool = True) -> TrainState:
    """Place the models and the data on the device, build the optimisers, sampler and
    generators, and pick the speed path (:func:`~gan_tutorial.config.fast_path`).

    ``opt_g`` updates G and the ``extras`` together (VEEGAN's F); ``compilable=False`` for methods whose D
    step differentiates a gradient (``torch.compile`` cannot). Seeds ``torch`` with
    ``seed + rank`` (the penalties' random draws differ across ranks).
    """
    rank, world = distributed_context()
    device = rank_device(resolve_device(config.device), rank, world)
    amp, channels_last, path = fast_path(device, x.ndim == 4, config)
    torch.manual_seed(config.seed + rank)
    extras = dict(extras or {})
    for m in (G, D, *extras.values()):
        m.to(device).train()
        if channels_last:
            m.to(memory_format=torch.channels_last)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    g_params = [*G.parameters(), *(p for m in extras.values() for p in m.parameters())]
    state = TrainState(
        config, G, D, make_optimizer(g_params, config, config.lr_g, device),
        make_optimizer(D.parameters(), config, config.lr_d, device),
        BatchSampler(x, config.batch_size, device, seed=config.seed, rank=rank, world=world),
        torch.Generator(device=device).manual_seed(config.seed + 1), device, History(), extras=extras,
        amp=amp, path=path, rank=rank, world=world)
    if config.ema > 0:
        state.G_ema = state.history.G_ema = copy.deepcopy(G).requires_grad_(False)
    names = ["G", "D", *extras]
    runs = [torch.compile(m) if config.compile and compilable else m for m in (G, D, *extras.values())]
    if world > 1:  # gradients are averaged over the ranks during backward
        ids = [device.index] if device.type == "cuda" else None
        runs = [DistributedDataParallel(m, device_ids=ids) for m in runs]
    if config.translate > 0 and x.ndim == 4:  # D sees shifted images (differentiable augmentation)
        runs[1] = Translated(runs[1], config.translate)
    state.G_run, state.D_run = runs[:2]
    state.extras_run = dict(zip(names[2:], runs[2:]))
    return state


# ----------------------------------------------------------------------------- the run
def run_loop(state: TrainState, step_fn: Callable[[TrainState], dict[str, Tensor]],
             callbacks: Sequence[Callable[[TrainState], None]] = (), name: str = "") -> History:
    """Call ``step_fn(state)`` until ``config.steps`` G steps are done; return the history.

    ``step_fn`` returns 0-d tensors keyed by series names (:data:`SERIES`, or its own). Callbacks run on rank 0
    at every logging step. A resumed run (``config.resume``) continues bit for bit.
    """
    cfg, history = state.config, state.history
    out = check_writable(cfg.out) if cfg.out and state.rank == 0 else None  # rank 0 writes
    if cfg.resume:
        state.load_state_dict(load_resume(cfg.resume, map_location=state.device)[0])
    z_fixed = torch.randn(cfg.n_samples, state.G.latent_dim,
                          generator=torch.Generator().manual_seed(cfg.seed + 2)).to(state.device)
    sums, rollback = _Sums(state.device), _Rollback(state)
    bar = tqdm(total=cfg.steps, initial=state.step, disable=not cfg.progress or state.rank > 0,
               desc=f"{name} [{state.path}]", dynamic_ncols=True)
    t0 = time.perf_counter()
    with _deferred_interrupt() as interrupted:
        while state.step < cfg.steps:
            state.step += 1
            state.set_learning_rates()
            losses = step_fn(state)  # one iteration of the method
            if state.G_ema is not None:
                ema_update(state.G_ema, state.G, cfg.ema if state.step > cfg.ema_start else 0.0)
            sums.add(losses)
            bar.update(1)
            if state.step % cfg.log_every == 0 or state.step == cfg.steps:
                means = sums.means(state.world)  # the one host sync per logging interval
                if not all(math.isfinite(v) for v in means.values()):
                    if rollback.restore(state, bar):
                        continue
                    bar.close()
                    raise _diverged(state, out)
                _record(state, means, bar)
                rollback.keep(state)
                for callback in callbacks if state.rank == 0 else ():
                    callback(state)
            if (cfg.sample_every and state.step % cfg.sample_every == 0) or state.step == cfg.steps:
                history.snapshots.append((state.step, sample(state.G_eval, z_fixed)))
            t0 = _checkpoint_or_stop(state, out, interrupted, t0, bar)
    bar.close()
    history.wall_time += time.perf_counter() - t0
    if out is not None and not (out / f"step_{cfg.steps:08d}.pt").exists():
        write_checkpoint(state, out)
    return history


def write_checkpoint(state: TrainState, out: Path | None) -> None:
    """Save ``state`` as ``out/step_XXXXXXXX.pt`` (atomically) and keep the newest few."""
    if out is None:
        return
    save_checkpoint(out / f"step_{state.step:08d}.pt", state.state_dict())
    for old in checkpoint_files(out)[:-state.config.keep_checkpoints]:
        old.unlink()


def _record(state: TrainState, means: dict[str, float], bar) -> None:
    h = state.history
    h.step.append(state.step)
    for key, value in means.items():
        h.append(key, value)
    bar.set_postfix({k: f"{v:.3f}" for k, v in means.items() if k in ("d_loss", "g_loss")})


def _checkpoint_or_stop(state: TrainState, out: Path | None, interrupted, t0: float, bar) -> float:
    """Write a checkpoint when one is due or Ctrl-C was pressed; after Ctrl-C, stop."""
    cfg = state.config
    due = bool(cfg.checkpoint_every and state.step % cfg.checkpoint_every == 0)
    stop = interrupted.is_set()
    if state.world > 1:  # the ranks agree on stopping, at logging and checkpoint steps only
        stop = (state.step % cfg.log_every == 0 or due) and any_rank(stop, state.device)
    if not (due or stop):
        return t0
    state.history.wall_time += time.perf_counter() - t0
    write_checkpoint(state, out)
    if stop:  # Ctrl-C: the step finished and is on disk; now stop
        bar.close()
        raise KeyboardInterrupt(f"training interrupted after step {state.step}"
                                + (f"; resume from {out}" if out else ""))
    return time.perf_counter()


def _diverged(state: TrainState, out: Path | None) -> TrainingDiverged:
    h = state.history
    last = (f"last finite losses: d_loss={h.d_loss[-1]:.4g}, g_loss={h.g_loss[-1]:.4g} at step {h.step[-1]}"
            if h.step else "no finite losses were logged before")
    kept = f"; the last checkpoint in {out} is kept" if out else ""
    return TrainingDiverged(f"training diverged: a loss became NaN or inf by step {state.step} ({last}){kept}. "
                            "Lower lr_d/lr_g, or set on_divergence='rollback'.")


class _Sums:
    """Running sums of the step's losses, on the device; :meth:`means` is the one host sync."""

    def __init__(self, device: torch.device):
        self.device, self.keys, self.total, self.count = device, None, None, 0

    def add(self, losses: dict[str, Tensor]) -> None:
        if self.keys is None:
            self.keys = list(losses)
            self.total = torch.zeros(len(self.keys), device=self.device)
        self.total += torch.stack([losses[k].float() for k in self.keys])
        self.count += 1

    def means(self, world: int) -> dict[str, float]:
        values = (mean_over_ranks(self.total, world) / self.count).tolist()
        self.total.zero_()
        self.count = 0
        return dict(zip(self.keys, values))


class _Rollback:
    """With ``on_divergence="rollback"``: a copy of the last finite logging step to return to."""

    def __init__(self, state: TrainState):
        self.enabled = state.config.on_divergence == "rollback"
        self.good = copy.deepcopy(state.state_dict()) if self.enabled else None
        self.count = 0

    def keep(self, state: TrainState) -> None:
        if self.enabled:
            self.good = copy.deepcopy(state.state_dict())

    def restore(self, state: TrainState, bar) -> bool:
        """Go back to the last good step with both learning rates lowered; False if not allowed."""
        cfg = state.config
        if not self.enabled or self.count >= cfg.max_rollbacks:
            return False
        self.count += 1
        bad_step = state.step
        state.load_state_dict(copy.deepcopy(self.good))
        state.lr_scale *= cfg.rollback_lr_factor
        state.history.events.append(f"loss not finite by step {bad_step}: rolled back to step "
                                    f"{state.step}, learning rates x{cfg.rollback_lr_factor:g}")
        self.keep(state)
        bar.n = state.step
        bar.refresh()
        return True


class _deferred_interrupt:
    """Turn Ctrl-C (SIGINT) into a flag that the loop checks after each completed step.

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
