"""Where a run's records go besides log.jsonl (``--log tensorboard,csv``, the ``loggers``
setting): TensorBoard event files under ``<run>/tensorboard`` (scalars, evaluation figures under
``eval/``, the preview grids, and the run's hyperparameters), and ``log.csv`` (one row per
figure: time, step, name, value, so that any table tool can pivot it).

TensorBoard needs the ``tensorboard`` package (``pip install 'ganzoo[tensorboard]'``); asking for
it without the package is a one-line error at the start of the run.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from ganzoo.errors import GanzooError

LOGGERS = ("tensorboard", "csv")


def check_available(names: list[str]) -> None:
    """A one-line error now if a chosen logger's package is missing."""
    import importlib.util

    if "tensorboard" in names and importlib.util.find_spec("tensorboard") is None:
        raise GanzooError("--log tensorboard needs the tensorboard package: pip install 'ganzoo[tensorboard]'")


class RunLoggers:
    """The extra sinks of one run (on the main process only)."""

    def __init__(self, names: list[str], run_dir: Path) -> None:
        self.run_dir = run_dir
        self.writer = None
        self.csv_path = run_dir / "log.csv" if "csv" in names else None
        if "tensorboard" in names:
            check_available(names)
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def record(self, record: dict[str, Any]) -> None:
        step = int(record.get("step", 0))
        figures = {k: float(v) for k, v in record.items()
                   if k not in ("step", "time") and isinstance(v, (int, float)) and not isinstance(v, bool)}
        if self.writer is not None:
            for name, value in figures.items():
                tag = f"eval/{name.removeprefix('eval_')}" if name.startswith("eval_") else f"train/{name}"
                self.writer.add_scalar(tag, value, step, walltime=record.get("time"))
        if self.csv_path is not None:
            new = not self.csv_path.is_file()
            with open(self.csv_path, "a", newline="") as handle:
                writer = csv.writer(handle)
                if new:
                    writer.writerow(["time", "step", "name", "value"])
                writer.writerows([record.get("time", ""), step, name, value] for name, value in figures.items())

    def image(self, grid: Any, step: int) -> None:
        """A preview grid (PIL) at ``step``."""
        if self.writer is not None:
            import numpy as np

            self.writer.add_image("samples", np.asarray(grid.convert("RGB")), step, dataformats="HWC")

    def hparams(self, settings: dict[str, Any], metrics: dict[str, float]) -> None:
        if self.writer is not None:
            flat = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in settings.items()}
            self.writer.add_hparams(flat, {f"hparam/{k}": v for k, v in metrics.items()}, run_name=".")

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
