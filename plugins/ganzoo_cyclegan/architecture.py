"""The registered CycleGAN architecture: its data, networks, recipe and bench adapters."""

from __future__ import annotations


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

    bench_adapter = "ganzoo_cyclegan.plain_loop:CycleGANBench"

    def load_training_data(self, path, *, dataset_name=None, image_size=None, settings=None):
        from ganzoo_cyclegan.data import load_unpaired_training_data

        if dataset_name not in (None, "unpaired-folders"):
            raise DataError(f"CycleGAN reads trainA/trainB folders, not the {dataset_name!r} reader; drop --dataset")
        return load_unpaired_training_data(path, image_size or CycleGANConfig.image_size)

    def build_generator(self, config: CycleGANConfig) -> CycleGANPair:
        return CycleGANPair(config)

    def build_discriminator(self, config: CycleGANConfig) -> PatchDiscriminator:
        return PatchDiscriminator(config)

    def build_recipe(self, config: CycleGANConfig, loss: AdversarialLoss,
                     options: RecipeOptions | None = None) -> Recipe:
        from ganzoo_cyclegan.recipe import CycleGANRecipe

        return CycleGANRecipe(self.build_generator(config), self.build_discriminator(config),
                              self.build_discriminator(config), loss, config, options)
