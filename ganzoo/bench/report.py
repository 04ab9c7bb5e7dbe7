"""``ganzoo bench``'s output: a Markdown table with its notes, the JSON record and a bar chart of
training images/s (engine against plain loop per architecture), written side by side."""

from __future__ import annotations

import json
from pathlib import Path

from ganzoo.fileio import atomic_write_text


def _rate(x: float | None) -> str:
    """Images/s with three significant digits below 100 (slow models run at fractions of one)."""
    if x is None:
        return "-"
    return f"{x:.3g}" if x < 100 else f"{x:,.0f}"


def _spread(f: dict) -> str:
    return f"{_rate(f['images_per_s'])} ({_rate(f['images_per_s_min'])}-{_rate(f['images_per_s_max'])})"


def _memory(f: dict) -> str:
    m = f.get("memory")
    if not m:
        return "-"
    if m["status"] != "ok":
        return m["status"]
    return f"{m['peak_bytes'] / 2**20:,.1f} MiB"


def _params(p: dict | None) -> str:
    return f"{p['generator']:,} / {p['discriminator']:,}" if p else "-"


def training_table(record: dict) -> str:
    rows = ["| architecture | batch | params G / D | engine img/s (min-max) | plain img/s (min-max) | "
            "engine/plain (per-repeat min-max) | peak memory engine / plain |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for arch in record["architectures"]:
        if arch["status"] != "ok" and not arch["batches"]:
            rows.append(f"| {arch['architecture']} | - | - | error | error | - | - |")
        for b in arch["batches"]:
            if b["status"] != "ok":
                rows.append(f"| {arch['architecture']} | {b['batch_size']} | - | {b['status']} | "
                            f"{b['status']} | - | - |")
                continue
            p = b["paired_ratio"]
            rows.append(f"| {arch['architecture']} | {b['batch_size']} | {_params(b['params'])} | "
                        f"{_spread(b['engine'])} | {_spread(b['plain'])} | {b['ratio']:.2f} "
                        f"({p['min']:.2f}-{p['max']:.2f}) | {_memory(b['engine'])} / {_memory(b['plain'])} |")
    return "\n".join(rows)


def _compute(f: dict) -> str:
    if f.get("tflops") is None:
        return "-"
    share = f.get("fraction_of_bf16_peak")
    return f"{f['tflops']:.3g}" + (f" ({100 * share:.1f} % of bf16 peak)" if share is not None else "")


def compute_table(record: dict) -> str:
    """FLOPs of one engine step and the TFLOP/s each contender's step rate implies."""
    rows = ["| architecture | batch | GFLOP per step | engine TFLOP/s | plain TFLOP/s |", "|---|---:|---:|---:|---:|"]
    for arch in record["architectures"]:
        for b in arch["batches"]:
            if b.get("status") == "ok" and "flops_per_step" in b:
                rows.append(f"| {arch['architecture']} | {b['batch_size']} | {b['flops_per_step'] / 1e9:,.2f} | "
                            f"{_compute(b['engine'])} | {_compute(b['plain'])} |")
    return "\n".join(rows)


def best_table(record: dict) -> str:
    rows = ["| architecture | best engine img/s (batch) | best plain img/s (batch) | engine/plain |",
            "|---|---:|---:|---:|"]
    for arch in record["architectures"]:
        best = arch.get("best")
        if not best:
            why = "OOM" if arch["status"] == "ok" else "error"
            rows.append(f"| {arch['architecture']} | {why} | - | - |")
            continue
        rows.append(f"| {arch['architecture']} | {_rate(best['engine_images_per_s'])} ({best['engine_batch_size']}) | "
                    f"{_rate(best['plain_images_per_s'])} ({best['plain_batch_size']}) | {best['ratio']:.2f} |")
    return "\n".join(rows)


def sampling_table(record: dict) -> str:
    rows = ["| generator | kind | params | img/s at batch 1 | best img/s (batch) |", "|---|---|---:|---:|---:|"]
    items = [(a["architecture"], "architecture (random init)", a) for a in record["architectures"]]
    items += [(p["model"], f"pretrained ({p['architecture']})", p) for p in record["pretrained"]]
    for name, kind, item in items:
        s = item.get("sampling")
        if not s:
            rows.append(f"| {name} | {kind} | - | {item.get('error', 'error')} | - |")
            continue
        best = f"{_rate(s['best_images_per_s'])} ({s['best_batch_size']})" if s["best_batch_size"] else "OOM"
        params = s.get("params", item.get("params", 0))
        rows.append(f"| {name} | {kind} | {params:,} | {_rate(s['batch_1_images_per_s'])} | {best} |")
    return "\n".join(rows)


def notes(record: dict) -> list[str]:
    o, load = record["options"], record["load"]
    steps = (f"{o['steps']} timed steps" if o["steps"] else
             "timed steps (as many as fill about {:.1f} s, from one timed step)".format(o["block_seconds"]))
    cuda = record["device"] == "cuda"
    lines = [
        "- Data: synthetic uniformly random uint8 images of each architecture's default shape "
        "(labels for conditional generators; two domains for CycleGAN, HR images for SRGAN), in memory.",
        "- Engine: `Trainer.train_step()` (one step = `d_steps` discriminator steps + one generator "
        "step) with the architecture's training defaults (EMA, loss, learning rates) and any `--set`; "
        "logging, sample grids and checkpoints are not part of it. Plain: a hand-written fp32 loop "
        "of the same networks (same config and seed, equal parameter counts asserted): DataLoader over "
        "a TensorDataset, Adam, BCE-with-logits non-saturating loss (CycleGAN and SRGAN: their "
        "papers' losses), as many D steps per step. Images/s = batch x d_steps / step time.",
        f"- Timing: {o['warmup']} warm-up step(s) per contender, then {o['repeats']} repeats of "
        f"{steps} per contender, the contenders' order rotated between repeats"
        + (", `torch.cuda.synchronize` at the edges of each timed block" if cuda else "")
        + "; median (min-max) over the repeats. engine/plain is the ratio of the medians (> 1: the "
        "engine is faster), with the min-max of the per-repeat ratios.",
        ("- Peak memory: `torch.cuda.max_memory_allocated` after `reset_peak_memory_stats`, "
         "each contender built and run alone for a few steps in a fresh spawned process."
         if cuda else
         "- Peak memory: growth of the peak resident set size from before the first training step "
         "to after a few steps (Linux: the kernel's peak mark reset through /proc/self/clear_refs, "
         "then VmHWM; elsewhere `getrusage(RUSAGE_SELF).ru_maxrss`), each contender built and run "
         "alone in a fresh spawned process, so one contender's memory cannot count towards the "
         "other's; it is what training adds to the built networks and data."),
        "- Sampling: the generator's forward under `torch.no_grad()` in eval mode on random inputs "
        f"(latents, labels or images), batch sizes {', '.join(map(str, o['sample_sizes']))} until an "
        "OOM or a call over 1 s; pretrained models are the bundled copies, loaded offline.",
        f"- Machine: {record['hardware']}; {record['cpu_count']} logical CPUs, torch threads "
        f"{record['torch_threads']}. Over the {load['wall_s']} s run this benchmark used "
        f"{load['benchmark_cores_avg']} cores on average and everything else {load['other_cores_avg']}.",
    ]
    if load.get("busy"):
        lines.append("- **The machine was busy with other work during this run**: absolute images/s "
                     "are depressed and noisy; the interleaved ratios suffer less.")
    errors = [a for a in record["architectures"] if a["status"] != "ok"]
    for a in errors:
        lines.append(f"- {a['architecture']} failed: {a['error']}")
    return lines


def render_markdown(record: dict, json_name: str, png_name: str) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in record["versions"].items())
    return (
        f"# ganzoo bench on {record['device']}: {record['hardware']}\n\n"
        f"{record['date_utc']} - {versions}\n\n"
        f"Produced by `{record['command']}` (raw figures in `{json_name}`, chart `{png_name}`).\n\n"
        f"## Training\n\n{training_table(record)}\n\nBest over the batch sizes:\n\n{best_table(record)}\n\n"
        f"Arithmetic (FLOPs of one engine training step, matmuls and convolutions forward and "
        f"backward, counted by `torch.utils.flop_counter.FlopCounterMode`):\n\n{compute_table(record)}\n\n"
        f"## Sampling\n\n{sampling_table(record)}\n\n## Notes\n\n" + "\n".join(notes(record)) + "\n"
    )


def plot_training(record: dict, path: Path) -> Path:
    """Bars of the best training images/s, engine beside plain loop, per architecture (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    archs = [a for a in record["architectures"] if a.get("best")]
    names = [a["architecture"] for a in archs]
    engine = [a["best"]["engine_images_per_s"] for a in archs]
    plain = [a["best"]["plain_images_per_s"] for a in archs]
    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(names) + 2), 4.0))
    xs = range(len(names))
    ax.bar([x - 0.2 for x in xs], engine, width=0.4, label="ganzoo engine")
    ax.bar([x + 0.2 for x in xs], plain, width=0.4, label="plain PyTorch loop")
    ax.set_xticks(list(xs), names)
    if names:
        ax.set_yscale("log")
    ax.set_ylabel("training images/s (best batch)")
    ax.set_title(f"ganzoo bench, {record['hardware']}"[:90], fontsize=9)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(record: dict, out_dir: str | Path) -> dict[str, Path]:
    """``bench_<device>.md``, ``.json`` and ``.png`` in ``out_dir`` (created if needed)."""
    out_dir = Path(out_dir)
    stem = f"bench_{record['device']}"
    paths = {ext: out_dir / f"{stem}.{ext}" for ext in ("md", "json", "png")}
    out_dir.mkdir(parents=True, exist_ok=True)
    record = {**record, "notes": notes(record)}
    atomic_write_text(paths["json"], json.dumps(record, indent=2, default=str) + "\n")
    atomic_write_text(paths["md"], render_markdown(record, paths["json"].name, paths["png"].name))
    plot_training(record, paths["png"])
    return paths
