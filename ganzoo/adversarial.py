"""The adversarial terms every recipe computes, written once.

``discriminator_terms`` is the discriminator's side of a step: the loss on real and fake logits,
the augmentation applied to every image the discriminator sees, and the optional gradient
penalty and R1 terms of ``RecipeOptions``. ``generator_term`` is the generator's side: the
loss on the fakes' logits, with fresh logits of the real batch when the loss needs them
(relativistic losses). A family's recipe calls both for each of its discriminators.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from ganzoo.interfaces import AdversarialLoss, RecipeOptions
from ganzoo.losses import gradient_penalty, r1_penalty

Discriminate = Callable[[Tensor], Tensor]
"""Images -> logits (a discriminator with its condition bound, if it has one)."""


def augmented(discriminate: Discriminate, options: RecipeOptions) -> Discriminate:
    """``discriminate`` behind the options' augmentation, if there is one."""
    if options.augment is None:
        return discriminate
    augment = options.augment
    return lambda images: discriminate(augment(images))


def discriminator_terms(loss: AdversarialLoss, options: RecipeOptions, real: Tensor, fake: Tensor,
                        discriminate: Discriminate,
                        discriminate_fake: Discriminate | None = None) -> dict[str, Tensor]:
    """The discriminator's loss on ``real`` and ``fake`` (detached here) plus the penalties.

    ``discriminate_fake`` (default ``discriminate``) scores the fakes when their condition
    differs from the real batch's; penalties use ``discriminate``. Returns ``loss`` (the sum to
    minimise), ``real_logit`` and ``fake_logit`` (means, for the log) and ``gp`` / ``r1`` when on.
    """
    on_real = augmented(discriminate, options)
    on_fake = augmented(discriminate_fake or discriminate, options)
    fake = fake.detach()
    real_logits, fake_logits = on_real(real), on_fake(fake)
    total = loss.d_loss(real_logits, fake_logits)
    out = {"real_logit": real_logits.detach().float().mean(),
           "fake_logit": fake_logits.detach().float().mean()}
    if loss.decision_threshold is not None:  # how often D is right, for the health checks
        out["real_acc"] = (real_logits.detach() > loss.decision_threshold).float().mean()
        out["fake_acc"] = (fake_logits.detach() <= loss.decision_threshold).float().mean()
    if options.gp_weight > 0:
        out["gp"] = gradient_penalty(on_real, real, fake)
        total = total + options.gp_weight * out["gp"]
    if options.r1_weight > 0 and options.r1_due:
        out["r1"] = r1_penalty(on_real, real)
        total = total + 0.5 * options.r1_weight * options.r1_every * out["r1"]
    out["loss"] = total
    return out


def generator_term(loss: AdversarialLoss, options: RecipeOptions, fake: Tensor, real: Tensor,
                   discriminate_fake: Discriminate,
                   discriminate: Discriminate | None = None) -> Tensor:
    """The generator's adversarial loss on ``fake``. When ``loss.uses_real_logits`` the real
    batch is scored too (by ``discriminate``, default ``discriminate_fake``; no gradient), so a
    relativistic loss compares against this step's discriminator, never a stale one."""
    real_logits = None
    if loss.uses_real_logits:
        with torch.no_grad():
            real_logits = augmented(discriminate or discriminate_fake, options)(real)
    return loss.g_loss(augmented(discriminate_fake, options)(fake), real_logits)
