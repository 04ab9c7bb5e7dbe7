"""``ganzoo new-plugin``: a pip-installable plugin package that works and tests itself as written.

Each kind writes a pyproject with the ``ganzoo`` entry point and package data, a hook module
that imports no torch, a minimal working target, and a tests/ file that runs ``ganzoo.testing``.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

from ganzoo.api import VERSION
from ganzoo.errors import GanzooError

KINDS = ("architecture", "loss", "metric", "image-to-image")

PYPROJECT = Template('''\
[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "$description"
requires-python = ">=3.10"
dependencies = ["ganzoo>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.ganzoo]
$name = "$module"

[tool.setuptools]
packages = ["$module"]

[tool.setuptools.package-data]
$module = ["pretrained/*/*"]
''')

README = Template('''\
# $distribution

$description, a [ganzoo](https://pypi.org/project/ganzoo/) plugin.

```bash
pip install -e .          # registers the plugin: `ganzoo plugins` lists it
pip install -e ".[test]" && pytest tests
```
$usage''')

HOOKS = Template('''\
"""$description: the ganzoo plugin's hooks.

This module is imported whenever ganzoo lists what is installed, so it imports no torch: it
registers "module:attribute" strings that ganzoo imports when they are used.
"""

from ganzoo.api import hookimpl

GANZOO_API = "$api"
"""The ganzoo plugin API this plugin was written for."""


@hookimpl
def $hook(register):
    register("$name", "$module.$target_module:$target", "$description")
''')

ARCHITECTURE = Template('''\
"""$Class: a small fully connected GAN (replace the networks with yours)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from torch import Tensor, nn

from ganzoo.api import Architecture, Discriminator, Generator, require_positive


@dataclass
class ${Class}Config:
    latent_dim: int = 64
    width: int = 256
    channels: int = 1
    """Filled from the training data when not set (as are image_size and num_classes)."""
    image_size: int = 28

    def __post_init__(self) -> None:
        require_positive(self, "latent_dim", "width", "channels", "image_size")


class ${Class}Generator(Generator):
    def __init__(self, config: ${Class}Config) -> None:
        super().__init__()
        self.latent_dim = config.latent_dim
        self.image_shape = (config.channels, config.image_size, config.image_size)
        self.net = nn.Sequential(
            nn.Linear(config.latent_dim, config.width), nn.LeakyReLU(0.2),
            nn.Linear(config.width, math.prod(self.image_shape)), nn.Tanh(),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z).view(-1, *self.image_shape)


class ${Class}Discriminator(Discriminator):
    def __init__(self, config: ${Class}Config) -> None:
        super().__init__()
        pixels = config.channels * config.image_size ** 2
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(pixels, config.width), nn.LeakyReLU(0.2),
                                 nn.Linear(config.width, 1))

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images).squeeze(1)


class ${Class}Architecture(Architecture):
    config_class = ${Class}Config
    training_defaults = {"batch_size": 64, "lr_g": 2e-4, "lr_d": 2e-4}

    def build_generator(self, config: ${Class}Config) -> ${Class}Generator:
        return ${Class}Generator(config)

    def build_discriminator(self, config: ${Class}Config) -> ${Class}Discriminator:
        return ${Class}Discriminator(config)
''')

LOSS = Template('''\
"""$Class: an adversarial loss (replace the two terms with yours)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from ganzoo.api import AdversarialLoss


class ${Class}Loss(AdversarialLoss):
    """The logistic (non-saturating) GAN loss written with softplus."""

    name = "$name"

    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor:
        real_logits, fake_logits = real_logits.float(), fake_logits.float()  # reduce in float32
        real_term = (1 - self.label_smoothing) * F.softplus(-real_logits) + self.label_smoothing * F.softplus(real_logits)
        return real_term.mean() + F.softplus(fake_logits).mean()

    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        return F.softplus(-fake_logits.float()).mean()
''')

METRIC = Template('''\
"""$Class: an evaluation metric (replace compute with yours)."""

from __future__ import annotations

import time

import torch

from ganzoo.api import ImageDataset, Metric, MetricResult


class ${Class}Metric(Metric):
    """Distance between the mean colour of the real and the generated images (0-255 scale)."""

    name = "$name"
    title = "mean colour distance"
    lower_is_better = True
    default_n = 10_000

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        means = [data.images.float().mean(dim=(0, 2, 3)) for data in (real, fake)]
        value = float((means[0] - means[1]).norm())
        return MetricResult(self.name, self.title, value, self.lower_is_better,
                            protocol={"n_real": len(real), "n_fake": len(fake)},
                            seconds=time.perf_counter() - start)
''')

IMAGE_TO_IMAGE = Template('''\
"""$Class: an image-to-image GAN that restores noisy images (replace the task and the networks
with yours). The training data is any image folder; the recipe makes its inputs by adding noise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.api import (
    AdversarialLoss, Architecture, Batch, Discriminator, Generator, Recipe, RecipeOptions,
    discriminator_terms, generator_term, require_positive, to_signed, to_unsigned,
)


@dataclass
class ${Class}Config:
    width: int = 32
    noise: float = 0.2
    """Standard deviation of the Gaussian noise added to the [-1, 1] inputs."""
    l1_weight: float = 10.0
    channels: int = 3
    """Filled from the training data when not set (as is image_size)."""
    image_size: int = 64

    def __post_init__(self) -> None:
        require_positive(self, "width", "channels", "image_size")
        if not 0 < self.noise < 2:
            raise ValueError(f"noise must be in (0, 2), got {self.noise}")


class ${Class}Generator(Generator):
    """Noisy images -> restored images, fully convolutional."""

    def __init__(self, config: ${Class}Config) -> None:
        super().__init__()
        self.image_shape = (config.channels, config.image_size, config.image_size)
        c, w = config.channels, config.width
        self.net = nn.Sequential(nn.Conv2d(c, w, 3, 1, 1), nn.ReLU(True), nn.Conv2d(w, w, 3, 1, 1),
                                 nn.ReLU(True), nn.Conv2d(w, c, 3, 1, 1))

    def forward(self, images: Tensor) -> Tensor:
        return torch.tanh(self.net(images))

    @torch.no_grad()
    def translate(self, images: Tensor, **options: Any) -> Tensor:
        """uint8 NCHW images -> uint8 NCHW restored images (what ``ganzoo sample --input`` calls)."""
        was_training = self.training
        self.eval()
        try:
            return to_unsigned(self(to_signed(images.to(self.device)))).cpu()
        finally:
            self.train(was_training)


class ${Class}Discriminator(Discriminator):
    """Images -> one logit per patch."""

    def __init__(self, config: ${Class}Config) -> None:
        super().__init__()
        c, w = config.channels, config.width
        self.net = nn.Sequential(nn.Conv2d(c, w, 4, 2, 1), nn.LeakyReLU(0.2, True), nn.Conv2d(w, 1, 3, 1, 1))

    def forward(self, images: Tensor) -> Tensor:
        return self.net(images)


class ${Class}Recipe(Recipe):
    """D tells clean images from restored ones; G restores, with an L1 term to the clean image."""

    def __init__(self, generator: ${Class}Generator, discriminator: ${Class}Discriminator,
                 loss: AdversarialLoss, options: RecipeOptions, config: ${Class}Config) -> None:
        super().__init__({"generator": generator}, {"discriminator": discriminator})
        self.loss, self.options, self.config = loss, options, config
        self.data: Any = None

    def corrupt(self, clean: Tensor, rng: torch.Generator | None = None) -> Tensor:
        noise = torch.randn(clean.shape, generator=rng, device=clean.device) if rng else torch.randn_like(clean)
        return (clean + self.config.noise * noise).clamp(-1, 1)

    def discriminator_loss(self, batch: Batch) -> dict[str, Tensor]:
        clean = batch["image"]
        restored = self.generators["generator"](self.corrupt(clean))
        return discriminator_terms(self.loss, self.options, clean, restored, self.discriminators["discriminator"])

    def generator_loss(self, batch: Batch) -> dict[str, Tensor]:
        clean = batch["image"]
        restored = self.generators["generator"](self.corrupt(clean))
        adversarial = generator_term(self.loss, self.options, restored, clean, self.discriminators["discriminator"])
        l1 = F.l1_loss(restored.float(), clean.float())
        return {"loss": adversarial + self.config.l1_weight * l1, "l1": l1.detach()}

    def attach_data(self, data: Any) -> None:
        self.data = data

    def preview_inputs(self, n: int, rng: torch.Generator) -> Tensor:
        """Noisy versions of a few fixed training images (float, CPU)."""
        k = max(1, min(n // 2, len(self.data)))
        picks = torch.randperm(len(self.data), generator=rng)[:k]
        return self.corrupt(to_signed(self.data.images[picks.to(self.data.images.device)].cpu()), rng)

    def preview(self, generators: nn.ModuleDict, inputs: Tensor) -> Tensor:
        """Two rows: the noisy inputs, then what the generator makes of them."""
        generator = generators["generator"]
        device = next(generator.parameters()).device
        return torch.cat([inputs.to(device), generator(inputs.to(device))])

    def preview_columns(self, inputs: Tensor) -> int:
        return len(inputs)


class ${Class}Architecture(Architecture):
    config_class = ${Class}Config
    training_defaults = {"batch_size": 16, "lr_g": 2e-4, "lr_d": 2e-4, "betas": (0.5, 0.999), "loss": "lsgan"}

    def build_generator(self, config: ${Class}Config) -> ${Class}Generator:
        return ${Class}Generator(config)

    def build_discriminator(self, config: ${Class}Config) -> ${Class}Discriminator:
        return ${Class}Discriminator(config)

    def build_recipe(self, config: ${Class}Config, loss: AdversarialLoss,
                     options: RecipeOptions | None = None) -> ${Class}Recipe:
        return ${Class}Recipe(self.build_generator(config), self.build_discriminator(config), loss,
                              options or RecipeOptions(), config)
''')

TESTS = Template('''\
"""The plugin passes ganzoo's conformance checks."""

from ganzoo.testing import $check


def test_${module}_conforms(tmp_path):
    $call
''')

KIND_PARTS = {
    "architecture": ("register_architectures", "models", "{Class}Architecture", ARCHITECTURE,
                     "check_architecture", 'check_architecture("{name}", settings={{"width": 16}}, workdir=tmp_path)',
                     "\n```bash\nganzoo train {name} --data PATH -o runs/{name}\n```\n"),
    "loss": ("register_losses", "losses", "{Class}Loss", LOSS, "check_loss", 'check_loss("{name}")',
             "\n```bash\nganzoo train dcgan --data PATH -o runs/x --loss {name}\n```\n"),
    "image-to-image": ("register_architectures", "models", "{Class}Architecture", IMAGE_TO_IMAGE,
                       "check_architecture",
                       'check_architecture("{name}", settings={{"width": 8, "image_size": 32}}, workdir=tmp_path)',
                       "\n```bash\nganzoo train {name} --data IMAGE_FOLDER -o runs/{name}\n"
                       "ganzoo sample runs/{name} --input noisy.png -o restored.png\n```\n"),
    "metric": ("register_metrics", "metric", "{Class}Metric", METRIC, "check_metric", 'check_metric("{name}")',
               "\n```bash\nganzoo eval MODEL --data PATH -m {name}\n```\n"),
}


def new_plugin(name: str, out_dir: str | Path, kind: str = "architecture") -> list[Path]:
    """Write the package of plugin ``name`` into ``out_dir`` (new or empty); the files written."""
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name):
        raise GanzooError(f"plugin name {name!r}: use lowercase letters, digits and single '-' (e.g. my-gan)")
    if kind not in KINDS:
        raise GanzooError(f"unknown plugin kind {kind!r}; choose one of {', '.join(KINDS)}")
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise GanzooError(f"{out} exists and is not an empty folder; pick another -o")
    module = "ganzoo_" + name.replace("-", "_")
    class_name = "".join(part.capitalize() for part in name.split("-"))
    hook, target_module, target, source, check, call, usage = KIND_PARTS[kind]
    values = {"name": name, "module": module, "Class": class_name, "distribution": f"ganzoo-{name}",
              "description": f"{class_name} {kind} for ganzoo", "api": VERSION, "hook": hook,
              "target_module": target_module, "target": target.format(Class=class_name), "check": check,
              "call": call.format(name=name), "usage": usage.format(name=name)}
    files = {
        "pyproject.toml": PYPROJECT, "README.md": README, f"{module}/__init__.py": HOOKS,
        f"{module}/{target_module}.py": source, f"tests/test_{module}.py": TESTS,
    }
    written = []
    for relative, template in files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.substitute(values))
        written.append(path)
    return written
