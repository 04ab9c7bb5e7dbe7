"""Benchmark: the ganzoo engine's MLP GAN training step against a plain PyTorch loop.

Both train the same MLP GAN (z100 -> 128 -> 784, D 784 -> 128 -> 1, non-saturating BCE,
Adam 2e-4 / (0.5, 0.999)) on the same MNIST uint8 tensor with the same batch size, on the CPU,
in this one process. The engine is timed through ``Trainer.train_step()`` directly (not
``fit()``), so logging, sample grids and checkpoint I/O are excluded from its figures.

Method: every contender first runs ``--warmup`` untimed steps; then ``--repeats`` rounds, each
timing ``--steps`` consecutive steps of every contender, with the contenders' order rotated
from round to round so that slow drift (thermal, other load) is spread evenly over them.
Reported: images/s (median over repeats, and the min-max spread) and engine/plain ratios.

    .venv/bin/python benchmarks/bench_mlp.py [--threads N] [--steps 300] [--repeats 7]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"

# -- the plain loop: no ganzoo imports here ------------------------------------------------------

LATENT, HIDDEN, PIXELS, SLOPE = 100, 128, 28 * 28, 0.01
LR, BETAS = 2e-4, (0.5, 0.999)


class PlainLoop:
    """A hand-written MLP GAN training step, in the style of pytorch/examples' dcgan: a D step on
    real and fake.detach(), then a G step that reuses the same fake batch."""

    def __init__(self, images_u8: torch.Tensor, batch_size: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.images = images_u8  # uint8 N,1,28,28
        self.batch_size = batch_size
        self.netG = nn.Sequential(nn.Linear(LATENT, HIDDEN), nn.LeakyReLU(SLOPE),
                                  nn.Linear(HIDDEN, PIXELS), nn.Tanh())
        self.netD = nn.Sequential(nn.Linear(PIXELS, HIDDEN), nn.LeakyReLU(SLOPE),
                                  nn.Linear(HIDDEN, 1))
        self.optG = torch.optim.Adam(self.netG.parameters(), lr=LR, betas=BETAS)
        self.optD = torch.optim.Adam(self.netD.parameters(), lr=LR, betas=BETAS)
        self.criterion = nn.BCEWithLogitsLoss()
        self.ones = torch.ones(batch_size, 1)
        self.zeros = torch.zeros(batch_size, 1)
        self.rng = torch.Generator().manual_seed(seed)
        self.perm = torch.randperm(len(images_u8), generator=self.rng)
        self.pos = 0

    def _indices(self) -> torch.Tensor:
        if self.pos + self.batch_size > len(self.perm):  # new epoch, drop the ragged tail
            self.perm, self.pos = torch.randperm(len(self.images), generator=self.rng), 0
        idx = self.perm[self.pos : self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def train_step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.images[self._indices()].view(self.batch_size, -1).float() / 127.5 - 1.0
        # D: maximise log D(x) + log(1 - D(G(z)))
        self.optD.zero_grad(set_to_none=True)
        fake = self.netG(torch.randn(self.batch_size, LATENT))
        errD = (self.criterion(self.netD(real), self.ones)
                + self.criterion(self.netD(fake.detach()), self.zeros))
        errD.backward()
        self.optD.step()
        # G: maximise log D(G(z)), reusing the same fake
        self.optG.zero_grad(set_to_none=True)
        errG = self.criterion(self.netD(fake), self.ones)
        errG.backward()
        self.optG.step()
        return errD.detach(), errG.detach()


# -- the engine ----------------------------------------------------------------------------------


def make_engine(dataset, batch_size: int, ema: float, run_dir: str, seed: int = 0):
    from ganzoo.engine.config import TrainConfig
    from ganzoo.engine.run import build_recipe, get_architecture
    from ganzoo.engine.trainer import Trainer

    torch.manual_seed(seed)
    arch = get_architecture("mlp")
    cfg = arch.make_config({})
    config = TrainConfig(batch_size=batch_size, ema=ema, device="cpu", seed=seed)
    recipe = build_recipe(arch, cfg, config)
    return Trainer(recipe, dataset, config, run_dir=run_dir, progress=False)


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- machine facts and other load ---------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _proc_cpu_seconds() -> dict[int, tuple[float, str]]:
    """CPU seconds (user + system) used so far by every other process, with a short name."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[float, str]] = {}
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            seconds = (int(fields[11]) + int(fields[12])) / tick
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            name = " ".join(a.decode(errors="replace") for a in argv[:8] if a)[:120]
            out[int(entry.name)] = (seconds, name or stat[stat.index("(") : stat.rindex(")") + 1])
        except (OSError, ValueError, IndexError):
            continue
    return out


def _machine_busy_seconds() -> float:
    """CPU seconds all CPUs together have spent not idle since boot (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    busy = sum(fields[:8]) - idle  # user nice system idle iowait irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def _training_jobs(procs: dict[int, tuple[float, str]]) -> list[str]:
    return [name for _, name in procs.values() if "ganzoo" in name and " train" in name]


class LoadWatch:
    """How busy the rest of the machine was while the benchmark ran."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.load0 = os.getloadavg()
        self.cpu0 = _proc_cpu_seconds()
        self.jobs0 = _training_jobs(self.cpu0)
        self.machine0, self.own0 = _machine_busy_seconds(), _own_cpu_seconds()

    def report(self) -> dict:
        wall = time.perf_counter() - self.t0
        machine = _machine_busy_seconds() - self.machine0
        own = _own_cpu_seconds() - self.own0
        cpu1 = _proc_cpu_seconds()
        busy = []
        for pid, (sec, name) in cpu1.items():
            used = sec - self.cpu0.get(pid, (0.0, ""))[0]
            if used / wall > 0.05:  # > 5% of one core on average
                busy.append({"pid": pid, "cmd": name, "cores_avg": round(used / wall, 2)})
        busy.sort(key=lambda b: -b["cores_avg"])
        return {
            "wall_s": round(wall, 1),
            "loadavg_start": [round(x, 2) for x in self.load0],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "benchmark_cores_avg": round(own / wall, 2),
            "other_processes": busy,
            "other_cores_avg": round(max(machine - own, 0.0) / wall, 2),
            "other_training_jobs_at_start": self.jobs0,
            "other_training_jobs_at_end": _training_jobs(cpu1),
        }


# -- measurement ---------------------------------------------------------------------------------


def time_steps(step: Callable[[], object], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start  # CPU ops are synchronous: nothing to wait for


def summarise(seconds: list[float], steps: int, batch: int) -> dict:
    ips = [steps * batch / s for s in seconds]
    return {
        "images_per_s_median": statistics.median(ips),
        "images_per_s_min": min(ips),
        "images_per_s_max": max(ips),
        "ms_per_step_median": 1000 * statistics.median(seconds) / steps,
        "images_per_s_each": [round(x, 1) for x in ips],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="MNIST idx directory")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--steps", type=int, default=300, help="timed steps per repeat")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--warmup", type=int, default=50, help="untimed steps per contender")
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent / "results")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch.set_num_threads (default: leave torch's default)")
    args = ap.parse_args(argv)

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()

    import ganzoo
    from ganzoo.data.mnist import load_mnist

    dataset = load_mnist(args.data)
    images = dataset.images
    assert images.dtype == torch.uint8 and tuple(images.shape[1:]) == (1, 28, 28)

    print(f"CPU: {cpu_model()} | os.cpu_count()={os.cpu_count()} | torch threads={threads} "
          f"(interop {torch.get_num_interop_threads()})")
    print(f"torch {torch.__version__} | python {platform.python_version()} | ganzoo {ganzoo.__version__}")
    print(f"data: {args.data} ({len(images)} images) | batch {args.batch_size} | "
          f"{args.repeats} repeats x {args.steps} steps, warm-up {args.warmup}")
    print("engine timed via Trainer.train_step() (not fit(): no logging/sample/checkpoint I/O)")

    watch = LoadWatch()
    with tempfile.TemporaryDirectory(prefix="bench_mlp_") as tmp:
        plain = PlainLoop(images, args.batch_size)
        eng_ema = make_engine(dataset, args.batch_size, 0.999, os.path.join(tmp, "ema"))
        eng_noema = make_engine(dataset, args.batch_size, 0.0, os.path.join(tmp, "noema"))
        # the same networks on both sides
        for eng in (eng_ema, eng_noema):
            assert n_params(eng.recipe.generators) == n_params(plain.netG)
            assert n_params(eng.recipe.discriminators) == n_params(plain.netD)

        contenders = {
            "engine, EMA 0.999": eng_ema.train_step,
            "engine, EMA off": eng_noema.train_step,
            "plain PyTorch loop": plain.train_step,
        }
        names = list(contenders)
        for name in names:
            time_steps(contenders[name], args.warmup)
        seconds: dict[str, list[float]] = {n: [] for n in names}
        for r in range(args.repeats):
            order = names[r % len(names):] + names[: r % len(names)]  # rotate positions
            for name in order:
                seconds[name].append(time_steps(contenders[name], args.steps))
            print(f"  repeat {r + 1}/{args.repeats}: " + ", ".join(
                f"{n} {args.steps * args.batch_size / seconds[n][-1]:.0f} img/s" for n in names))

        # the losses stay finite: both loops really trained
        last = {"engine": {k: float(v) for k, v in eng_noema.train_step().items()},
                "plain": dict(zip(("d_loss", "g_loss"), map(float, plain.train_step())))}
    load = watch.report()

    figures = {n: summarise(seconds[n], args.steps, args.batch_size) for n in names}
    plain_med = figures["plain PyTorch loop"]["images_per_s_median"]
    for n in names:
        f = figures[n]
        f["ratio_vs_plain"] = f["images_per_s_median"] / plain_med
        paired = [p / e for e, p in zip(seconds[n], seconds["plain PyTorch loop"])]
        f["paired_ratio_min"], f["paired_ratio_max"] = min(paired), max(paired)
        f["paired_ratio_median"] = statistics.median(paired)
        # interference only ever slows a repeat down, so the best repeats are the least disturbed
        f["best_ratio_vs_plain"] = (f["images_per_s_max"]
                                    / figures["plain PyTorch loop"]["images_per_s_max"])

    busy = load["other_cores_avg"] > 0.25 or bool(
        load["other_training_jobs_at_start"] or load["other_training_jobs_at_end"])
    now = dt.datetime.now(dt.timezone.utc)
    meta = {
        "benchmark": "MLP GAN training step, ganzoo engine vs plain PyTorch loop",
        "date_utc": now.isoformat(timespec="seconds"),
        "device": "cpu",
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": threads,
        "torch_interop_threads": torch.get_num_interop_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "ganzoo": ganzoo.__version__,
        "data": str(args.data.resolve()),
        "images": len(images),
        "batch_size": args.batch_size,
        "steps_per_repeat": args.steps,
        "repeats": args.repeats,
        "warmup_steps": args.warmup,
        "engine_timing": "Trainer.train_step() called directly; fit()'s logging, sample grids "
                         "and checkpoint I/O are excluded",
        "load": load,
        "machine_busy": busy,
    }
    result = {**meta, "figures": figures, "final_losses": last,
              "seconds_per_repeat": {n: [round(s, 4) for s in seconds[n]] for n in names}}

    table = render_table(figures, args)
    notes = render_notes(meta, figures)
    print()
    print(table)
    print(notes)

    args.out_dir.mkdir(parents=True, exist_ok=True)
    md = args.out_dir / "mlp_cpu.md"
    md.write_text(render_markdown(meta, table, notes))
    (args.out_dir / "mlp_cpu.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {md} and {args.out_dir / 'mlp_cpu.json'}")
    return 0


def render_table(figures: dict, args) -> str:
    rows = [
        "| loop | images/s median | min - max | ms/step median | engine/plain: ratio of medians "
        "| per-repeat ratios: median (min - max) | ratio of best repeats |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in figures.items():
        rows.append(
            f"| {name} | {f['images_per_s_median']:.0f} | {f['images_per_s_min']:.0f} - "
            f"{f['images_per_s_max']:.0f} | {f['ms_per_step_median']:.2f} | "
            f"{f['ratio_vs_plain']:.2f} | {f['paired_ratio_median']:.2f} "
            f"({f['paired_ratio_min']:.2f} - {f['paired_ratio_max']:.2f}) | "
            f"{f['best_ratio_vs_plain']:.2f} |"
        )
    return "\n".join(rows)


def render_notes(meta: dict, figures: dict) -> str:
    load = meta["load"]
    lines = [
        f"- Batch {meta['batch_size']}, {meta['repeats']} repeats x {meta['steps_per_repeat']} "
        f"steps after {meta['warmup_steps']} warm-up steps each; one step = 1 D step + 1 G step "
        f"= {meta['batch_size']} real images.",
        "- Engine: `Trainer.train_step()` timed directly, not `fit()`, so logging, sample grids "
        "and checkpoint I/O are excluded. EMA off is the like-for-like row (the plain loop has "
        "no EMA).",
        "- Ratios are engine images/s / plain images/s: > 1 means the engine is faster. "
        "Per-repeat ratios pair each engine block with the plain block of the same repeat "
        "(adjacent in time); the ratio of best repeats compares the least disturbed blocks.",
        f"- CPU: {meta['cpu_model']}, {meta['cpu_count']} logical CPUs, torch threads "
        f"{meta['torch_threads']} (interop {meta['torch_interop_threads']}).",
        f"- Load average {load['loadavg_start']} at start, {load['loadavg_end']} at end. Over "
        f"the {load['wall_s']} s run this benchmark used {load['benchmark_cores_avg']} cores "
        f"on average and everything else {load['other_cores_avg']} (from /proc/stat).",
    ]
    if load["other_processes"]:
        lines.append("- Busiest other processes still alive at the end:")
    for b in load["other_processes"]:
        lines.append(f"  - pid {b['pid']}: {b['cores_avg']} cores: `{b['cmd']}`")
    for when in ("start", "end"):
        for job in load.get(f"other_training_jobs_at_{when}", []):
            lines.append(f"- Another ganzoo training job was running at the {when}: `{job}`")
    if meta["machine_busy"]:
        still = load["other_training_jobs_at_end"]
        lines.append(
            "- **The machine was busy with other work during this run"
            + (" (a ganzoo training job was still running when it ended)" if still else "")
            + "**: absolute images/s are depressed and noisy; the engine/plain ratios, measured "
            "interleaved under the same load, suffer less, but check their per-repeat spread."
        )
    spread = max(f["images_per_s_max"] / f["images_per_s_min"] for f in figures.values())
    if spread > 1.5:
        lines.append(
            f"- **Unreliable run**: the fastest repeat of a contender was {spread:.1f}x its "
            "slowest. Rerun on an idle machine (and consider `--threads 1` when sharing cores) "
            "before quoting these figures."
        )
    return "\n".join(lines)


def render_markdown(meta: dict, table: str, notes: str) -> str:
    return (
        f"# MLP GAN training step on CPU: ganzoo engine vs plain PyTorch\n\n"
        f"{meta['date_utc']} - torch {meta['torch']}, python {meta['python']}, "
        f"ganzoo {meta['ganzoo']} - data {meta['data']} ({meta['images']} images)\n\n"
        f"Produced by `.venv/bin/python benchmarks/bench_mlp.py` (raw figures in `mlp_cpu.json`).\n\n"
        f"{table}\n\n{notes}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
