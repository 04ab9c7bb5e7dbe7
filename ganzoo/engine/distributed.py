"""Data-parallel training under torchrun: process group, devices, seeds and gradient averaging.

``torchrun --nproc-per-node N -m ganzoo train ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` set; ``setup`` joins them into one process group (NCCL on
GPUs, gloo on CPUs) and gives each its device. Every rank holds the same networks (broadcast
from rank 0) and draws its own share of each global batch; after every backward pass the
gradients are averaged over the ranks, so all ranks take the same optimizer step and stay
identical, as under ``DistributedDataParallel``.

The averaging is done here rather than by wrapping the networks in ``DistributedDataParallel``:
a GAN step runs the discriminator several times before one backward pass (real, fake and the
penalties' double backward), freezes it during the generator step, and recipes call their
networks' own methods (``sample_latent``, ``translate``), all of which sit badly with DDP's
wrapper and its reducer. One flat all-reduce per optimizer per step is the same arithmetic.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, Iterable

import torch
import torch.distributed as dist
from torch import Tensor, nn

from ganzoo.errors import GanzooError


@dataclass(frozen=True)
class Distributed:
    """This process's place in a multi-process run."""

    rank: int
    world_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        dist.barrier()

    def shard(self, indices: Tensor) -> Tensor:
        """This rank's contiguous share of a global batch of indices."""
        size = len(indices) // self.world_size
        return indices[self.rank * size : (self.rank + 1) * size]

    def broadcast_module(self, module: nn.Module) -> None:
        """Make every rank's parameters and buffers equal to rank 0's."""
        with torch.no_grad():
            for tensor in [*module.parameters(), *module.buffers()]:
                dist.broadcast(tensor.data, src=0)

    def average_gradients(self, params: Iterable[Tensor]) -> None:
        """Replace each gradient by its mean over the ranks (one flat all-reduce)."""
        grads = [p.grad for p in params if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat.div_(self.world_size)
        offset = 0
        for g in grads:
            g.copy_(flat[offset : offset + g.numel()].view_as(g))
            offset += g.numel()

    def average(self, values: Tensor) -> Tensor:
        """The mean over the ranks of a tensor of figures (for logging)."""
        values = values.clone()
        dist.all_reduce(values)
        return values / self.world_size

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank."""
        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out


def world_size_from_environment() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise GanzooError(f"WORLD_SIZE={os.environ['WORLD_SIZE']!r} is not a number; "
                          "launch with torchrun --nproc-per-node N") from None


def setup(device_name: str) -> tuple[Distributed | None, str]:
    """Join the torchrun process group if this process was started by torchrun with more than
    one process; returns it (None for a single process) and the device this rank trains on."""
    if world_size_from_environment() <= 1:
        return None, device_name
    use_cuda = device_name.startswith("cuda") or (device_name == "auto" and torch.cuda.is_available())
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        if not torch.cuda.is_available():
            raise GanzooError("--device cuda asked for but CUDA is not available; use --device cpu")
        if local_rank >= torch.cuda.device_count():
            raise GanzooError(f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} GPUs; "
                              "lower --nproc-per-node")
        torch.cuda.set_device(local_rank)
        device_name = f"cuda:{local_rank}"
    elif device_name == "auto":
        device_name = "cpu"
    backend = "nccl" if use_cuda else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend, timeout=dt.timedelta(minutes=30))
    return current(), device_name


def current() -> Distributed | None:
    """The process group this process belongs to (None: a single-process run)."""
    if not dist.is_available() or not dist.is_initialized() or dist.get_world_size() == 1:
        return None
    return Distributed(rank=dist.get_rank(), world_size=dist.get_world_size())


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """The seed of rank ``rank``'s own random stream (noise, augmentation) from step ``step``."""
    return seed * 1_000_003 + 7919 * rank + step


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
