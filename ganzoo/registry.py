"""Typed registries of named things that plugins provide.

Entries are metadata: a target is a ``"module:attribute"`` string imported only when the entry
is used, so listing the zoo never imports torch.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Generic, Iterator, TypeVar

from ganzoo.errors import DuplicateNameError, GanzooError, PluginError, UnknownNameError
from ganzoo.suggest import did_you_mean

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def import_target(target: Any) -> Any:
    """Resolve ``"package.module:attr"`` to the object; pass other objects through."""
    if not isinstance(target, str):
        return target
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise GanzooError(f"bad target {target!r}: expected 'package.module:attribute'")
    obj = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Entry:
    name: str
    plugin: str
    description: str = ""
    distribution: str = ""
    """The installed package (distribution) of the plugin, for messages that say what to fix."""

    def origin(self) -> str:
        """``plugin 'x' (package ganzoo-x)``: who registered this entry."""
        package = f" (package {self.distribution})" if self.distribution else ""
        return f"plugin {self.plugin!r}{package}"


@dataclass(frozen=True)
class TargetEntry(Entry):
    target: Any = None
    kind: ClassVar[str] = "target"
    base: ClassVar[str] = ""
    """``module:Class`` the target must be a subclass of (empty: any callable)."""

    def load(self) -> Any:
        """Import and return the registered object. A target that fails to import, or is not of
        this entry's kind, is a ``PluginError`` naming the plugin and its package."""
        try:
            obj = import_target(self.target)
        except Exception as exc:  # noqa: BLE001 - whatever a plugin raises, say whose it is
            detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
            raise PluginError(f"{self.kind} {self.name!r} of {self.origin()} cannot be imported "
                              f"from {self.target!r}: {detail}; fix or uninstall that package") from None
        if self.base:
            base = import_target(self.base)
            if not (isinstance(obj, type) and issubclass(obj, base)):
                raise PluginError(f"{self.kind} {self.name!r} of {self.origin()} is {self.target!r}, "
                                  f"which is not a {base.__name__} subclass; fix or uninstall that package")
        elif not callable(obj):
            raise PluginError(f"{self.kind} {self.name!r} of {self.origin()} is {self.target!r}, "
                              "which is not callable; fix or uninstall that package")
        return obj


@dataclass(frozen=True)
class ArchitectureEntry(TargetEntry):
    """A GAN family; ``target`` names an ``ganzoo.interfaces.Architecture`` subclass."""

    kind: ClassVar[str] = "architecture"
    base: ClassVar[str] = "ganzoo.interfaces:Architecture"


@dataclass(frozen=True)
class LossEntry(TargetEntry):
    """An adversarial loss; ``target`` names an ``AdversarialLoss`` subclass."""

    kind: ClassVar[str] = "loss"
    base: ClassVar[str] = "ganzoo.interfaces:AdversarialLoss"


@dataclass(frozen=True)
class MetricEntry(TargetEntry):
    """An evaluation metric; ``target`` names a ``ganzoo.metrics.base.Metric`` subclass."""

    kind: ClassVar[str] = "metric"
    base: ClassVar[str] = "ganzoo.metrics.base:Metric"


@dataclass(frozen=True)
class DatasetEntry(TargetEntry):
    """A dataset reader; ``target`` names ``load(path) -> ImageDataset``."""

    kind: ClassVar[str] = "dataset reader"
    detect: Callable[[Path], bool] | None = None


@dataclass(frozen=True)
class PretrainedEntry(Entry):
    """A pretrained generator: its Hub repository, pinned revision and weights' sha256, and
    (optionally) a copy bundled in the plugin package as a directory in the Hub layout."""

    path: Path | None = None
    architecture: str = ""
    repo_id: str = ""
    revision: str | None = None
    sha256: str = ""
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def bundled(self) -> Path | None:
        """The bundled directory, if the plugin ships one that is really there."""
        return self.path if self.path is not None and (self.path / "config.json").is_file() else None


E = TypeVar("E", bound=Entry)


class Registry(Generic[E]):
    """Names to entries of one kind; rejects duplicates and suggests near misses."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, E] = {}

    def add(self, entry: E) -> None:
        if not isinstance(entry.name, str) or not _NAME.fullmatch(entry.name):
            raise GanzooError(
                f"plugin {entry.plugin!r} registered {self.kind} name {entry.name!r}: names are "
                "lowercase letters, digits, '-', '_' and '.'"
            )
        existing = self._entries.get(entry.name)
        if existing is not None:
            raise DuplicateNameError(
                f"{self.kind} {entry.name!r} is registered by both plugin {existing.plugin!r} "
                f"and plugin {entry.plugin!r}; uninstall one or restrict GANZOO_PLUGINS"
            )
        self._entries[entry.name] = entry

    def get(self, name: str) -> E:
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        if not self._entries:
            return f"unknown {self.kind} {name!r}; no installed plugin provides any {self.kind}"
        return f"unknown {self.kind} {name!r}" + did_you_mean(name, self.names(), known=True, n=3, cutoff=0.5)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[E]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)
