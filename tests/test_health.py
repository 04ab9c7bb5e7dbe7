"""Health checks during training: a discriminator with 100x the learning rate is reported as
winning (with remedies, in log.jsonl too), a healthy run stays silent, and a preview batch that
loses its variety is reported as collapsing."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from ganzoo.engine import start_run
from ganzoo.engine.health import HealthMonitor, HealthWarning

DCGAN = {"g_width": 8, "d_width": 8, "latent_dim": 16, "image_size": 32, "batch_size": 32, "steps": 200,
         "log_every": 5, "sample_every": 20, "checkpoint_every": 1000}


def _health_warnings(arch, settings, run_dir, data):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start_run(arch, data, run_dir, settings=settings, progress=False).fit()
    return [str(w.message) for w in caught if issubclass(w.category, HealthWarning)]


def test_a_discriminator_that_wins_is_reported_with_remedies(tmp_path, mnist_dir):
    found = _health_warnings("dcgan", {**DCGAN, "lr_d": 2e-2, "lr_g": 2e-6}, tmp_path / "run", mnist_dir)
    assert len(found) >= 1 and "the discriminator wins" in found[0] and "--set label_smoothing=0.1" in found[0]
    logged = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any(r.get("warning", "").startswith("d_winning:") for r in logged)
    assert all("d_real_acc" in r for r in logged if "d_loss" in r)


def test_a_healthy_run_stays_silent(tmp_path, mnist_dir):
    settings = {"g_hidden": 64, "d_hidden": 64, "latent_dim": 16, "batch_size": 32, "steps": 200, "log_every": 5,
                "sample_every": 20, "checkpoint_every": 1000}
    assert _health_warnings("mlp", settings, tmp_path / "run", mnist_dir) == []


def test_a_preview_that_loses_its_variety_is_reported_as_collapse():
    rng = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (64, 1, 32, 32), generator=rng, dtype=torch.uint8)
    monitor = HealthMonitor(steps=100, real_images=real)
    diverse = torch.rand(64, 1, 32, 32, generator=rng) * 2 - 1
    same = diverse[:1].repeat(64, 1, 1, 1)
    assert monitor.on_samples(10, same) is None  # in the warm-up: early samples may look alike
    assert monitor.on_samples(30, diverse) is None
    assert monitor.on_samples(40, same) is None  # once is not yet a trend
    with pytest.warns(HealthWarning, match="collapsing.*--set lr_g=<lower>"):
        note = monitor.on_samples(50, same)
    assert note.startswith("collapse:")
    assert monitor.on_samples(60, same) is None  # raised once


def test_losses_that_swing_are_reported_as_oscillation():
    monitor = HealthMonitor(steps=100, real_images=None)
    calm = [1.0 + 0.01 * i for i in range(12)]
    assert all(monitor.on_record({"step": 30 + i, "g_loss": v}) is None for i, v in enumerate(calm))
    with pytest.warns(HealthWarning, match="oscillate"):
        notes = [monitor.on_record({"step": 50 + i, "g_loss": 0.2 if i % 2 else 3.0}) for i in range(12)]
    fired = [n for n in notes if n]
    assert len(fired) == 1 and fired[0].startswith("oscillation:") and "--set lr_g=<lower>" in fired[0]
