"""The registered SRGAN architecture: its data, networks, recipe and bench adapters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping


from ganzoo.api import AdversarialLoss, Architecture, RecipeOptions

from ganzoo_srgan.content import resolve_content_loss
from ganzoo_srgan.models import SRDiscriminator, SRGANConfig, SRResNet
from ganzoo_srgan.recipe import PREVIEW_PAIRS, SRGANRecipe


class SRGAN(Architecture):
    """Ledig et al.'s SRGAN: x4 SRResNet + VGG-style discriminator, trained in two phases on
    random HR crops of a folder of photos (LR made by antialiased bicubic downscaling)."""

    config_class = SRGANConfig
    training_defaults = {
        "steps": 200_000, "batch_size": 16, "lr_g": 1e-4, "lr_d": 1e-4, "betas": (0.9, 0.999),
        "loss": "bce", "preview_samples": 3 * PREVIEW_PAIRS, "sample_every": 1000, "checkpoint_every": 1000,
    }

    bench_adapter = "ganzoo_srgan.plain_loop:SRGANBench"

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
