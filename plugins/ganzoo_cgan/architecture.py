"""The registered cgan architecture: its config and networks (ganzoo_cgan.models) and training defaults."""

from __future__ import annotations

from ganzoo.api import Architecture
from ganzoo_cgan.models import ConditionalConfig, ConditionalDiscriminator, ConditionalGenerator


class ConditionalGAN(Architecture):
    """DCGAN defaults (Adam 2e-4, betas (0.5, 0.999)), batch 64, for labelled data."""

    config_class = ConditionalConfig
    training_defaults = {"batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
                         "loss": "bce", "sample_every": 250, "checkpoint_every": 250,
                         "preview_samples": 80}

    def build_generator(self, config: ConditionalConfig) -> ConditionalGenerator:
        return ConditionalGenerator(config)

    def build_discriminator(self, config: ConditionalConfig) -> ConditionalDiscriminator:
        return ConditionalDiscriminator(config)
