"""The DCGAN generator and discriminator, with the pytorch/examples defaults."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ganzoo.api import Discriminator, Generator, require_positive
from ganzoo_dcgan.blocks import (
    base_size, dcgan_discriminator_features, dcgan_generator, dcgan_init, upsampling_steps,
)


@dataclass
class DCGANConfig:
    latent_dim: int = 100
    g_width: int = 64
    """ngf: channels of the generator's last hidden layer (doubling towards the input)."""
    d_width: int = 64
    """ndf: channels of the discriminator's first layer (doubling towards the output)."""
    channels: int = 3
    image_size: int = 64
    d_batchnorm: bool = True
    spectral_norm: bool = False
    """Spectral normalisation of the discriminator's convolutions (replaces its BatchNorm)."""

    def __post_init__(self) -> None:
        upsampling_steps(self.image_size)  # a clear error for sizes DCGAN cannot make
        require_positive(self, "latent_dim", "g_width", "d_width", "channels")


class DCGANGenerator(Generator):
    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.image_shape = (config.channels, config.image_size, config.image_size)
        self.net = dcgan_generator(config.latent_dim, config.channels, config.image_size, config.g_width)
        dcgan_init(self)

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(Discriminator):
    def __init__(self, config: DCGANConfig) -> None:
        super().__init__()
        self.features, width = dcgan_discriminator_features(
            config.channels, config.image_size, config.d_width,
            batchnorm=config.d_batchnorm, spectral_norm=config.spectral_norm,
        )
        head = nn.Conv2d(width, 1, base_size(config.image_size), 1, 0, bias=False)
        self.head = nn.utils.parametrizations.spectral_norm(head) if config.spectral_norm else head
        dcgan_init(self)

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.features(images)).view(-1)
