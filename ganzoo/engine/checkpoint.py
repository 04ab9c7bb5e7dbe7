"""Training checkpoints, written atomically: a temporary directory, then one rename.

A checkpoint directory ``checkpoints/step_00001000/`` holds ``model.safetensors`` (every
network and the EMA copy) and ``trainer.pt`` (optimizer, scaler and RNG states, the step), read
back with ``torch.load(weights_only=True)``. A kill at any moment leaves either the previous
complete checkpoints or the new one, never half of one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from ganzoo.errors import ArtifactError
from ganzoo.fileio import atomic_directory, remove_directory

_STEP_DIR = re.compile(r"^step_(\d+)$")
WEIGHTS = "model.safetensors"
STATE = "trainer.pt"


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


def latest_checkpoint(run_dir: Path) -> Path | None:
    found = list_checkpoints(run_dir)
    return found[-1][1] if found else None


def save_checkpoint(
    run_dir: Path, step: int, tensors: dict[str, torch.Tensor], state: dict[str, Any], keep: int
) -> Path:
    """Write the checkpoint for ``step`` atomically and keep only the newest ``keep``."""
    root = Path(run_dir) / "checkpoints"
    root.mkdir(parents=True, exist_ok=True)
    final = root / f"step_{step:08d}"
    with atomic_directory(final) as tmp:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, tmp / WEIGHTS)
        torch.save(state, tmp / STATE)
    for _, old in list_checkpoints(run_dir)[:-keep]:
        remove_directory(old)
    return final


def remove_partial_checkpoints(run_dir: Path) -> None:
    """Delete temporary directories left by a process killed while writing a checkpoint."""
    root = Path(run_dir) / "checkpoints"
    if root.is_dir():
        for child in root.iterdir():
            if child.name.startswith((".tmp-", ".stale-")):
                shutil.rmtree(child, ignore_errors=True)


def load_checkpoint_weights(path: Path) -> dict[str, torch.Tensor]:
    try:
        return load_file(Path(path) / WEIGHTS)
    except (SafetensorError, OSError) as exc:
        raise ArtifactError(f"checkpoint {path} has unreadable weights: {exc}") from None


def load_checkpoint_state(path: Path) -> dict[str, Any]:
    try:
        return torch.load(Path(path) / STATE, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable state is the same problem
        raise ArtifactError(f"checkpoint {path} has an unreadable trainer state: {exc}") from None
