"""Benchmark: SRGAN and CycleGAN training and inference, the ganzoo engine against plain
PyTorch loops of the same networks, on the CPU, in one process.

Training: ``Trainer.train_step()`` (EMA off, like the plain loops; SRGAN in its adversarial
phase with the content loss ganzoo falls back to without VGG weights, pixel MSE) against
``plain_image_to_image.PlainSRGAN`` / ``PlainCycleGAN``. Inference: the generator's
``translate`` (what ``ganzoo sample --input`` runs: uint8 in, uint8 out; SRGAN tiled) against a
bare ``net(x)`` under ``torch.no_grad()``, one image at a time.

    .venv/bin/python benchmarks/bench_image_to_image.py [--arch srgan|cyclegan] [--steps S]

Writes ``<out-dir>/srgan_cpu.{md,json}`` and ``<out-dir>/cyclegan_cpu.{md,json}``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import tempfile
import warnings
from pathlib import Path

import torch

import harness
from plain_image_to_image import PlainCycleGAN, PlainSRGAN
from plain_loops import n_params

HERE = Path(__file__).resolve().parent
SHARED_DATA = HERE.parents[1] / "shared" / "data"
PLAIN = "plain PyTorch loop"
DEFAULTS = {  # batch, steps, repeats, warmup, inference input side
    "srgan": dict(batch=16, steps=3, repeats=3, warmup=1, side=128, data=SHARED_DATA / "sr" / "BSDS200-train"),
    "cyclegan": dict(batch=1, steps=3, repeats=3, warmup=1, side=128, data=SHARED_DATA / "summer2winter128"),
}


def make_trainer(arch_name: str, settings: dict, data, batch: int, run_dir: str, loss: str):
    from ganzoo.engine.config import TrainConfig
    from ganzoo.engine.run import build_recipe, get_architecture
    from ganzoo.engine.trainer import Trainer

    torch.manual_seed(0)
    arch = get_architecture(arch_name)
    config = TrainConfig(batch_size=batch, ema=0.0, device="cpu", seed=0, loss=loss, steps=10**6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SRGAN's "no VGG19 weights: pixel content loss" notice
        recipe = build_recipe(arch, arch.make_config(settings), config)
    return Trainer(recipe, data, config, run_dir=run_dir, progress=False)


def srgan_sides(args, tmp: str):
    from ganzoo_srgan.data import load_training_folder
    from ganzoo_srgan.models import SRDiscriminator, SRGANConfig, SRResNet

    data = load_training_folder(args.data or DEFAULTS["srgan"]["data"])
    trainer = make_trainer("srgan", {"pretrain_steps": 0, "content_loss": "pixel-mse"}, data, args.batch, tmp, "bce")
    torch.manual_seed(0)
    plain = PlainSRGAN(data.images, SRResNet(SRGANConfig()), SRDiscriminator(SRGANConfig()), args.batch)
    side = args.side
    lr_u8 = torch.randint(0, 256, (1, 3, side, side), dtype=torch.uint8)
    generator = trainer.recipe.generators["generator"].eval()

    def plain_infer():
        with torch.no_grad():
            plain.netG.eval()(lr_u8.float() / 127.5 - 1).clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)

    facts = {"data": str(data.path), "images": len(data), "hr_crop": data.crop, "scale": data.scale,
             "inference_input": f"{side}x{side} RGB -> {4 * side}x{4 * side}"}
    return trainer, plain, (lambda: generator.translate(lr_u8)), plain_infer, facts


def cyclegan_sides(args, tmp: str):
    from ganzoo_cyclegan.data import load_unpaired_training_data
    from ganzoo_cyclegan.models import CycleGANConfig, PatchDiscriminator, ResnetGenerator

    data = load_unpaired_training_data(args.data or DEFAULTS["cyclegan"]["data"], image_size=args.side)
    config = CycleGANConfig(image_size=args.side)
    trainer = make_trainer("cyclegan", {"image_size": args.side}, data, args.batch, tmp, "lsgan")
    torch.manual_seed(0)
    plain = PlainCycleGAN(data.a.images, data.b.images, ResnetGenerator(config), ResnetGenerator(config),
                          PatchDiscriminator(config), PatchDiscriminator(config), args.batch)
    image_u8 = data.a.images[:1]
    pair = trainer.recipe.generators["generator"].eval()

    def plain_infer():
        with torch.no_grad():
            plain.g_a.eval()(image_u8.float() / 127.5 - 1).add(1).mul(127.5).round().to(torch.uint8)

    facts = {"data": str(data.path), "images": {"trainA": len(data.a), "trainB": len(data.b)},
             "image_size": args.side, "inference_input": f"{args.side}x{args.side} RGB, a2b"}
    return trainer, plain, (lambda: pair.translate(image_u8, direction="a2b")), plain_infer, facts


SIDES = {"srgan": srgan_sides, "cyclegan": cyclegan_sides}
TITLES = {"srgan": "SRGAN x4 (SRResNet 16 blocks + VGG-style D), adversarial phase",
          "cyclegan": "CycleGAN (two 6-block ResNet generators, two 70x70 PatchGANs)"}


def run(arch: str, args: argparse.Namespace, facts: dict, command: str) -> None:
    print(f"\n== {arch}: {TITLES[arch]} | batch {args.batch} | {args.repeats} repeats x {args.steps} steps")
    watch = harness.LoadWatch()
    with tempfile.TemporaryDirectory(prefix=f"bench_{arch}_") as tmp:
        trainer, plain, engine_infer, plain_infer, data_facts = SIDES[arch](args, tmp)
        plain_nets = [m for m in vars(plain).values() if isinstance(m, torch.nn.Module)]
        params = {"engine": n_params(trainer.recipe), "plain": sum(n_params(m) for m in plain_nets)}
        if params["engine"] != params["plain"]:
            raise SystemExit(f"{arch}: engine has {params['engine']} parameters, plain {params['plain']}")
        print(f"parameters (engine = plain): {params['engine']:,}")
        training = [harness.Contender("engine, EMA off", trainer.train_step, args.batch),
                    harness.Contender(PLAIN, plain.train_step, args.batch)]
        train_seconds = harness.measure(training, args.steps, args.repeats, args.warmup)
        inference = [harness.Contender("engine: generator.translate (uint8 in/out)", engine_infer, 1),
                     harness.Contender(PLAIN, plain_infer, 1)]
        infer_seconds = harness.measure(inference, 3 * args.steps, args.repeats, args.warmup)
        losses = {k: float(v) for k, v in trainer.train_step().items()}
        if not all(math.isfinite(v) for v in losses.values()):
            print(f"WARNING: {arch} engine losses not finite: {losses}")
    load = watch.report()
    train_figures = harness.compare(training, train_seconds, args.steps, baseline=PLAIN)
    infer_figures = harness.compare(inference, infer_seconds, 3 * args.steps, baseline=PLAIN)
    meta = {"benchmark": TITLES[arch], "architecture": arch, **facts, "command": command, **data_facts,
            "batch_size": args.batch, "steps_per_repeat": args.steps, "repeats": args.repeats,
            "warmup_steps": args.warmup, "params": params, "baseline": PLAIN, "load": load,
            "machine_busy": harness.machine_busy(load)}
    lead = [f"- Training: `Trainer.train_step()` timed directly (EMA off) against `{type(plain).__name__}` "
            f"(benchmarks/plain_image_to_image.py), batch {args.batch}; inference: one image at a time, "
            f"{data_facts['inference_input']}, timed over {3 * args.steps} images per repeat."]
    table = ("### Training\n\n" + harness.render_table(train_figures, PLAIN)
             + "\n\n### Inference\n\n" + harness.render_table(infer_figures, PLAIN))
    notes = harness.render_notes(meta, train_figures, lead)
    record = {**meta, "training": train_figures, "inference": infer_figures, "final_engine_losses": losses}
    stem = f"{arch}_cpu"
    markdown = harness.render_markdown(TITLES[arch], meta, table, notes, f"{stem}.json")
    md, js = harness.write_results(args.out_dir, stem, markdown, record)
    print(f"\n{table}\n{notes}\n\nwrote {md} and {js}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--arch", choices=sorted(SIDES), action="append", help="default: both")
    ap.add_argument("--data", type=Path, help="the data folder (needs a single --arch)")
    ap.add_argument("--batch", type=int, help="default: srgan 16, cyclegan 1 (the papers')")
    ap.add_argument("--steps", type=int, help="timed steps per repeat (default 3)")
    ap.add_argument("--repeats", type=int, help="default 3")
    ap.add_argument("--warmup", type=int, help="default 1")
    ap.add_argument("--side", type=int, help="inference input side (and CycleGAN's image size), default 128")
    ap.add_argument("--threads", type=int, help="torch.set_num_threads")
    ap.add_argument("--out-dir", type=Path, default=HERE / "results")
    args = ap.parse_args(argv)
    archs = list(dict.fromkeys(args.arch or ["srgan", "cyclegan"]))
    if args.data is not None and len(archs) != 1:
        ap.error("--data needs exactly one --arch")
    if args.threads:
        torch.set_num_threads(args.threads)
    import ganzoo

    facts = harness.machine_facts(ganzoo=ganzoo.__version__)
    print(harness.describe_machine(facts))
    command = ".venv/bin/python benchmarks/bench_image_to_image.py" + (" " + shlex.join(argv) if argv else "")
    given = {k: getattr(args, k) for k in ("batch", "steps", "repeats", "warmup", "side")}
    for arch in archs:
        for key, value in given.items():
            setattr(args, key, value if value is not None else DEFAULTS[arch][key])
        run(arch, args, facts, command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
