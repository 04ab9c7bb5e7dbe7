"""The measuring part of the benchmarks, generic over a list of named contenders.

A contender is a zero-argument callable that runs one training step, plus how many images one
step consumes. ``measure`` warms every contender up, then runs ``repeats`` rounds in which each
contender times ``steps`` consecutive steps, rotating the contenders' order from round to round
so that slow drift (frequency changes, other load) is spread evenly over them. ``compare`` turns
the timings into images/s and ratios against one baseline contender, and the ``render_*``
functions and ``write_results`` produce the Markdown table, its notes and the JSON record.

Also here: the facts about the machine (CPU model, threads, versions, date) and ``LoadWatch``,
which records how busy the rest of the machine was while a benchmark ran.

Nothing in this file knows about GANs or ganzoo's engine, except that ``LoadWatch`` names other
``ganzoo train`` jobs it sees running.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import torch


@dataclass
class Contender:
    name: str
    step: Callable[[], object]
    """Runs one training step; its return value is ignored."""
    images_per_step: int


# -- machine facts and other load ---------------------------------------------------------------


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def machine_facts(**versions: str) -> dict:
    """CPU, threads, versions (torch, python and any given as keywords) and the date (UTC)."""
    return {
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "device": "cpu",
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "versions": {"torch": torch.__version__, "python": platform.python_version(), **versions},
    }


def describe_machine(facts: dict) -> str:
    versions = " | ".join(f"{k} {v}" for k, v in facts["versions"].items())
    return (f"CPU: {facts['cpu_model']} | os.cpu_count()={facts['cpu_count']} | torch threads="
            f"{facts['torch_threads']} (interop {facts['torch_interop_threads']})\n{versions}")


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
    """How busy the rest of the machine was between construction and ``report()``."""

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


def machine_busy(load: dict) -> bool:
    return load["other_cores_avg"] > 0.25 or bool(
        load["other_training_jobs_at_start"] or load["other_training_jobs_at_end"])


# -- measurement ---------------------------------------------------------------------------------


def time_steps(step: Callable[[], object], steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - start  # CPU ops are synchronous: nothing to wait for


def measure(contenders: list[Contender], steps: int, repeats: int, warmup: int,
            log: Callable[[str], None] = print) -> dict[str, list[float]]:
    """Seconds per block of ``steps`` steps, ``repeats`` blocks per contender, interleaved."""
    names = [c.name for c in contenders]
    if len(set(names)) != len(names):
        raise ValueError(f"contender names must be unique: {names}")
    for c in contenders:
        time_steps(c.step, warmup)
    seconds: dict[str, list[float]] = {n: [] for n in names}
    for r in range(repeats):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:  # rotate positions
            seconds[c.name].append(time_steps(c.step, steps))
        log(f"  repeat {r + 1}/{repeats}: " + ", ".join(
            f"{c.name} {steps * c.images_per_step / seconds[c.name][-1]:.3g} img/s"
            for c in contenders))
    return seconds


def summarise(seconds: list[float], steps: int, images_per_step: int) -> dict:
    ips = [steps * images_per_step / s for s in seconds]
    return {
        "images_per_s_median": statistics.median(ips),
        "images_per_s_min": min(ips),
        "images_per_s_max": max(ips),
        "ms_per_step_median": 1000 * statistics.median(seconds) / steps,
        "images_per_s_each": [round(x, 1) for x in ips],
    }


def compare(contenders: list[Contender], seconds: dict[str, list[float]], steps: int,
            baseline: str) -> dict[str, dict]:
    """``summarise`` for every contender, plus its images/s ratios against ``baseline``."""
    figures = {c.name: summarise(seconds[c.name], steps, c.images_per_step) for c in contenders}
    base, base_ips = figures[baseline], {c.name: c.images_per_step for c in contenders}[baseline]
    for c in contenders:
        f = figures[c.name]
        f["ratio_vs_baseline"] = f["images_per_s_median"] / base["images_per_s_median"]
        # each block against the baseline block of the same repeat, which ran right beside it
        paired = [(c.images_per_step / s) / (base_ips / b)
                  for s, b in zip(seconds[c.name], seconds[baseline])]
        f["paired_ratio_median"] = statistics.median(paired)
        f["paired_ratio_min"], f["paired_ratio_max"] = min(paired), max(paired)
        # interference only ever slows a block down, so the best blocks are the least disturbed
        f["best_ratio_vs_baseline"] = f["images_per_s_max"] / base["images_per_s_max"]
    return figures


# -- output --------------------------------------------------------------------------------------


def _rate(x: float) -> str:
    """Images/s with three significant digits below 100 (slow models run at fractions of one)."""
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"


def render_table(figures: dict[str, dict], baseline: str) -> str:
    rows = [
        f"| contender | images/s median | min - max | ms/step median | ratio of medians vs "
        f"{baseline} | per-repeat ratios: median (min - max) | ratio of best repeats |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in figures.items():
        rows.append(
            f"| {name} | {_rate(f['images_per_s_median'])} | {_rate(f['images_per_s_min'])} - "
            f"{_rate(f['images_per_s_max'])} | {f['ms_per_step_median']:.2f} | "
            f"{f['ratio_vs_baseline']:.2f} | {f['paired_ratio_median']:.2f} "
            f"({f['paired_ratio_min']:.2f} - {f['paired_ratio_max']:.2f}) | "
            f"{f['best_ratio_vs_baseline']:.2f} |"
        )
    return "\n".join(rows)


def render_notes(meta: dict, figures: dict[str, dict], lead: list[str]) -> str:
    """Markdown bullet notes: the benchmark's own ``lead`` lines, then the method, the machine
    and its load, and warnings when the figures should not be trusted."""
    load = meta["load"]
    lines = list(lead) + [
        f"- {meta['repeats']} repeats x {meta['steps_per_repeat']} timed steps per contender, "
        f"after {meta['warmup_steps']} untimed warm-up steps each; the contenders' order is "
        "rotated from one repeat to the next.",
        f"- Ratios are contender images/s / {meta['baseline']} images/s: > 1 means faster than "
        f"the {meta['baseline']}. Per-repeat ratios pair each block with the {meta['baseline']} "
        "block of the same repeat (adjacent in time); the ratio of best repeats compares the "
        "least disturbed blocks.",
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
            + "**: absolute images/s are depressed and noisy; the ratios, measured "
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


def render_markdown(title: str, meta: dict, table: str, notes: str, json_name: str) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta["versions"].items())
    return (
        f"# {title}\n\n"
        f"{meta['date_utc']} - {versions} - data {meta['data']} ({meta['images']} images)\n\n"
        f"Produced by `{meta['command']}` (raw figures in `{json_name}`).\n\n"
        f"{table}\n\n{notes}\n"
    )


def write_results(out_dir: Path, stem: str, markdown: str, record: dict) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / f"{stem}.md", out_dir / f"{stem}.json"
    md.write_text(markdown)
    js.write_text(json.dumps(record, indent=2) + "\n")
    return md, js
