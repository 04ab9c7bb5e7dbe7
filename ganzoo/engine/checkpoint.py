"""Training checkpoints, written atomically: a temporary directory, then one rename.

A checkpoint directory ``checkpoints/step_00001000/`` holds ``model.safetensors`` (every
network and the EMA copy) and ``trainer.pt`` (optimizer, scaler and RNG states, the step), read
back with ``torch.load(weights_only=True)``. A kill at any moment leaves either the previous
complete checkpoints or the new one, never half of one. ``checksums.json`` holds the sha256 of
both files; every load verifies it, so flipped bytes are an error, never a silent resume
(checkpoints written before it existed load unverified).
"""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path
from typing import Any, Collection, Iterable, Mapping

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganzoo.errors import ArtifactError, GanzooError
from ganzoo.fileio import atomic_directory, remove_directory, sha256_of

_STEP_DIR = re.compile(r"^step_(\d+)$")
WEIGHTS = "model.safetensors"
STATE = "trainer.pt"
CHECKSUMS = "checksums.json"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / "checkpoints"
    if not root.is_dir():
        return []
    found = []
    for child in root.iterdir():
        match = _STEP_DIR.match(child.name)
        if match and child.is_dir():
            found.append((int(match.group(1)), child))
    return sorted(found)


def checkpoint_step(path: Path) -> int:
    """The step of checkpoint directory ``path`` (``step_00001000`` -> 1000)."""
    return int(_STEP_DIR.match(Path(path).name).group(1))


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def reached_end(run_dir: Path, train_config: Mapping[str, Any]) -> bool:
    """Whether the run trained to its end: its ``steps``, or its ``time_limit`` in training seconds."""
    latest = latest_checkpoint(run_dir)
    if latest is None:
        return False
    if checkpoint_step(latest) >= train_config.get("steps", math.inf):
        return True
    limit = train_config.get("time_limit", 0)
    return bool(limit) and load_checkpoint_state(latest)["train_seconds"] >= limit


def best_step(records: Iterable[Mapping[str, Any]], metric: str, *, lower_is_better: bool,
              steps: Collection[int] | None = None) -> tuple[int, float] | None:
    """The step and value of the best finite ``eval_<metric>`` among logged ``records``
    (only ``steps``, where given: e.g. the steps that have a checkpoint); the earliest wins a
    tie. None when no record qualifies."""
    key = f"eval_{metric}"
    best: tuple[int, float] | None = None
    for record in records:
        value, step = record.get(key), record.get("step")
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            continue
        if steps is not None and step not in steps:
            continue
        if best is None or (value < best[1] if lower_is_better else value > best[1]):
            best = (int(step), float(value))
    return best


def save_checkpoint(
    run_dir: Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any], keep: int,
    *, protect: Collection[int] = (),
) -> Path:
    """Write the checkpoint for ``step`` atomically and keep only the newest ``keep``, and
    those of the ``protect`` steps (e.g. the best-scoring one) besides."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:08d}"
    with atomic_directory(final) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp / WEIGHTS)
        torch.save(state, tmp / STATE)
        (tmp / CHECKSUMS).write_text(json.dumps({name: sha256_of(tmp / name) for name in (WEIGHTS, STATE)}) + "\n")
    for old_step, old in list_checkpoints(run_dir)[:-keep]:
        if old_step not in protect:
            remove_directory(old)
    return final


def remove_partial_checkpoints(run_dir: Path) -> None:
    """Delete temporary directories left by a process killed while writing a checkpoint."""
    root = Path(run_dir) / "checkpoints"
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith((".tmp-", ".stale-")):
                shutil.rmtree(child, ignore_errors=True)


def verify_checkpoint(path: Path, name: str | None = None) -> None:
    """Check ``name`` (default: both files) of checkpoint ``path`` against its checksums.json;
    an ``ArtifactError`` on a mismatch. A checkpoint without checksums passes unverified."""
    listed = Path(path) / CHECKSUMS
    if not listed.is_file():
        return
    try:
        expected = json.loads(listed.read_text())
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"checkpoint {path} has an unreadable {CHECKSUMS}: {exc}") from None
    for file in ([name] if name else [WEIGHTS, STATE]):
        if sha256_of(Path(path) / file) != expected.get(file):
            raise ArtifactError(f"checkpoint {path} is corrupt: {file} does not match its sha256 in {CHECKSUMS}")


def latest_intact_checkpoint(run_dir: Path) -> tuple[Path | None, list[str]]:
    """The newest checkpoint that verifies, and why each newer one was passed over."""
    passed_over = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            verify_checkpoint(path)
        except ArtifactError as exc:
            passed_over.append(str(exc))
            continue
        return path, passed_over
    return None, passed_over


def load_checkpoint_weights(path: Path) -> dict[str, torch.Tensor]:
    verify_checkpoint(path, WEIGHTS)
    try:
        return load_file(Path(path) / WEIGHTS)
    except (SafetensorError, OSError) as exc:
        raise ArtifactError(f"checkpoint {path} has unreadable weights: {exc}") from None


def load_checkpoint_state(path: Path) -> dict[str, Any]:
    verify_checkpoint(path, STATE)
    try:
        return torch.load(Path(path) / STATE, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable state is the same problem
        raise ArtifactError(f"checkpoint {path} has an unreadable trainer state: {exc}") from None


# -- the layout of a checkpoint's weights ---------------------------------------------------------
# model.safetensors holds the recipe's state dict under "recipe." and, when the run keeps an EMA,
# the EMA copy of ``recipe.generators`` under "ema."; so the exported generator ``NAME`` is
# "ema.NAME." (or "recipe.generators.NAME." without an EMA). trainer.pt records the recipe's
# export_name (checkpoints written before it did export "generator").

RECIPE_PREFIX = "recipe."
EMA_PREFIX = "ema."


def pack_weights(recipe_state: Mapping[str, torch.Tensor],
                 ema_state: Mapping[str, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """One flat dict of the recipe's and the EMA's tensors, as model.safetensors stores them."""
    tensors = {RECIPE_PREFIX + k: v for k, v in recipe_state.items()}
    if ema_state is not None:
        tensors.update({EMA_PREFIX + k: v for k, v in ema_state.items()})
    return tensors


def unpack_weights(tensors: Mapping[str, torch.Tensor], part: str) -> dict[str, torch.Tensor]:
    """The tensors of one part, ``RECIPE_PREFIX`` or ``EMA_PREFIX``, with the prefix removed."""
    return {k[len(part):]: v for k, v in tensors.items() if k.startswith(part)}


def generator_weights(tensors: Mapping[str, torch.Tensor], name: str = "generator", *,
                      use_ema: bool = True) -> dict[str, torch.Tensor]:
    """The weights of the recipe's generator ``name``: its EMA when asked for and kept."""
    ema = unpack_weights(tensors, EMA_PREFIX)
    if use_ema and ema:
        return unpack_weights(ema, f"{name}.")
    return unpack_weights(unpack_weights(tensors, RECIPE_PREFIX), f"generators.{name}.")


def export_name(state: Mapping[str, Any]) -> str:
    """The generator a checkpoint exports (``Recipe.export_name`` when it was written)."""
    return str(state.get("export_name", "generator"))


def load_fitting(module: torch.nn.Module, weights: Mapping[str, torch.Tensor], path: Path) -> None:
    """``module.load_state_dict(weights)``, or one line naming the first tensor that the
    networks built from the run's settings do not have, or have in another shape (a resume, a fine-tune)."""
    own = module.state_dict()
    missing = sorted(set(own) - set(weights))
    unexpected = sorted(set(weights) - set(own))
    from torch.nn.parameter import is_lazy

    shaped = [k for k in own if k in weights and not is_lazy(own[k]) and own[k].shape != weights[k].shape]
    fix = "use the settings it was trained with (its run.json or config.json), or start a new run"
    if shaped:
        key = shaped[0]
        raise GanzooError(f"{path.name} does not fit the networks built from the run's settings: {key} is "
                          f"{list(weights[key].shape)} in the file but {list(own[key].shape)} in the model "
                          f"({len(shaped)} tensors differ); {fix}")
    if missing or unexpected:
        key = (missing or unexpected)[0]
        where = "has no" if missing else "has an extra"
        raise GanzooError(f"{path.name} does not fit the networks built from the run's settings: it {where} "
                          f"{key} ({len(missing)} missing, {len(unexpected)} extra tensors); {fix}")
    module.load_state_dict(weights)

