"""Hand-written GAN training loops in plain PyTorch: the baselines the engine is compared with.

Deliberately free of ganzoo imports. Both loops draw their batches the way the engine does,
from one in-memory uint8 NCHW tensor (a random permutation of indices per epoch, the ragged
tail dropped, converted ``x / 127.5 - 1``), so between a loop and the engine only the training
step differs.

- ``PlainMLP``: the MLP GAN (z100 -> 128 -> 784, D 784 -> 128 -> 1, LeakyReLU 0.01,
  ``BCEWithLogitsLoss``), stepped in the style of pytorch/examples' dcgan.
- ``PlainDCGAN``: pytorch/examples' dcgan (``dcgan/main.py``) for 64x64 images: its netG,
  netD, ``weights_init``, ``nn.BCELoss`` on a Sigmoid output, Adam(2e-4, betas (0.5, 0.999))
  and its update order, without its logging, ``.item()`` calls and image/checkpoint saving.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

LR, BETAS = 2e-4, (0.5, 0.999)


class PermutationBatches:
    """Endless float batches in [-1, 1] from a uint8 NCHW tensor, reshuffled every epoch."""

    def __init__(self, images_u8: Tensor, batch_size: int, seed: int = 0) -> None:
        if images_u8.dtype != torch.uint8 or images_u8.dim() != 4:
            raise ValueError("images must be a uint8 NCHW tensor")
        if batch_size > len(images_u8):
            raise ValueError(f"batch size {batch_size} > {len(images_u8)} images")
        self.images, self.batch_size = images_u8, batch_size
        self.rng = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(len(images_u8), generator=self.rng)
        self.pos = 0

    def next(self) -> Tensor:
        if self.pos + self.batch_size > len(self.perm):  # new epoch, drop the ragged tail
            self.perm, self.pos = torch.randperm(len(self.images), generator=self.rng), 0
        idx = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return self.images[idx].float() / 127.5 - 1.0


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- MLP GAN -------------------------------------------------------------------------------------

LATENT, HIDDEN, PIXELS, SLOPE = 100, 128, 28 * 28, 0.01


class PlainMLP:
    """A hand-written MLP GAN training step, in the style of pytorch/examples' dcgan: a D step on
    real and fake.detach(), then a G step that reuses the same fake batch."""

    def __init__(self, images_u8: Tensor, batch_size: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.batches = PermutationBatches(images_u8, batch_size, seed)  # uint8 N,1,28,28
        self.batch_size = batch_size
        self.netG = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.LeakyReLU(SLOPE),
                                  nn.Linear(HIDDEN, PIXELS), nn.Tanh())
        self.netD = nn.Sequential(nn.Linear(PIXELS, HIDDEN), nn.LeakyReLU(SLOPE),
                                  nn.Linear(HIDDEN, 1))
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=LR, betas=BETAS)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=LR, betas=BETAS)
        self.criterion = nn.BCEWithLogitsLoss()
        self.ones = torch.ones(batch_size, 1)
        self.zeros = torch.zeros(batch_size, 1)

    def train_step(self) -> tuple[Tensor, Tensor]:
        real = self.batches.next().view(self.batch_size, -1)
        # D: maximise log D(x) + log(1 - D(G(z)))
        self.optD.zero_grad(set_to_none=True)
        fake = self.netG(torch.randn(self.batch_size, LATENT))
        errD = (self.criterion(self.netD(real), self.ones)
                + self.criterion(self.netD(fake.detach()), self.zeros))
        errD.backward()
        self.optD.step()
        # G: maximise log D(G(z)), reusing the same fake
        self.optG.zero_grad(set_to_none=True)
        errG = self.criterion(self.netD(fake), self.ones)
        errG.backward()
        self.optG.step()
        return errD.detach(), errG.detach()


# -- DCGAN, as in pytorch/examples/dcgan/main.py -------------------------------------------------


def weights_init(m: nn.Module) -> None:
    """Custom weights initialization called on netG and netD (pytorch/examples)."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self, nz: int = 100, ngf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
            # state size. (nc) x 64 x 64
        )

    def forward(self, input: Tensor) -> Tensor:
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ndf: int = 64, nc: int = 3) -> None:
        super().__init__()
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input: Tensor) -> Tensor:
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


class PlainDCGAN:
    """pytorch/examples' dcgan training step for 64x64 images with ``nc`` channels."""

    def __init__(self, images_u8: Tensor, batch_size: int, *, nz: int = 100, ngf: int = 64,
                 ndf: int = 64, seed: int = 0) -> None:
        nc, h, w = images_u8.shape[1:]
        if (h, w) != (64, 64):
            raise ValueError(f"the pytorch/examples dcgan nets make 64x64 images, not {h}x{w}")
        torch.manual_seed(seed)
        self.batches = PermutationBatches(images_u8, batch_size, seed)
        self.nz = nz
        self.netG = Generator(nz, ngf, nc)
        self.netG.apply(weights_init)
        self.netD = Discriminator(ndf, nc)
        self.netD.apply(weights_init)
        self.criterion = nn.BCELoss()
        self.optimizerD = torch.optim.Adam(self.netD.parameters(), lr=LR, betas=BETAS)
        self.optimizerG = torch.optim.Adam(self.netG.parameters(), lr=LR, betas=BETAS)
        self.real_label = torch.full((batch_size,), 1.0)
        self.fake_label = torch.full((batch_size,), 0.0)

    def train_step(self) -> tuple[Tensor, Tensor]:
        real = self.batches.next()
        batch_size = real.size(0)
        ############################
        # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
        ###########################
        # train with real
        self.netD.zero_grad()
        output = self.netD(real)
        errD_real = self.criterion(output, self.real_label)
        errD_real.backward()
        # train with fake
        noise = torch.randn(batch_size, self.nz, 1, 1)
        fake = self.netG(noise)
        output = self.netD(fake.detach())
        errD_fake = self.criterion(output, self.fake_label)
        errD_fake.backward()
        errD = errD_real + errD_fake
        self.optimizerD.step()
        ############################
        # (2) Update G network: maximize log(D(G(z)))
        ###########################
        self.netG.zero_grad()
        output = self.netD(fake)
        errG = self.criterion(output, self.real_label)  # fake labels are real for generator cost
        errG.backward()
        self.optimizerG.step()
        return errD.detach(), errG.detach()
