"""ONNX exports of the bundled models beside PyTorch on this CPU: each model is exported with
``ganzoo.deploy.export_generator`` (verified against PyTorch), then both run the same inputs,
timed as the median of ``--repeats`` runs after one warm-up, on ``--threads`` threads.

    python benchmarks/onnx_cpu.py > benchmarks/results/onnx_cpu.md

Noise models generate a batch of ``--batch`` images; image-to-image models translate one
``--size`` x ``--size`` image.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from ganzoo.deploy import export_generator
from ganzoo.hardware import hardware_name
from ganzoo.hub import load_pretrained
from ganzoo.plugins import get_zoo


def median_seconds(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = args.threads
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for entry in sorted(get_zoo().pretrained, key=lambda e: e.name):
            generator = load_pretrained(entry.name)
            info = export_generator(generator, Path(folder) / f"{entry.name}.onnx", "onnx")
            rng = torch.Generator().manual_seed(0)
            if generator.latent_dim is None:
                feed = {"images": torch.rand(1, generator.image_shape[0], args.size, args.size, generator=rng) * 2 - 1}
                what = f"1 image {args.size}x{args.size}"
            else:
                feed = {"z": torch.randn(args.batch, generator.latent_dim, generator=rng)}
                if generator.num_classes is not None:
                    feed["labels"] = torch.arange(args.batch) % generator.num_classes
                what = f"{args.batch} images"
            session = onnxruntime.InferenceSession(str(info.path), options, providers=["CPUExecutionProvider"])
            numpy_feed = {k: v.numpy() for k, v in feed.items()}
            with torch.no_grad():
                expected = generator(*feed.values()).numpy()
                pytorch = median_seconds(lambda: generator(*feed.values()), args.repeats)
            got = session.run(None, numpy_feed)[0]
            ort = median_seconds(lambda: session.run(None, numpy_feed), args.repeats)
            rows.append((entry.name, what, pytorch * 1000, ort * 1000, pytorch / ort,
                         float(np.abs(got - expected).max())))
    print("# ONNX (onnxruntime) beside PyTorch on the CPU\n")
    print(f"Measured {time.strftime('%Y-%m-%d')} with `python benchmarks/onnx_cpu.py` on {hardware_name(torch.device('cpu'))}, "
          f"{args.threads} thread(s): torch {torch.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"Python {platform.python_version()}; ONNX opset 18 from `ganzoo export --format onnx`. Median of "
          f"{args.repeats} runs after a warm-up.\n")
    print("| model | input | PyTorch ms | onnxruntime ms | PyTorch / onnxruntime | max abs diff |")
    print("|---|---|---:|---:|---:|---:|")
    for name, what, pt, ort, ratio, diff in rows:
        print(f"| {name} | {what} | {pt:.1f} | {ort:.1f} | {ratio:.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
