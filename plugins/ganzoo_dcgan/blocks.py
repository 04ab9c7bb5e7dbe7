"""DCGAN's building blocks, shared with the conditional GAN plugin (ganzoo_cgan).

Radford et al.'s DCGAN stacks: a transposed-convolution generator (BatchNorm + ReLU, tanh out)
and a strided-convolution discriminator (LeakyReLU 0.2), for square sizes 4 * 2^k.
"""

from __future__ import annotations

import math

from torch import nn
from torch.nn.utils import parametrizations, parametrize

from ganzoo.api import GanzooError

SUPPORTED_SIZES = (28, 32, 64, 128)
_BASE = {28: 7}  # 28 = 7 * 2^2 (MNIST at its own size); the others grow from 4x4


def base_size(image_size: int) -> int:
    """Side of the first (generator) / last (discriminator) feature map."""
    return _BASE.get(image_size, 4)


def upsampling_steps(image_size: int) -> int:
    """Stride-2 stages between the base map and ``image_size``; only supported sizes pass."""
    if image_size not in SUPPORTED_SIZES:
        raise GanzooError(
            f"image_size {image_size} cannot be made by a DCGAN stack; use one of "
            f"{', '.join(map(str, SUPPORTED_SIZES))}"
        )
    return int(math.log2(image_size // base_size(image_size)))


def dcgan_generator(in_features: int, channels: int, image_size: int, width: int) -> nn.Sequential:
    """``in_features`` x 1 x 1 -> ``channels`` x ``image_size`` x ``image_size`` in [-1, 1]."""
    steps = upsampling_steps(image_size)
    mult = 2 ** (steps - 1)
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(in_features, width * mult, base_size(image_size), 1, 0, bias=False),
        nn.BatchNorm2d(width * mult),
        nn.ReLU(True),
    ]
    for _ in range(steps - 1):
        layers += [
            nn.ConvTranspose2d(width * mult, width * mult // 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * mult // 2),
            nn.ReLU(True),
        ]
        mult //= 2
    layers += [nn.ConvTranspose2d(width, channels, 4, 2, 1, bias=False), nn.Tanh()]
    return nn.Sequential(*layers)


def dcgan_discriminator_features(
    channels: int, image_size: int, width: int, *, batchnorm: bool = True, spectral_norm: bool = False
) -> tuple[nn.Sequential, int]:
    """Images -> a (width * 2^(k-1)) x base x base feature map (base: ``base_size``); returns
    the stack and its channels."""
    steps = upsampling_steps(image_size)
    wrap = parametrizations.spectral_norm if spectral_norm else (lambda m: m)
    use_bn = batchnorm and not spectral_norm
    layers: list[nn.Module] = [wrap(nn.Conv2d(channels, width, 4, 2, 1, bias=not use_bn)),
                               nn.LeakyReLU(0.2, inplace=True)]
    mult = 1
    for _ in range(steps - 1):
        layers.append(wrap(nn.Conv2d(width * mult, width * mult * 2, 4, 2, 1, bias=not use_bn)))
        if use_bn:
            layers.append(nn.BatchNorm2d(width * mult * 2))
        layers.append(nn.LeakyReLU(0.2, inplace=True))
        mult *= 2
    return nn.Sequential(*layers), width * mult


def dcgan_init(module: nn.Module) -> None:
    """Radford et al.'s initialisation: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            spectral = parametrize.is_parametrized(m, "weight")
            nn.init.normal_(m.parametrizations.weight.original if spectral else m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
