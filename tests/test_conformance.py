"""Every first-party plugin passes ganzoo.testing, the checks third-party plugins run."""

from __future__ import annotations

import pytest

from ganzoo import testing
from ganzoo.plugins import get_zoo

SMALL = {
    "mlp": {"g_hidden": 16, "d_hidden": 16, "latent_dim": 8},
    "dcgan": {"image_size": 32, "g_width": 4, "d_width": 4, "latent_dim": 8},
    "cgan": {"image_size": 32, "g_width": 4, "d_width": 4, "latent_dim": 8, "embed_dim": 4},
    "cyclegan": {"g_width": 4, "d_width": 4, "image_size": 32, "pool_size": 3},
    "srgan": {"blocks": 1, "width": 4, "d_width": 2, "hr_crop": 16, "pretrain_steps": 1,
              "content_loss": "pixel-mse"},
}
SAMPLE_METRICS = ["swd", "ms-ssim"]


def test_every_first_party_architecture_has_small_settings_here():
    assert set(SMALL) == set(get_zoo().architectures.names())


@pytest.mark.parametrize("name", sorted(SMALL))
def test_architecture_conforms(name, tmp_path):
    exported = testing.check_architecture(name, settings=SMALL[name], workdir=tmp_path)
    assert (exported / "model.safetensors").is_file()


@pytest.mark.parametrize("name", sorted(get_zoo().losses.names()))
def test_loss_conforms(name):
    testing.check_loss(name)


@pytest.mark.parametrize("name", SAMPLE_METRICS + ["sr", "domain-accuracy"])
def test_metric_conforms(name):
    testing.check_metric(name)


@pytest.mark.parametrize("name", sorted(e.name for e in get_zoo().pretrained if e.bundled is not None))
def test_bundled_pretrained_conforms(name):
    testing.check_pretrained(name)


def test_the_checks_catch_a_broken_promise(monkeypatch):
    """A loss whose generator term ignores the fakes fails check_loss."""
    from ganzoo.losses import HingeLoss

    monkeypatch.setattr(HingeLoss, "g_loss", lambda self, fake, real=None: fake.float().mean() * 0)
    with pytest.raises(AssertionError, match="hinge: g_loss has no gradient"):
        testing.check_loss("hinge")
