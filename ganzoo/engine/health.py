"""Health checks during training, from the seeds' troubleshooting: cheap signals read from what
the Trainer already computes, each raised once as a ``HealthWarning`` (one ``warning:`` line on
the command line), logged to log.jsonl as ``{"step", "warning"}``, and naming the remedies.

- **D winning**: the discriminator's accuracy on real and fake batches (``d_real_acc``,
  ``d_fake_acc``) at or above ``WIN_ACCURACY`` for ``PATIENCE`` log windows in a row, after the
  first ``WARMUP`` of the run: its gradients for G vanish.
- **Oscillation**: the generator's loss swinging up and down: over the last ``SWING_WINDOW`` log
  windows it changes direction at least ``SWING_TURNS`` times with a spread (std / mean) of at
  least ``SWING_SPREAD``.
- **Collapse**: the preview batch (fixed noise) loses the variety it had: the mean SSIM of pairs
  of preview images rises ``COLLAPSE_MARGIN`` above its lowest so far in the run (and half that
  above the same figure on real training images), at two sample steps in a row after the warm-up.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor

WIN_ACCURACY = 0.99
PATIENCE = 10
WARMUP = 0.2
"""Share of the run's steps before any check (early training is noisy: D often wins at first)."""
COLLAPSE_MARGIN = 0.25
SWING_WINDOW, SWING_TURNS, SWING_SPREAD = 12, 9, 0.5

REMEDIES = {
    "d_winning": "--set label_smoothing=0.1, --set lr_d=<lower> (TTUR), --loss hinge --set spectral_norm=true, "
                 "or --set r1_weight=0.1 --set r1_every=16",
    "oscillation": "--set lr_g=<lower> --set lr_d=<lower>, --set betas=[0.5,0.999] (or [0.0,0.99]), "
                   "--set ema=0.999 for the samples, or --loss hinge --set spectral_norm=true",
    "collapse": "--set lr_g=<lower>, --set d_steps=2, --loss hinge --set spectral_norm=true, --set r1_weight=0.1, "
                "or resume from a checkpoint before it (ganzoo export --best)",
}


class HealthWarning(UserWarning):
    """A training run shows a known failure signal; the message names remedies."""


def pair_ssim(images: Tensor) -> float:
    """Mean SSIM of the pairs (i, i + n/2) of uint8 or [-1, 1] images: high means alike."""
    from ganzoo.metrics.ssim import ssim
    from ganzoo.pixels import to_unsigned

    if images.dtype != torch.uint8:
        images = to_unsigned(images)
    half = len(images) // 2
    if half < 1 or min(images.shape[-2:]) < 11:
        return float("nan")
    return float(ssim(images[:half].float(), images[half:2 * half].float()).mean())


class HealthMonitor:
    def __init__(self, steps: int, real_images: Tensor | None) -> None:
        self.warmup = int(WARMUP * steps)
        self.real_ssim = pair_ssim(real_images) if real_images is not None and len(real_images) >= 4 else None
        self.winning = 0
        self.collapsing = 0
        self.lowest = float("inf")
        self.g_losses: list[float] = []
        self.raised: set[str] = set()

    def on_record(self, record: dict[str, Any]) -> str | None:
        if record.get("step", 0) <= self.warmup:
            return None
        return self._swings(record) or self._winning(record)

    def _swings(self, record: dict[str, Any]) -> str | None:
        if not isinstance(record.get("g_loss"), float):
            return None
        self.g_losses = (self.g_losses + [record["g_loss"]])[-SWING_WINDOW:]
        if len(self.g_losses) < SWING_WINDOW:
            return None
        steps = [b - a for a, b in zip(self.g_losses, self.g_losses[1:])]
        turns = sum(1 for a, b in zip(steps, steps[1:]) if a * b < 0)
        mean = sum(self.g_losses) / len(self.g_losses)
        spread = (sum((x - mean) ** 2 for x in self.g_losses) / len(self.g_losses)) ** 0.5 / abs(mean or 1)
        if turns >= SWING_TURNS and spread >= SWING_SPREAD:
            return self._raise("oscillation", f"the losses oscillate: the generator's loss turned {turns} times in "
                                              f"{SWING_WINDOW} log windows with a spread of {spread:.2f}")
        return None

    def _winning(self, record: dict[str, Any]) -> str | None:
        if "d_real_acc" not in record or "d_fake_acc" not in record:
            return None
        accuracy = (record["d_real_acc"] + record["d_fake_acc"]) / 2
        self.winning = self.winning + 1 if accuracy >= WIN_ACCURACY else 0
        if self.winning >= PATIENCE:
            return self._raise("d_winning", f"the discriminator wins: its accuracy has been {accuracy:.3f} or more "
                                            f"for {PATIENCE} log windows, so the generator's gradients vanish")
        return None

    def on_samples(self, step: int, images: Tensor) -> str | None:
        if self.real_ssim is None or len(images) < 4:
            return None
        fake = pair_ssim(images)
        self.lowest = min(self.lowest, fake)  # early samples are blurry and alike: compare with the run's best
        if step <= self.warmup:
            return None
        collapsing = fake >= self.lowest + COLLAPSE_MARGIN and fake >= self.real_ssim + COLLAPSE_MARGIN / 2
        self.collapsing = self.collapsing + 1 if collapsing else 0
        if self.collapsing >= 2:
            return self._raise("collapse", f"the samples are collapsing: pairs of preview images have SSIM {fake:.2f} "
                                           f"against {self.real_ssim:.2f} for real images")
        return None

    def _raise(self, kind: str, what: str) -> str | None:
        if kind in self.raised:
            return None
        self.raised.add(kind)
        message = f"{what}; try {REMEDIES[kind]}"
        warnings.warn(message, HealthWarning, stacklevel=3)
        return f"{kind}: {message}"
