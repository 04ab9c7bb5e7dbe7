"""The plain PyTorch baseline of ``ganzoo bench``: the classic tutorial GAN loop, written out by
hand with no engine or recipe code, and the synthetic data both sides train on.

``NoiseToImageLoop`` is the loop of the PyTorch tutorials for noise-to-image GANs
(unconditional and class-conditional): fp32, a ``torch.utils.data.DataLoader`` over a
``TensorDataset`` of uint8 images (shuffled, ragged tail dropped), Adam, non-saturating
``BCEWithLogitsLoss``; ``d_steps`` discriminator steps on real and ``fake.detach()``, then a
generator step that reuses the last fake batch. Its networks are a second copy of the
architecture's generator and discriminator, built from the same config with the same seed as
the engine's. Families with their own recipes provide their own loop through
``BenchAdapter.make_plain_loop``, built on ``PlainSettings`` and ``endless_batches``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Protocol

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from ganzoo.pixels import to_signed


@dataclass
class PlainSettings:
    """What a plain loop needs to know of the engine's training settings."""

    batch_size: int
    d_steps: int = 1
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    device: torch.device = torch.device("cpu")
    seed: int = 0


class PlainLoop(Protocol):
    """A hand-written training loop: ``train_step`` runs ``d_steps`` discriminator steps and
    one generator step and returns the last losses, detached."""

    generators: list[nn.Module]
    discriminators: list[nn.Module]

    def train_step(self) -> dict[str, Tensor]: ...


def random_image_dataset(image_shape: tuple[int, int, int], num_images: int, num_classes: int | None = None,
                         seed: int = 0, name: str = "synthetic") -> Any:
    """An ``ImageDataset`` of ``num_images`` uniformly random uint8 images (and labels when
    ``num_classes`` is given): training data for benchmarks without a dataset."""
    from ganzoo.data.dataset import ImageDataset

    rng = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (num_images, *image_shape), dtype=torch.uint8, generator=rng)
    labels = None if not num_classes else torch.randint(num_classes, (num_images,), generator=rng)
    return ImageDataset(images, labels, num_classes, name=name, path=f"<random uint8 {name}>",
                        card={"split": "random uint8 pixels"})


def endless_batches(loader: DataLoader) -> Iterator[Any]:
    """The loader's batches, epoch after epoch."""
    while True:
        yield from loader


def parameter_count(modules: list[nn.Module]) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


class NoiseToImageLoop:
    """The tutorial loop for an architecture whose generator maps noise (and a label) to images."""

    def __init__(self, arch: Any, config: Any, data: Any, settings: PlainSettings) -> None:
        self.settings, device = settings, settings.device
        torch.manual_seed(settings.seed)
        self.netG = arch.build_generator(config).to(device)
        self.netD = arch.build_discriminator(config).to(device)
        self.generators, self.discriminators = [self.netG], [self.netD]
        self.latent_dim = self.netG.latent_dim
        self.num_classes = self.netG.num_classes
        if self.latent_dim is None:
            raise TypeError(f"{type(arch).__name__} makes images from images; it needs its own "
                            "plain loop (a BenchAdapter with make_plain_loop)")
        tensors = [data.images] + ([data.labels] if self.num_classes else [])
        loader = DataLoader(TensorDataset(*tensors), batch_size=settings.batch_size, shuffle=True,
                            drop_last=True, generator=torch.Generator().manual_seed(settings.seed))
        self.batches = endless_batches(loader)
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=settings.lr_g, betas=settings.betas)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=settings.lr_d, betas=settings.betas)
        self.criterion = nn.BCEWithLogitsLoss()

    def _generate(self, n: int) -> tuple[Tensor, Tensor | None]:
        device = self.settings.device
        z = torch.randn(n, self.latent_dim, device=device)
        if self.num_classes is None:
            return self.netG(z), None
        labels = torch.randint(self.num_classes, (n,), device=device)
        return self.netG(z, labels), labels

    def _judge(self, images: Tensor, labels: Tensor | None) -> Tensor:
        return self.netD(images) if labels is None else self.netD(images, labels)

    def train_step(self) -> dict[str, Tensor]:
        device = self.settings.device
        for _ in range(self.settings.d_steps):
            batch = next(self.batches)
            real = to_signed(batch[0].to(device))
            real_labels = batch[1].to(device) if self.num_classes else None
            # D: maximise log D(x) + log(1 - D(G(z)))
            self.optD.zero_grad(set_to_none=True)
            fake, fake_labels = self._generate(real.shape[0])
            real_out = self._judge(real, real_labels)
            fake_out = self._judge(fake.detach(), fake_labels)
            errD = (self.criterion(real_out, torch.ones_like(real_out))
                    + self.criterion(fake_out, torch.zeros_like(fake_out)))
            errD.backward()
            self.optD.step()
        # G: maximise log D(G(z)), reusing the last fake batch
        self.optG.zero_grad(set_to_none=True)
        out = self._judge(fake, fake_labels)
        errG = self.criterion(out, torch.ones_like(out))
        errG.backward()
        self.optG.step()
        return {"d_loss": errD.detach(), "g_loss": errG.detach()}
