"""CycleGAN's training step (Zhu et al. 2017), as in the reference's ``CycleGANModel``:

- discriminators: ``b`` judges real B against a2b(A) drawn through a history pool, ``a`` real A
  against b2a(B); each with the adversarial loss's ``d_loss`` (LSGAN: half the sum of squares);
- generators (one optimizer for both): adversarial terms for a2b(A) and b2a(B), cycle terms
  ``cycle_weight * |b2a(a2b(A)) - A|_1`` and the same for B, and identity terms
  ``identity_weight * cycle_weight * |a2b(B) - B|_1`` and ``|b2a(A) - A|_1``.

The reference's generator LSGAN term is ``MSE(D(G(x)), 1)``; the core's ``lsgan`` g_loss is
half of it, so with ``lsgan`` the adversarial generator terms are doubled to keep the paper's
balance against lambda = 10.

The Trainer runs the discriminator step first; the translations made there are reused by the
generator step (the generators have not changed in between), as the core's recipes do. The
pools are ``PoolBuffers`` submodules, so checkpoints save and restore their contents.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ganzoo.api import (
    AdversarialLoss, Batch, GanzooError, LeastSquaresLoss, Recipe, RecipeOptions,
    discriminator_terms, generator_term, to_signed,
)
from ganzoo_cyclegan.models import CycleGANConfig, CycleGANPair, PatchDiscriminator
from ganzoo_cyclegan.pool import PoolBuffers


class CycleGANRecipe(Recipe):
    """Two generators (one ``CycleGANPair`` under "generator"), discriminators "a" and "b"."""

    def __init__(self, pair: CycleGANPair, d_a: PatchDiscriminator, d_b: PatchDiscriminator,
                 loss: AdversarialLoss, config: CycleGANConfig, options: RecipeOptions | None = None) -> None:
        super().__init__({"generator": pair}, {"a": d_a, "b": d_b})
        self.options = options or RecipeOptions()
        if self.options.gp_weight or self.options.r1_weight:
            raise GanzooError("CycleGAN has no gradient penalties; drop gp_weight / r1_weight")
        self.loss = loss
        self.config = config
        self.adversarial_scale = 2.0 if isinstance(loss, LeastSquaresLoss) else 1.0
        shape = (config.channels, config.image_size, config.image_size)
        self.pool_a = PoolBuffers(config.pool_size, shape, seed=1)
        self.pool_b = PoolBuffers(config.pool_size, shape, seed=2)
        self.data: Any = None
        self._fakes: dict[str, Tensor] | None = None

    @property
    def pair(self) -> CycleGANPair:
        return self.generators["generator"]  # type: ignore[return-value]

    def _translate(self, batch: Batch) -> dict[str, Tensor]:
        return {"a2b": self.pair(batch["a"], "a2b"), "b2a": self.pair(batch["b"], "b2a")}

    def discriminator_loss(self, batch: Batch) -> dict[str, Tensor]:
        fakes = self._translate(batch)
        self._fakes = fakes
        out: dict[str, Tensor] = {}
        total = 0
        for domain, fake, pool in (("b", fakes["a2b"], self.pool_b), ("a", fakes["b2a"], self.pool_a)):
            terms = discriminator_terms(self.loss, self.options, batch[domain], pool.query(fake.detach()),
                                        self.discriminators[domain])
            out.update({f"{domain}_{key}": value for key, value in terms.items()})
            total = total + terms["loss"]
        out["loss"] = total
        return out

    def generator_loss(self, batch: Batch) -> dict[str, Tensor]:
        fakes, self._fakes = self._fakes, None
        if fakes is None:
            fakes = self._translate(batch)
        real_a, real_b, cfg = batch["a"], batch["b"], self.config
        out = {
            "adv_a2b": self.adversarial_scale * generator_term(self.loss, self.options, fakes["a2b"], real_b,
                                                               self.discriminators["b"]),
            "adv_b2a": self.adversarial_scale * generator_term(self.loss, self.options, fakes["b2a"], real_a,
                                                               self.discriminators["a"]),
            "cycle_a": F.l1_loss(self.pair(fakes["a2b"], "b2a").float(), real_a.float()),
            "cycle_b": F.l1_loss(self.pair(fakes["b2a"], "a2b").float(), real_b.float()),
        }
        loss = out["adv_a2b"] + out["adv_b2a"] + cfg.cycle_weight * (out["cycle_a"] + out["cycle_b"])
        if cfg.identity_weight > 0:
            out["identity_a"] = F.l1_loss(self.pair(real_a, "b2a").float(), real_a.float())
            out["identity_b"] = F.l1_loss(self.pair(real_b, "a2b").float(), real_b.float())
            loss = loss + cfg.identity_weight * cfg.cycle_weight * (out["identity_a"] + out["identity_b"])
        out["loss"] = loss
        return out

    # -- preview grids ----------------------------------------------------------------------

    def attach_data(self, data: Any) -> None:
        self.data = data

    def preview_inputs(self, n: int, rng: torch.Generator) -> tuple[Tensor, Tensor]:
        """``max(1, n // 4)`` A and B images (test images when the data has them), float CPU."""
        if self.data is None:
            raise GanzooError("the CycleGAN recipe needs its data attached before preview_inputs")
        a, b = self.data.test if getattr(self.data, "test", None) is not None else (self.data.a, self.data.b)
        k = max(1, min(n // 4, len(a), len(b)))
        picks = []
        for domain in (a, b):
            index = torch.randperm(len(domain), generator=rng)[:k].sort().values
            picks.append(to_signed(domain.images[index.to(domain.images.device)].cpu()))
        return picks[0], picks[1]

    def preview(self, generators: nn.ModuleDict, inputs: tuple[Tensor, Tensor]) -> Tensor:
        """Four rows: A images, their a2b translations, B images, their b2a translations."""
        pair = generators["generator"]
        device = next(pair.parameters()).device
        a, b = (x.to(device) for x in inputs)
        return torch.cat([a, pair(a, "a2b"), b, pair(b, "b2a")]).float()

    def preview_columns(self, inputs: tuple[Tensor, Tensor]) -> int:
        return len(inputs[0])
