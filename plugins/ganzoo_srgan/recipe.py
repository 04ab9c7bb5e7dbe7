"""SRGAN's training: the recipe (two phases) and the Architecture that the plugin registers.

Phase 1 (steps before ``pretrain_steps``) trains SRResNet alone with the pixel loss (MSE as in
the paper, or L1 as in BasicSR's MSRResNet: ``pixel_loss``); the Trainer
skips the discriminator (``trains_discriminator`` is False). Phase 2 trains both networks: the
generator minimises ``content + adv_weight * adversarial``, where the content loss is VGG54 or
its pixel-space fallback (``ganzoo_srgan.content``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.api import (
    AdversarialLoss, Batch, Recipe, RecipeOptions, discriminator_terms, generator_term,
)

from ganzoo_srgan.models import SRDiscriminator, SRGANConfig, SRResNet

PREVIEW_PAIRS = 8
"""HR crops in a preview grid; each shows bicubic, SRResNet/SRGAN and HR side by side."""


class SRGANRecipe(Recipe):
    """SRResNet + discriminator; batches hold ``"lr"`` inputs and ``"image"`` HR targets."""

    def __init__(self, generator: SRResNet, discriminator: SRDiscriminator, loss: AdversarialLoss,
                 options: RecipeOptions, config: SRGANConfig, content: nn.Module) -> None:
        super().__init__({"generator": generator}, {"discriminator": discriminator})
        self.loss = loss
        self.options = options
        self.pretrain_steps = config.pretrain_steps
        self.adv_weight = config.adv_weight
        self.scale = config.scale
        self.pixel_loss = F.l1_loss if config.pixel_loss == "l1" else F.mse_loss
        self._content = [content]  # kept out of the state dict: the checkpoints hold no VGG
        self._adversarial = False
        self._sr: Tensor | None = None
        self._data: Any = None

    @property
    def generator(self) -> SRResNet:
        return self.generators["generator"]  # type: ignore[return-value]

    @property
    def discriminator(self) -> SRDiscriminator:
        return self.discriminators["discriminator"]  # type: ignore[return-value]

    @property
    def content(self) -> nn.Module:
        module = self._content[0]
        device = next(self.generator.parameters()).device
        buffers = list(module.buffers()) + list(module.parameters())
        if buffers and buffers[0].device != device:
            self._content[0] = module = module.to(device)
        return module

    def begin_step(self, step: int) -> None:
        self._adversarial = step >= self.pretrain_steps
        self._sr = None

    def trains_discriminator(self, step: int) -> bool:
        return step >= self.pretrain_steps

    def discriminator_loss(self, batch: Batch) -> dict[str, Tensor]:
        sr = self.generator(batch["lr"])
        self._sr = sr
        return discriminator_terms(self.loss, self.options, batch["image"], sr, self.discriminator)

    def generator_loss(self, batch: Batch) -> dict[str, Tensor]:
        hr = batch["image"]
        sr, self._sr = self._sr, None  # the last D step's SR batch: same batch, same generator
        if sr is None:
            sr = self.generator(batch["lr"])
        pixel = self.pixel_loss(sr.float(), hr.float())
        if not self._adversarial:
            return {"loss": pixel, "pixel": pixel.detach()}
        content = self.content(sr, hr)
        adversarial = generator_term(self.loss, self.options, sr, hr, self.discriminator)
        return {"loss": content + self.adv_weight * adversarial, "pixel": pixel.detach(),
                "content": content.detach(), "adversarial": adversarial.detach()}

    # -- preview grids ----------------------------------------------------------------------

    def attach_data(self, data: Any) -> None:
        self._data = data

    def preview_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        if self._data is None or not hasattr(self._data, "fixed_pairs"):
            c, h, w = self.generator.image_shape
            hr = torch.rand(PREVIEW_PAIRS, c, h, w, generator=rng) * 2 - 1
            return hr, F.avg_pool2d(hr, self.scale)
        return self._data.fixed_pairs(max(1, min(PREVIEW_PAIRS, n // 3)), rng)

    def preview(self, generators: nn.ModuleDict, inputs: tuple[Tensor, Tensor]) -> Tensor:
        """Per pair: bicubic upscaling of the LR crop, the generator's output, the HR crop."""
        hr, lr = inputs
        generator = generators["generator"]
        device = next(generator.parameters()).device
        sr = generator(lr.to(device)).float().cpu().clamp(-1, 1)
        bicubic = F.interpolate(lr, scale_factor=self.scale, mode="bicubic", align_corners=False,
                                antialias=True).clamp(-1, 1)
        return torch.stack([bicubic, sr, hr], dim=1).flatten(0, 1)

    def preview_columns(self, inputs: tuple[Tensor, Tensor]) -> int:
        return 6 if len(inputs[0]) % 2 == 0 else 3
