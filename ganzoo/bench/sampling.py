"""Sampling speed: a generator's forward pass under ``torch.no_grad()`` in eval mode, at batch 1
and over a sweep of batch sizes that stops at the first out-of-memory batch (or once one call
takes longer than ``slow_seconds``: larger batches would only take longer)."""

from __future__ import annotations

import statistics
from typing import Any, Callable

import torch
from torch import Tensor, nn

from ganzoo.bench.contenders import free_memory, is_out_of_memory
from ganzoo.bench.timing import time_steps

SWEEP = (1, 16, 64, 256)


def _time_forward(generator: nn.Module, inputs: tuple[Tensor, ...], device: torch.device, repeats: int,
                  slow_seconds: float) -> list[float]:
    """Seconds of timed forward calls after one untimed one (one timed call when that was slow)."""
    with torch.no_grad():
        first = time_steps(lambda: generator(*inputs), 1, device)
        return [time_steps(lambda: generator(*inputs), 1, device)
                for _ in range(repeats if first < slow_seconds else 1)]


def sampling_sweep(generator: nn.Module, make_inputs: Callable[[int], tuple[Tensor, ...]],
                   device: torch.device, *, sizes: tuple[int, ...] = SWEEP, repeats: int = 3,
                   slow_seconds: float = 1.0, log: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Images/s per batch size (median of ``repeats`` timed calls after one warm-up call), with
    the figure at batch 1 and the best batch."""
    generator.eval()
    rows: list[dict[str, Any]] = []
    for n in sizes:
        try:
            seconds = _time_forward(generator, make_inputs(n), device, repeats, slow_seconds)
        except Exception as exc:  # noqa: BLE001 - only out-of-memory errors end the sweep quietly
            if not is_out_of_memory(exc):
                raise
            free_memory()
            rows.append({"batch_size": n, "status": "OOM"})
            log(f"sampling batch {n}: OOM")
            break
        median = statistics.median(seconds)
        rows.append({"batch_size": n, "status": "ok", "images_per_s": n / median,
                     "images_per_s_min": n / max(seconds), "images_per_s_max": n / min(seconds)})
        log(f"sampling batch {n}: {n / median:.3g} img/s")
        if median > slow_seconds:
            break
    measured = [r for r in rows if r["status"] == "ok"]
    best = max(measured, key=lambda r: r["images_per_s"], default=None)
    at_one = next((r for r in measured if r["batch_size"] == 1), None)
    return {
        "batch_1_images_per_s": at_one["images_per_s"] if at_one else None,
        "best_images_per_s": best["images_per_s"] if best else None,
        "best_batch_size": best["batch_size"] if best else None,
        "sweep": rows,
    }
