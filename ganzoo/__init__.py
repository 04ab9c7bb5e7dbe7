"""ganzoo: a plugin-based zoo of generative adversarial networks for PyTorch.

    import ganzoo
    g = ganzoo.load_pretrained("dcgan-celeba")
    ganzoo.images.save_image(g.generate(64, seed=0), "faces.png")

Importing ``ganzoo`` is cheap: it does not import torch. ``list_models``, ``create_model``,
``load_pretrained`` (``ganzoo.models``) and the submodules (``ganzoo.images``, ``ganzoo.engine``,
``ganzoo.hub``, ...) are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from ganzoo.errors import GanzooError
from ganzoo.hookspecs import hookimpl

__version__ = "0.1.0"

_FROM_MODELS = ("list_models", "create_model", "load_pretrained")
_SUBMODULES = ("api", "engine", "hub", "images", "metrics", "models", "testing")

__all__ = ["GanzooError", "hookimpl", "__version__", *_FROM_MODELS]


def __getattr__(name: str) -> Any:
    if name in _FROM_MODELS:
        return getattr(importlib.import_module("ganzoo.models"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"ganzoo.{name}")
    raise AttributeError(f"module 'ganzoo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM_MODELS) | set(_SUBMODULES))
