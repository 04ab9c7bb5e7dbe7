"""SRGAN's training: the recipe (two phases) and the Architecture that the plugin registers.

Phase 1 (steps before ``pretrain_steps``) trains SRResNet alone with the pixel MSE; the Trainer
skips the discriminator (``trains_discriminator`` is False). Phase 2 trains both networks: the
generator minimises ``content + adv_weight * adversarial``, where the content loss is VGG54 or
its pixel-space fallback (``ganzoo_srgan.content``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.api import (
    AdversarialLoss, Architecture, Batch, Recipe, RecipeOptions, discriminator_terms,
    generator_term,
)

from ganzoo_srgan.content import resolve_content_loss
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
        pixel = F.mse_loss(sr.float(), hr.float())
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


class SRGAN(Architecture):
    """Ledig et al.'s SRGAN: x4 SRResNet + VGG-style discriminator, trained in two phases on
    random HR crops of a folder of photos (LR made by antialiased bicubic downscaling)."""

    config_class = SRGANConfig
    training_defaults = {
        "steps": 200_000, "batch_size": 16, "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.9, 0.999),
        "loss": "bce", "preview_samples": 3 * PREVIEW_PAIRS, "sample_every": 1000, "checkpoint_every": 1000,
    }

    bench_settings = {"pretrain_steps": 0, "content_loss": "pixel-mse"}
    """``ganzoo bench`` times the adversarial phase, with the content loss that needs no VGG."""

    def make_bench_data(self, config: SRGANConfig, num_images: int, seed: int = 0) -> Any:
        """Random RGB HR images a quarter larger than the crop, so the crops move."""
        from ganzoo_srgan.data import HRCrops

        side = config.hr_crop + config.hr_crop // 4
        rng = torch.Generator().manual_seed(seed)
        images = torch.randint(0, 256, (num_images, config.channels, side, side), dtype=torch.uint8, generator=rng)
        return HRCrops(list(images), crop=config.hr_crop, scale=config.scale, name="synthetic",
                       path="<random uint8 images>")

    def make_plain_loop(self, config: SRGANConfig, data: Any, settings: Any) -> Any:
        from ganzoo_srgan.plain_loop import PlainSRGAN

        return PlainSRGAN(config, data, settings)

    def sampling_inputs(self, generator: SRResNet, n: int, device: torch.device) -> tuple[Tensor, ...]:
        """LR images: the HR training crop divided by the scale."""
        c, h, w = generator.image_shape
        return (torch.rand(n, c, h // generator.scale, w // generator.scale, device=device) * 2 - 1,)

    def load_training_data(self, path: str | Path, *, dataset_name: str | None = None,
                           image_size: int | None = None, settings: Mapping[str, Any] | None = None) -> Any:
        from ganzoo_srgan.data import load_training_folder

        config = self.make_config(settings)  # the crop and scale the generator will be built for
        return load_training_folder(path, crop=config.hr_crop, scale=config.scale)

    def build_generator(self, config: SRGANConfig) -> SRResNet:
        return SRResNet(config)

    def build_discriminator(self, config: SRGANConfig) -> SRDiscriminator:
        return SRDiscriminator(config)

    def build_recipe(self, config: SRGANConfig, loss: AdversarialLoss,
                     options: RecipeOptions | None = None) -> SRGANRecipe:
        used, content = resolve_content_loss(config.content_loss, config.vgg_weights)
        config.content_loss = used  # what run.json, and so the exported config.json, record
        return SRGANRecipe(self.build_generator(config), self.build_discriminator(config), loss,
                           options or RecipeOptions(), config, content)
