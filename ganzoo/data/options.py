"""How a reader reads: the decoded cache, in memory or streamed, where labels come from."""

from __future__ import annotations

import os
from dataclasses import dataclass

MODES = ("auto", "memory", "stream")
LABELS = ("auto", "none", "folders")
MEMORY_FRACTION = 0.5
"""``mode="auto"`` streams a set whose decoded pixels would take more than this share of the
memory available now."""


@dataclass(frozen=True)
class DataOptions:
    cache: bool = True
    """Keep decoded pixels in the decoded cache (``ganzoo.data.cache``) and reuse them."""
    cache_dir: str | None = None
    """The cache's directory (None: ``$GANZOO_DATA_CACHE`` or the user's cache directory)."""
    mode: str = "auto"
    """``memory`` (every image decoded, or memory-mapped from the cache), ``stream`` (decoded
    per batch by DataLoader workers) or ``auto`` (streams above the memory budget)."""
    labels: str = "auto"
    """``folders``: one subfolder per class; ``none``: unlabelled; ``auto``: a reader's own
    labels (MNIST's, a Hugging Face dataset's class column), none for a plain folder."""
    image_column: str = ""
    """Hugging Face datasets: the image column (empty: the first Image feature)."""
    label_column: str = ""
    """Hugging Face datasets: the label column (empty: the first ClassLabel feature)."""
    workers: int = 0
    """Decoding processes (0: every core)."""
    progress: bool | None = None
    """Progress bars while decoding (None: on a terminal)."""
    memory_budget: int | None = None
    """Bytes of decoded pixels ``auto`` keeps in memory (None: half the available memory)."""

    def budget(self) -> int:
        return self.memory_budget if self.memory_budget is not None else int(MEMORY_FRACTION * available_memory())


def available_memory() -> int:
    """Bytes of memory available now (Linux's MemAvailable; else all physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
