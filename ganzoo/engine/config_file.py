"""Training config files for ``ganzoo train --config FILE``: YAML or JSON, either a past run's
run.json as it is (``architecture``, ``model_config``, ``train_config``, ``data``) or a flat
mapping of the settings ``--set`` takes, with optional ``architecture`` and ``data`` keys.
Command-line flags and ``--set`` override what the file says."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import GanzooError

FILE_KEYS = ("architecture", "data", "dataset")
"""Keys of a flat config that are not settings."""


@dataclass
class ConfigFile:
    path: Path
    architecture: str | None = None
    data: str | None = None
    dataset: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)


def read_config_file(path: str | Path) -> ConfigFile:
    """Parse ``path`` (.json, .yaml or .yml); a one-line GanzooError for anything else."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise GanzooError(f"cannot read --config {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            raise GanzooError(f"--config {path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    elif path.suffix.lower() == ".json":
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise GanzooError(f"--config {path} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    else:
        raise GanzooError(f"--config {path} must be a .yaml, .yml or .json file")
    if not isinstance(values, dict):
        raise GanzooError(f"--config {path} must hold a mapping of settings, not a {type(values).__name__}")
    if "train_config" in values or "model_config" in values:  # a run.json
        data = values.get("data") or {}
        return ConfigFile(path, values.get("architecture"), data.get("path"), data.get("reader"),
                          {**(values.get("model_config") or {}), **(values.get("train_config") or {})})
    settings = {k: v for k, v in values.items() if k not in FILE_KEYS}
    if isinstance(settings.get("betas"), list):
        settings["betas"] = tuple(settings["betas"])
    return ConfigFile(path, values.get("architecture"), values.get("data"), values.get("dataset"), settings)


def resolved_config(architecture: str, settings: dict[str, Any]) -> dict[str, Any]:
    """What a run started with ``settings`` would record before its data fills channels and
    size: the full model and training configs (``--print-config``)."""
    import dataclasses

    from ganzoo.engine.run import get_architecture, resolve_settings, with_source_defaults

    arch = get_architecture(architecture)
    model_values, train_config = resolve_settings(arch, with_source_defaults(architecture, settings))
    model_config = arch.make_config(model_values)
    return {"architecture": architecture,
            "model_config": dataclasses.asdict(model_config) if dataclasses.is_dataclass(model_config) else model_values,
            "train_config": train_config.to_dict()}
