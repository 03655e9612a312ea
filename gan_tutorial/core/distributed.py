"""torch.distributed helpers: the process group that ``torchrun`` describes, and agreeing ranks.

Under ``torchrun --nproc_per_node N`` every process runs the same training; the loop wraps
G and D in ``DistributedDataParallel`` (gradients averaged over the ranks during backward),
gives each rank its slice of every batch, and rank 0 writes the files (appendix
*Distributed training*).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


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


def rank_device(device: torch.device, rank: int, world: int) -> torch.device:
    """This rank's device: its own GPU (``LOCAL_RANK``) under a multi-GPU group, else ``device``."""
    if device.type == "cuda" and world > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank % torch.cuda.device_count())))
    return device


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank if ``flag`` is True on any rank (one small all-reduce)."""
    t = torch.tensor([float(flag)], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def mean_over_ranks(t: torch.Tensor, world: int) -> torch.Tensor:
    """``t`` averaged over the ranks in place (a no-op for one process)."""
    if world > 1:
        dist.all_reduce(t)
        t /= world
    return t
