"""``ganzoo compare``: candidates (architecture, loss, settings) trained on the same data, to the
same budget (images shown to the discriminator, or minutes of training), with the same metrics
logged during training at the same points, over the same seeds; then a table, a JSON report and
a chart.

Each candidate and seed is an ordinary run directory under the output directory, trained by
``ganzoo train`` in its own process (so its peak memory is its own). A comparison that stops is
resumed by running it again: finished runs are kept, unfinished ones resume from their last
checkpoint, missing ones start.
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganzoo.errors import GanzooError
from ganzoo.fileio import atomic_write_text, read_jsonl
from ganzoo.settings import parse_key_values

REPORT = "compare.json"
TABLE = "compare.md"
CHART = "compare.png"
PEAKS = "peak_memory.json"
"""In each run directory: the peak resident memory of each process that trained it."""
EVALUATIONS = 5
"""Points of the metric curve: the budget is split into this many evaluations (plus step 0)."""


@dataclass(frozen=True)
class Candidate:
    """``ARCH[:LOSS][,key=value...]``."""

    text: str
    architecture: str
    loss: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.=-]+", "_", self.text.replace(":", "-").replace(",", "_"))


def parse_candidate(text: str) -> Candidate:
    head, *pairs = [part.strip() for part in text.split(",")]
    architecture, _, loss = head.partition(":")
    if not architecture:
        raise GanzooError(f"candidate {text!r}: write ARCH[:LOSS][,key=value...], e.g. dcgan:hinge,spectral_norm=true")
    settings = parse_key_values(pairs, flag=f"candidate {text!r}")
    return Candidate(text, architecture, loss or None, settings)


@dataclass(frozen=True)
class Budget:
    """What every run gets: ``images`` shown to the discriminator, or ``seconds`` of training
    (samples, evaluations and checkpoints not counted) on this machine."""

    images: int | None = None
    seconds: float | None = None

    def describe(self) -> str:
        if self.images is not None:
            return f"{self.images:,} images shown to the discriminator per run"
        minutes = self.seconds / 60
        return (f"{_number(minutes, 3)} minutes of training per run (samples, evaluations and checkpoints not "
                "counted), so the images each run saw follow from its speed on this machine")


TIME_UNITS = {"s": 1, "min": 60, "h": 3600}
IMAGE_UNITS = {"": 1, "k": 1e3, "m": 1e6}
TIME_STEPS = 2**31 - 1
"""The step cap of a run with a time budget: its time limit ends it."""


def parse_budget(text: str) -> Budget:
    """Images shown to D (``150000``, ``150k``, ``1.5M``) or training time (``90s``, ``30min``, ``1.5h``)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(k|m|s|min|h)?\s*", text, flags=re.IGNORECASE)
    if not match:
        raise GanzooError(f"--budget {text!r}: give the images shown to the discriminator (150000, 150k, 1.5M) "
                          "or the training time of each run (90s, 30min, 1.5h)")
    value, unit = float(match.group(1)), (match.group(2) or "").lower()
    if unit in TIME_UNITS:
        if value <= 0:
            raise GanzooError(f"--budget {text!r} is no time; give more than 0")
        return Budget(seconds=value * TIME_UNITS[unit])
    images = value * IMAGE_UNITS[unit]
    if images < 1:
        raise GanzooError(f"--budget {text!r} is no images; give at least one batch")
    return Budget(images=int(images))


@dataclass
class PlannedRun:
    candidate: Candidate
    seed: int
    run_dir: Path
    settings: dict[str, Any]
    steps: int


def plan(candidates: list[Candidate], data: str | Path, out_dir: Path, *, budget: Budget, metrics: list[str],
         seeds: int, eval_n: int, common: dict[str, Any]) -> list[PlannedRun]:
    """Every run of the comparison, checked before any of them trains: names, settings, the
    metrics against each candidate and the data (a Trainer is built for each and thrown away)."""
    from ganzoo.engine.run import get_architecture, resolve_settings, start_run

    if seeds < 1:
        raise GanzooError(f"--seeds {seeds}: give at least 1")
    if not candidates:
        raise GanzooError("give at least one candidate, e.g. dcgan:bce dcgan:hinge,spectral_norm=true")
    if len({c.slug for c in candidates}) != len(candidates):
        raise GanzooError("the same candidate is given twice")
    runs = []
    for candidate in candidates:
        arch = get_architecture(candidate.architecture)
        settings = {**common, **candidate.settings}
        if candidate.loss:
            settings["loss"] = candidate.loss
        _, train = resolve_settings(arch, settings)
        if budget.images is not None:
            steps = max(1, math.ceil(budget.images / (train.batch_size * train.d_steps)))
            every = math.ceil(steps / EVALUATIONS)
            settings.update({"steps": steps, "eval_every": every, "checkpoint_every": every})
        else:
            if train.lr_decay_steps:
                raise GanzooError(f"candidate {candidate.text!r}: lr_decay_steps counts steps, which a time budget "
                                  "does not fix; give an image budget or set lr_decay_steps=0")
            steps = TIME_STEPS  # the time limit ends the run, evaluated EVALUATIONS times on the way
            settings.update({"steps": steps, "time_limit": budget.seconds, "eval_every": steps,
                             "eval_every_seconds": budget.seconds / EVALUATIONS, "checkpoint_every": steps})
        settings.update({"eval_metrics": ",".join(metrics), "eval_n": eval_n, "sample_every": steps})
        with tempfile.TemporaryDirectory(prefix="ganzoo-compare-check-") as scratch:
            trainer = start_run(candidate.architecture, data, Path(scratch) / "run", progress=False,
                                settings={**settings, "steps": 1})
            if trainer.run_lock is not None:
                trainer.run_lock.release()
        for seed in range(seeds):
            runs.append(PlannedRun(candidate, seed, out_dir / f"{candidate.slug}-seed{seed}",
                                   {**settings, "seed": seed}, steps))
    return runs


def run_state(run: PlannedRun) -> str:
    """"finished", "started" (a checkpoint to resume from, or none yet) or "new"."""
    from ganzoo.engine.checkpoint import reached_end

    if not (run.run_dir / "run.json").is_file():
        return "new"
    return "finished" if reached_end(run.run_dir, run.settings) else "started"


def train_run(run: PlannedRun, data: str | Path, log: Path) -> dict[str, Any]:
    """Train (or resume) one run in a ``ganzoo train`` process; its peak memory and exit."""
    state = run_state(run)
    if state == "new":
        args = ["train", run.candidate.architecture, "--data", str(data), "-o", str(run.run_dir), "--no-progress",
                *[part for key, value in run.settings.items() for part in ("--set", f"{key}={json.dumps(value)}")]]
    else:
        args = ["train", run.candidate.architecture, "-o", str(run.run_dir), "--resume", "--no-progress"]
    with open(log, "a") as output:
        process = subprocess.Popen([sys.executable, "-m", "ganzoo", *args], stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise GanzooError(f"{run.run_dir.name} stopped with exit code {code}; see {log}, then run the same "
                          "compare again to resume it")
    peaks = _peaks(run)
    peaks.append(usage.ru_maxrss * 1024)  # one entry per process that trained the run
    atomic_write_text(run.run_dir / PEAKS, json.dumps(peaks) + "\n")
    return {"peak_memory_bytes": max(peaks)}


def _peaks(run: PlannedRun) -> list[int]:
    path = run.run_dir / PEAKS
    return json.loads(path.read_text()) if path.is_file() else []


def collect(run: PlannedRun, metrics: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    """One run's figures from its log: the metrics at the budget and along the way, speed, time."""
    from ganzoo.engine.checkpoint import latest_checkpoint, load_checkpoint_state

    records = read_jsonl(run.run_dir / "log.jsonl")
    speeds = [r["images_per_s"] for r in records if "images_per_s" in r]
    state = load_checkpoint_state(latest_checkpoint(run.run_dir))
    summary = state.get("summary") or {}
    per_step = summary.get("batch_size", 1) * summary.get("d_steps", 1)
    curves = {m: [[r["step"] * per_step, r[f"eval_{m}"]] for r in records if f"eval_{m}" in r] for m in metrics}
    record = json.loads((run.run_dir / "run.json").read_text())
    return {"candidate": run.candidate.text, "seed": run.seed, "run": str(run.run_dir),
            "final": {m: curve[-1][1] for m, curve in curves.items() if curve}, "curves": curves,
            "images_per_s": statistics.mean(speeds) if speeds else None, "hardware": summary.get("hardware"),
            "train_seconds": summary.get("train_seconds"), "images_seen": summary.get("images_seen"),
            "image": "x".join(map(str, _image_shape(run))),
            "parameters": extra.get("parameters"), "peak_memory_bytes": extra.get("peak_memory_bytes"),
            "train_config": record["train_config"], "model_config": record["model_config"]}


def _image_shape(run: PlannedRun) -> list[int]:
    """The shape of the images the run's generator makes (from its checkpoint's config)."""
    from ganzoo.export import load_from_run

    _, config = load_from_run(run.run_dir, use_ema=False)
    return list(config["image_shape"])


def parameters(run: PlannedRun) -> dict[str, int]:
    from safetensors import safe_open

    from ganzoo.engine.checkpoint import latest_checkpoint

    counts = {"generator": 0, "discriminator": 0}
    with safe_open(str(latest_checkpoint(run.run_dir) / "model.safetensors"), "pt") as weights:
        for key in weights.keys():
            for part, prefix in (("generator", "recipe.generators."), ("discriminator", "recipe.discriminators.")):
                if key.startswith(prefix) and "running_" not in key and "num_batches" not in key:
                    shape = weights.get_slice(key).get_shape()
                    counts[part] += math.prod(shape)
    return counts


def compare(candidates: list[str], data: str | Path, out_dir: str | Path, *, budget: str, metrics: list[str],
            seeds: int = 1, eval_n: int = 1000, common: dict[str, Any] | None = None, say=print) -> dict[str, Any]:
    """Run (or resume) the comparison in ``out_dir``; returns the report also written there as
    compare.json, with compare.md (the table) and compare.png (the curves)."""
    from ganzoo.metrics.evaluate import build_metric, lower_is_better

    out_dir = Path(out_dir)
    if not metrics:
        raise GanzooError("give at least one metric with -m (see `ganzoo list`)")
    for name in metrics:
        build_metric(name)  # an unknown name is a one-line error now
    limit = parse_budget(budget)
    parsed = [parse_candidate(c) for c in candidates]
    runs = plan(parsed, data, out_dir, budget=limit, metrics=metrics, seeds=seeds, eval_n=eval_n,
                common=dict(common or {}))
    out_dir.mkdir(parents=True, exist_ok=True)
    for index, run in enumerate(runs, 1):
        state = run_state(run)
        if state == "finished":
            say(f"[{index}/{len(runs)}] {run.run_dir.name}: finished earlier, kept")
            continue
        goal = f"{run.steps} steps" if limit.images is not None else f"{_number(limit.seconds, 3)} s of training"
        say(f"[{index}/{len(runs)}] {run.run_dir.name}: {'resuming' if state == 'started' else 'training'} to {goal}")
        train_run(run, data, out_dir / f"{run.run_dir.name}.log")
    rows = [collect(run, metrics, {"peak_memory_bytes": max(_peaks(run), default=None),
                                   "parameters": parameters(run)}) for run in runs]
    report = {"machine": _machine(rows), "data": str(data), "budget_images": limit.images,
              "budget_seconds": limit.seconds, "budget": limit.describe(), "metrics": metrics, "seeds": seeds,
              "eval_n": eval_n, "evaluations": EVALUATIONS, "lower_is_better": {m: lower_is_better(m) for m in metrics},
              "candidates": summarise(rows, [c.text for c in parsed], metrics), "runs": rows}
    atomic_write_text(out_dir / REPORT, json.dumps(report, indent=2) + "\n")
    atomic_write_text(out_dir / TABLE, markdown(report))
    chart(report, out_dir / CHART)
    return report


def _machine(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What the runs trained on (from their summaries), the versions and the date of the report."""
    import torch

    from ganzoo.bench.machine import machine_facts

    facts = machine_facts(torch.device("cpu"))
    return {"hardware": sorted({r["hardware"] for r in rows if r.get("hardware")}), "versions": facts["versions"],
            "date_utc": facts["date_utc"]}


def summarise(rows: list[dict[str, Any]], candidates: list[str], metrics: list[str]) -> list[dict[str, Any]]:
    """Per candidate: mean and std over seeds of each metric at the budget, and of the costs."""
    def spread(values: list[float]) -> dict[str, float | None]:
        values = [v for v in values if v is not None]
        if not values:
            return {"mean": None, "std": None}
        return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}

    out = []
    for text in candidates:
        mine = [r for r in rows if r["candidate"] == text]
        out.append({"candidate": text, "seeds": len(mine),
                    **{m: spread([r["final"].get(m) for r in mine]) for m in metrics},
                    "images_seen": spread([r["images_seen"] for r in mine]),
                    "images_per_s": spread([r["images_per_s"] for r in mine]),
                    "train_seconds": spread([r["train_seconds"] for r in mine]),
                    "parameters": mine[0]["parameters"] if mine else None,
                    "image": mine[0]["image"] if mine else None,
                    "peak_memory_bytes": max((r["peak_memory_bytes"] or 0 for r in mine), default=0) or None})
    return out


def markdown(report: dict[str, Any]) -> str:
    metrics = report["metrics"]
    arrows = {m: "lower is better" if report["lower_is_better"][m] else "higher is better" for m in metrics}
    lines = [f"Data `{report['data']}`; budget {report['budget']}; "
             f"{report['seeds']} seed(s) per candidate (0..{report['seeds'] - 1}); metrics "
             + ", ".join(f"{m} ({arrows[m]})" for m in metrics)
             + f" logged during training on {report['eval_n']:,} images, {report['evaluations']} times and at step 0; "
             "each candidate otherwise with its own paper settings. Mean ± std over seeds.", "",
             f"Trained on {' and '.join(report['machine']['hardware']) or 'unknown hardware'}; "
             + ", ".join(f"{k} {v}" for k, v in report["machine"]["versions"].items())
             + f"; {report['machine']['date_utc']}.", "",
             "| candidate | image | " + " | ".join(metrics)
             + " | images seen | images/s | train s | parameters G / D | peak memory |",
             "|---|---|" + "---|" * (len(metrics) + 5)]

    def cell(stats: dict[str, Any], digits: int = 4) -> str:
        if stats["mean"] is None:
            return "-"
        return f"{_number(stats['mean'], digits)} ± {_number(stats['std'], 2)}"

    for row in report["candidates"]:
        params = row["parameters"] or {}
        memory = f"{row['peak_memory_bytes'] / 2**20:,.0f} MiB" if row["peak_memory_bytes"] else "-"
        lines.append(f"| `{row['candidate']}` | {row['image']} | " + " | ".join(cell(row[m]) for m in metrics)
                     + f" | {_count(row['images_seen'])} | {cell(row['images_per_s'], 3)} | "
                     f"{cell(row['train_seconds'], 3)} | "
                     f"{params.get('generator', 0):,} / {params.get('discriminator', 0):,} | {memory} |")
    return "\n".join(lines) + "\n"


def _count(stats: dict[str, Any]) -> str:
    """A mean count in full (images seen: equal under an image budget, not under a time budget)."""
    if stats["mean"] is None:
        return "-"
    return f"{stats['mean']:,.0f}" + (f" ± {_number(stats['std'], 2)}" if stats["std"] else "")


def _number(value: float, digits: int) -> str:
    """``value`` to ``digits`` significant digits, without exponents."""
    rounded = float(f"{value:.{digits}g}")
    return f"{rounded:,.0f}" if abs(rounded) >= 10 ** (digits - 1) else f"{rounded:g}"


def chart(report: dict[str, Any], path: Path) -> None:
    """Each metric against images seen, one line per candidate (the mean over seeds), and the
    metric at the budget against training seconds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = report["metrics"]
    figure, axes = plt.subplots(len(metrics), 2, figsize=(11, 4 * len(metrics)), squeeze=False)
    for row, metric in zip(axes, metrics):
        for candidate in report["candidates"]:
            curves = [r["curves"][metric] for r in report["runs"] if r["candidate"] == candidate["candidate"]]
            if not curves or not curves[0]:
                continue
            length = min(len(c) for c in curves)
            xs = [curves[0][i][0] for i in range(length)]
            ys = [statistics.mean(c[i][1] for c in curves) for i in range(length)]
            row[0].plot(xs, ys, marker="o", label=candidate["candidate"])
            if candidate[metric]["mean"] is not None and candidate["train_seconds"]["mean"] is not None:
                row[1].errorbar(candidate["train_seconds"]["mean"], candidate[metric]["mean"],
                                yerr=candidate[metric]["std"], fmt="o", capsize=4, label=candidate["candidate"])
        row[0].set(xlabel="images shown to D", ylabel=metric, title=f"{metric} during training")
        row[1].set(xlabel="training seconds", ylabel=f"{metric} at the budget", title="quality against cost")
        row[0].legend(fontsize=8)
        row[1].legend(fontsize=8)
    figure.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.png")  # a plain file's permissions, renamed into place
    figure.savefig(tmp, dpi=90)
    plt.close(figure)
    os.replace(tmp, path)
