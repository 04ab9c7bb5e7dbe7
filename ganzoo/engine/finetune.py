"""Fine-tuning: a new run that starts from another model's weights (``--init-from``), and FreezeD
(Mo et al., 2020: the discriminator's first blocks stay frozen, ``freeze_d``).

The source is a pretrained name (``NAME[@REV]``, ``hf-hub:ORG/NAME``), a pretrained directory or
a training run. A run gives the generator and the discriminator of its latest checkpoint; a
pretrained directory gives its generator and, when it was exported with
``--with-discriminator``, its discriminator (``discriminator.safetensors``). The new run takes
the source's model config as its defaults, so the networks fit the weights; a setting that
changes a shape is one line naming the first tensor that does not fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from ganzoo.errors import GanzooError

NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.LayerNorm, nn.GroupNorm)


def source_config(init_from: str) -> tuple[str, dict[str, Any]]:
    """The architecture and model config of the model ``init_from`` names."""
    from ganzoo.artifacts import read_config
    from ganzoo.engine.run import read_run
    from ganzoo.sources import resolve

    source = resolve(init_from)
    if source.kind == "run":
        record = read_run(source.path)
        return record["architecture"], dict(record["model_config"])
    config = read_config(source.path)
    return config["architecture"], dict(config["config"])


def load_initial_weights(recipe: Any, init_from: str) -> list[str]:
    """Copy the source's weights into ``recipe``; returns what was loaded ("generator",
    "discriminator") for the run's record."""
    from ganzoo.artifacts import DISCRIMINATOR as DISCRIMINATOR_FILE
    from ganzoo.artifacts import WEIGHTS, read_safetensors
    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.sources import resolve

    source = resolve(init_from)
    if source.kind == "run":
        latest = ckpt.latest_checkpoint(source.path)
        if latest is None:
            raise GanzooError(f"--init-from {init_from}: the run has no checkpoint yet")
        weights = ckpt.unpack_weights(ckpt.load_checkpoint_weights(latest), ckpt.RECIPE_PREFIX)
        ckpt.load_fitting(recipe, weights, latest)
        return ["generator", "discriminator"]
    path = Path(source.path)
    if len(recipe.generators) != 1:
        raise GanzooError(f"--init-from {init_from}: a pretrained directory holds one generator, this recipe has "
                          f"{len(recipe.generators)}; start from a training run instead")
    (generator,) = recipe.generators.values()
    ckpt.load_fitting(generator, read_safetensors(path / WEIGHTS), path / WEIGHTS)
    loaded = ["generator"]
    if (path / DISCRIMINATOR_FILE).is_file():
        ckpt.load_fitting(recipe.discriminators, read_safetensors(path / DISCRIMINATOR_FILE),
                              path / DISCRIMINATOR_FILE)
        loaded.append("discriminator")
    return loaded


def discriminator_blocks(discriminator: nn.Module) -> list[list[nn.Module]]:
    """The discriminator's layers that hold weights, in order, each normalisation layer kept with
    the layer before it: DCGAN-64's are conv1, conv2+BN, conv3+BN, conv4+BN, head."""
    blocks: list[list[nn.Module]] = []
    for module in discriminator.modules():
        if not any(True for _ in module.parameters(recurse=False)):
            continue
        if isinstance(module, NORMS) and blocks:
            blocks[-1].append(module)
        else:
            blocks.append([module])
    return blocks


def freeze_discriminator_blocks(recipe: Any, count: int) -> int:
    """Freeze the first ``count`` blocks of every discriminator (FreezeD); returns the number of
    parameters frozen."""
    frozen = 0
    for name, discriminator in recipe.discriminators.items():
        blocks = discriminator_blocks(discriminator)
        if count >= len(blocks):
            raise GanzooError(f"freeze_d={count} would freeze all {len(blocks)} blocks of discriminator {name!r}; "
                              f"use at most {len(blocks) - 1}")
        for block in blocks[:count]:
            for module in block:
                for parameter in module.parameters(recurse=False):
                    parameter.requires_grad_(False)
                    frozen += parameter.numel()
    return frozen
