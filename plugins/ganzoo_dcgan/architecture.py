"""The registered dcgan architecture: its config and networks (ganzoo_dcgan.models) and training defaults."""

from __future__ import annotations

from ganzoo.api import Architecture
from ganzoo_dcgan.models import DCGANConfig, DCGANDiscriminator, DCGANGenerator


class DCGAN(Architecture):
    """Defaults of the PyTorch DCGAN example: nz 100, ngf = ndf = 64, Adam 2e-4 (0.5, 0.999), batch 128."""

    config_class = DCGANConfig
    training_defaults = {"batch_size": 128, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999),
                         "loss": "bce", "sample_every": 250, "checkpoint_every": 250}

    def build_generator(self, config: DCGANConfig) -> DCGANGenerator:
        return DCGANGenerator(config)

    def build_discriminator(self, config: DCGANConfig) -> DCGANDiscriminator:
        return DCGANDiscriminator(config)
