"""Typed registries of named things that plugins provide.

Entries are metadata: a target is a ``"module:attribute"`` string imported only when the entry
is used, so listing the zoo never imports torch.
"""

from __future__ import annotations

import difflib
import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Generic, Iterator, TypeVar

from ganzoo.errors import DuplicateNameError, GanzooError, UnknownNameError

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


@dataclass(frozen=True)
class TargetEntry(Entry):
    target: Any = None

    def load(self) -> Any:
        """Import and return the registered object."""
        return import_target(self.target)


@dataclass(frozen=True)
class ArchitectureEntry(TargetEntry):
    """A GAN family; ``target`` names an ``ganzoo.interfaces.Architecture`` subclass."""


@dataclass(frozen=True)
class LossEntry(TargetEntry):
    """An adversarial loss; ``target`` names an ``AdversarialLoss`` subclass."""


@dataclass(frozen=True)
class MetricEntry(TargetEntry):
    """An evaluation metric."""


@dataclass(frozen=True)
class DatasetEntry(TargetEntry):
    """A dataset reader; ``target`` names ``load(path) -> ImageDataset``."""

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
        message = f"unknown {self.kind} {name!r}"
        close = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
        if close:
            message += "; did you mean " + " or ".join(repr(c) for c in close) + "?"
        elif self._entries:
            message += f"; known: {', '.join(sorted(self._entries))}"
        else:
            message += f"; no installed plugin provides any {self.kind}"
        return message

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[E]:
        return iter(sorted(self._entries.values(), key=lambda e: e.name))

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)
