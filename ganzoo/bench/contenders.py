"""The two contenders of ``ganzoo bench`` for one architecture and batch size, built from
scratch on synthetic data: the engine (``Trainer.train_step``) and the architecture's plain
PyTorch loop, with the same networks (same config, same seed) on the same images."""

from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from ganzoo.bench.adapter import bench_adapter
from ganzoo.bench.plain import PlainSettings, parameter_count
from ganzoo.errors import GanzooError
from ganzoo.suggest import did_you_mean

OOM_MESSAGES = ("can't allocate memory", "not enough memory", "out of memory", "DefaultCPUAllocator")
"""Fragments of the RuntimeError messages PyTorch's allocators raise when memory runs out."""

MIN_IMAGES = 256
"""Synthetic images per dataset at least (4 x the batch size when that is more)."""


class BenchError(GanzooError):
    """An architecture that cannot be benchmarked as asked (e.g. unequal parameter counts)."""


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocator's out-of-memory error (CUDA or CPU)."""
    if isinstance(exc, (torch.OutOfMemoryError, MemoryError)):
        return True
    return isinstance(exc, RuntimeError) and any(m in str(exc) for m in OOM_MESSAGES)


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def settings_keys(arch: Any) -> list[str]:
    from ganzoo.engine.config import TrainConfig

    return [f.name for f in dataclasses.fields(arch.config_class)] + TrainConfig.field_names()


def check_settings(archs: Mapping[str, Any], settings: Mapping[str, Any]) -> None:
    """Every ``--set`` key must be a model or training setting of at least one architecture."""
    known = sorted({key for arch in archs.values() for key in settings_keys(arch)})
    for key in settings:
        if key not in known:
            hint = did_you_mean(key, known)
            raise GanzooError(f"unknown setting {key!r} for {', '.join(archs)}{hint}")


@dataclass
class BenchSetup:
    """The resolved settings of one architecture at one batch size."""

    name: str
    arch: Any
    model_values: dict[str, Any]
    train: Any  # TrainConfig

    @property
    def images_per_step(self) -> int:
        return self.train.batch_size * self.train.d_steps

    def plain_settings(self) -> PlainSettings:
        from ganzoo.devices import resolve_device

        t = self.train
        return PlainSettings(batch_size=t.batch_size, d_steps=t.d_steps, lr_g=t.lr_g, lr_d=t.lr_d,
                             betas=tuple(t.betas), device=resolve_device(t.device), seed=t.seed)

    def model_config(self) -> Any:
        """A fresh config (build_recipe may record resolved choices in the one it gets)."""
        return self.arch.make_config(self.model_values)

    def make_data(self) -> Any:
        images = max(MIN_IMAGES, 4 * self.train.batch_size)
        return bench_adapter(self.arch).make_data(self.model_config(), images, self.train.seed)


def resolve_setup(name: str, settings: Mapping[str, Any], batch_size: int | None, device: str,
                  seed: int) -> BenchSetup:
    """The architecture's bench settings and training defaults, then those of ``settings`` it
    has, then the batch size (None: the architecture's default), device and seed."""
    from ganzoo.engine.run import get_architecture, resolve_settings

    arch = get_architecture(name)
    keys = set(settings_keys(arch))
    own = {k: v for k, v in settings.items() if k in keys}
    chosen = {**bench_adapter(arch).settings, **own, "device": device, "seed": seed}
    if batch_size is not None:
        chosen["batch_size"] = batch_size
    model_values, train = resolve_settings(arch, chosen)  # as `ganzoo train` resolves them
    return BenchSetup(name, arch, model_values, train)


def build_engine(setup: BenchSetup, data: Any, run_dir: str) -> Any:
    """A Trainer, built as ``ganzoo train`` builds one (seeded, then ``build_recipe``)."""
    from ganzoo.engine.run import build_recipe
    from ganzoo.engine.trainer import Trainer

    torch.manual_seed(setup.train.seed)
    recipe = build_recipe(setup.arch, setup.model_config(), setup.train)
    return Trainer(recipe, data, setup.train, run_dir=run_dir, progress=False)


def build_plain(setup: BenchSetup, data: Any) -> Any:
    return bench_adapter(setup.arch).make_plain_loop(setup.model_config(), data, setup.plain_settings())


def parameter_counts(engine: Any, plain: Any) -> dict[str, int]:
    """G and D parameters; a BenchError unless the engine and the plain loop have as many."""
    counts = {"generator": parameter_count(list(engine.recipe.generators.values())),
              "discriminator": parameter_count(list(engine.recipe.discriminators.values()))}
    plain_counts = {"generator": parameter_count(plain.generators),
                    "discriminator": parameter_count(plain.discriminators)}
    if counts != plain_counts:
        raise BenchError(f"the engine's networks have {counts} parameters but the plain loop's "
                         f"{plain_counts}; the plain loop must build the same networks")
    return counts
