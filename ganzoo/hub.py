"""Pretrained generators as directories in the Hub layout: config.json, model.safetensors,
README.md (model card) and samples.png. The same layout on disk, in a plugin package and on
the Hugging Face Hub. Nothing is pickled, ever.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ganzoo import __version__
from ganzoo.errors import ArtifactError, GanzooError, UnknownNameError
from ganzoo.fileio import atomic_directory

if TYPE_CHECKING:
    from ganzoo.huggingface import HubOptions

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
CARD = "README.md"
SAMPLES = "samples.png"


@dataclass(frozen=True)
class Source:
    """Where a model came from: ``kind`` is directory, run, cache (the Hugging Face cache), hub
    (downloaded just now) or bundled; ``detail`` says which repository, commit and checksum;
    ``notes`` are the fallbacks taken on the way (shown to the user)."""

    kind: str
    path: Path
    name: str
    detail: str = ""
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        where = {"directory": "local directory", "run": "training run", "bundled": "bundled copy",
                 "cache": "Hugging Face cache", "hub": "Hugging Face Hub"}[self.kind]
        return f"{where} {self.detail or self.path}"


def resolve(name_or_path: str | Path, options: "HubOptions | None" = None, *, pull: bool = False,
            force: bool = False) -> Source:
    """Find a model, in this order: a local directory (pretrained layout or training run);
    ``hf-hub:ORG/NAME[@REV]``; a registered name ``NAME[@REV]``.

    A registered name is served from the Hugging Face cache, else its bundled copy, else the Hub
    (asked only when no local copy has the pinned weights: no bundled copy, or ``@REV`` names
    another revision). ``pull=True`` asks the Hub first (``force``: download again) and falls
    back to the cache, then the bundled copy, recording why in ``Source.notes``. The weights'
    sha256 is checked wherever it is known; a mismatch is an error, never a fallback.
    """
    path = Path(name_or_path)
    if path.is_dir():
        if (path / CONFIG).is_file():
            return Source("directory", path, path.name)
        if (path / "run.json").is_file():
            return Source("run", path, path.name)
        raise ArtifactError(f"{path} is neither a pretrained model (no {CONFIG}) nor a training run (no run.json)")
    from ganzoo.huggingface import HUB_PREFIX, HubOptions, HubRef

    options = options or HubOptions()
    spec = str(name_or_path)
    if spec.startswith(HUB_PREFIX):
        ref = HubRef.parse(spec)
        return _from_hub(ref, options, name=ref.repo_id.split("/")[-1], sha256=None,
                         pull_hint=f"ganzoo pull {spec}", force=force)
    from ganzoo.plugins import get_zoo

    name, _, revision = spec.partition("@")
    try:
        entry = get_zoo().pretrained.get(name)
    except UnknownNameError as exc:
        hint = f"; a Hub repository is written {HUB_PREFIX}{name}" if "/" in name else " (a directory path works too)"
        raise UnknownNameError(f"{exc}{hint}") from None
    return _from_entry(entry, revision or None, options, pull=pull, force=force)


def _from_hub(ref, options, *, name: str, sha256: str | None, pull_hint: str, force: bool = False,
              local_only: bool = False) -> Source:
    """``ref`` from the Hub, or from the cache when offline, unreachable or ``local_only``."""
    from ganzoo.huggingface import NotCachedError, download, unreachable_reason

    notes: tuple[str, ...] = ()
    if local_only or options.resolved_offline():
        if not local_only:
            notes += ("offline (--offline or HF_HUB_OFFLINE): the Hub was not asked",)
        snapshot = download(ref, options, sha256=sha256, local_only=True, pull_hint=pull_hint)
    elif (reason := unreachable_reason(options)) is None:
        snapshot = download(ref, options, sha256=sha256, force=force, pull_hint=pull_hint)
    else:
        try:
            snapshot = download(ref, options, sha256=sha256, local_only=True, pull_hint=pull_hint)
        except NotCachedError:
            why = (f"the Hub at {options.resolved_endpoint()} cannot be reached ({reason}) and {ref} is "
                   "not in the Hugging Face cache")
            raise NotCachedError(f"{why}; connect and run `{pull_hint}`", why) from None
        notes += (f"the Hub at {options.resolved_endpoint()} cannot be reached ({reason}); using the cache",)
    detail = (f"{ref.repo_id}@{snapshot.commit[:12]} ({snapshot.directory}; sha256 {snapshot.sha256[:12]}... "
              f"checked against {snapshot.checked_against})")
    return Source("hub" if snapshot.downloaded else "cache", snapshot.directory, name, detail, notes)


def _from_entry(entry, revision: str | None, options, *, pull: bool, force: bool) -> Source:
    """A registered pretrained model: the cache, the bundled copy and the Hub (see ``resolve``)."""
    from ganzoo.huggingface import HubError, HubRef, NotCachedError, check_sha256

    pinned = revision is None or revision == entry.revision
    sha256 = entry.sha256 if pinned else None
    hint = f"ganzoo pull {entry.name}" + (f"@{revision}" if revision else "")
    if not entry.repo_id and revision:
        raise GanzooError(f"{entry.name} names no Hub repository, so @{revision} cannot be fetched")
    ref = HubRef(entry.repo_id, revision or entry.revision) if entry.repo_id else None

    def bundled(notes: tuple[str, ...] = ()) -> Source | None:
        if not pinned or entry.bundled is None:
            return None
        checked = ""
        if entry.sha256:
            check_sha256(entry.bundled / WEIGHTS, entry.sha256, f"the bundled {WEIGHTS} of {entry.name}",
                         f"reinstall the package of plugin {entry.plugin!r} (pip install --force-reinstall)")
            checked = f"; sha256 {entry.sha256[:12]}... checked"
        return Source("bundled", entry.bundled, entry.name, f"{entry.bundled} (plugin {entry.plugin}{checked})", notes)

    def hub(**how) -> Source:
        return _from_hub(ref, options, name=entry.name, sha256=sha256, pull_hint=hint, **how)

    if ref is None:
        source = bundled((f"{entry.name} names no Hub repository",) if pull else ())
        if source is None:
            raise ArtifactError(f"the bundled copy of {entry.name} is missing from plugin {entry.plugin!r}; reinstall it")
        return source
    if not pull:
        try:
            return hub(local_only=True)
        except NotCachedError:
            return bundled() or hub()
    try:
        return hub(force=force)
    except NotCachedError as exc:
        offline = "offline (--offline or HF_HUB_OFFLINE): the Hub was not asked; " if options.resolved_offline() else ""
        source = bundled((offline + exc.reason,))
        if source is None:
            raise
        return source
    except HubError as exc:
        source = bundled((str(exc),))
        if source is None:
            raise
        return source


def read_config(directory: Path) -> dict[str, Any]:
    path = Path(directory) / CONFIG
    try:
        config = json.loads(path.read_text())
    except FileNotFoundError:
        raise ArtifactError(f"{path} is missing; a pretrained directory needs {CONFIG} and {WEIGHTS}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{path} is not valid JSON ({exc}); re-export or re-download the model") from None
    if not isinstance(config, dict):
        raise ArtifactError(f"{path} must hold a JSON object; it was not written by ganzoo save_pretrained")
    for key, kind in (("architecture", str), ("config", dict), ("image_shape", list)):
        if not isinstance(config.get(key), kind):
            raise ArtifactError(f"{path} has no valid {key!r}; it was not written by ganzoo save_pretrained")
    return config


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Tensor shapes from a safetensors header, without loading the tensors (or torch)."""
    try:
        with open(path, "rb") as handle:
            (length,) = struct.unpack("<Q", handle.read(8))
            if length > 100_000_000:
                raise ValueError("header too large")
            header = json.loads(handle.read(length))
        return {k: v["shape"] for k, v in header.items() if k != "__metadata__"}
    except (OSError, ValueError, struct.error, KeyError, TypeError) as exc:
        raise ArtifactError(f"{path} is not a readable safetensors file ({exc})") from None


def _architecture_for(config: dict[str, Any], where: Path):
    from ganzoo.plugins import get_zoo

    name = config["architecture"]
    architectures = get_zoo().architectures
    if name not in architectures:
        plugin = (config.get("plugin") or {}).get("distribution")
        hint = f"pip install {plugin}" if plugin else "install the plugin that provides it"
        raise ArtifactError(
            f"{where / CONFIG} needs architecture {name!r}, which no installed plugin provides; "
            f"{hint} (ganzoo plugins lists what is installed)"
        )
    return architectures.get(name).load()()


def build_generator(config: dict[str, Any], where: Path):
    arch = _architecture_for(config, where)
    try:
        model_config = arch.make_config(config["config"])
    except GanzooError as exc:
        raise ArtifactError(f"{where / CONFIG}: {exc}") from None
    try:
        return arch.build_generator(model_config)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise ArtifactError(f"{where / CONFIG}: cannot build the generator ({exc})") from None


def load_weights(module, tensors: dict, where: Path) -> None:
    """Strict load with a one-line message for missing, unexpected or mis-shaped tensors."""
    own = module.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    wrong = [k for k in own if k in tensors and tuple(own[k].shape) != tuple(tensors[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if wrong:
            k = wrong[0]
            parts.append(f"{k} has shape {tuple(tensors[k].shape)}, the config needs {tuple(own[k].shape)}")
        if missing:
            parts.append(f"missing {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:3])}")
        raise ArtifactError(f"weights in {where} do not match its config: {'; '.join(parts)}")
    module.load_state_dict(tensors, strict=True)


def _read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ArtifactError(f"{path} is missing; re-export or re-download the model")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is corrupt or not safetensors ({exc}); re-download the model") from None


def load_pretrained(name_or_path: str | Path, device: str = "cpu", *, use_ema: bool = True,
                    options: "HubOptions | None" = None):
    """Rebuild a generator from a pretrained name (``NAME[@REV]``), ``hf-hub:ORG/NAME[@REV]``,
    a pretrained directory or a training run (see ``resolve`` for the order of sources).
    ``options`` (``ganzoo.huggingface.HubOptions``) sets the endpoint, cache, token or offline.

    The generator comes back in eval mode on ``device``; ``generator.pretrained_config`` holds
    its config.json (for a run, the equivalent) and ``generator.source`` where it came from.
    """
    source = resolve(name_or_path, options)
    if source.kind == "run":
        generator, config = _load_from_run(source.path, use_ema)
    else:
        config = read_config(source.path)
        generator = build_generator(config, source.path)
        load_weights(generator, _read_safetensors(source.path / WEIGHTS), source.path / WEIGHTS)
    generator.pretrained_config = config
    generator.source = source
    return generator.to(device).eval()


def _load_from_run(run_dir: Path, use_ema: bool, checkpoint: Path | None = None):
    """The generator of ``checkpoint`` (default: the run's latest) and its config."""
    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.engine.run import read_run, select_checkpoint

    record = read_run(run_dir)
    checkpoint = checkpoint or select_checkpoint(run_dir)[0]
    config = {"architecture": record["architecture"], "config": record["model_config"]}
    generator = build_generator(config, run_dir)
    name = ckpt.export_name(ckpt.load_checkpoint_state(checkpoint))
    weights = ckpt.generator_weights(ckpt.load_checkpoint_weights(checkpoint), name, use_ema=use_ema)
    load_weights(generator, weights, checkpoint)
    config.update(_describe_generator(generator))
    return generator, config


def _describe_generator(generator) -> dict[str, Any]:
    return {
        "image_shape": list(generator.image_shape),
        "value_range": [-1, 1],
        "latent_dim": generator.latent_dim,
        "num_classes": generator.num_classes,
        **({"translate_options": generator.translate_options} if generator.translate_options else {}),
    }


def _plugin_of(architecture: str) -> dict[str, str]:
    from ganzoo.plugins import get_zoo

    zoo = get_zoo()
    entry = zoo.architectures.get(architecture)
    info = next((p for p in zoo.plugins if p.name == entry.plugin), None)
    return {"name": entry.plugin, "distribution": info.distribution if info else "",
            "version": info.version if info else ""}


def save_pretrained(
    generator,
    out_dir: str | Path,
    *,
    architecture: str,
    model_config: Any,
    training: dict[str, Any] | None = None,
    dataset: dict[str, Any] | None = None,
    overwrite: bool = False,
    sample_seed: int = 0,
    notes: str = "",
    samples: Any = None,
) -> Path:
    """Write ``generator`` as a pretrained directory, atomically.

    An existing non-empty ``out_dir`` is an error unless ``overwrite``; even then the old
    directory is only replaced once the new one is completely written. ``samples`` (a PIL
    image) becomes samples.png; by default a grid is drawn from the generator's noise, and an
    image-to-image generator must be given one (e.g. its run's last preview grid).
    """
    from safetensors.torch import save_file

    from ganzoo.card import render_card
    from ganzoo.images import make_grid, save_image

    out_dir = Path(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ArtifactError(f"{out_dir} exists and is not empty; pass --overwrite to replace it")
    if dataclasses.is_dataclass(model_config):
        model_config = dataclasses.asdict(model_config)
    tensors = {k: v.detach().contiguous().cpu() for k, v in generator.state_dict().items()}
    config = {
        "ganzoo_version": __version__,
        "architecture": architecture,
        "plugin": _plugin_of(architecture),
        "config": model_config,
        **_describe_generator(generator),
        "dtype": str(next(iter(tensors.values())).dtype).removeprefix("torch."),
        "training": training or {},
        "dataset": dataset or {},
        "notes": notes,
    }
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with atomic_directory(out_dir) as tmp:
        save_file(tensors, tmp / WEIGHTS)
        (tmp / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        if samples is None:
            if generator.latent_dim is None:
                raise ArtifactError("an image-to-image generator needs a samples grid to export; "
                                    "train until the run has written one")
            labels, nrow = None, 8
            if generator.num_classes:
                from ganzoo.interfaces import class_rows

                labels = class_rows(generator.num_classes, 80)
                nrow = len(labels) // generator.num_classes
            images = generator.generate(64 if labels is None else len(labels), seed=sample_seed, labels=labels)
            samples = make_grid(images, nrow=nrow)
        save_image(samples, tmp / SAMPLES)
        (tmp / CARD).write_text(render_card(out_dir.name, config))
        umask = os.umask(0)
        os.umask(umask)
        for file in tmp.iterdir():  # safetensors writes 0600; a published model is world-readable
            file.chmod(0o666 & ~umask)
    return out_dir


def record_evaluation(directory: str | Path, report: dict[str, Any]) -> Path:
    """Add an evaluation report's figures to the pretrained ``directory``: config.json's
    ``evaluation`` (a figure for the same metric, data and split is replaced) and a re-rendered
    model card. The weights are not touched."""
    from ganzoo.card import render_card
    from ganzoo.fileio import atomic_write_text
    from ganzoo.metrics.evaluate import card_entries

    directory = Path(directory)
    config = read_config(directory)
    new = card_entries(report)
    replaced = {(e["metric"], e["dataset"], e["split"]) for e in new}
    kept = [e for e in config.get("evaluation") or [] if (e["metric"], e["dataset"], e["split"]) not in replaced]
    config["evaluation"] = kept + new
    atomic_write_text(directory / CONFIG, json.dumps(config, indent=2) + "\n")
    atomic_write_text(directory / CARD, render_card(directory.name, config))
    return directory


def export_run(run_dir: str | Path, out_dir: str | Path, *, overwrite: bool = False,
               use_ema: bool = True, dataset: dict[str, Any] | None = None,
               notes: str = "", best: str | None = None) -> Path:
    """Turn a training run's latest checkpoint, or with ``best`` the one that scored best on
    that metric during training, into a pretrained directory.

    ``dataset`` adds or overrides facts about the training data for the card (``name``,
    ``license``, ``license_note``, ``hf_id``); ``notes`` is free text for the card.
    """
    from ganzoo.engine.checkpoint import load_checkpoint_state
    from ganzoo.engine.run import read_run, select_checkpoint

    run_dir = Path(run_dir)
    record = read_run(run_dir)
    checkpoint, chosen_by = select_checkpoint(run_dir, best)
    generator, _ = _load_from_run(run_dir, use_ema, checkpoint)
    state = load_checkpoint_state(checkpoint)
    training = {**(state.get("summary") or {}), **chosen_by}
    samples = None
    if generator.latent_dim is None:  # image-to-image: the run's last preview grid shows what it does
        from PIL import Image

        grids = sorted((run_dir / "samples").glob("step_*.png"))
        if grids:
            with Image.open(grids[-1]) as grid:
                samples = grid.copy()
    return save_pretrained(
        generator.eval(),
        out_dir,
        architecture=record["architecture"],
        model_config=record["model_config"],
        training=training,
        dataset={"name": record["data"]["dataset"], **record["data"].get("card", {}), **(dataset or {})},
        overwrite=overwrite,
        notes=notes,
        samples=samples,
    )
