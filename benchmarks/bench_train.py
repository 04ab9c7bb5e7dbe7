"""Benchmark: GAN training steps of the ganzoo engine against plain PyTorch loops, on the CPU.

For each architecture asked for (``--arch``; default: mlp, then dcgan, in one run) three
contenders train the same networks on the same in-memory uint8 images with the same batch size,
in this one process: the engine with its default EMA (0.999), the engine with EMA off (the
like-for-like row) and a hand-written plain PyTorch loop (``plain_loops.py``; for dcgan the
pytorch/examples dcgan recipe). The engine is timed through ``Trainer.train_step()`` directly
(not ``fit()``), so logging, sample grids and checkpoint I/O are excluded from its figures.
Measuring, rendering and writing are in ``harness.py``.

    .venv/bin/python benchmarks/bench_train.py [--arch mlp|dcgan] [--threads N] [--steps S]

Writes ``<out-dir>/mlp_cpu.{md,json}`` and ``<out-dir>/dcgan64_cpu.{md,json}``.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

import harness
from plain_loops import PlainDCGAN, PlainMLP, n_params

HERE = Path(__file__).resolve().parent
SHARED_DATA = HERE.parents[1] / "shared" / "data"
PLAIN = "plain PyTorch loop"
ENGINE_TIMING = ("Trainer.train_step() called directly; fit()'s logging, sample grids and "
                 "checkpoint I/O are excluded")

DCGAN_SIZE = 64
DCGAN_NETS = {"latent_dim": 100, "g_width": 64, "d_width": 64}
"""ganzoo's DCGAN settings (its defaults) and, as nz / ngf / ndf, the plain loop's."""


@dataclass
class Bench:
    title: str
    stem: str
    data: Path
    batch_size: int
    steps: int
    repeats: int
    warmup: int
    engine_settings: Callable[[Any], dict]
    """The model config for ``get_architecture(arch).make_config``, given the dataset."""
    load: Callable[[Path, argparse.Namespace], Any]
    plain: Callable[[torch.Tensor, int], Any]
    describe: Callable[[dict], list[str]] = field(default=lambda meta: [])


# -- data ----------------------------------------------------------------------------------------


def load_mnist_train(path: Path, args: argparse.Namespace):
    from ganzoo.data.mnist import load_mnist

    return load_mnist(path)


def load_image_subset(path: Path, args: argparse.Namespace):
    """The first ``--max-images`` image files under ``path`` (sorted as ganzoo sorts them; 0:
    all), read by ganzoo's own image-folder reader at 64x64, through a temporary folder of
    symbolic links so that the reader decodes, crops and resizes exactly as in training."""
    from ganzoo.data.dataset import ImageDataset
    from ganzoo.data.folder import image_files, load_image_folder
    from ganzoo.errors import DataError

    root = Path(path)
    files = image_files(root)
    if not files:
        raise DataError(f"no image files under {root}; point --data at an image folder")
    chosen = files[: args.max_images] if args.max_images > 0 else files
    with tempfile.TemporaryDirectory(prefix="bench_images_") as tmp:
        for file in chosen:
            link = Path(tmp) / file.relative_to(root)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(file.resolve())
        subset = load_image_folder(tmp, image_size=DCGAN_SIZE)
    split = "all files" if len(chosen) == len(files) else (
        f"first {len(chosen)} of {len(files)} files (sorted by path)")
    return ImageDataset(images=subset.images, name=root.name or "images", path=str(root),
                        card={"split": split})


# -- the architectures ---------------------------------------------------------------------------


def _mlp_notes(meta: dict) -> list[str]:
    b = meta["batch_size"]
    return [
        "- MLP GAN: G z100 -> 128 -> 784 (tanh), D 784 -> 128 -> 1, LeakyReLU 0.01, "
        "non-saturating BCE, Adam 2e-4 (0.5, 0.999); "
        f"G {meta['params']['generator']:,} and D {meta['params']['discriminator']:,} parameters "
        "on every side.",
        f"- Batch {b}; one step = 1 D step + 1 G step = {b} real images.",
    ]


def _dcgan_notes(meta: dict) -> list[str]:
    b = meta["batch_size"]
    return [
        f"- DCGAN-64 (nz {DCGAN_NETS['latent_dim']}, ngf {DCGAN_NETS['g_width']}, ndf "
        f"{DCGAN_NETS['d_width']}, {meta['image_shape'][0]}x{DCGAN_SIZE}x{DCGAN_SIZE}): G "
        f"{meta['params']['generator']:,} and D {meta['params']['discriminator']:,} parameters on "
        "every side. The plain loop is the pytorch/examples dcgan recipe (Sigmoid + `BCELoss`, "
        "separate real/fake D backward passes); the engine uses logits + BCE-with-logits.",
        f"- Batch {b}; one step = 1 D step + 1 G step = {b} real images. Data: "
        f"{meta['data_split']}.",
    ]


BENCHES: dict[str, Bench] = {
    "mlp": Bench(
        title="MLP GAN training step on CPU: ganzoo engine vs plain PyTorch",
        stem="mlp_cpu", data=SHARED_DATA / "mnist", batch_size=64,
        steps=300, repeats=7, warmup=50,
        engine_settings=lambda dataset: {},
        load=load_mnist_train,
        plain=lambda images, batch: PlainMLP(images, batch),
        describe=_mlp_notes,
    ),
    "dcgan": Bench(
        title="DCGAN-64 training step on CPU: ganzoo engine vs plain PyTorch (pytorch/examples dcgan)",
        stem="dcgan64_cpu", data=SHARED_DATA / "celeba64", batch_size=128,
        steps=5, repeats=5, warmup=2,
        engine_settings=lambda dataset: {"channels": dataset.image_shape[0],
                                         "image_size": DCGAN_SIZE, **DCGAN_NETS},
        load=load_image_subset,
        plain=lambda images, batch: PlainDCGAN(
            images, batch, nz=DCGAN_NETS["latent_dim"], ngf=DCGAN_NETS["g_width"],
            ndf=DCGAN_NETS["d_width"]),
        describe=_dcgan_notes,
    ),
}


def make_engine(arch_name: str, settings: dict, dataset, batch_size: int, ema: float,
                run_dir: str, seed: int = 0):
    from ganzoo.engine.config import TrainConfig
    from ganzoo.engine.run import build_recipe, get_architecture
    from ganzoo.engine.trainer import Trainer

    torch.manual_seed(seed)
    arch = get_architecture(arch_name)
    model_config = arch.make_config(settings)
    config = TrainConfig(batch_size=batch_size, ema=ema, device="cpu", seed=seed)
    recipe = build_recipe(arch, model_config, config)
    return Trainer(recipe, dataset, config, run_dir=run_dir, progress=False)


# -- one architecture ----------------------------------------------------------------------------


def run_bench(arch: str, args: argparse.Namespace, facts: dict, command: str) -> tuple[Path, Path]:
    bench = BENCHES[arch]
    data = args.data or bench.data
    batch = args.batch_size or bench.batch_size
    steps = args.steps or bench.steps
    repeats = args.repeats or bench.repeats
    warmup = bench.warmup if args.warmup is None else args.warmup

    print(f"\n== {arch}: {bench.title}")
    dataset = bench.load(data, args)
    images = dataset.images
    print(f"data: {data} ({len(images)} images {tuple(images.shape[1:])}, "
          f"{dataset.card.get('split', '')}) | batch {batch} | {repeats} repeats x {steps} steps, "
          f"warm-up {warmup}")

    watch = harness.LoadWatch()
    with tempfile.TemporaryDirectory(prefix=f"bench_{arch}_") as tmp:
        settings = bench.engine_settings(dataset)
        plain = bench.plain(images, batch)
        eng_ema = make_engine(arch, settings, dataset, batch, 0.999, os.path.join(tmp, "ema"))
        eng_noema = make_engine(arch, settings, dataset, batch, 0.0, os.path.join(tmp, "noema"))
        # the same networks on every side
        params = {"generator": n_params(plain.netG), "discriminator": n_params(plain.netD)}
        for eng in (eng_ema, eng_noema):
            assert n_params(eng.recipe.generators) == params["generator"], (
                f"{arch}: engine G has {n_params(eng.recipe.generators)} parameters, "
                f"plain netG {params['generator']}")
            assert n_params(eng.recipe.discriminators) == params["discriminator"], (
                f"{arch}: engine D has {n_params(eng.recipe.discriminators)} parameters, "
                f"plain netD {params['discriminator']}")
        print(f"parameters (engine = plain): G {params['generator']:,}, "
              f"D {params['discriminator']:,}")

        contenders = [
            harness.Contender("engine, EMA 0.999", eng_ema.train_step, batch),
            harness.Contender("engine, EMA off", eng_noema.train_step, batch),
            harness.Contender(PLAIN, plain.train_step, batch),
        ]
        seconds = harness.measure(contenders, steps, repeats, warmup)

        # the losses stay finite: every loop really trained
        last = {"engine": {k: float(v) for k, v in eng_noema.train_step().items()},
                "plain": dict(zip(("d_loss", "g_loss"), map(float, plain.train_step())))}
        for side, losses in last.items():
            bad = [k for k, v in losses.items() if not math.isfinite(v)]
            if bad:
                print(f"WARNING: {arch} {side} losses not finite after training: {bad}")
    load = watch.report()

    figures = harness.compare(contenders, seconds, steps, baseline=PLAIN)
    meta = {
        "benchmark": f"{bench.title}",
        "architecture": arch,
        **facts,
        "command": command,
        "data": str(Path(data).resolve()),
        "data_split": dataset.card.get("split", ""),
        "images": len(images),
        "image_shape": list(images.shape[1:]),
        "batch_size": batch,
        "steps_per_repeat": steps,
        "repeats": repeats,
        "warmup_steps": warmup,
        "params": params,
        "baseline": PLAIN,
        "engine_timing": ENGINE_TIMING,
        "load": load,
        "machine_busy": harness.machine_busy(load),
    }
    lead = bench.describe(meta) + [
        "- Engine: `Trainer.train_step()` timed directly, not `fit()`, so logging, sample grids "
        "and checkpoint I/O are excluded. EMA off is the like-for-like row (the plain loop has "
        "no EMA).",
    ]
    table = harness.render_table(figures, PLAIN)
    notes = harness.render_notes(meta, figures, lead)
    record = {**meta, "figures": figures, "final_losses": last,
              "seconds_per_repeat": {n: [round(s, 4) for s in v] for n, v in seconds.items()}}
    markdown = harness.render_markdown(bench.title, meta, table, notes, f"{bench.stem}.json")
    md, js = harness.write_results(args.out_dir, bench.stem, markdown, record)
    print(f"\n{table}\n{notes}\n\nwrote {md} and {js}")
    return md, js


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=sorted(BENCHES), action="append",
                    help="architecture to benchmark; repeatable (default: mlp and dcgan)")
    ap.add_argument("--data", type=Path, default=None,
                    help="mlp: MNIST idx directory (default ../shared/data/mnist); dcgan: image "
                         "folder (default ../shared/data/celeba64); needs a single --arch")
    ap.add_argument("--max-images", type=int, default=2048,
                    help="dcgan: read only the first N image files (0: all; default 2048)")
    ap.add_argument("--batch-size", type=int, default=None, help="default: mlp 64, dcgan 128")
    ap.add_argument("--steps", type=int, default=None,
                    help="timed steps per repeat (default: mlp 300, dcgan 5)")
    ap.add_argument("--repeats", type=int, default=None, help="default: mlp 7, dcgan 5")
    ap.add_argument("--warmup", type=int, default=None,
                    help="untimed steps per contender (default: mlp 50, dcgan 2)")
    ap.add_argument("--out-dir", type=Path, default=HERE / "results")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (default: leave torch's default)")
    args = ap.parse_args(argv)
    archs = list(dict.fromkeys(args.arch or ["mlp", "dcgan"]))
    if args.data is not None and len(archs) != 1:
        ap.error("--data needs exactly one --arch (each architecture reads different data)")
    for name in ("batch_size", "steps", "repeats"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            ap.error(f"--{name.replace('_', '-')} must be >= 1")
    if args.warmup is not None and args.warmup < 0:
        ap.error("--warmup must be >= 0")

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    import ganzoo

    facts = harness.machine_facts(ganzoo=ganzoo.__version__)
    command = ".venv/bin/python benchmarks/bench_train.py" + (
        " " + shlex.join(argv) if argv else "")
    print(harness.describe_machine(facts))
    print(f"engine timed via {ENGINE_TIMING}")
    for arch in archs:
        run_bench(arch, args, facts, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
