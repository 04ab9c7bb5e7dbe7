"""CycleGAN's networks (Zhu et al. 2017), as in the authors' reference implementation
(junyanz/pytorch-CycleGAN-and-pix2pix): the ResNet generator of Johnson et al. with instance
normalisation, and the 70x70 PatchGAN discriminator of Isola et al.

At the paper's widths (64) the 9-block generator has 11,378,179 parameters, the 6-block one
7,837,699, and the 3-layer PatchGAN 2,764,737 (the reference prints 11.378 M, 7.838 M, 2.765 M).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

from torch import Tensor, nn

from ganzoo.api import (
    DataError, Discriminator, GanzooError, Generator, require_positive, to_signed, to_unsigned,
)

BLOCKS = (6, 9)
"""Residual blocks of the paper's generators: 6 for 128x128 images, 9 for 256x256 and larger."""


@dataclass
class CycleGANConfig:
    channels: int = 3
    image_size: int = 128
    g_width: int = 64
    """Filters of the generator's first convolution (``ngf``); 2x and 4x after downsampling."""
    d_width: int = 64
    """Filters of the discriminator's first convolution (``ndf``), doubling up to 8x."""
    blocks: int = 6
    """Residual blocks in the generator: 6 or 9."""
    d_layers: int = 3
    """Stride-2 convolutions of the PatchGAN; 3 gives 70x70 patches."""
    pool_size: int = 50
    """Generated images kept per discriminator in the history pool; 0 turns the pool off."""
    cycle_weight: float = 10.0
    """lambda of the cycle-consistency L1 terms (both directions)."""
    identity_weight: float = 0.5
    """The identity L1 terms' weight as a fraction of ``cycle_weight``; 0 turns them off."""

    def __post_init__(self) -> None:
        require_positive(self, "channels", "image_size", "g_width", "d_width", "d_layers")
        if self.pool_size < 0 or self.cycle_weight < 0 or self.identity_weight < 0:
            raise GanzooError("CycleGAN pool_size, cycle_weight and identity_weight must be >= 0")
        if self.blocks not in BLOCKS:
            raise GanzooError(f"CycleGAN blocks must be 6 (128x128 images) or 9 (256x256), got {self.blocks}")
        if self.image_size % 4 or self.image_size < 8:
            nearest = max(8, self.image_size - self.image_size % 4)
            raise GanzooError(
                f"CycleGAN image_size must be a multiple of 4 and at least 8 (the generator "
                f"downsamples twice), got {self.image_size}; pick e.g. {nearest}"
            )


def init_weights(module: nn.Module, std: float = 0.02) -> None:
    """The reference's ``normal`` init: conv weights from N(0, std), biases 0, and affine norm
    scales from N(1, std) (CycleGAN's instance norm has none)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def _norm(channels: int) -> nn.InstanceNorm2d:
    # The reference's instance norm: no affine parameters, no running statistics, so train and
    # eval mode normalise identically. Convolutions before it keep their bias, as there.
    return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)


class ResidualBlock(nn.Module):
    """x + [reflect-pad, conv3x3, IN, ReLU, reflect-pad, conv3x3, IN](x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(Generator):
    """Image -> image of the same size (sides multiples of 4, at least 8), [-1, 1] to [-1, 1]:
    c7s1-w, d2w, d4w, ``blocks`` x R4w, u2w, uw, c7s1-C, tanh (the paper's appendix)."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        self.latent_dim = None
        self.image_shape = (config.channels, config.image_size, config.image_size)
        c, w = config.channels, config.g_width
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(c, w, 7), _norm(w), nn.ReLU(True)]
        for mult in (1, 2):  # downsample: w -> 2w -> 4w
            layers += [nn.Conv2d(w * mult, w * mult * 2, 3, stride=2, padding=1), _norm(w * mult * 2),
                       nn.ReLU(True)]
        layers += [ResidualBlock(w * 4) for _ in range(config.blocks)]
        for mult in (4, 2):  # upsample: 4w -> 2w -> w
            layers += [nn.ConvTranspose2d(w * mult, w * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(w * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, c, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, images: Tensor) -> Tensor:
        h, w = images.shape[-2:]
        if h % 4 or w % 4 or min(h, w) < 8:
            raise GanzooError(f"CycleGAN generators need image sides that are multiples of 4 and at "
                              f"least 8, got {h}x{w}; resize or crop the images")
        return self.net(images)


class PatchDiscriminator(Discriminator):
    """PatchGAN: a logit per overlapping patch, (N, 1, h, w); with ``d_layers=3`` each logit sees
    70x70 pixels and a 128x128 image gives 14x14 logits (256x256: 30x30)."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        w = config.d_width
        layers: list[nn.Module] = [nn.Conv2d(config.channels, w, 4, stride=2, padding=1),
                                   nn.LeakyReLU(0.2, True)]
        width = w
        for n in range(1, config.d_layers):
            out = w * min(2**n, 8)
            layers += [nn.Conv2d(width, out, 4, stride=2, padding=1), _norm(out), nn.LeakyReLU(0.2, True)]
            width = out
        out = w * min(2**config.d_layers, 8)
        layers += [nn.Conv2d(width, out, 4, stride=1, padding=1), _norm(out), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(out, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)
        init_weights(self)

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)


DIRECTIONS = ("a2b", "b2a")
MIN_INPUT_SIDE = 16
"""The smallest image side ``translate`` accepts (the generator downsamples it 4x)."""


class CycleGANPair(Generator):
    """Both of CycleGAN's generators as one module: ``a2b`` (the paper's G: X -> Y) and ``b2a``
    (F: Y -> X). ``forward(images, direction)`` runs one of them; this is what is exported."""

    translate_options = "--direction a2b"
    spatial_multiple = 4
    """Image sides must be multiples of this (two stride-2 stages); exports declare it."""

    def __init__(self, config: CycleGANConfig) -> None:
        super().__init__()
        self.latent_dim = None
        self.image_shape = (config.channels, config.image_size, config.image_size)
        self.a2b = ResnetGenerator(config)
        self.b2a = ResnetGenerator(config)

    def forward(self, images: Tensor, direction: str = "a2b") -> Tensor:
        return self._network(direction)(images)

    def _network(self, direction: str) -> ResnetGenerator:
        if direction not in DIRECTIONS:
            raise GanzooError(f"unknown direction {direction!r}; CycleGAN translates a2b or b2a")
        return self.a2b if direction == "a2b" else self.b2a

    @torch.no_grad()
    def translate(self, images: Tensor, direction: str = "a2b", **options: Any) -> Tensor:
        """uint8 (N, C, H, W) -> uint8 (N, C, H, W) of the same size, in eval mode. Grey inputs
        are repeated to RGB and an alpha channel is dropped; sides that are not multiples of 4
        are reflect-padded and the result cropped back; sides under 16 are a DataError."""
        if options:
            raise GanzooError(f"CycleGAN translate takes only direction, not {', '.join(options)}")
        network = self._network(direction)
        if images.dim() == 3:
            images = images[None]
        n, c, h, w = images.shape
        channels = self.image_shape[0]
        if c == 1 and channels == 3:
            images = images.expand(n, 3, h, w)
        elif c == 4 and channels == 3:
            images = images[:, :3]
        elif c != channels:
            raise DataError(f"the model translates {channels}-channel images, got {c} channels")
        if min(h, w) < MIN_INPUT_SIDE:
            raise DataError(f"the input image is {w}x{h}; CycleGAN needs at least "
                            f"{MIN_INPUT_SIDE}x{MIN_INPUT_SIDE} pixels")
        was_training = self.training
        self.eval()
        try:
            x = to_signed(images.to(self.device))
            pad_h, pad_w = -h % 4, -w % 4
            if pad_h or pad_w:
                x = F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
            y = network(x)[..., :h, :w]
        finally:
            self.train(was_training)
        return to_unsigned(y)
