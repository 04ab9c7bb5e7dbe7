"""Facts about the machine a benchmark ran on (device, versions, date) and ``LoadWatch``, which
records how busy the rest of the machine was meanwhile."""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
from pathlib import Path

import torch

from ganzoo.hardware import cpu_model


def machine_facts(device: torch.device) -> dict:
    """Device name, CPU, threads, versions (torch, python, ganzoo, CUDA) and the date (UTC)."""
    from ganzoo import __version__

    versions = {"torch": torch.__version__, "python": platform.python_version(), "ganzoo": __version__}
    facts = {
        "date_utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "device": device.type,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        facts["gpu"] = props.name
        facts["gpu_memory_gib"] = round(props.total_memory / 2**30, 1)
        versions["cuda"] = torch.version.cuda or "?"
        if torch.backends.cudnn.is_available():
            versions["cudnn"] = str(torch.backends.cudnn.version())
        facts["hardware"] = props.name
    else:
        facts["hardware"] = f"{facts['cpu_model']} ({facts['torch_threads']} threads)"
    facts["versions"] = versions
    return facts


def _machine_busy_seconds() -> float:
    """CPU seconds all CPUs together have spent not idle since boot (from /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the memory probes)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class LoadWatch:
    """How busy the rest of the machine was between construction and ``report()``."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.load0 = os.getloadavg()
        self.machine0, self.own0 = _machine_busy_seconds(), _own_cpu_seconds()

    def report(self) -> dict:
        wall = max(time.perf_counter() - self.t0, 1e-9)
        machine = _machine_busy_seconds() - self.machine0
        own = _own_cpu_seconds() - self.own0
        other = max(machine - own, 0.0) / wall
        return {
            "wall_s": round(wall, 1),
            "loadavg_start": [round(x, 2) for x in self.load0],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()],
            "benchmark_cores_avg": round(own / wall, 2),
            "other_cores_avg": round(other, 2) if other == other else None,
            "busy": bool(other == other and other > 0.25),
        }
