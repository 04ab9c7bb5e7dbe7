"""Hand-written PyTorch training loops for SRGAN and CycleGAN: the baselines of
``bench_image_to_image.py``. They use the plugins' network classes (the same networks, so
the same arithmetic) but no ganzoo engine, recipe, loss or data code: the data jitter, the
losses, the history pool and the optimizer steps are written out here as a tutorial would.
"""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _to_float(images: Tensor) -> Tensor:
    return images.float() / 127.5 - 1.0


class PlainSRGAN:
    """SRGAN's adversarial phase (Ledig et al.): random 96x96 HR crops with a random flip, LR
    by antialiased bicubic x1/4, D on real and sr.detach() with BCE, then G on MSE content +
    1e-3 BCE adversarial; Adam 1e-4 (0.9, 0.999) for both."""

    def __init__(self, hr_images: list[Tensor], netG: nn.Module, netD: nn.Module, batch_size: int,
                 crop: int = 96, scale: int = 4, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.images, self.batch_size, self.crop, self.scale = hr_images, batch_size, crop, scale
        self.netG, self.netD = netG, netD
        self.optG = torch.optim.Adam(netG.parameters(), lr=1e-4, betas=(0.9, 0.999))
        self.optD = torch.optim.Adam(netD.parameters(), lr=1e-4, betas=(0.9, 0.999))
        self.bce = nn.BCEWithLogitsLoss()

    def batch(self) -> tuple[Tensor, Tensor]:
        crops = []
        for i in torch.randint(len(self.images), (self.batch_size,)).tolist():
            image = self.images[i]
            top = random.randrange(image.shape[1] - self.crop + 1)
            left = random.randrange(image.shape[2] - self.crop + 1)
            patch = image[:, top:top + self.crop, left:left + self.crop]
            crops.append(patch.flip(-1) if random.random() < 0.5 else patch)
        hr = _to_float(torch.stack(crops))
        lr = F.interpolate(hr, scale_factor=1 / self.scale, mode="bicubic", antialias=True).clamp(-1, 1)
        return hr, lr

    def train_step(self) -> tuple[float, float]:
        hr, lr = self.batch()
        sr = self.netG(lr)
        self.optD.zero_grad(set_to_none=True)
        real, fake = self.netD(hr), self.netD(sr.detach())
        loss_d = self.bce(real, torch.ones_like(real)) + self.bce(fake, torch.zeros_like(fake))
        loss_d.backward()
        self.optD.step()
        self.optG.zero_grad(set_to_none=True)
        judged = self.netD(sr)
        loss_g = F.mse_loss(sr, hr) + 1e-3 * self.bce(judged, torch.ones_like(judged))
        loss_g.backward()
        self.optG.step()
        return loss_d.item(), loss_g.item()


class HistoryPool:
    """The CycleGAN reference's ImagePool: keep up to ``size`` fakes; once full, return a stored
    one in place of each new one with probability 0.5."""

    def __init__(self, size: int = 50) -> None:
        self.size, self.images = size, []

    def query(self, images: Tensor) -> Tensor:
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
    """The reference's ``CycleGANModel.optimize_parameters``: G_A, G_B with LSGAN (MSE to 1),
    cycle L1 x10 and identity L1 x5 and D frozen; then D_A, D_B on real vs pooled fakes, each
    0.5 (MSE(real, 1) + MSE(fake, 0)). Adam 2e-4 (0.5, 0.999). Data: unpaired random A and B
    images, bicubic-resized by 1.125, randomly cropped back and flipped."""

    def __init__(self, a: Tensor, b: Tensor, g_a: nn.Module, g_b: nn.Module, d_a: nn.Module, d_b: nn.Module,
                 batch_size: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        random.seed(seed)
        self.a, self.b, self.batch_size = a, b, batch_size
        self.g_a, self.g_b, self.d_a, self.d_b = g_a, g_b, d_a, d_b
        self.optG = torch.optim.Adam([*g_a.parameters(), *g_b.parameters()], lr=2e-4, betas=(0.5, 0.999))
        self.optD = torch.optim.Adam([*d_a.parameters(), *d_b.parameters()], lr=2e-4, betas=(0.5, 0.999))
        self.pool_a, self.pool_b = HistoryPool(), HistoryPool()

    def _jitter(self, images: Tensor) -> Tensor:
        size = images.shape[-1]
        big = round(size * 1.125)
        x = F.interpolate(_to_float(images), size=(big, big), mode="bicubic", align_corners=False)
        top, left = random.randrange(big - size + 1), random.randrange(big - size + 1)
        x = x[..., top:top + size, left:left + size]
        return x.flip(-1) if random.random() < 0.5 else x

    def train_step(self) -> tuple[float, float]:
        real_a = self._jitter(self.a[torch.randint(len(self.a), (self.batch_size,))])
        real_b = self._jitter(self.b[torch.randint(len(self.b), (self.batch_size,))])
        fake_b, fake_a = self.g_a(real_a), self.g_b(real_b)
        rec_a, rec_b = self.g_b(fake_b), self.g_a(fake_a)
        for net in (self.d_a, self.d_b):
            net.requires_grad_(False)
        self.optG.zero_grad(set_to_none=True)
        judged_b, judged_a = self.d_a(fake_b), self.d_b(fake_a)
        loss_g = (F.mse_loss(judged_b, torch.ones_like(judged_b)) + F.mse_loss(judged_a, torch.ones_like(judged_a))
                  + 10 * (F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b))
                  + 5 * (F.l1_loss(self.g_a(real_b), real_b) + F.l1_loss(self.g_b(real_a), real_a)))
        loss_g.backward()
        self.optG.step()
        for net in (self.d_a, self.d_b):
            net.requires_grad_(True)
        self.optD.zero_grad(set_to_none=True)
        loss_d = 0.0
        for net, real, fake in ((self.d_a, real_b, self.pool_b.query(fake_b)),
                                (self.d_b, real_a, self.pool_a.query(fake_a))):
            r, f = net(real), net(fake.detach())
            loss = 0.5 * (F.mse_loss(r, torch.ones_like(r)) + F.mse_loss(f, torch.zeros_like(f)))
            loss.backward()
            loss_d += loss.item()
        self.optD.step()
        return loss_d, loss_g.item()
