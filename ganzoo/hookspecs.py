"""The hooks a ganzoo plugin may implement.

Registration hooks receive a ``register`` callback rather than returning values, so the core
can validate each name, reject duplicates and say which plugin registered what. Keep the
modules that hold hook implementations free of heavy imports (torch, timm): register
``"module:attribute"`` strings and let ganzoo import them when they are used.
"""

from __future__ import annotations

from typing import Any, Callable

import pluggy

hookspec = pluggy.HookspecMarker("ganzoo")
hookimpl = pluggy.HookimplMarker("ganzoo")


@hookspec
def register_architectures(register: Callable[..., None]) -> None:
    """Register GAN families.

    Call ``register(name, target, description="")`` where ``target`` is
    ``"package.module:ArchitectureClass"`` (a subclass of ``ganzoo.interfaces.Architecture``).
    """


@hookspec
def register_pretrained(register: Callable[..., None]) -> None:
    """Register pretrained models.

    Call ``register(name, path=None, *, architecture, description="", repo_id="",
    revision=None, sha256="")`` where ``name`` is ``arch-dataset``; ``path`` is a directory in
    the Hub layout (config.json, model.safetensors, README.md) shipped inside the plugin
    package; ``repo_id`` (``org/name``), ``revision`` (best a commit id) and ``sha256`` (of
    model.safetensors) say where the Hub serves the same weights. Give a path, a repo_id or
    both. ``load_pretrained(name)`` looks in the Hugging Face cache, then the bundled copy,
    then the Hub; the sha256 is checked wherever the weights come from.
    """


@hookspec
def register_losses(register: Callable[..., None]) -> None:
    """Register adversarial losses: ``register(name, target, description="")`` where
    ``target`` names an ``ganzoo.interfaces.AdversarialLoss`` subclass."""


@hookspec
def register_datasets(register: Callable[..., None]) -> None:
    """Register dataset readers: ``register(name, target, description="", detect=None)``.

    ``target`` names a function ``load(path) -> ganzoo.data.ImageDataset``; ``detect`` is an
    optional cheap callable ``detect(path) -> bool`` (no torch) used to pick a reader for
    ``--data PATH`` when ``--dataset`` is not given.
    """


@hookspec
def register_metrics(register: Callable[..., None]) -> None:
    """Register evaluation metrics: ``register(name, target, description="")``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add click commands to the ``ganzoo`` command group ``cli``."""
