"""Turning a ``--device`` name into a torch device, with one-line errors."""

from __future__ import annotations

import torch

from ganzoo.errors import GanzooError


def resolve_device(name: str) -> torch.device:
    """``auto`` (CUDA when available, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise GanzooError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N") from None
    if device.type == "cpu" and device.index not in (None, 0):
        raise GanzooError(f"device {name!r}: there is one CPU device; use --device cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise GanzooError(f"device {name!r} asked for but CUDA is not available; use --device cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise GanzooError(f"device {name!r}: this machine has {torch.cuda.device_count()} CUDA device(s), "
                          f"cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if device.type not in ("cpu", "cuda"):
        raise GanzooError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    return device
