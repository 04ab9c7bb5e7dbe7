"""Timing of interleaved contenders: warm-up, timed blocks in rotated order, medians and spread.

A contender is a zero-argument callable that runs one step, plus how many images one step
handles. ``measure`` warms every contender up, then runs ``repeats`` rounds in which each
contender times ``steps`` consecutive steps, rotating the contenders' order from round to round
so that slow drift (clock changes, other load) is spread evenly over them. On CUDA every timed
block starts and ends with ``torch.cuda.synchronize``. Nothing here knows about GANs.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Contender:
    name: str
    step: Callable[[], object]
    """Runs one step; its return value is ignored."""
    images_per_step: int


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (CPU work is synchronous: nothing to wait for)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_steps(step: Callable[[], object], steps: int, device: torch.device) -> float:
    """Seconds for ``steps`` consecutive calls of ``step``, synchronised at both edges."""
    synchronize(device)
    start = time.perf_counter()
    for _ in range(steps):
        step()
    synchronize(device)
    return time.perf_counter() - start


def calibrate_steps(contenders: list[Contender], device: torch.device, block_seconds: float,
                    max_steps: int = 1000) -> int:
    """Steps per timed block so that the slowest contender's block lasts about ``block_seconds``
    (from one timed step of each; that step also counts as warm-up)."""
    slowest = max(time_steps(c.step, 1, device) for c in contenders)
    return max(1, min(max_steps, math.ceil(block_seconds / max(slowest, 1e-6))))


def measure(contenders: list[Contender], steps: int, repeats: int, warmup: int, device: torch.device,
            log: Callable[[str], None] = lambda line: None) -> dict[str, list[float]]:
    """Seconds per block of ``steps`` steps, ``repeats`` blocks per contender, interleaved."""
    names = [c.name for c in contenders]
    if len(set(names)) != len(names):
        raise ValueError(f"contender names must be unique: {names}")
    for c in contenders:
        time_steps(c.step, warmup, device)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:  # rotate positions
            seconds[c.name].append(time_steps(c.step, steps, device))
        log(f"repeat {r + 1}/{repeats}: " + ", ".join(
            f"{c.name} {steps * c.images_per_step / seconds[c.name][-1]:.3g} img/s" for c in contenders))
    return seconds


def summarise(seconds: list[float], steps: int, images_per_step: int) -> dict:
    """Images/s median, min and max over the blocks, and the median milliseconds per step."""
    ips = [steps * images_per_step / s for s in seconds]
    return {
        "images_per_s": statistics.median(ips),
        "images_per_s_min": min(ips),
        "images_per_s_max": max(ips),
        "ms_per_step": 1000 * statistics.median(seconds) / steps,
        "images_per_s_each": [round(x, 3) for x in ips],
    }


def paired_ratios(seconds: list[float], baseline: list[float], images: int, baseline_images: int) -> dict:
    """Each block's images/s over the baseline block of the same repeat (adjacent in time)."""
    ratios = [(images / s) / (baseline_images / b) for s, b in zip(seconds, baseline)]
    return {"median": statistics.median(ratios), "min": min(ratios), "max": max(ratios)}
