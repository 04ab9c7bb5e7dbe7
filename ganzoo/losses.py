"""Adversarial losses. Each reduces in float32 so it stays accurate under bf16/fp16 autocast."""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.errors import GanzooError
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

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        fake_logits = fake_logits.float()
        return F.binary_cross_entropy_with_logits(fake_logits, _ones(fake_logits))


class MinimaxLoss(NonSaturatingLoss):
    """The original minimax generator term log(1 - D(G(z))) (saturates early in training)."""

    name = "minimax"

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -F.softplus(fake_logits.float()).mean()  # log(1 - sigmoid(x)) = -softplus(x)


class WassersteinLoss(AdversarialLoss):
    """WGAN (Arjovsky et al.): critic weights clipped to [-0.01, 0.01], RMSprop 5e-5, 5 critic
    steps per generator step."""

    name = "wgan"
    decision_threshold = None
    training_defaults = {"weight_clip": 0.01, "optimizer": "rmsprop", "lr_g": 5e-5, "lr_d": 5e-5,
                         "d_steps": 5}

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return fake_logits.float().mean() - real_logits.float().mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.float().mean()


class WassersteinGPLoss(WassersteinLoss):
    """WGAN-GP (Gulrajani et al.): the Wasserstein loss with a gradient penalty, lambda 10,
    5 critic steps, Adam (1e-4, betas (0, 0.9))."""

    name = "wgan-gp"
    training_defaults = {"gp_weight": 10.0, "d_steps": 5, "lr_g": 1e-4, "lr_d": 1e-4,
                         "betas": (0.0, 0.9), "d_batchnorm": False}
    """``d_batchnorm`` applies to architectures that have it: the penalty is per sample, and
    BatchNorm mixes samples."""


class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye; Miyato et al.)."""

    name = "hinge"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        return F.relu(1.0 - real_logits.float()).mean() + F.relu(1.0 + fake_logits.float()).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return -fake_logits.float().mean()


class LeastSquaresLoss(AdversarialLoss):
    """LSGAN (Mao et al.): targets 1 for real, 0 for fake."""

    name = "lsgan"
    decision_threshold = 0.5

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_target = 1.0 - self.label_smoothing
        return 0.5 * (
            (real_logits.float() - real_target).pow(2).mean() + fake_logits.float().pow(2).mean()
        )

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return 0.5 * (fake_logits.float() - 1.0).pow(2).mean()


class RelativisticAverageLoss(AdversarialLoss):
    """RaGAN (Jolicoeur-Martineau, 2018), the relativistic average standard GAN: D scores how much
    more realistic a real image is than the average fake (and a fake than the average real), and
    the generator gets the symmetric objective, so it needs the real batch's logits too."""

    name = "ragan"
    uses_real_logits = True

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        real_vs_fake = real_logits - fake_logits.mean()
        fake_vs_real = fake_logits - real_logits.mean()
        return F.binary_cross_entropy_with_logits(
            real_vs_fake, _ones(real_vs_fake, 1.0 - self.label_smoothing)
        ) + F.binary_cross_entropy_with_logits(fake_vs_real, _ones(fake_vs_real, 0.0))

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        if real_logits is None:
            raise GanzooError("the ragan loss needs the real batch's logits in the generator step; "
                              "the recipe must pass them (see AdversarialLoss.uses_real_logits)")
        real_logits, fake_logits = real_logits.float(), fake_logits.float()
        real_vs_fake = real_logits - fake_logits.mean()
        fake_vs_real = fake_logits - real_logits.mean()
        return F.binary_cross_entropy_with_logits(
            fake_vs_real, _ones(fake_vs_real, 1.0)
        ) + F.binary_cross_entropy_with_logits(real_vs_fake, _ones(real_vs_fake, 0.0))


def _input_gradients(discriminate: Callable[[Tensor], Tensor], images: Tensor) -> Tensor:
    """d(sum of logits)/d(images), computed in float32 with autocast off so the penalty is
    exact under bf16/fp16 training (the backward through it then runs in float32 too)."""
    images = images.detach().float().requires_grad_(True)
    with torch.autocast(images.device.type, enabled=False):
        logits = discriminate(images).float()
        (grad,) = torch.autograd.grad(logits.sum(), images, create_graph=True)
    return grad.flatten(1)


def gradient_penalty(discriminate: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor) -> Tensor:
    """WGAN-GP: E[(||grad D(x_hat)|| - 1)^2] on random interpolates x_hat of real and fake."""
    alpha = torch.rand(real.shape[0], 1, 1, 1, device=real.device)
    mixed = alpha * real.detach().float() + (1 - alpha) * fake.detach().float()
    return (_input_gradients(discriminate, mixed).norm(2, dim=1) - 1).pow(2).mean()


def r1_penalty(discriminate: Callable[[Tensor], Tensor], real: Tensor) -> Tensor:
    """R1: E[||grad D(x)||^2] on real images (the caller multiplies by gamma / 2)."""
    return _input_gradients(discriminate, real).pow(2).sum(dim=1).mean()
