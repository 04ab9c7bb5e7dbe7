"""From a training run to a pretrained directory, and evaluation figures into its card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ganzoo.artifacts import (
    CARD, CONFIG, build_generator, check_replaceable, describe_generator, load_weights, read_config,
    save_pretrained,
)
from ganzoo.errors import ArtifactError


def load_from_run(run_dir: Path, use_ema: bool, checkpoint: Path | None = None):
    """The generator of ``checkpoint`` (default: the run's latest) and its config."""
    from ganzoo.engine import checkpoint as ckpt
    from ganzoo.engine.run import read_run, select_checkpoint

    record = read_run(run_dir)
    checkpoint = checkpoint or select_checkpoint(run_dir)[0]
    config = {"architecture": record["architecture"], "config": record["model_config"],
              "dataset": {"name": record["data"].get("dataset"), **record["data"].get("card", {})}}
    generator = build_generator(config, run_dir)
    name = ckpt.export_name(ckpt.load_checkpoint_state(checkpoint))
    weights = ckpt.generator_weights(ckpt.load_checkpoint_weights(checkpoint), name, use_ema=use_ema)
    load_weights(generator, weights, checkpoint)
    config.update(describe_generator(generator))
    return generator, config


def record_evaluation(directory: str | Path, report: dict[str, Any]) -> Path:
    """Add an evaluation report's figures to the pretrained ``directory``: config.json's
    ``evaluation`` (a figure for the same metric, data and split is replaced) and a re-rendered
    model card. The weights are not touched."""
    from ganzoo.card import render_card
    from ganzoo.fileio import atomic_write_text
    from ganzoo.metrics.report import card_entries

    directory = Path(directory)
    config = read_config(directory)
    new = card_entries(report)
    replaced = {(e["metric"], e["dataset"], e["split"]) for e in new}
    kept = [e for e in config.get("evaluation") or [] if (e["metric"], e["dataset"], e["split"]) not in replaced]
    config["evaluation"] = kept + new
    atomic_write_text(directory / CONFIG, json.dumps(config, indent=2) + "\n")
    atomic_write_text(directory / CARD, render_card(directory.name, config))
    return directory


def preview_grid(run_dir: Path, checkpoint: Path) -> Path | None:
    """The run's last preview grid drawn at or before ``checkpoint``'s step (both are named
    ``step_NNNNNNNN``), so that an exported earlier checkpoint is not shown by later samples."""
    grids = sorted(path for path in (run_dir / "samples").glob("step_*.png") if path.stem <= checkpoint.name)
    return grids[-1] if grids else None


def export_run(run_dir: str | Path, out_dir: str | Path, *, overwrite: bool = False,
               use_ema: bool = True, dataset: dict[str, Any] | None = None,
               notes: str = "", best: str | None = None, with_discriminator: bool = False) -> Path:
    """Turn a training run's latest checkpoint, or with ``best`` the one that scored best on
    that metric during training, into a pretrained directory.

    ``dataset`` adds or overrides facts about the training data for the card (``name``,
    ``license``, ``license_note``, ``hf_id``); ``notes`` is free text for the card.
    ``with_discriminator`` adds the checkpoint's discriminators (discriminator.safetensors), for
    fine-tuning with ``ganzoo train --init-from``.
    """
    from ganzoo.engine.checkpoint import load_checkpoint_state
    from ganzoo.engine.run import read_run, select_checkpoint

    run_dir = Path(run_dir)
    record = read_run(run_dir)
    out = Path(out_dir).resolve()
    if out == run_dir.resolve() or out in run_dir.resolve().parents:
        raise ArtifactError(f"-o {out_dir} would replace the run {run_dir} itself; export to a new folder")
    check_replaceable(Path(out_dir), overwrite)  # before any work
    checkpoint, chosen_by = select_checkpoint(run_dir, best)
    generator, _ = load_from_run(run_dir, use_ema, checkpoint)
    state = load_checkpoint_state(checkpoint)
    discriminator = None
    if with_discriminator:
        from ganzoo.engine import checkpoint as ckpt

        recipe = ckpt.unpack_weights(ckpt.load_checkpoint_weights(checkpoint), ckpt.RECIPE_PREFIX)
        discriminator = ckpt.unpack_weights(recipe, "discriminators.")
    training = {**(state.get("summary") or {}), **chosen_by}
    samples = None
    if generator.latent_dim is None:  # image-to-image: a preview grid of the run shows what it does
        grid_path = preview_grid(run_dir, checkpoint)
        if grid_path is not None:
            from PIL import Image

            with Image.open(grid_path) as grid:
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
        discriminator=discriminator,
    )
