"""CycleGAN written out by hand in plain PyTorch, the baseline ``ganzoo bench`` compares the
engine with. It uses this plugin's networks (the same arithmetic) but no ganzoo engine, recipe,
loss or data code: the jitter, the losses, the history pool and the optimizer steps are spelled
out here as the reference's ``CycleGANModel.optimize_parameters`` does them.
"""

from __future__ import annotations

import random
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.api import BenchAdapter, PlainSettings, random_image_dataset, to_signed
from ganzoo_cyclegan.models import CycleGANConfig, PatchDiscriminator, ResnetGenerator


class HistoryPool:
    """The reference's ImagePool: keep up to ``size`` fakes; once full, return a stored one in
    place of each new one with probability 0.5."""

    def __init__(self, size: int = 50) -> None:
        self.size, self.images = size, []

    def query(self, images: Tensor) -> Tensor:
        if self.size == 0:
            return images.detach()
        out = []
        for image in images.detach():
            image = image[None]
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() > 0.5:
                k = random.randrange(self.size)
                out.append(self.images[k].clone())
                self.images[k] = image
            else:
                out.append(image)
        return torch.cat(out)


class PlainCycleGAN:
    """G_A (A -> B), G_B (B -> A) with LSGAN (MSE to 1), cycle L1 x ``cycle_weight`` and
    identity L1 x ``identity_weight * cycle_weight`` with D frozen; D_A, D_B on real against
    pooled fakes, each 0.5 (MSE(real, 1) + MSE(fake, 0)); Adam. Data: random A and B images,
    bicubic-resized by 1.125, randomly cropped back and flipped. ``d_steps`` D steps (each on a
    fresh batch), then the G step on the last batch and its translations, as the engine orders
    them (the reference runs G first; the arithmetic per step is the same)."""

    def __init__(self, config: CycleGANConfig, data, settings: PlainSettings) -> None:
        self.settings, self.config, device = settings, config, settings.device
        torch.manual_seed(settings.seed)
        random.seed(settings.seed)
        # built in the engine's order: the pair's a2b and b2a, then the discriminators
        self.g_a, self.g_b = ResnetGenerator(config).to(device), ResnetGenerator(config).to(device)
        self.d_b, self.d_a = PatchDiscriminator(config).to(device), PatchDiscriminator(config).to(device)
        self.generators, self.discriminators = [self.g_a, self.g_b], [self.d_a, self.d_b]
        self.a, self.b = data.a.images, data.b.images
        self.optG = torch.optim.Adam([*self.g_a.parameters(), *self.g_b.parameters()], lr=settings.lr_g,
                                     betas=settings.betas)
        self.optD = torch.optim.Adam([*self.d_a.parameters(), *self.d_b.parameters()], lr=settings.lr_d,
                                     betas=settings.betas)
        self.pool_a, self.pool_b = HistoryPool(config.pool_size), HistoryPool(config.pool_size)

    def _jitter(self, images: Tensor) -> Tensor:
        size = images.shape[-1]
        big = round(size * 1.125)
        x = F.interpolate(to_signed(images.to(self.settings.device)), size=(big, big), mode="bicubic",
                          align_corners=False)
        top, left = random.randrange(big - size + 1), random.randrange(big - size + 1)
        x = x[..., top:top + size, left:left + size]
        return x.flip(-1) if random.random() < 0.5 else x

    def _batch(self) -> tuple[Tensor, Tensor]:
        n = self.settings.batch_size
        return (self._jitter(self.a[torch.randint(len(self.a), (n,))]),
                self._jitter(self.b[torch.randint(len(self.b), (n,))]))

    def train_step(self) -> dict[str, Tensor]:
        for _ in range(self.settings.d_steps):
            real_a, real_b = self._batch()
            fake_b, fake_a = self.g_a(real_a), self.g_b(real_b)
            self.optD.zero_grad(set_to_none=True)
            loss_d = 0.0
            for net, real, fake in ((self.d_a, real_b, self.pool_b.query(fake_b)),
                                    (self.d_b, real_a, self.pool_a.query(fake_a))):
                r, f = net(real), net(fake.detach())
                loss = 0.5 * (F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f)))
                loss.backward()
                loss_d = loss_d + loss.detach()
            self.optD.step()
        for net in (self.d_a, self.d_b):
            net.requires_grad_(False)
        self.optG.zero_grad(set_to_none=True)
        judged_b, judged_a = self.d_a(fake_b), self.d_b(fake_a)
        cfg = self.config
        loss_g = (F.mse_loss(judged_b, torch.ones_like(judged_b)) + F.mse_loss(judged_a, torch.ones_like(judged_a))
                  + cfg.cycle_weight * (F.l1_loss(self.g_b(fake_b), real_a) + F.l1_loss(self.g_a(fake_a), real_b)))
        if cfg.identity_weight > 0:
            loss_g = loss_g + cfg.identity_weight * cfg.cycle_weight * (
                F.l1_loss(self.g_a(real_b), real_b) + F.l1_loss(self.g_b(real_a), real_a))
        loss_g.backward()
        self.optG.step()
        for net in (self.d_a, self.d_b):
            net.requires_grad_(True)
        return {"d_loss": loss_d, "g_loss": loss_g.detach()}


class CycleGANBench(BenchAdapter):
    """CycleGAN for ``ganzoo bench``: two domains of random images and the plain loop above."""

    def make_data(self, config: CycleGANConfig, num_images: int, seed: int = 0) -> Any:
        """Two domains of random images at the config's size (jittered per batch as in training)."""
        from ganzoo_cyclegan.data import UnpairedData

        shape = (config.channels, config.image_size, config.image_size)
        a, b = (random_image_dataset(shape, num_images, seed=seed + k, name=f"synthetic/train{d}")
                for k, d in enumerate("AB"))
        return UnpairedData(a, b, path="<random uint8 images>", name="synthetic")

    def make_plain_loop(self, config: CycleGANConfig, data: Any, settings: Any) -> Any:
        return PlainCycleGAN(config, data, settings)
