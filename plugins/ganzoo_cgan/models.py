"""A class-conditional DCGAN: the generator sees [z, embed(y)]; the discriminator sees the label
as an extra input plane (Mirza & Osindero) or through a projection (Miyato & Koyama)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrizations

from ganzoo.api import Discriminator, Generator, require_positive
from ganzoo_dcgan.blocks import (
    base_size, dcgan_discriminator_features, dcgan_generator, dcgan_init, upsampling_steps,
)


@dataclass
class ConditionalConfig:
    num_classes: int = 10
    latent_dim: int = 100
    embed_dim: int = 50
    g_width: int = 64
    d_width: int = 64
    channels: int = 1
    image_size: int = 32
    projection: bool = False
    """Projection discriminator instead of a label plane concatenated to the image."""
    d_batchnorm: bool = True
    spectral_norm: bool = False

    def __post_init__(self) -> None:
        upsampling_steps(self.image_size)
        require_positive(self, "num_classes", "latent_dim", "embed_dim", "g_width", "d_width", "channels")


class ConditionalGenerator(Generator):
    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.latent_dim, self.num_classes = config.latent_dim, config.num_classes
        self.image_shape = (config.channels, config.image_size, config.image_size)
        self.embed = nn.Embedding(config.num_classes, config.embed_dim)
        self.net = dcgan_generator(config.latent_dim + config.embed_dim, config.channels,
                                   config.image_size, config.g_width)
        dcgan_init(self)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        h = torch.cat([z.flatten(1), self.embed(labels).to(z.dtype)], dim=1)
        return self.net(h.view(h.shape[0], -1, 1, 1))


class ConditionalDiscriminator(Discriminator):
    def __init__(self, config: ConditionalConfig) -> None:
        super().__init__()
        self.projection = config.projection
        size = config.image_size
        extra = 0 if config.projection else 1
        self.features, width = dcgan_discriminator_features(
            config.channels + extra, size, config.d_width,
            batchnorm=config.d_batchnorm, spectral_norm=config.spectral_norm,
        )
        wrap = parametrizations.spectral_norm if config.spectral_norm else (lambda m: m)
        if config.projection:
            self.linear = wrap(nn.Linear(width, 1))
            self.embed = wrap(nn.Embedding(config.num_classes, width))
        else:
            self.label_plane = nn.Embedding(config.num_classes, size * size)
            self.head = wrap(nn.Conv2d(width, 1, base_size(config.image_size), 1, 0, bias=False))
        dcgan_init(self)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:
        if self.projection:
            h = self.features(images).sum(dim=(2, 3))  # global sum pooling
            return self.linear(h).squeeze(1) + (self.embed(labels) * h).sum(dim=1)
        plane = self.label_plane(labels).view(-1, 1, *images.shape[2:]).to(images.dtype)
        return self.head(self.features(torch.cat([images, plane], dim=1))).view(-1)
