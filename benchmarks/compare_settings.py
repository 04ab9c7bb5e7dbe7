"""Engine against engine: one architecture's training step under several settings, timed
interleaved in one process, as ``ganzoo bench`` times the engine against the plain loop. This is
how the Trainer's ``auto`` speed defaults were chosen.

    .venv/bin/python benchmarks/compare_settings.py dcgan --batch-size 128 --repeats 7 \\
        --variant defaults= --variant nchw=channels_last=off --variant foreach=optimizer_impl=foreach

A variant is NAME=KEY=VALUE[,KEY=VALUE...] (empty: the defaults); the first is the baseline.
Appends a Markdown section and writes JSON to --out (default benchmarks/results/fastpaths_<device>).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

import torch

from ganzoo.bench.contenders import build_engine, resolve_setup
from ganzoo.bench.machine import machine_facts
from ganzoo.bench.timing import Contender, calibrate_steps, measure, time_steps
from ganzoo.engine.trainer import resolve_device


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, pairs = text.partition("=")
    settings = {}
    for pair in filter(None, pairs.split(",")):
        key, _, raw = pair.partition("=")
        try:
            settings[key] = json.loads(raw)
        except json.JSONDecodeError:
            settings[key] = raw
    return name, settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("architecture")
    parser.add_argument("--variant", action="append", required=True)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--block-seconds", type=float, default=2.0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    device = resolve_device(args.device)
    variants = dict(parse_variant(v) for v in args.variant)
    contenders, images = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, settings in variants.items():
            setup = resolve_setup(args.architecture, settings, args.batch_size, str(device), 0)
            engine = build_engine(setup, setup.make_data(), f"{tmp}/{name}")
            images = setup.images_per_step
            contenders.append(Contender(name, engine.train_step, images))
        for c in contenders:
            time_steps(c.step, 2, device)  # warm-up (and compilation)
        steps = calibrate_steps(contenders, device, args.block_seconds)
        seconds = measure(contenders, steps, args.repeats, 0, device, log=lambda line: print(line, file=sys.stderr))
    base = contenders[0].name
    rows = []
    for c in contenders:
        ratios = [b / s for s, b in zip(seconds[c.name], seconds[base])]
        rows.append({"variant": c.name, "settings": variants[c.name],
                     "images_per_s": steps * images / statistics.median(seconds[c.name]),
                     "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)})
    facts = machine_facts(device)
    out = args.out or Path(__file__).resolve().parent / "results" / f"fastpaths_{device.type}"
    out.parent.mkdir(parents=True, exist_ok=True)
    record = {"architecture": args.architecture, "batch_size": args.batch_size or "default", "steps": steps,
              "repeats": args.repeats, **facts, "rows": rows, "command": " ".join(sys.argv)}
    with open(out.with_suffix(".jsonl"), "a") as handle:
        handle.write(json.dumps(record) + "\n")
    versions = ", ".join(f"{k} {v}" for k, v in facts["versions"].items())
    lines = [f"## {args.architecture}, batch {record['batch_size']}\n",
             f"{facts['date_utc']} - {facts['hardware']} - {versions} - {args.repeats} repeats x {steps} "
             f"steps, interleaved, order rotated; `{' '.join(['python', *sys.argv])}`\n",
             f"| variant | settings | images/s (median) | vs {base}: per-repeat median (min-max) |",
             "|---|---|---:|---:|"]
    for r in rows:
        settings = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "defaults"
        lines.append(f"| {r['variant']} | {settings} | {r['images_per_s']:.4g} | "
                     f"{r['ratio_median']:.3f} ({r['ratio_min']:.3f}-{r['ratio_max']:.3f}) |")
    with open(out.with_suffix(".md"), "a") as handle:
        handle.write("\n".join(lines) + "\n\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
