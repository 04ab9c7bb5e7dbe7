"""The plugin API: everything a ganzoo plugin imports, from this one module.

Stability promise: the names in ``__all__`` keep their meaning and signatures within a major
``VERSION``; additions raise the minor number, removals or incompatible changes the major.
Everything else in ``ganzoo`` is internal and may change in any release.

A plugin may declare the API it was written for with a module-level ``GANZOO_API = "1.0"`` in
the module its entry point names; ganzoo loads it when the major numbers agree and the
plugin's minor number is at most this one's, and otherwise shows one line in
``ganzoo plugins`` and leaves it out.

Importing ``ganzoo.api`` is cheap (no torch): ``hookimpl``, the errors and ``VERSION`` are
plain attributes, and every other name is imported on first use, so a plugin's hook module can
``from ganzoo.api import hookimpl`` without slowing ``ganzoo list``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ganzoo.errors import ArtifactError, DataError, GanzooError
from ganzoo.hookspecs import hookimpl

VERSION = "1.0"
"""The plugin API version, ``major.minor``."""

_LAZY = {
    # the interfaces
    "Architecture": "ganzoo.interfaces",
    "Generator": "ganzoo.interfaces",
    "Discriminator": "ganzoo.interfaces",
    "AdversarialLoss": "ganzoo.interfaces",
    "Recipe": "ganzoo.interfaces",
    "RecipeOptions": "ganzoo.interfaces",
    "Batch": "ganzoo.interfaces",
    "TrainingData": "ganzoo.interfaces",
    "class_rows": "ganzoo.interfaces",
    # recipe building blocks
    "discriminator_terms": "ganzoo.adversarial",
    "generator_term": "ganzoo.adversarial",
    "gradient_penalty": "ganzoo.losses",
    "r1_penalty": "ganzoo.losses",
    "LeastSquaresLoss": "ganzoo.losses",
    "NonSaturatingLoss": "ganzoo.losses",
    "HingeLoss": "ganzoo.losses",
    # settings
    "require_positive": "ganzoo.settings",
    # pixels and image files
    "to_signed": "ganzoo.pixels",
    "to_unsigned": "ganzoo.pixels",
    "open_image": "ganzoo.images",
    "read_image": "ganzoo.images",
    "pil_to_tensor": "ganzoo.images",
    "IMAGE_READ_ERRORS": "ganzoo.images",
    # data
    "ImageDataset": "ganzoo.data.dataset",
    "EXTENSIONS": "ganzoo.data.folder",
    "SkippedImagesWarning": "ganzoo.data.folder",
    "image_files": "ganzoo.data.folder",
    "has_images": "ganzoo.data.folder",
    "load_image_folder": "ganzoo.data.folder",
    # metrics
    "Metric": "ganzoo.metrics.base",
    "ModelMetric": "ganzoo.metrics.base",
    "MetricResult": "ganzoo.metrics.base",
    "psnr": "ganzoo.metrics.ssim",
    "ssim": "ganzoo.metrics.ssim",
    # ganzoo bench: the adapter and hand-written baseline loop a family provides
    "BenchAdapter": "ganzoo.bench.adapter",
    "PlainLoop": "ganzoo.bench.plain",
    "PlainSettings": "ganzoo.bench.plain",
    "random_image_dataset": "ganzoo.bench.plain",
    # pretrained models
    "load_pretrained": "ganzoo.hub",
}

__all__ = sorted(["VERSION", "hookimpl", "GanzooError", "DataError", "ArtifactError", *_LAZY])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"ganzoo.api has no {name!r}; the plugin API is ganzoo.api.__all__")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


def is_compatible(required: str) -> bool:
    """Whether this API serves a plugin that declares ``GANZOO_API = required``."""
    major, minor = _parse(required)
    own_major, own_minor = _parse(VERSION)
    return major == own_major and minor <= own_minor


def _parse(version: str) -> tuple[int, int]:
    parts = str(version).split(".")
    if len(parts) != 2 or not all(p.isdigit() for p in parts):
        raise GanzooError(f"GANZOO_API must be 'major.minor' such as {VERSION!r}, got {version!r}")
    return int(parts[0]), int(parts[1])


if TYPE_CHECKING:  # for type checkers and editors; at run time the names above load lazily
    from ganzoo.adversarial import discriminator_terms, generator_term
    from ganzoo.bench.adapter import BenchAdapter
    from ganzoo.bench.plain import PlainLoop, PlainSettings, random_image_dataset
    from ganzoo.data.dataset import ImageDataset
    from ganzoo.data.folder import (
        EXTENSIONS, SkippedImagesWarning, has_images, image_files, load_image_folder,
    )
    from ganzoo.hub import load_pretrained
    from ganzoo.images import IMAGE_READ_ERRORS, open_image, pil_to_tensor, read_image
    from ganzoo.interfaces import (
        AdversarialLoss, Architecture, Batch, Discriminator, Generator, Recipe, RecipeOptions,
        TrainingData, class_rows,
    )
    from ganzoo.losses import HingeLoss, LeastSquaresLoss, NonSaturatingLoss, gradient_penalty, r1_penalty
    from ganzoo.metrics.base import Metric, MetricResult, ModelMetric
    from ganzoo.metrics.ssim import psnr, ssim
    from ganzoo.pixels import to_signed, to_unsigned
    from ganzoo.settings import require_positive
