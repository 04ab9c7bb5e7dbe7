"""The registered CycleGAN architecture: its data, networks, recipe and bench adapters."""

from __future__ import annotations

from typing import Any


from ganzoo.api import AdversarialLoss, Architecture, DataError, Recipe, RecipeOptions

from ganzoo_cyclegan.models import CycleGANConfig, CycleGANPair, PatchDiscriminator


class CycleGAN(Architecture):
    """CycleGAN (Zhu et al. 2017): two ResNet generators, two PatchGANs, LSGAN, cycle and
    identity L1 terms, a 50-image history pool per discriminator.

    The reference trains 100 epochs at the learning rate, then 100 decaying linearly to 0:
    set ``--set lr_decay_steps=N`` (e.g. half of ``--steps``); the default keeps it constant.
    """

    config_class = CycleGANConfig
    training_defaults = {"loss": "lsgan", "ema": 0.0, "batch_size": 1, "lr_g": 2e-4, "lr_d": 2e-4,
                         "betas": (0.5, 0.999), "preview_samples": 32, "channels_last": "off"}
    """channels_last is off: reflection padding and instance norm convert channels-last tensors
    back and forth, which on the CPU cost more than the convolutions gained (profiled: 3.2x the
    copy time per step; benchmarks/results/fastpaths_cpu.md)."""

    def load_training_data(self, path, *, dataset_name=None, image_size=None, settings=None):
        from ganzoo_cyclegan.data import load_unpaired_training_data

        if dataset_name not in (None, "unpaired-folders"):
            raise DataError(f"CycleGAN reads trainA/trainB folders, not the {dataset_name!r} reader; drop --dataset")
        return load_unpaired_training_data(path, image_size or CycleGANConfig.image_size)

    def make_bench_data(self, config: CycleGANConfig, num_images: int, seed: int = 0) -> Any:
        """Two domains of random images at the config's size (jittered per batch as in training)."""
        from ganzoo.api import random_image_dataset
        from ganzoo_cyclegan.data import UnpairedData

        shape = (config.channels, config.image_size, config.image_size)
        a, b = (random_image_dataset(shape, num_images, seed=seed + k, name=f"synthetic/train{d}")
                for k, d in enumerate("AB"))
        return UnpairedData(a, b, path="<random uint8 images>", name="synthetic")

    def make_plain_loop(self, config: CycleGANConfig, data: Any, settings: Any) -> Any:
        from ganzoo_cyclegan.plain_loop import PlainCycleGAN

        return PlainCycleGAN(config, data, settings)

    def build_generator(self, config: CycleGANConfig) -> CycleGANPair:
        return CycleGANPair(config)

    def build_discriminator(self, config: CycleGANConfig) -> PatchDiscriminator:
        return PatchDiscriminator(config)

    def build_recipe(self, config: CycleGANConfig, loss: AdversarialLoss,
                     options: RecipeOptions | None = None) -> Recipe:
        from ganzoo_cyclegan.recipe import CycleGANRecipe

        return CycleGANRecipe(self.build_generator(config), self.build_discriminator(config),
                              self.build_discriminator(config), loss, config, options)
