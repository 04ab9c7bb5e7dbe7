"""The registered mlp architecture: its config and networks (ganzoo_mlp.models) and training defaults."""

from __future__ import annotations

from ganzoo.api import Architecture
from ganzoo_mlp.models import MLPConfig, MLPDiscriminator, MLPGenerator


class MLPGAN(Architecture):
    """Non-saturating BCE, Adam; images scaled to [-1, 1]."""

    config_class = MLPConfig
    training_defaults = {"batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
                         "loss": "bce"}

    def build_generator(self, config: MLPConfig) -> MLPGenerator:
        return MLPGenerator(config)

    def build_discriminator(self, config: MLPConfig) -> MLPDiscriminator:
        return MLPDiscriminator(config)
