"""A Markdown table of training runs side by side: each run directory under RUNS_DIR with its
settings that differ between the runs and the metric it logged during training (eval_<metric>),
at every evaluation step, by images shown to D.

    python benchmarks/recipe_table.py runs/recipes [--metric swd]
    python benchmarks/recipe_table.py runs/sr-recipes --metric sr --final --parts psnr_rgb,ssim_y

``--final`` tables each run's last evaluation with its images and training seconds (for runs of
different lengths: the same CPU budget); ``--parts`` picks the metric's per-part figures shown.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from ganzoo.engine.checkpoint import latest_checkpoint, load_checkpoint_state
from ganzoo.fileio import read_jsonl

SHOWN = ("loss", "spectral_norm", "pixel_loss", "lr_g", "lr_d", "batch_size", "g_width", "d_width", "blocks",
         "width", "hr_crop", "ema")


def describe(run_dir: Path, metric: str) -> dict:
    record = json.loads((run_dir / "run.json").read_text())
    settings = {**record["model_config"], **record["train_config"]}
    log = read_jsonl(run_dir / "log.jsonl")
    images_per_step = settings["batch_size"] * settings["d_steps"]
    evaluations = {r["step"] * images_per_step: r for r in log if f"eval_{metric}" in r and r["step"] > 0}
    speeds = [r["images_per_s"] for r in log if "images_per_s" in r]
    latest = latest_checkpoint(run_dir)
    summary = load_checkpoint_state(latest)["summary"] if latest else {}
    return {"name": run_dir.name, "settings": settings, "evaluations": evaluations,
            "images_per_s": sum(speeds) / len(speeds) if speeds else float("nan"),
            "eval_n": settings["eval_n"], "hardware": summary.get("hardware", "unknown"),
            "train_seconds": summary.get("train_seconds", float("nan"))}


def final_table(runs: list[dict], metric: str, parts: list[str]) -> str:
    """Each run's last evaluation, with what it cost."""
    varying = [k for k in SHOWN if len({json.dumps(r["settings"].get(k)) for r in runs}) > 1]
    header = ["run", *varying, "images", "train s", f"{metric} at the end", *parts, "images/s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in sorted(runs, key=lambda r: r["name"]):
        images = max(run["evaluations"]) if run["evaluations"] else 0
        last = run["evaluations"].get(images, {})
        cells = [run["name"], *[str(run["settings"].get(k)) for k in varying], f"{images:,}",
                 f"{run['train_seconds']:.0f}", f"{last.get(f'eval_{metric}', float('nan')):.2f}",
                 *[f"{last.get(f'eval_{metric}_{p}', float('nan')):.4g}" for p in parts],
                 f"{run['images_per_s']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def table(runs: list[dict], metric: str) -> str:
    varying = [k for k in SHOWN if len({json.dumps(r["settings"].get(k)) for r in runs}) > 1]
    budgets = sorted({images for r in runs for images in r["evaluations"]})
    header = ["run", *varying, *[f"{metric} @ {b // 1000}k" for b in budgets], "per level at the end",
              "images/s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for run in sorted(runs, key=lambda r: r["name"]):
        cells = [run["name"], *[str(run["settings"].get(k)) for k in varying]]
        cells += [f"{run['evaluations'][b][f'eval_{metric}']:.2f}" if b in run["evaluations"] else ""
                  for b in budgets]
        last = run["evaluations"][max(run["evaluations"])] if run["evaluations"] else {}
        levels = [f"{k.removeprefix(f'eval_{metric}_')}: {v:.1f}" for k, v in last.items()
                  if k.startswith(f"eval_{metric}_")]
        cells += [", ".join(levels), f"{run['images_per_s']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--metric", default="swd")
    parser.add_argument("--final", action="store_true", help="only each run's last evaluation, with its cost")
    parser.add_argument("--parts", default="", help="comma-separated per-part figures of the metric to show")
    args = parser.parse_args()
    runs = [describe(d, args.metric) for d in sorted(args.runs_dir.iterdir()) if (d / "run.json").exists()]
    if not runs:
        raise SystemExit(f"error: no run directories (with run.json) under {args.runs_dir}")
    common = {k: runs[0]["settings"].get(k) for k in SHOWN
              if len({json.dumps(r["settings"].get(k)) for r in runs}) == 1 and k in runs[0]["settings"]}
    eval_n = sorted({r["eval_n"] for r in runs})
    hardware = sorted({r["hardware"] for r in runs})
    parts = [p for p in args.parts.split(",") if p]
    print(final_table(runs, args.metric, parts) if args.final else table(runs, args.metric))
    print()
    settings = ", ".join(f"{k} {v}" for k, v in common.items())
    versions = f"torch {torch.__version__}, Python {platform.python_version()}"
    if args.metric == "swd":
        print(f"Every run: {settings}. {args.metric} x1e3 on {'/'.join(map(str, eval_n))} generated vs training "
              f"images (fixed seed; fewer than the metric's protocol), of the EMA generator. Each run on "
              f"{'; '.join(hardware)}; {versions}.")
    else:
        print(f"Every run: {settings}. {args.metric} logged during training at the metric's own protocol, of the "
              f"EMA generator. Each run on {'; '.join(hardware)}; {versions}.")


if __name__ == "__main__":
    main()
