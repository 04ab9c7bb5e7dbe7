"""Exponential moving average of the generators' weights."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Keeps ``module`` = decay * module + (1 - decay) * live, with a warm-up so that short runs
    are not dominated by the random initialisation."""

    def __init__(self, live: nn.Module, decay: float) -> None:
        self.decay = decay
        self.module = copy.deepcopy(live).eval().requires_grad_(False)
        self._pairs = (list(self.module.parameters()), list(live.parameters()))
        self._buffers = (list(self.module.buffers()), list(live.buffers()))
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ema_params, live_params = self._pairs
        torch._foreach_lerp_(ema_params, live_params, 1.0 - decay)
        for ema_buffer, live_buffer in zip(*self._buffers):
            ema_buffer.copy_(live_buffer)
