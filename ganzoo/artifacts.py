"""Pretrained directories in the Hub layout: config.json, model.safetensors, README.md (the model
card) and samples.png; the same layout on disk, in a plugin package and on the Hugging Face Hub.
Reading one back into a generator and writing one, atomically. Nothing is pickled, ever.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
from pathlib import Path
from typing import Any

from ganzoo import __version__
from ganzoo.errors import ArtifactError, GanzooError
from ganzoo.fileio import atomic_directory

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
DISCRIMINATOR = "discriminator.safetensors"
"""The discriminators of a model exported for fine-tuning (``--with-discriminator``); readers
that do not know it load the generator as before."""
CARD = "README.md"
SAMPLES = "samples.png"


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


def read_safetensors(path: Path) -> dict:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not path.is_file():
        raise ArtifactError(f"{path} is missing; re-export or re-download the model")
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"{path} is corrupt or not safetensors ({exc}); re-download the model") from None


def describe_generator(generator) -> dict[str, Any]:
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


def check_replaceable(out_dir: Path, overwrite: bool) -> None:
    """Refuse to write over anything but an empty folder or, with ``overwrite``, a pretrained
    directory: never a training run, its parent or any other folder of files."""
    if out_dir.exists() and not out_dir.is_dir():
        raise ArtifactError(f"{out_dir} is a file; give -o a folder to create")
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return
    if not overwrite:
        raise ArtifactError(f"{out_dir} exists and is not empty; pass --overwrite to replace it")
    if not (out_dir / CONFIG).is_file() or (out_dir / "run.json").exists():
        raise ArtifactError(f"{out_dir} is not a pretrained directory (a run, or other files); --overwrite "
                            "only replaces a pretrained directory, so pick another -o")


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
    discriminator: dict | None = None,
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
    check_replaceable(out_dir, overwrite)
    if dataclasses.is_dataclass(model_config):
        model_config = dataclasses.asdict(model_config)
    tensors = {k: v.detach().contiguous().cpu() for k, v in generator.state_dict().items()}
    config = {
        "ganzoo_version": __version__,
        "architecture": architecture,
        "plugin": _plugin_of(architecture),
        "config": model_config,
        **describe_generator(generator),
        "dtype": str(next(iter(tensors.values())).dtype).removeprefix("torch."),
        "training": training or {},
        "dataset": dataset or {},
        "notes": notes,
    }
    if discriminator:
        config["discriminator"] = DISCRIMINATOR
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        with atomic_directory(out_dir) as tmp:
            save_file(tensors, tmp / WEIGHTS)
            if discriminator:
                save_file({k: v.detach().contiguous().cpu() for k, v in discriminator.items()}, tmp / DISCRIMINATOR)
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
    except OSError as exc:  # e.g. a full disk: atomic_directory left any earlier export untouched
        raise ArtifactError(f"could not write {out_dir}: {exc.strerror or exc}; free space or choose "
                            "another -o") from None
    return out_dir


def class_names(config: dict[str, Any]) -> list[str] | None:
    """The class names a conditional model was trained with (class folders, a Hugging Face
    ClassLabel), from its config.json's dataset facts; None when it has none."""
    names = (config.get("dataset") or {}).get("class_names")
    return list(names) if names else None


def class_index(label: str | int | None, generator: Any, model: str) -> int | None:
    """``--label`` as a class number: a number as it is, or a class name looked up in the
    model's class names (a one-line error naming the nearest when it has none such)."""
    from ganzoo.suggest import did_you_mean

    if label is None or isinstance(label, int):
        return label
    if label.strip().lstrip("-").isdigit():
        return int(label)
    names = class_names(getattr(generator, "pretrained_config", None) or {})
    if not names:
        raise ArtifactError(f"{model} has no class names; give --label as a class number")
    if label not in names:
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise ArtifactError(f"{model} has no class {label!r} (its classes: {shown}){did_you_mean(label, names)}")
    return names.index(label)
