"""The core's recipes: noise -> image GANs, unconditional and class-conditional."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.adversarial import discriminator_terms, generator_term
from ganzoo.interfaces import (
    AdversarialLoss, Batch, Discriminator, Generator, Recipe, RecipeOptions, class_rows,
)


class UnconditionalRecipe(Recipe):
    """One generator, one discriminator, one adversarial loss, optional penalties and augmentation.

    The fake batch made for the last discriminator step is reused by the generator step (the
    generator has not changed in between), which saves one generator forward pass per step.
    """

    def __init__(self, generator: Generator, discriminator: Discriminator, loss: AdversarialLoss,
                 options: RecipeOptions | None = None) -> None:
        super().__init__({"generator": generator}, {"discriminator": discriminator})
        self.loss = loss
        self.options = options or RecipeOptions()
        self._fake: tuple[Tensor, Tensor | None] | None = None

    @property
    def generator(self) -> Generator:
        return self.generators["generator"]  # type: ignore[return-value]

    @property
    def discriminator(self) -> Discriminator:
        return self.discriminators["discriminator"]  # type: ignore[return-value]

    # Conditioning hooks: the unconditional recipe has no labels (condition None).
    def real_condition(self, batch: Batch) -> Tensor | None:
        return None

    def sample_condition(self, n: int, device: torch.device) -> Tensor | None:
        return None

    @staticmethod
    def generate(generator: nn.Module, z: Tensor, condition: Tensor | None) -> Tensor:
        return generator(z) if condition is None else generator(z, condition)

    def discriminate(self, images: Tensor, condition: Tensor | None) -> Tensor:
        """The discriminator's logits (augmentation is applied by ``ganzoo.adversarial``)."""
        if condition is None:
            return self.discriminator(images)
        return self.discriminator(images, condition)

    def _make_fake(self, n: int, device: torch.device) -> tuple[Tensor, Tensor | None]:
        z = self.generator.sample_latent(n, device=device)
        condition = self.sample_condition(n, device)
        return self.generate(self.generator, z, condition), condition

    def discriminator_loss(self, batch: Batch) -> dict[str, Tensor]:
        real = batch["image"]
        real_condition = self.real_condition(batch)
        fake, fake_condition = self._make_fake(real.shape[0], real.device)
        self._fake = (fake, fake_condition)
        return discriminator_terms(self.loss, self.options, real, fake,
                                   lambda x: self.discriminate(x, real_condition),
                                   lambda x: self.discriminate(x, fake_condition))

    def generator_loss(self, batch: Batch) -> dict[str, Tensor]:
        fake_pair, self._fake = self._fake, None
        if fake_pair is None:
            fake_pair = self._make_fake(batch["image"].shape[0], batch["image"].device)
        fake, condition = fake_pair
        real_condition = self.real_condition(batch)
        return {"loss": generator_term(self.loss, self.options, fake, batch["image"],
                                       lambda x: self.discriminate(x, condition),
                                       lambda x: self.discriminate(x, real_condition))}

    def preview_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor | None]:
        return self.generator.sample_latent(n, generator=rng, device=torch.device("cpu")), None

    def preview(self, generators: nn.ModuleDict, inputs: tuple[Tensor, Tensor | None]) -> Tensor:
        generator = generators["generator"]
        device = next(generator.parameters()).device
        z, labels = inputs
        return self.generate(generator, z.to(device), None if labels is None else labels.to(device))


class ConditionalRecipe(UnconditionalRecipe):
    """Class-conditional GAN: fakes get uniformly drawn labels; D sees (image, label) pairs.
    Sample grids have one row per class."""

    @property
    def num_classes(self) -> int:
        return int(self.generator.num_classes)  # type: ignore[arg-type]

    def real_condition(self, batch: Batch) -> Tensor:
        return batch["label"]

    def sample_condition(self, n: int, device: torch.device) -> Tensor:
        return torch.randint(self.num_classes, (n,), device=device)

    def preview_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        labels = class_rows(self.num_classes, n)
        z = self.generator.sample_latent(len(labels), generator=rng, device=torch.device("cpu"))
        return z, labels

    def preview_columns(self, inputs: Any) -> int:
        return len(inputs[1]) // self.num_classes
