"""Adversarial losses. Each reduces in float32 so it stays accurate under bf16/fp16 autocast."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.interfaces import AdversarialLoss


def _ones(logits: Tensor, value: float = 1.0) -> Tensor:
    return logits.new_full(logits.shape, value)


class NonSaturatingLoss(AdversarialLoss):
    """Goodfellow et al.'s BCE loss with the non-saturating generator term -log D(G(z))."""

    name = "bce"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        real_target = _ones(real_logits, 1.0 - self.label_smoothing)  # one-sided smoothing
        return F.binary_cross_entropy_with_logits(
            real_logits, real_target
        ) + F.binary_cross_entropy_with_logits(fake_logits, _ones(fake_logits, 0.0))

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        fake_logits = fake_logits.float()
        return F.binary_cross_entropy_with_logits(fake_logits, _ones(fake_logits))


class MinimaxLoss(NonSaturatingLoss):
    """The original minimax generator term log(1 - D(G(z))) (saturates early in training)."""

    name = "minimax"

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -F.softplus(fake_logits.float()).mean()  # log(1 - sigmoid(x)) = -softplus(x)


class WassersteinLoss(AdversarialLoss):
    """WGAN critic loss (Arjovsky et al.); needs a Lipschitz constraint (clipping or a penalty)."""

    name = "wgan"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.float().mean() - real_logits.float().mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.float().mean()


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye; Miyato et al.)."""

    name = "hinge"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1.0 - real_logits.float()).mean() + F.relu(1.0 + fake_logits.float()).mean()

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return -fake_logits.float().mean()


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al.): targets 1 for real, 0 for fake."""

    name = "lsgan"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_target = 1.0 - self.label_smoothing
        return 0.5 * (
            (real_logits.float() - real_target).pow(2).mean() + fake_logits.float().pow(2).mean()
        )

    def g_loss(self, fake_logits: Tensor) -> Tensor:
        return 0.5 * (fake_logits.float() - 1.0).pow(2).mean()
