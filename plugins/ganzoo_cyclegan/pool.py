"""The history of generated images that CycleGAN's discriminators train on (Shrivastava et al.
2017), as in the reference implementation's ``ImagePool``."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.api import GanzooError


class ImagePool:
    """Up to ``size`` earlier generator outputs; ``query`` mixes them into the current batch.

    Each image of a batch, in order: while the pool is not full it is stored and returned;
    once full, with probability 0.5 a uniformly chosen stored image is returned and replaced by
    it, else it is returned itself. ``size=0`` returns the batch unchanged (detached).

    Every draw comes from ``generator`` (a CPU ``torch.Generator``; seeded with 0 when none is
    given), so the same seed and batches give the same outputs on any device. Give the pool a
    generator of its own: ``state_dict`` holds its state, and ``load_state_dict`` restores it.
    """

    def __init__(self, size: int = 50, generator: torch.Generator | None = None) -> None:
        if size < 0:
            raise GanzooError(f"the image pool size must be >= 0 (0 turns it off), got {size}")
        self.size = size
        self.generator = generator if generator is not None else torch.Generator().manual_seed(0)
        self.count = 0
        self.images: Tensor | None = None
        """Stored images, ``(size, C, H, W)``, allocated on the first query; the first ``count``
        rows are filled."""

    def __len__(self) -> int:
        return self.count

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """A detached batch like ``images`` (N, C, H, W), some entries swapped for older ones."""
        images = images.detach()
        if self.size == 0:
            return images
        if self.images is None:
            self.images = images.new_empty((self.size, *images.shape[1:]))
        elif self.images.shape[1:] != images.shape[1:]:
            raise GanzooError(f"the image pool holds {tuple(self.images.shape[1:])} images, "
                              f"got a batch of {tuple(images.shape[1:])}")
        if (self.images.device, self.images.dtype) != (images.device, images.dtype):
            self.images = self.images.to(images.device, images.dtype)  # e.g. restored on the CPU
        out = images.clone()
        for i in range(len(images)):
            if self.count < self.size:
                self.images[self.count] = images[i]
                self.count += 1
            elif torch.rand((), generator=self.generator).item() > 0.5:
                j = int(torch.randint(self.size, (), generator=self.generator))
                out[i] = self.images[j]
                self.images[j] = images[i]
        return out

    def state_dict(self) -> dict[str, Any]:
        """Plain tensors and ints: ``images`` (the ``count`` stored images, on their device),
        ``count``, ``size`` and ``rng`` (the generator's state, a uint8 tensor)."""
        stored = self.images[: self.count].clone() if self.images is not None else torch.empty(0)
        return {"images": stored, "count": self.count, "size": self.size,
                "rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        count, size, stored = int(state["count"]), int(state["size"]), state["images"]
        if size != self.size:
            raise GanzooError(f"the saved image pool holds up to {size} images but this one {self.size}; "
                              "resume with the same pool size")
        if count > size or (count and len(stored) != count):
            raise GanzooError(f"the saved image pool is inconsistent ({len(stored)} images, count {count})")
        self.count = count
        self.images = None
        if count:
            self.images = stored.new_empty((size, *stored.shape[1:]))
            self.images[:count] = stored
        self.generator.set_state(state["rng"])


class PoolBuffers(nn.Module):
    """An ``ImagePool`` whose contents live in registered buffers (``images``, ``count`` and
    ``rng``, the pool generator's state), so a module holding it checkpoints and restores the
    pool with its ``state_dict``: the Trainer's safetensors checkpoints carry it for free."""

    def __init__(self, size: int, image_shape: tuple[int, int, int], seed: int = 0) -> None:
        super().__init__()
        self.pool = ImagePool(size, torch.Generator().manual_seed(seed))
        self.register_buffer("images", torch.zeros((size, *image_shape)))
        self.register_buffer("count", torch.zeros(1, dtype=torch.int64))
        self.register_buffer("rng", self.pool.generator.get_state())

    def __len__(self) -> int:
        return int(self.count)

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """``ImagePool.query`` on the buffered state (images are stored in the buffer's dtype)."""
        pool = self.pool
        pool.count = int(self.count)
        pool.images = self.images
        pool.generator.set_state(self.rng.cpu())
        out = pool.query(images.to(self.images.dtype)).to(images.dtype)
        if pool.images is not self.images:  # the pool moved its store to another device
            self.images.copy_(pool.images)
        self.count.fill_(pool.count)
        self.rng.copy_(pool.generator.get_state())
        return out
