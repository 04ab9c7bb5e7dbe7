"""The plugin manager: entry-point discovery with per-plugin isolation, and the zoo it builds.

Every plugin, first-party or not, arrives through the ``ganzoo`` entry-point group. A plugin that
raises on import or while registering is recorded (``ganzoo plugins`` shows it) and skipped;
everything else keeps working. ``GANZOO_PLUGINS`` restricts loading to a comma-separated list
of entry-point names; set to an empty string it loads none.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pluggy

from ganzoo import api, builtins, hookspecs
from ganzoo.errors import GanzooError
from ganzoo.registry import (
    ArchitectureEntry,
    DatasetEntry,
    LossEntry,
    MetricEntry,
    PretrainedEntry,
    Registry,
)
from ganzoo.suggest import did_you_mean

ENTRY_POINT_GROUP = "ganzoo"
CORE_PLUGIN = "ganzoo"
CORE_DISTRIBUTION = "ganzoo"
IMPORT_TIMEOUT = 10.0
"""Seconds a plugin's module may take to import (``GANZOO_PLUGIN_IMPORT_TIMEOUT`` overrides);
one that takes longer is reported and skipped, so it cannot hold every command up."""


def _import_timeout() -> float:
    value = os.environ.get("GANZOO_PLUGIN_IMPORT_TIMEOUT", "")
    try:
        return float(value) if value else IMPORT_TIMEOUT
    except ValueError:
        raise GanzooError(f"GANZOO_PLUGIN_IMPORT_TIMEOUT={value!r} is not a number of seconds") from None


def _load_within(ep: metadata.EntryPoint, seconds: float) -> Any:
    """``ep.load()`` on a helper thread, given ``seconds``: its module, or the exception it
    raised (SystemExit included), or TimeoutError while it is still importing (the thread is a
    daemon and is abandoned; nothing imports that module again)."""
    import threading

    outcome: dict[str, Any] = {}

    def load() -> None:
        try:
            outcome["module"] = ep.load()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome["error"] = exc

    worker = threading.Thread(target=load, name=f"ganzoo-plugin-{ep.name}", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise TimeoutError(f"its module did not finish importing within {seconds:g} s (a plugin must import "
                           "quickly and defer heavy work to its targets)")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["module"]


@dataclass
class PluginInfo:
    name: str
    module: str = ""
    distribution: str = ""
    version: str = ""
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass
class Zoo:
    """Everything the installed plugins registered."""

    architectures: Registry[ArchitectureEntry]
    pretrained: Registry[PretrainedEntry]
    losses: Registry[LossEntry]
    datasets: Registry[DatasetEntry]
    metrics: Registry[MetricEntry]
    plugins: list[PluginInfo]
    manager: pluggy.PluginManager


def _selected_plugins() -> set[str] | None:
    value = os.environ.get("GANZOO_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _load_entry_points(pm: pluggy.PluginManager, infos: list[PluginInfo]) -> None:
    selected = _selected_plugins()
    timeout = _import_timeout()
    loaded: dict[str, PluginInfo] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if selected is not None and ep.name not in selected:
            continue
        dist = ep.dist
        info = PluginInfo(
            name=ep.name,
            module=ep.value,
            distribution=dist.metadata["Name"] if dist else "",
            version=dist.version if dist else "",
        )
        if ep.name == CORE_PLUGIN:
            info.errors.append(f"the plugin name {CORE_PLUGIN!r} is reserved for the core; not loaded")
            infos.append(info)
            continue
        first = loaded.get(ep.name)
        if first is not None:
            if first.distribution != info.distribution:  # else: one package seen twice on sys.path
                info.errors.append(
                    f"plugin name {ep.name!r} is taken by {first.distribution!r}; "
                    f"{info.distribution!r} was not loaded (uninstall one of them)"
                )
                infos.append(info)
            continue
        loaded[ep.name] = info
        infos.append(info)
        try:
            module = _load_within(ep, timeout)
            refusal = _api_refusal(module, info)
            if refusal:
                info.errors.append(refusal)
                continue
            pm.register(module, name=ep.name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a broken plugin must not take ganzoo down
            info.errors.append(f"could not load: {_describe(exc)}")
            continue
        info.errors += _unknown_hooks(pm, module)
    for name in sorted((selected or set()) - set(loaded) - {CORE_PLUGIN}):
        infos.append(PluginInfo(name=name, errors=["named in GANZOO_PLUGINS but not installed"]))


def _api_refusal(module: Any, info: PluginInfo) -> str:
    """Why a plugin that declares ``GANZOO_API`` cannot be served by this ganzoo ('' if it can)."""
    required = getattr(module, "GANZOO_API", None)
    if required is None:
        return ""
    try:
        if api.is_compatible(required):
            return ""
    except GanzooError as exc:
        return f"not loaded: {exc}"
    package = info.distribution or info.name
    return (f"not loaded: it needs plugin API {required} and this ganzoo provides {api.VERSION}; "
            f"install a version of {package} made for plugin API {api.VERSION.split('.')[0]}.x, or a "
            "ganzoo that provides its API")


def _unknown_hooks(pm: pluggy.PluginManager, module: Any) -> list[str]:
    """pluggy's ``check_pending`` for one plugin: hook implementations no hookspec names."""
    known = [name for name in dir(hookspecs) if name.startswith("register_")]
    return [f"hook {caller.name!r} is not a ganzoo hook and is ignored" + did_you_mean(caller.name, known)
            for caller in pm.get_hookcallers(module) or [] if not caller.has_spec()]


def _registrations(zoo: Zoo) -> dict[str, tuple[Registry, Callable[..., Any]]]:
    """Hook name -> (registry, function turning register(...) arguments into an entry)."""

    def target_entry(cls):
        def make(plugin: str, name: str, target: Any, description: str = ""):
            return cls(name=name, plugin=plugin, description=description, target=target)

        return make

    def dataset_entry(plugin: str, name: str, target: Any, description: str = "", detect=None):
        return DatasetEntry(
            name=name, plugin=plugin, description=description, target=target, detect=detect
        )

    def pretrained_entry(plugin: str, name: str, path: str | Path | None = None, *, architecture: str,
                         description: str = "", repo_id: str = "", revision: str | None = None,
                         sha256: str = "", **extras):
        if path is None and not repo_id:
            raise GanzooError(f"pretrained model {name!r} needs a bundled path or a Hub repo_id")
        if sha256 and not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise GanzooError(f"pretrained model {name!r}: sha256 must be 64 lowercase hex digits")
        return PretrainedEntry(
            name=name,
            plugin=plugin,
            description=description,
            path=Path(path) if path is not None else None,
            architecture=architecture,
            repo_id=repo_id,
            revision=revision,
            sha256=sha256,
            extras=extras,
        )

    return {
        "register_architectures": (zoo.architectures, target_entry(ArchitectureEntry)),
        "register_pretrained": (zoo.pretrained, pretrained_entry),
        "register_losses": (zoo.losses, target_entry(LossEntry)),
        "register_datasets": (zoo.datasets, dataset_entry),
        "register_metrics": (zoo.metrics, target_entry(MetricEntry)),
    }


def build_zoo() -> Zoo:
    """Load plugins and collect their registrations (use ``get_zoo`` for the cached one)."""
    pm = pluggy.PluginManager("ganzoo")
    pm.add_hookspecs(hookspecs)
    core = PluginInfo(name=CORE_PLUGIN, module=builtins.__name__, distribution=CORE_DISTRIBUTION)
    core.version = _own_version()
    pm.register(builtins, name=CORE_PLUGIN)
    infos = [core]
    _load_entry_points(pm, infos)
    zoo = Zoo(
        architectures=Registry("architecture"),
        pretrained=Registry("pretrained model"),
        losses=Registry("loss"),
        datasets=Registry("dataset"),
        metrics=Registry("metric"),
        plugins=infos,
        manager=pm,
    )
    by_name = {info.name: info for info in infos}
    # ganzoo's own plugins register first, so a third-party plugin that reuses one of their names
    # is the one refused (and marked), whatever its entry point is called; the rest by name.
    first_party = [info for info in infos if info.distribution == CORE_DISTRIBUTION]
    order = {info.name: i for i, info in enumerate(first_party + [i for i in infos if i not in first_party])}
    for hook_name, (registry, make_entry) in _registrations(zoo).items():
        impls = getattr(pm.hook, hook_name).get_hookimpls()
        for impl in sorted(impls, key=lambda i: order.get(i.plugin_name, len(order))):
            info = by_name[impl.plugin_name]
            info.hooks.append(hook_name)

            def register(*args: Any, _info: PluginInfo = info, **kwargs: Any) -> None:
                entry = make_entry(_info.name, *args, **kwargs)
                registry.add(dataclasses.replace(entry, distribution=_info.distribution))

            try:
                impl.function(register=register)
            except (Exception, SystemExit) as exc:  # noqa: BLE001 - isolate each plugin
                info.errors.append(f"{hook_name} failed: {_describe(exc)}")
    for impl in pm.hook.register_commands.get_hookimpls():
        by_name[impl.plugin_name].hooks.append("register_commands")
    return zoo


def add_plugin_commands(zoo: Zoo, cli: Any) -> None:
    """Let each plugin add its click commands; one that fails is recorded and skipped, and a
    command whose name is taken (by the core or an earlier plugin) is refused, naming both."""
    by_name = {info.name: info for info in zoo.plugins}
    owners = {name: "the core" for name in cli.commands}
    for impl in sorted(zoo.manager.hook.register_commands.get_hookimpls(), key=lambda i: i.plugin_name):
        info = by_name[impl.plugin_name]
        before = dict(cli.commands)
        try:
            impl.function(cli=cli)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - isolate each plugin
            info.errors.append(f"register_commands failed: {_describe(exc)}")
        added = {name: command for name, command in cli.commands.items() if before.get(name) is not command}
        cli.commands.clear()
        cli.commands.update(before)
        for name, command in added.items():
            if name in owners:
                info.errors.append(f"command {name!r} was refused: the name is taken by {owners[name]}; "
                                   f"the plugin must rename it")
                continue
            cli.commands[name] = command
            owners[name] = f"plugin {info.name!r}"


def check_targets(zoo: Zoo) -> dict[str, list[str]]:
    """Import every registered target (what ``ganzoo plugins --check`` does): plugin name -> the
    problems found, one line each. Pretrained models must name a registered architecture."""
    problems: dict[str, list[str]] = {info.name: [] for info in zoo.plugins}
    for registry in (zoo.architectures, zoo.losses, zoo.datasets, zoo.metrics):
        for entry in registry:
            try:
                entry.load()
            except GanzooError as exc:
                problems.setdefault(entry.plugin, []).append(str(exc))
    for entry in zoo.pretrained:
        if entry.architecture not in zoo.architectures:
            problems.setdefault(entry.plugin, []).append(
                f"pretrained model {entry.name!r} names architecture {entry.architecture!r}, which no "
                f"installed plugin registers" + did_you_mean(entry.architecture, zoo.architectures.names()))
    return problems


def _own_version() -> str:
    try:
        return metadata.version("ganzoo")
    except metadata.PackageNotFoundError:
        return ""


@functools.cache
def get_zoo() -> Zoo:
    """The zoo of the installed plugins, built once per process."""
    return build_zoo()
