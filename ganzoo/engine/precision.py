"""Mixed precision: an autocast context and, for fp16, a gradient scaler."""

from __future__ import annotations

import contextlib
from typing import Callable

import torch

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class Precision:
    def __init__(self, name: str, device: torch.device) -> None:
        self.name, self.device = name, device
        self.dtype = _DTYPES[name]
        self.scaler = torch.amp.GradScaler(device.type, enabled=name == "fp16")

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.name == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.dtype)

    def step(self, loss: torch.Tensor, optimizer: torch.optim.Optimizer,
             before_step: Callable[[torch.optim.Optimizer], None] | None = None) -> None:
        """Backward, optimizer step and (fp16) scale update for one loss; ``before_step`` sees
        the optimizer between the backward pass and the step (to average gradients over ranks)."""
        optimizer.zero_grad(set_to_none=True)
        if self.scaler.is_enabled():
            self.scaler.scale(loss).backward()
            if before_step is not None:
                before_step(optimizer)
            self.scaler.step(optimizer)
            self.scaler.update()
        else:
            loss.backward()
            if before_step is not None:
                before_step(optimizer)
            optimizer.step()
