"""``ganzoo bench``'s work, one architecture at a time: for each batch size the engine and the
plain loop on synthetic data (timed interleaved, then their peak memory, each alone), then the
generator's sampling speed; then every bundled pretrained model's sampling speed.

An out-of-memory batch is recorded as OOM and the run goes on with the next batch; any other
failure of an architecture is recorded as its error and the run goes on with the next one.
"""

from __future__ import annotations

import math
import shlex
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import torch

from ganzoo.bench.adapter import bench_adapter
from ganzoo.bench.contenders import (
    BenchSetup, build_engine, build_plain, check_settings, free_memory, is_out_of_memory, parameter_counts,
    resolve_setup,
)
from ganzoo.bench.flops import count_flops, throughput
from ganzoo.bench.machine import LoadWatch, machine_facts
from ganzoo.bench.memory import ProbeSpec, probe_peak_memory
from ganzoo.bench.sampling import SWEEP, sampling_sweep
from ganzoo.bench.timing import Contender, calibrate_steps, measure, paired_ratios, summarise, time_steps
from ganzoo.errors import GanzooError, PluginError

ENGINE, PLAIN = "engine", "plain"
Log = Callable[[str], None]


@dataclass
class BenchOptions:
    device: str = "auto"
    batch_sizes: tuple[int, ...] = ()
    """Empty: each architecture's default batch size."""
    steps: int = 0
    """Timed steps per block; 0: as many as fill about ``block_seconds``."""
    block_seconds: float = 0.5
    repeats: int = 3
    warmup: int = 1
    settings: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    memory: bool = True
    pretrained: bool = True
    sample_sizes: tuple[int, ...] = SWEEP


def parse_batch_sizes(text: str | None) -> tuple[int, ...]:
    """``"1,64,128"`` -> (1, 64, 128); a one-line GanzooError for anything else."""
    if text is None:
        return ()
    sizes = []
    for part in text.split(","):
        try:
            size = int(part.strip())
        except ValueError:
            raise GanzooError(f"--batch-size takes comma-separated whole numbers, got {text!r}") from None
        if size < 1:
            raise GanzooError(f"batch sizes must be >= 1, got {size}")
        sizes.append(size)
    return tuple(dict.fromkeys(sizes))


def check_request(names: list[str], options: BenchOptions) -> tuple[list[str], torch.device]:
    """Before any work: the architectures (default: all), the settings and the device."""
    from ganzoo.engine.run import get_architecture
    from ganzoo.devices import resolve_device
    from ganzoo.plugins import get_zoo

    zoo = get_zoo()
    chosen = list(dict.fromkeys(names)) or zoo.architectures.names()
    for name in chosen:
        zoo.architectures.get(name)  # unknown names: one line with a did-you-mean
    if not chosen:
        raise GanzooError("no architecture is installed; `ganzoo plugins` shows what was loaded")
    if min(options.repeats, options.steps + 1, options.warmup + 1) < 1:
        raise GanzooError("--repeats must be >= 1, --steps and --warmup >= 0")
    loaded, broken = {}, []
    for name in chosen:
        try:
            loaded[name] = get_architecture(name)
        except PluginError as exc:  # benched as an error; the others still run
            broken.append(exc)
    if not loaded:
        raise broken[0]
    check_settings(loaded, options.settings)
    return chosen, resolve_device(options.device)


def _finite(losses: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in losses.items()}


def bench_batch(name: str, batch: int | None, options: BenchOptions, device: torch.device, log: Log) -> dict:
    """Engine against plain loop at one batch size (None: the architecture's default)."""
    setup = resolve_setup(name, options.settings, batch, str(device), options.seed)
    batch = setup.train.batch_size
    row: dict[str, Any] = {"batch_size": batch, "d_steps": setup.train.d_steps}
    try:
        with tempfile.TemporaryDirectory(prefix="ganzoo-bench-") as run_dir:
            log(f"batch {batch}: building the engine and the plain loop on synthetic data")
            data = setup.make_data()
            engine, plain = build_engine(setup, data, run_dir), build_plain(setup, data)
            row["params"] = parameter_counts(engine, plain)
            row.update(_time_contenders(setup, engine, plain, options, device, log))
            del engine, plain, data
    except Exception as exc:  # noqa: BLE001 - OOM is a result; anything else is re-raised
        if not is_out_of_memory(exc):
            raise
        free_memory()
        log(f"batch {batch}: OOM ({str(exc).splitlines()[0][:120]})")
        return {**row, "status": "OOM", "error": str(exc).splitlines()[0][:300]}
    free_memory()
    if options.memory:
        for side in (ENGINE, PLAIN):
            log(f"batch {batch}: peak memory of the {side}, alone in a fresh process")
            row[side]["memory"] = probe_peak_memory(_probe_spec(name, side, batch, options, device))
    return row


def _time_contenders(setup: BenchSetup, engine: Any, plain: Any, options: BenchOptions,
                     device: torch.device, log: Log) -> dict[str, Any]:
    last: dict[str, Any] = {}
    per_step = setup.images_per_step
    contenders = [Contender(ENGINE, lambda: last.__setitem__(ENGINE, engine.train_step()), per_step),
                  Contender(PLAIN, lambda: last.__setitem__(PLAIN, plain.train_step()), per_step)]
    for c in contenders:
        time_steps(c.step, options.warmup, device)
    steps = options.steps or calibrate_steps(contenders, device, options.block_seconds)
    log(f"batch {setup.train.batch_size}: {options.repeats} repeats x {steps} steps per contender")
    seconds = measure(contenders, steps, options.repeats, 0, device,
                      log=lambda line: log(f"batch {setup.train.batch_size}: {line}"))
    losses = {side: _finite(last[side]) for side in (ENGINE, PLAIN)}
    for side, values in losses.items():
        if not all(math.isfinite(v) for v in values.values()):
            log(f"WARNING: {setup.name} {side} losses are not finite: {values}")
    figures = {side: summarise(seconds[side], steps, per_step) for side in (ENGINE, PLAIN)}
    flops = count_flops(engine.train_step)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    for side in (ENGINE, PLAIN):
        figures[side].update(throughput(flops, figures[side]["images_per_s"], per_step, name))
    t = setup.train
    return {
        "status": "ok", "images_per_step": per_step, "flops_per_step": flops,
        "steps_per_repeat": steps, "repeats": options.repeats,
        "warmup_steps": options.warmup, **figures,
        "ratio": figures[ENGINE]["images_per_s"] / figures[PLAIN]["images_per_s"],
        "paired_ratio": paired_ratios(seconds[ENGINE], seconds[PLAIN], per_step, per_step),
        "final_losses": losses,
        "engine_settings": {"loss": t.loss, "ema": t.ema, "precision": t.precision, **setup.model_values,
                            **{k: v for k, v in options.settings.items() if k in t.to_dict()}},
    }


def _probe_spec(name: str, side: str, batch: int, options: BenchOptions, device: torch.device) -> ProbeSpec:
    return ProbeSpec(architecture=name, contender=side, settings=dict(options.settings), batch_size=batch,
                     device=str(device), seed=options.seed, threads=torch.get_num_threads(),
                     sys_path=tuple(sys.path))


def _best(batches: list[dict]) -> dict[str, Any] | None:
    measured = [b for b in batches if b.get("status") == "ok"]
    if not measured:
        return None
    engine = max(measured, key=lambda b: b[ENGINE]["images_per_s"])
    plain = max(measured, key=lambda b: b[PLAIN]["images_per_s"])
    return {"engine_images_per_s": engine[ENGINE]["images_per_s"], "engine_batch_size": engine["batch_size"],
            "plain_images_per_s": plain[PLAIN]["images_per_s"], "plain_batch_size": plain["batch_size"],
            "ratio": engine[ENGINE]["images_per_s"] / plain[PLAIN]["images_per_s"]}


def bench_architecture(name: str, options: BenchOptions, device: torch.device, log: Log) -> dict[str, Any]:
    from ganzoo.plugins import get_zoo

    record: dict[str, Any] = {"architecture": name, "plugin": get_zoo().architectures.get(name).plugin}
    try:
        batches = [bench_batch(name, b, options, device, log) for b in (options.batch_sizes or (None,))]
        record.update(status="ok", batches=batches, best=_best(batches))
        record["sampling"] = bench_generator_sampling(name, options, device, log)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - one broken plugin must not end the run
        record.update(status="error", error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        record.setdefault("batches", [])
        log(f"ERROR: {record['error']}")
    free_memory()
    return record


def bench_generator_sampling(name: str, options: BenchOptions, device: torch.device, log: Log) -> dict:
    """The architecture's generator (default config, seeded init) sampling on random inputs."""
    setup = resolve_setup(name, options.settings, None, str(device), options.seed)
    torch.manual_seed(options.seed)
    generator = setup.arch.build_generator(setup.model_config()).to(device)
    adapter = bench_adapter(setup.arch)
    result = sampling_sweep(generator, lambda n: adapter.sampling_inputs(generator, n, device), device,
                            sizes=options.sample_sizes, log=lambda line: log(line))
    result["params"] = sum(p.numel() for p in generator.parameters())
    return result


def bench_pretrained(entry: Any, device: torch.device, options: BenchOptions, log: Log) -> dict[str, Any]:
    """A bundled pretrained model, loaded offline (never from the network), sampling."""
    from ganzoo.engine.run import get_architecture
    from ganzoo.hub import load_pretrained
    from ganzoo.huggingface import HubOptions

    record: dict[str, Any] = {"model": entry.name, "architecture": entry.architecture, "plugin": entry.plugin}
    try:
        generator = load_pretrained(entry.name, device=str(device), options=HubOptions(offline=True))
        adapter = bench_adapter(get_architecture(entry.architecture))
        record["source"] = generator.source.describe()
        record["params"] = sum(p.numel() for p in generator.parameters())
        record["sampling"] = sampling_sweep(generator, lambda n: adapter.sampling_inputs(generator, n, device),
                                            device, sizes=options.sample_sizes, log=log)
        record["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - e.g. not bundled and not in the cache
        record.update(status="error", error=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
        log(f"ERROR: {record['error']}")
    free_memory()
    return record


def run_bench(names: list[str], options: BenchOptions, device: torch.device, *, command: str = "",
              log: Log = print) -> dict[str, Any]:
    """Benchmark ``names`` (already checked by ``check_request``); returns the full record."""
    from ganzoo.plugins import get_zoo

    watch = LoadWatch()
    facts = machine_facts(device)
    log(f"device: {facts['hardware']} | " + ", ".join(f"{k} {v}" for k, v in facts["versions"].items()))
    architectures = []
    for i, name in enumerate(names, 1):
        prefix = f"[{i}/{len(names)} {name}]"
        log(f"{prefix} start")
        architectures.append(bench_architecture(name, options, device, lambda line: log(f"{prefix} {line}")))
    pretrained = []
    if options.pretrained:
        entries = [e for e in get_zoo().pretrained if e.architecture in names and e.bundled is not None]
        for i, entry in enumerate(entries, 1):
            prefix = f"[pretrained {i}/{len(entries)} {entry.name}]"
            log(f"{prefix} sampling")
            pretrained.append(bench_pretrained(entry, device, options, lambda line: log(f"{prefix} {line}")))
    return {"benchmark": "ganzoo bench", "command": command or "ganzoo bench " + shlex.join(names), **facts,
            "options": {**asdict(options), "batch_sizes": list(options.batch_sizes) or "architecture default"},
            "architectures": architectures, "pretrained": pretrained, "load": watch.report()}
