"""Keeping and exporting the checkpoint that scored best during training (keep_best, --best)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.engine import TrainConfig, resume_run, start_run
from ganzoo.engine.checkpoint import best_step, list_checkpoints
from ganzoo.errors import GanzooError
from ganzoo.hub import export_run

TINY = {"g_hidden": 32, "d_hidden": 32, "latent_dim": 16, "batch_size": 32}
BEST = {"eval_metrics": "swd", "eval_every": 2, "eval_n": 64, "keep_best": "swd", "checkpoint_every": 2,
        "keep_checkpoints": 1, "log_every": 2, "sample_every": 1000}


def test_best_step_picks_the_best_finite_value_among_the_given_steps():
    records = [{"step": 0, "eval_swd": 1.0}, {"step": 2, "g_loss": 0.1}, {"step": 2, "eval_swd": 0.5},
               {"step": 4, "eval_swd": math.nan}, {"step": 6, "eval_swd": 0.2}, {"step": 8, "eval_swd": 0.2}]
    assert best_step(records, "swd", lower_is_better=True) == (6, 0.2)  # the earlier of a tie
    assert best_step(records, "swd", lower_is_better=True, steps={2, 4}) == (2, 0.5)  # NaN never wins
    assert best_step(records, "swd", lower_is_better=False) == (0, 1.0)
    assert best_step(records, "swd", lower_is_better=True, steps={3}) is None
    assert best_step(records, "ms-ssim", lower_is_better=True) is None


@pytest.mark.parametrize("settings, message", [
    ({"keep_best": "swd"}, "keep_best=swd must be one of the eval_metrics"),
    ({"keep_best": "swd", "eval_metrics": "swd", "eval_every": 300, "checkpoint_every": 200},
     "eval_every (300) must be a multiple of checkpoint_every (200)"),
])
def test_keep_best_settings_that_cannot_work_are_refused(settings, message):
    with pytest.raises(GanzooError, match=re.escape(message)):
        TrainConfig(**settings)


def _make_step_best(run_dir: Path, step: int) -> None:
    """Rewrite the log as a run whose quality peaked at ``step`` would have logged it."""
    log = run_dir / "log.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    for record in records:
        if "eval_swd" in record:
            record["eval_swd"] = 1e-6 if record["step"] == step else record["eval_swd"] + 1.0
    log.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_the_best_checkpoint_survives_rotation_and_resume_and_is_exported(mnist_dir, tmp_path):
    run_dir = tmp_path / "run"
    start_run("mlp", mnist_dir, run_dir, settings={**TINY, **BEST, "steps": 2}, progress=False).fit()
    _make_step_best(run_dir, 2)
    resume_run(run_dir, steps=8, progress=False).fit()
    evaluated = [r["step"] for r in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines())
                 if "eval_swd" in r]
    assert evaluated == [0, 2, 4, 6, 8]
    # keep_checkpoints=1 rotates away 4 and 6; the best (2) stays beside the newest (8)
    assert [step for step, _ in list_checkpoints(run_dir)] == [2, 8]

    best_dir = export_run(run_dir, tmp_path / "best", best="swd")
    latest_dir = export_run(run_dir, tmp_path / "latest")
    for exported, step in ((best_dir, 2), (latest_dir, 8)):
        checkpoint = load_file(run_dir / "checkpoints" / f"step_{step:08d}" / "model.safetensors")
        weights = load_file(exported / "model.safetensors")
        ema = {k.removeprefix("ema.generator."): v for k, v in checkpoint.items() if k.startswith("ema.generator.")}
        assert weights.keys() == ema.keys()
        assert all(torch.equal(weights[k], ema[k]) for k in weights), f"{exported} is not step {step}"
    training = json.loads((best_dir / "config.json").read_text())["training"]
    assert training["steps"] == 2 and training["images_seen"] == 64
    assert training["chosen_by"] == "best swd during training (1e-06 on 64 images, step 2)"
    assert "chosen_by" not in json.loads((latest_dir / "config.json").read_text())["training"]


def test_export_best_without_logged_metric_is_one_line(mnist_dir, tmp_path, ganzoo, one_line_error):
    run_dir = tmp_path / "run"
    start_run("mlp", mnist_dir, run_dir, settings={**TINY, "steps": 2, "checkpoint_every": 2,
                                                   "sample_every": 1000}, progress=False).fit()
    result = ganzoo("export", run_dir, "-o", tmp_path / "out", "--best", "swd")
    assert "logged no eval_swd at a step that has a checkpoint" in one_line_error(result)
    assert not (tmp_path / "out").exists()


def test_an_exported_translator_shows_the_preview_grid_of_its_own_checkpoint(tmp_path):
    from ganzoo.export import preview_grid

    (tmp_path / "samples").mkdir()
    for step in (500, 1000, 1500):
        (tmp_path / "samples" / f"step_{step:08d}.png").write_bytes(b"")
    grid = preview_grid(tmp_path, tmp_path / "checkpoints" / "step_00001200")
    assert grid == tmp_path / "samples" / "step_00001000.png"  # not the later step-1500 grid
    assert preview_grid(tmp_path, tmp_path / "checkpoints" / "step_00000400") is None
    assert preview_grid(tmp_path, tmp_path / "checkpoints" / "step_00001500").name == "step_00001500.png"
