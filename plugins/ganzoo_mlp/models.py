"""The MLP GAN: G = z -> Dense -> LeakyReLU -> Dense -> tanh; D = x -> Dense -> LeakyReLU -> 1."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from ganzoo.api import Discriminator, Generator, require_positive


@dataclass
class MLPConfig:
    latent_dim: int = 100
    g_hidden: int = 128
    d_hidden: int = 128
    negative_slope: float = 0.01
    channels: int = 1
    image_size: int = 28

    def __post_init__(self) -> None:
        require_positive(self, "latent_dim", "g_hidden", "d_hidden", "channels", "image_size")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)


class MLPGenerator(Generator):
    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.image_shape = config.image_shape
        self.net = nn.Sequential(
            nn.Linear(config.latent_dim, config.g_hidden),
            nn.LeakyReLU(config.negative_slope),
            nn.Linear(config.g_hidden, math.prod(self.image_shape)),
            nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, *self.image_shape)


class MLPDiscriminator(Discriminator):
    def __init__(self, config: MLPConfig) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(config.image_shape), config.d_hidden),
            nn.LeakyReLU(config.negative_slope),
            nn.Linear(config.d_hidden, 1),
        )

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images).squeeze(1)
