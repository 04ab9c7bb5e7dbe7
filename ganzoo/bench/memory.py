"""Peak memory of one contender, measured alone in a fresh process so that no other contender's
tensors (or freed-but-kept pages) count towards its figure.

Each probe spawns a child (``multiprocessing``'s spawn start method, which is safe with CUDA),
which builds the contender from scratch, runs a few training steps and reports:

- on CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats`` (taken just
  before the contender is built), i.e. the peak of its tensors, networks and data included;
- on the CPU: the growth of the process's peak resident set size from just before the first
  step to after the last, i.e. what training adds (activations, gradients, optimizer state) to
  the built contender. On Linux the kernel's peak mark is reset first (``/proc/self/clear_refs``)
  and ``VmHWM`` read after, so the imports' and the building's own peaks do not hide the
  steps'; elsewhere ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` before and after.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import resource
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROBE_STEPS = 2


@dataclass
class ProbeSpec:
    architecture: str
    contender: str
    """"engine" or "plain"."""
    settings: dict[str, Any]
    batch_size: int | None
    device: str
    seed: int
    threads: int
    steps: int = PROBE_STEPS
    sys_path: tuple[str, ...] = ()


def _max_rss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # bytes on macOS, KiB on Linux


def _status_bytes(field: str) -> int | None:
    """``VmRSS`` or ``VmHWM`` of this process from /proc/self/status (None where there is none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux >= 4.0: clear_refs 5), so the
    peak measured next belongs to the steps alone, not to imports or building."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return _status_bytes("VmHWM") is not None


class PeakRSS:
    """Peak resident-set growth from ``start()`` to ``growth()``."""

    def start(self) -> None:
        self.reset = _reset_peak_rss()
        self.before = _status_bytes("VmRSS") if self.reset else _max_rss_bytes()

    def growth(self) -> tuple[int, str]:
        if self.reset:
            return max(0, (_status_bytes("VmHWM") or 0) - self.before), "VmHWM growth (peak RSS reset before the steps)"
        return max(0, _max_rss_bytes() - self.before), "ru_maxrss growth"


def _probe(spec: ProbeSpec) -> dict[str, Any]:
    """Runs in the child: build, step, measure. OOM comes back as a status, not an exception."""
    for path in reversed(spec.sys_path):
        if path not in sys.path:
            sys.path.insert(0, path)
    import torch

    from ganzoo.bench.contenders import build_engine, build_plain, is_out_of_memory, resolve_setup

    torch.set_num_threads(spec.threads)
    setup = resolve_setup(spec.architecture, spec.settings, spec.batch_size, spec.device, spec.seed)
    device = setup.plain_settings().device
    cuda = device.type == "cuda"
    try:
        if cuda:
            torch.cuda.reset_peak_memory_stats(device)
        with tempfile.TemporaryDirectory(prefix="ganzoo-bench-") as run_dir:
            data = setup.make_data()
            contender = build_engine(setup, data, run_dir) if spec.contender == "engine" else build_plain(setup, data)
            rss = PeakRSS()
            rss.start()
            for _ in range(spec.steps):
                contender.train_step()
            if cuda:
                torch.cuda.synchronize(device)
                return {"status": "ok", "peak_bytes": int(torch.cuda.max_memory_allocated(device)),
                        "method": "cuda max_memory_allocated"}
            growth, method = rss.growth()
            return {"status": "ok", "peak_bytes": growth, "method": method}
    except Exception as exc:  # noqa: BLE001 - reported in the table
        if is_out_of_memory(exc):
            return {"status": "OOM", "error": str(exc).splitlines()[0][:200]}
        raise


def probe_peak_memory(spec: ProbeSpec) -> dict[str, Any]:
    """Run ``_probe`` in a fresh spawned process; a child killed by the system counts as OOM."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        try:
            return pool.submit(_probe, spec).result()
        except concurrent.futures.process.BrokenProcessPool:
            return {"status": "OOM", "error": "the probe process died (killed for memory?)"}
