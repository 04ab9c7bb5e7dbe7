"""A Markdown table of training runs side by side: each run directory under RUNS_DIR with its
settings that differ between the runs and the metric it logged during training (eval_<metric>),
at every evaluation step, by images shown to D.

    python benchmarks/recipe_table.py runs/recipes [--metric swd]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import torch

from ganzoo.engine.checkpoint import latest_checkpoint, load_checkpoint_state
from ganzoo.fileio import read_jsonl

SHOWN = ("loss", "spectral_norm", "lr_g", "lr_d", "batch_size", "g_width", "d_width", "ema")


def describe(run_dir: Path, metric: str) -> dict:
    record = json.loads((run_dir / "run.json").read_text())
    settings = {**record["model_config"], **record["train_config"]}
    log = read_jsonl(run_dir / "log.jsonl")
    images_per_step = settings["batch_size"] * settings["d_steps"]
    evaluations = {r["step"] * images_per_step: r for r in log if f"eval_{metric}" in r and r["step"] > 0}
    speeds = [r["images_per_s"] for r in log if "images_per_s" in r]
    latest = latest_checkpoint(run_dir)
    hardware = load_checkpoint_state(latest)["summary"]["hardware"] if latest else "unknown"
    return {"name": run_dir.name, "settings": settings, "evaluations": evaluations,
            "images_per_s": sum(speeds) / len(speeds) if speeds else float("nan"),
            "eval_n": settings["eval_n"], "hardware": hardware}


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
    args = parser.parse_args()
    runs = [describe(d, args.metric) for d in sorted(args.runs_dir.iterdir()) if (d / "run.json").exists()]
    if not runs:
        raise SystemExit(f"error: no run directories (with run.json) under {args.runs_dir}")
    common = {k: runs[0]["settings"].get(k) for k in SHOWN
              if len({json.dumps(r["settings"].get(k)) for r in runs}) == 1}
    eval_n = sorted({r["eval_n"] for r in runs})
    hardware = sorted({r["hardware"] for r in runs})
    print(table(runs, args.metric))
    print()
    print(f"Every run: {', '.join(f'{k} {v}' for k, v in common.items())}. {args.metric} x1e3 on "
          f"{'/'.join(map(str, eval_n))} generated vs training images (fixed seed; fewer than the "
          f"metric's protocol), of the EMA generator. Each run on {'; '.join(hardware)}; torch {torch.__version__}, Python {platform.python_version()}.")


if __name__ == "__main__":
    main()
