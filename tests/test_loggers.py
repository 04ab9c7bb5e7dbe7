"""``--log tensorboard,csv``: event files read back with tensorboard's own reader (losses,
evaluation figures, preview grids, hyperparameters), the long-format CSV, and loss_curve.png
with a panel per evaluation metric."""

from __future__ import annotations

import csv

from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from ganzoo.engine import start_run

TINY = {"g_hidden": 8, "d_hidden": 8, "latent_dim": 4, "batch_size": 8, "steps": 4, "log_every": 2,
        "checkpoint_every": 2, "sample_every": 2, "eval_metrics": "swd", "eval_every": 2, "eval_n": 16}


def test_tensorboard_and_csv_hold_what_log_jsonl_holds(tmp_path, mnist_dir):
    run = tmp_path / "run"
    start_run("mlp", mnist_dir, run, settings={**TINY, "loggers": "tensorboard,csv"}, progress=False).fit()
    events = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    events.Reload()
    tags = events.Tags()
    assert {"train/d_loss", "train/g_loss", "eval/swd"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("train/g_loss")] == [2, 4]
    assert [e.step for e in events.Scalars("eval/swd")] == [0, 2, 4]
    assert [e.step for e in events.Images("samples")] == [2, 4]
    with open(run / "log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"time", "step", "name", "value"} == set(rows[0])
    assert {(r["step"], r["name"]) for r in rows} >= {("2", "g_loss"), ("4", "eval_swd")}
    hparams = [p for p in (run / "tensorboard").rglob("events.out.tfevents.*")]
    assert len(hparams) >= 2  # the training scalars and the hparams summary


def test_loss_curve_has_a_panel_per_metric(tmp_path, mnist_dir):
    plain, evaluated = tmp_path / "plain", tmp_path / "evaluated"
    start_run("mlp", mnist_dir, plain, settings={**TINY, "eval_metrics": ""}, progress=False).fit()
    start_run("mlp", mnist_dir, evaluated, settings=TINY, progress=False).fit()
    with Image.open(plain / "loss_curve.png") as a, Image.open(evaluated / "loss_curve.png") as b:
        assert b.size[1] > a.size[1]  # one more panel


def test_an_unknown_logger_is_one_line(ganzoo, one_line_error, mnist_dir, tmp_path):
    line = one_line_error(ganzoo("train", "mlp", "--data", mnist_dir, "-o", "r", "--log", "wandb"))
    assert "loggers must be tensorboard and/or csv" in line and not (tmp_path / "r").exists()
