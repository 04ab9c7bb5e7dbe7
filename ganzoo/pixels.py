"""The two pixel conversions every part of ganzoo uses: uint8 in [0, 255] <-> float in [-1, 1].

Both keep the tensor's layout (NCHW in, NCHW out) and work on any shape.
"""

from __future__ import annotations

import torch
from torch import Tensor


def to_signed(images: Tensor) -> Tensor:
    """uint8 in [0, 255] -> float32 in [-1, 1] (the tutorials' ``Normalize(0.5, 0.5)``)."""
    return images.to(torch.float32).div(127.5).sub_(1.0)


def to_unsigned(images: Tensor) -> Tensor:
    """Float in [-1, 1] (clamped first) -> uint8 in [0, 255], rounded to nearest."""
    return images.detach().to(torch.float32).clamp(-1, 1).add_(1).mul_(127.5).round_().to(torch.uint8)
