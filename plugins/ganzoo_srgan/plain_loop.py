"""SRGAN's adversarial phase written out by hand in plain PyTorch, the baseline ``ganzoo bench``
compares the engine with. It uses this plugin's networks (the same arithmetic) but no ganzoo
engine, recipe, loss or data code: the crops, the downscaling, the losses and the optimizer
steps are spelled out here as a tutorial would.
"""

from __future__ import annotations

import random
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.api import BenchAdapter, PlainSettings, to_signed
from ganzoo_srgan.models import SRDiscriminator, SRGANConfig, SRResNet


class PlainSRGAN:
    """Ledig et al.'s phase 2: random ``hr_crop`` HR crops with a random flip, LR by antialiased
    bicubic 1 / ``scale``; ``d_steps`` D steps on real and ``sr.detach()`` with BCE, then G on
    pixel-MSE content + ``adv_weight`` x BCE adversarial, reusing the last SR batch; Adam."""

    def __init__(self, config: SRGANConfig, data, settings: PlainSettings) -> None:
        self.settings, self.config, device = settings, config, settings.device
        torch.manual_seed(settings.seed)
        random.seed(settings.seed)
        self.netG, self.netD = SRResNet(config).to(device), SRDiscriminator(config).to(device)
        self.generators, self.discriminators = [self.netG], [self.netD]
        self.images = data.images
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=settings.lr_g, betas=settings.betas)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=settings.lr_d, betas=settings.betas)
        self.bce = nn.BCEWithLogitsLoss()

    def _batch(self) -> tuple[Tensor, Tensor]:
        crop, crops = self.config.hr_crop, []
        for i in torch.randint(len(self.images), (self.settings.batch_size,)).tolist():
            image = self.images[i]
            top = random.randrange(image.shape[1] - crop + 1)
            left = random.randrange(image.shape[2] - crop + 1)
            patch = image[:, top:top + crop, left:left + crop]
            crops.append(patch.flip(-1) if random.random() < 0.5 else patch)
        hr = to_signed(torch.stack(crops).to(self.settings.device))
        lr = F.interpolate(hr, scale_factor=1 / self.config.scale, mode="bicubic", antialias=True)
        return hr, lr.clamp(-1, 1)

    def train_step(self) -> dict[str, Tensor]:
        for _ in range(self.settings.d_steps):
            hr, lr = self._batch()
            sr = self.netG(lr)
            self.optD.zero_grad(set_to_none=True)
            real, fake = self.netD(hr), self.netD(sr.detach())
            loss_d = self.bce(real, torch.ones_like(real)) + self.bce(fake, torch.zeros_like(fake))
            loss_d.backward()
            self.optD.step()
        self.optG.zero_grad(set_to_none=True)
        judged = self.netD(sr)
        loss_g = F.mse_loss(sr, hr) + self.config.adv_weight * self.bce(judged, torch.ones_like(judged))
        loss_g.backward()
        self.optG.step()
        return {"d_loss": loss_d.detach(), "g_loss": loss_g.detach()}


class SRGANBench(BenchAdapter):
    """SRGAN for ``ganzoo bench``: random HR images, the plain loop above, LR sampling inputs."""

    settings = {"pretrain_steps": 0, "content_loss": "pixel-mse"}
    """``ganzoo bench`` times the adversarial phase, with the content loss that needs no VGG."""

    def make_data(self, config: SRGANConfig, num_images: int, seed: int = 0) -> Any:
        """Random RGB HR images a quarter larger than the crop, so the crops move."""
        from ganzoo_srgan.data import HRCrops

        side = config.hr_crop + config.hr_crop // 4
        rng = torch.Generator().manual_seed(seed)
        images = torch.randint(0, 256, (num_images, config.channels, side, side), dtype=torch.uint8, generator=rng)
        return HRCrops(list(images), crop=config.hr_crop, scale=config.scale, name="synthetic",
                       path="<random uint8 images>")

    def make_plain_loop(self, config: SRGANConfig, data: Any, settings: Any) -> Any:
        return PlainSRGAN(config, data, settings)

    def sampling_inputs(self, generator: SRResNet, n: int, device: torch.device) -> tuple[Tensor, ...]:
        """LR images: the HR training crop divided by the scale."""
        c, h, w = generator.image_shape
        return (torch.rand(n, c, h // generator.scale, w // generator.scale, device=device) * 2 - 1,)
