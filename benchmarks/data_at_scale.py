"""Reading data at scale, measured: the first read of an image folder (ganzoo's parallel decode
into the decoded cache beside a plain hand-written PIL loop), the second read (the cache), the
start of a 2-step ``ganzoo train`` and its peak memory, and DCGAN-64 training images/s from
memory and streamed.

    python benchmarks/data_at_scale.py --data ../shared/data/celeba64 > benchmarks/results/data_at_scale.md

Every measurement runs in its own process (peak memory is that process's maximum resident set),
with an empty decoded cache where a first read is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_READ = r"""
import sys, time, numpy as np, torch
from pathlib import Path
from PIL import Image
start = time.perf_counter()
files = sorted(p for p in Path(sys.argv[1]).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
def square(image, size=64):  # the centre crop and resize every GAN tutorial writes
    w, h = image.size
    side = min(w, h)
    image = image.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
    return image if side == size else image.resize((size, size), Image.Resampling.LANCZOS)
pixels = [np.asarray(square(Image.open(f).convert("RGB"))) for f in files]
images = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).contiguous()
print(time.perf_counter() - start, len(images))
"""

TORCH_FLOOR = r"""
import torch
model = torch.nn.Conv2d(3, 8, 3)
optimizer = torch.optim.Adam(model.parameters())
model(torch.zeros(1, 3, 8, 8)).sum().backward()
optimizer.step()
"""

GANZOO_READ = r"""
import sys, time
from ganzoo.data.dataset import load_dataset
from ganzoo.data.options import DataOptions
start = time.perf_counter()  # after the imports, as in the plain loop
dataset = load_dataset(sys.argv[1], image_size=64, options=DataOptions(cache=sys.argv[2] == "cache"))
print(time.perf_counter() - start, len(dataset))
"""


def child(code_or_args: list[str], env: dict[str, str]) -> tuple[str, float, int]:
    """Run a process; its stdout, wall seconds and peak resident memory (bytes)."""
    start = time.perf_counter()
    process = subprocess.Popen(code_or_args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    out, err = process.stdout.read(), process.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{code_or_args[:3]} failed:\n{err}")
    return out, wall, usage.ru_maxrss * 1024


def first_step_seconds(run_dir: Path, started: float) -> float:
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    first = next(r for r in records if r.get("step") == 1 and "time" in r)
    return first["time"] - started


def images_per_s(run_dir: Path, skip: int) -> float:
    records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    rates = [r["images_per_s"] for r in records if "images_per_s" in r and r["step"] > skip]
    return sum(rates) / len(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--train-steps", type=int, default=60)
    args = parser.parse_args()
    import torch

    from ganzoo.hardware import hardware_name

    python = sys.executable
    ganzoo = [python, "-m", "ganzoo"]
    work = Path(tempfile.mkdtemp(prefix="ganzoo-data-bench-"))
    env = {**os.environ, "GANZOO_DATA_CACHE": str(work / "cache")}
    decoded_mb = None
    rows = []

    out, wall, peak = child([python, "-c", PLAIN_READ, str(args.data)], env)
    plain_s = float(out.split()[0])
    count = int(out.split()[1])
    decoded_mb = count * 64 * 64 * 3 / 2**20
    rows.append(("first read, plain PIL loop + np.stack (one process)", plain_s, peak))
    out, wall, peak = child([python, "-c", GANZOO_READ, str(args.data), "cache"], env)
    first_s = float(out.split()[0])
    rows.append((f"first read, ganzoo: {os.cpu_count()} decode workers into the decoded cache", first_s, peak))
    out, wall, peak = child([python, "-c", GANZOO_READ, str(args.data), "cache"], env)
    rows.append(("second read, ganzoo: the decoded cache, verified and memory-mapped", float(out.split()[0]), peak))

    _, wall, peak = child([python, "-c", TORCH_FLOOR], env)
    rows.append(("floor of any PyTorch training process: import torch, build Adam, one step", wall, peak))
    tiny = ["--set", "g_width=32", "--set", "d_width=32", "--set", "log_every=1", "--set", "sample_every=1000",
            "--set", "checkpoint_every=1000", "--no-progress"]
    run = work / "start"
    started = time.time()
    _, wall, peak = child([*ganzoo, "train", "dcgan", "--data", str(args.data), "-o", str(run), "--steps", "2", *tiny], env)
    to_first = first_step_seconds(run, started)
    rows.append(("`ganzoo train dcgan --steps 2`, cache warm: process start to step 1 logged", to_first, peak))

    speeds = {}
    for mode in ("memory", "stream"):
        run = work / f"train-{mode}"
        child([*ganzoo, "train", "dcgan", "--data", str(args.data), "-o", str(run), "--steps", str(args.train_steps),
               "--set", f"data_mode={mode}", *tiny], env)
        speeds[mode] = images_per_s(run, skip=5)

    print("# Data at scale: reading celeba64 (44,380 JPEGs, 64x64)\n")
    print(f"Device: {hardware_name(torch.device('cpu'))}, {os.cpu_count()} cores; Python {platform.python_version()}, "
          f"torch {torch.__version__}; {time.strftime('%Y-%m-%d')}. Decoded size {decoded_mb:.0f} MiB "
          f"({count:,} images). Command: `python benchmarks/data_at_scale.py --data {args.data}`.\n")
    print("| what | seconds | peak memory (MiB) |\n|---|---|---|")
    for what, seconds, peak in rows:
        print(f"| {what} | {seconds:.2f} | {peak / 2**20:.0f} |")
    print(f"\nFirst read: ganzoo {plain_s / first_s:.2f}x the plain loop's speed.\n")
    print(f"DCGAN-64 training (widths 32, batch 64, {args.train_steps} steps, mean images/s after step 5):\n")
    print("| data_mode | images/s | ratio to memory |\n|---|---|---|")
    for mode, speed in speeds.items():
        print(f"| {mode} | {speed:.1f} | {speed / speeds['memory']:.3f} |")


if __name__ == "__main__":
    main()
