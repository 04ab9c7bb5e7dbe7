"""``ganzoo runs DIR...``: what each training run is and where it stands, from its run.json,
log.jsonl, checkpoints and lock; nothing is loaded but JSON."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine.lock import holder
from ganzoo.engine.run import RUN_FILE, read_run
from ganzoo.fileio import read_jsonl


def find_runs(paths: list[str | Path]) -> list[Path]:
    """The run directories among ``paths`` and their immediate subfolders, sorted."""
    found: list[Path] = []
    for path in map(Path, paths):
        if (path / RUN_FILE).is_file():
            found.append(path)
        elif path.is_dir():
            found += sorted(child for child in path.iterdir() if (child / RUN_FILE).is_file())
    return found


def describe_run(run_dir: Path) -> dict[str, Any]:
    """The run's facts: architecture, data, progress, speed, last losses, best metrics and state
    (running, finished, diverged or stopped)."""
    record = read_run(run_dir)
    train = record.get("train_config", {})
    log = run_dir / "log.jsonl"
    records = read_jsonl(log) if log.is_file() else []
    losses = [r for r in records if "g_loss" in r]
    last = losses[-1] if losses else {}
    speeds = [r["images_per_s"] for r in losses[-20:] if "images_per_s" in r]
    checkpoints = [step for step, _ in ckpt.list_checkpoints(run_dir)]
    best: dict[str, Any] = {}
    for name in [n for n in str(train.get("eval_metrics", "")).split(",") if n.strip()]:
        values = [(r[f"eval_{name}"], r["step"]) for r in records if isinstance(r.get(f"eval_{name}"), (int, float))]
        if values:
            from ganzoo.metrics.evaluate import lower_is_better

            value, step = (min if lower_is_better(name) else max)(values)
            best[name] = {"value": value, "step": step}
    step = max([last.get("step", 0), *checkpoints], default=0)
    diverged = any(isinstance(v, float) and not math.isfinite(v) for r in losses[-3:] for v in r.values())
    pid = holder(run_dir)
    state = ("running" if pid else "finished" if ckpt.reached_end(run_dir, train)
             else "diverged" if diverged else "stopped")
    return {"run": str(run_dir), "architecture": record.get("architecture"),
            "data": (record.get("data") or {}).get("dataset") or (record.get("data") or {}).get("path"),
            "step": step, "steps": train.get("steps"), "images_per_s": sum(speeds) / len(speeds) if speeds else None,
            "d_loss": last.get("d_loss"), "g_loss": last.get("g_loss"), "best": best,
            "checkpoints": checkpoints, "state": state, "pid": pid}
