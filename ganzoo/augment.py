"""DiffAugment: differentiable augmentation for data-efficient GAN training.

Zhao et al., 2020, "Differentiable Augmentation for Data-Efficient GAN Training"
(https://arxiv.org/abs/2006.10738). Apply the same :class:`DiffAugment` to real and fake images
before every discriminator call (in both the D and the G step); gradients flow through it to the
generator. Semantics follow the authors' ``DiffAugment_pytorch.py``; images are NCHW in [-1, 1].
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import GanzooError


def _factor(x: Tensor) -> Tensor:
    """One U(0, 1) draw per sample, shaped to broadcast over C, H, W."""
    return torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device)


def rand_brightness(x: Tensor) -> Tensor:
    """Add U(-0.5, 0.5) per sample."""
    return x + (_factor(x) - 0.5)


def rand_saturation(x: Tensor) -> Tensor:
    """Blend with the per-pixel channel mean by U(0, 2) per sample (a no-op on 1 channel)."""
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_factor(x) * 2) + mean


def rand_contrast(x: Tensor) -> Tensor:
    """Blend with the per-sample mean over C, H, W by U(0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_factor(x) + 0.5) + mean


def rand_translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each sample by whole pixels, up to ``ratio`` of the size each way; zeros fill in."""
    n, c, h, w = x.shape
    shift_h, shift_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, (n, 1), device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, (n, 1), device=x.device)
    # Source coordinates in the 1-pixel zero-padded image; anything out of range reads the pad.
    rows = (torch.arange(h, device=x.device) + dy + 1).clamp(0, h + 1)  # (n, h)
    cols = (torch.arange(w, device=x.device) + dx + 1).clamp(0, w + 1)  # (n, w)
    padded = F.pad(x, (1, 1, 1, 1))
    out = padded.gather(2, rows.view(n, 1, h, 1).expand(n, c, h, w + 2))
    return out.gather(3, cols.view(n, 1, 1, w).expand(n, c, h, w))


def rand_cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero a ``ratio``-sized rectangle centred at a random per-sample point (clipped at edges)."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = torch.randint(0, h + (1 - size_h % 2), (n, 1), device=x.device)
    cx = torch.randint(0, w + (1 - size_w % 2), (n, 1), device=x.device)
    top, left = cy - size_h // 2, cx - size_w // 2
    ys = torch.arange(h, device=x.device)
    xs = torch.arange(w, device=x.device)
    in_rows = (ys >= top) & (ys < top + size_h)  # (n, h)
    in_cols = (xs >= left) & (xs < left + size_w)  # (n, w)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep.unsqueeze(1).to(x.dtype)


AUGMENT_FNS: dict[str, tuple[Callable[[Tensor], Tensor], ...]] = {
    "color": (rand_brightness, rand_saturation, rand_contrast),
    "translation": (rand_translation,),
    "cutout": (rand_cutout,),
}
"""Policy name -> the functions it applies, in order."""


class DiffAugment(nn.Module):
    """Apply the comma-separated ``policy`` (of :data:`AUGMENT_FNS`) to a batch of images.

    Random parameters come from torch's global RNG on the input's device, so seeded runs repeat.
    An empty policy is the identity.
    """

    def __init__(self, policy: str = "color,translation,cutout") -> None:
        super().__init__()
        names = tuple(p.strip() for p in policy.split(",") if p.strip())
        unknown = [p for p in names if p not in AUGMENT_FNS]
        if unknown:
            raise GanzooError(
                f"unknown DiffAugment policy {', '.join(map(repr, unknown))}; "
                f"valid names are {', '.join(AUGMENT_FNS)}"
            )
        self.policy = names

    def forward(self, x: Tensor) -> Tensor:
        """Augment ``x`` (N, C, H, W); same shape and dtype, differentiable w.r.t. ``x``."""
        if not self.policy:
            return x
        if x.dim() != 4:
            raise ValueError(f"DiffAugment expects NCHW images, got shape {tuple(x.shape)}")
        for name in self.policy:
            for fn in AUGMENT_FNS[name]:
                x = fn(x)
        return x.contiguous()

    def extra_repr(self) -> str:
        return f"policy={','.join(self.policy)!r}"
