"""SRGAN's networks (Ledig et al., 2017, "Photo-Realistic Single Image Super-Resolution Using a
Generative Adversarial Network"): the SRResNet generator and the VGG-style discriminator.

Images are float NCHW in [-1, 1] on both sides. The generator ends in a plain convolution, with
no tanh (as BasicSR's MSRResNet): its output is unbounded during training, so the pixel loss
sees real errors instead of saturated ones, and ``ganzoo_srgan.upscale`` clamps it to [-1, 1].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.api import DataError, Discriminator, GanzooError, Generator, require_positive

CONTENT_LOSSES = ("auto", "vgg19-54", "pixel-mse")
PIXEL_LOSSES = ("mse", "l1")


@dataclass
class SRGANConfig:
    channels: int = 3
    scale: int = 4
    """Upscaling factor: a power of two, one PixelShuffle(2) stage per factor of two."""
    blocks: int = 16
    """Residual blocks in the generator (B = 16 in the paper)."""
    width: int = 64
    """Feature maps of the generator."""
    d_width: int = 64
    """Feature maps of the discriminator's first layer (64 -> 512 over eight layers)."""
    hr_crop: int = 96
    """Side of the HR training crops (the LR crops are ``hr_crop // scale``)."""
    pretrain_steps: int = 100_000
    """Phase 1: the first ``pretrain_steps`` steps train SRResNet alone with ``pixel_loss`` (the
    discriminator is not trained); phase 2 adds the adversarial term and the content loss."""
    pixel_loss: str = "mse"
    """Phase 1's loss: "mse" (the paper's SRResNet) or "l1" (BasicSR's MSRResNet recipe)."""
    adv_weight: float = 1e-3
    """Weight of the adversarial term in phase 2 (10^-3 in the paper)."""
    content_loss: str = "auto"
    """Phase 2's content loss: "vgg19-54" (MSE of VGG19 relu5_4 features rescaled by 1/12.75, the
    paper's SRGAN-VGG54), "pixel-mse", or "auto": VGG54 when pretrained VGG19 weights can be had
    (``vgg_weights`` or the Hugging Face cache), else pixel-mse with a warning. Training resolves
    "auto", so a run's run.json and an exported config.json name the loss actually used."""
    vgg_weights: str = ""
    """A local VGG19 weights file (timm's or torchvision's, safetensors or a PyTorch state dict);
    empty: timm's ``vgg19`` weights from the Hugging Face cache, if they are there."""

    def __post_init__(self) -> None:
        require_positive(self, "channels", "scale", "blocks", "width", "d_width", "hr_crop")
        if self.pretrain_steps < 0 or self.adv_weight < 0:
            raise ValueError("pretrain_steps and adv_weight must be >= 0")
        if self.pixel_loss not in PIXEL_LOSSES:
            raise ValueError(f"pixel_loss must be one of {', '.join(PIXEL_LOSSES)}, got {self.pixel_loss!r}")
        if self.content_loss not in CONTENT_LOSSES:
            raise ValueError(f"content_loss must be one of {', '.join(CONTENT_LOSSES)}, got {self.content_loss!r}")
        if self.scale < 2 or self.scale & (self.scale - 1):
            raise ValueError(f"scale must be a power of two (2, 4, 8, ...), got {self.scale}")
        if self.hr_crop % self.scale:
            raise ValueError(f"hr_crop must be a multiple of scale {self.scale}, got {self.hr_crop}")


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """A 'same' convolution (zero padding), with bias as in the paper."""
    return nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2)


class ResidualBlock(nn.Module):
    """conv3x3-BN-PReLU-conv3x3-BN plus the input (He et al.'s block without the last ReLU)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            _conv(width, width, 3), nn.BatchNorm2d(width), nn.PReLU(),
            _conv(width, width, 3), nn.BatchNorm2d(width),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class SRResNet(Generator):
    """LR images (N, C, h, w) -> SR images (N, C, h * scale, w * scale), both in [-1, 1].

    conv9x9 + PReLU, ``blocks`` residual blocks, conv3x3 + BN with a skip from before the
    blocks, log2(scale) stages of conv3x3 (to 4 * width) + PixelShuffle(2) + PReLU, and a
    final conv9x9 to ``channels``. Fully convolutional: any LR size works; ``image_shape`` is
    the HR training crop. The output is not squashed (no tanh); clamp it for display.
    PReLUs have one shared slope each (``nn.PReLU()``'s default).
    """

    def __init__(self, config: SRGANConfig) -> None:
        super().__init__()
        self.latent_dim = None
        self.scale = config.scale
        self.image_shape = (config.channels, config.hr_crop, config.hr_crop)
        self.num_blocks = config.blocks
        width = config.width
        self.head = nn.Sequential(_conv(config.channels, width, 9), nn.PReLU())
        self.body = nn.Sequential(*(ResidualBlock(width) for _ in range(config.blocks)))
        self.body_end = nn.Sequential(_conv(width, width, 3), nn.BatchNorm2d(width))
        stages: list[nn.Module] = []
        for _ in range(int(math.log2(config.scale))):
            stages += [_conv(width, 4 * width, 3), nn.PixelShuffle(2), nn.PReLU()]
        self.upsample = nn.Sequential(*stages)
        self.tail = _conv(width, config.channels, 9)

    @property
    def receptive_radius(self) -> int:
        """How many LR pixels away an input pixel can still change an output pixel (rounded
        up): 4 (conv9x9) + 2 per residual block + 1 (conv after the blocks) + 1, 1/2, ... for
        the upsampling convolutions + 4 / scale for the final conv9x9 at HR. 40 for the default
        x4 model with 16 blocks; tiles that overlap by this much stitch without seams."""
        stages = int(math.log2(self.scale))
        radius = 4 + 2 * self.num_blocks + 1 + sum(0.5**i for i in range(stages)) + 4 / self.scale
        return math.ceil(radius)

    def translate(self, images: Tensor, *, tile: int = 128, overlap: int | None = None,
                  **options: Any) -> Tensor:
        """uint8 LR images (N, C, h, w) -> uint8 SR images (N, C, h * scale, w * scale), run tile
        by tile (``ganzoo_srgan.upscale``: memory bounded by ``tile``, not by the image). Tiles
        overlap by ``receptive_radius`` unless ``overlap`` says otherwise, so they stitch to
        exactly the whole-image pass."""
        from ganzoo_srgan.upscale import upscale

        if options:
            raise GanzooError(f"{type(self).__name__} takes no {', '.join(sorted(options))} option; "
                              "it upscales one way only")
        if not isinstance(images, Tensor) or images.dim() != 4:
            shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise DataError(f"translate expects uint8 images shaped (N, C, H, W), got {shape}")
        overlap = self.receptive_radius if overlap is None else overlap
        return torch.stack([upscale(self, image, tile, overlap) for image in images])

    def forward(self, lr: Tensor) -> Tensor:
        features = self.head(lr)
        features = features + self.body_end(self.body(features))
        return self.tail(self.upsample(features))


class SRDiscriminator(Discriminator):
    """Images (N, C, H, W) in [-1, 1] -> real/fake logits (N,).

    The paper's eight 3x3 convolutions (d_width x 1, 1, 2, 2, 4, 4, 8, 8 feature maps with
    strides 1, 2, 1, 2, 1, 2, 1, 2; BatchNorm on all but the first; LeakyReLU 0.2), then a dense
    layer of 16 * d_width units (1024 by default) + LeakyReLU and a dense layer to one logit.
    Unlike the paper, whose first dense layer flattens the 6x6 map of a 96x96 crop, the features
    are global-average-pooled first, so any input size works (and the head is 6 x 6 = 36 times
    smaller). No sigmoid: the adversarial losses take logits.
    """

    def __init__(self, config: SRGANConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = config.channels
        for i, mult in enumerate((1, 1, 2, 2, 4, 4, 8, 8)):
            c_out = config.d_width * mult
            layers.append(_conv(c_in, c_out, 3, stride=1 + i % 2))
            if i > 0:
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Linear(c_in, 16 * config.d_width), nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(16 * config.d_width, 1),
        )

    def forward(self, images: Tensor) -> Tensor:
        pooled = self.features(images).mean(dim=(2, 3))
        return self.head(pooled).squeeze(1)
