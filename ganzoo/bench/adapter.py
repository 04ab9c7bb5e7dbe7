"""How ``ganzoo bench`` exercises one GAN family, kept off the core's ``Architecture``.

An architecture names its adapter with ``bench_adapter`` (a ``BenchAdapter`` subclass or its
``"module:attribute"``); None gets the default, which serves every noise-to-image family.
Families with their own data and recipes (CycleGAN, SRGAN) subclass it.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import Tensor


class BenchAdapter:
    """Synthetic data, the hand-written baseline loop, sampling inputs and bench settings."""

    settings: ClassVar[dict[str, Any]] = {}
    """Model or training settings ``ganzoo bench`` uses unless the user sets them (e.g. a
    family's adversarial phase rather than a pre-training phase)."""

    def __init__(self, arch: Any) -> None:
        self.arch = arch

    def make_data(self, config: Any, num_images: int, seed: int = 0) -> Any:
        """Synthetic training data: ``num_images`` random uint8 images of the generator's shape
        (with random labels when it is conditional)."""
        from ganzoo.bench.plain import random_image_dataset

        generator = self.arch.build_generator(config)
        return random_image_dataset(generator.image_shape, num_images, generator.num_classes, seed)

    def make_plain_loop(self, config: Any, data: Any, settings: Any) -> Any:
        """A hand-written PyTorch training loop of the family's networks (no engine or recipe
        code), the baseline the engine is compared with: a ``ganzoo.bench.plain.PlainLoop`` for
        ``data`` (from ``make_data``) and ``settings`` (a ``PlainSettings``). By default the
        non-saturating BCE loop of the PyTorch DCGAN example."""
        from ganzoo.bench.plain import NoiseToImageLoop

        return NoiseToImageLoop(self.arch, config, data, settings)

    def sampling_inputs(self, generator: Any, n: int, device: torch.device) -> tuple[Tensor, ...]:
        """Random arguments of ``generator.forward`` for ``n`` images: latents (and labels), or
        images of ``generator.image_shape`` in [-1, 1] for image-to-image generators."""
        if generator.latent_dim is None:
            return (torch.rand(n, *generator.image_shape, device=device) * 2 - 1,)
        z = torch.randn(n, generator.latent_dim, device=device)
        if generator.num_classes:
            return z, torch.randint(generator.num_classes, (n,), device=device)
        return (z,)


def bench_adapter(arch: Any) -> BenchAdapter:
    """The adapter of architecture ``arch`` (an instance)."""
    from ganzoo.errors import GanzooError
    from ganzoo.registry import import_target

    named = getattr(arch, "bench_adapter", None) or BenchAdapter
    cls = import_target(named)
    if not (isinstance(cls, type) and issubclass(cls, BenchAdapter)):
        raise GanzooError(f"{type(arch).__name__}.bench_adapter is {named!r}, not a BenchAdapter subclass")
    return cls(arch)
