"""Typed settings: values from the command line or a config.json checked against a dataclass."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, Mapping

from ganzoo.errors import GanzooError
from ganzoo.suggest import did_you_mean


def _coerce(name: str, value: Any, hint: Any) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(name, value, arg)
            except GanzooError:
                pass
        raise GanzooError(f"setting {name!r} must be {_describe(hint)}, got {value!r}")
    if origin is tuple:
        args = typing.get_args(hint)
        if not isinstance(value, (list, tuple)) or len(value) != len(args):
            raise GanzooError(f"setting {name!r} must be a list of {len(args)} values, got {value!r}")
        return tuple(_coerce(name, v, a) for v, a in zip(value, args))
    if hint is bool:
        if isinstance(value, bool):
            return value
    elif hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif hint is str:
        if isinstance(value, str):
            return value
    else:
        return value
    raise GanzooError(f"setting {name!r} must be {_describe(hint)}, got {value!r}")


def _describe(hint: Any) -> str:
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}
    return names.get(hint, str(hint).replace("typing.", ""))


def build_settings(cls: type, values: Mapping[str, Any], what: str) -> Any:
    """Instantiate dataclass ``cls`` from ``values``: unknown keys get "did you mean", values
    of the wrong type and values its ``__post_init__`` rejects become one-line errors."""
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    checked = {}
    for key, value in values.items():
        if key not in fields:
            hint = did_you_mean(key, fields, known=True)
            raise GanzooError(f"{what} has no setting {key!r}{hint}")
        checked[key] = _coerce(key, value, hints[key])
    try:
        return cls(**checked)
    except (TypeError, ValueError) as exc:
        raise GanzooError(f"bad {what} setting: {exc}") from None


def require_positive(config: Any, *names: str) -> None:
    """For a config's ``__post_init__``: each named field must be >= 1."""
    for name in names:
        if getattr(config, name) < 1:
            raise ValueError(f"{name} must be >= 1, got {getattr(config, name)}")


def parse_key_values(pairs: tuple[str, ...] | list[str], flag: str = "--set") -> dict[str, Any]:
    """``--set key=value`` pairs (``flag`` names the option in errors): each value read as JSON
    (numbers, true/false, lists), else kept as the string."""
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise GanzooError(f"{flag} takes key=value, got {pair!r}")
        try:
            settings[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            settings[key.strip()] = raw
    return settings
