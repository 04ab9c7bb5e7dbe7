"""The decoded cache: a folder's images decoded once into a uint8 NHWC ``.npy`` file that later
runs memory-map instead of decoding again.

A cache entry is keyed by everything its pixels depend on: the folder, each file's relative path,
size and modification time, the target size and the crop policy. A changed, added or removed
file gives a new key (the old entry is simply never used again). Beside ``KEY.npy`` sits
``KEY.json`` with the file's size and CRC-32, checked at every open: a truncated or corrupt
entry is reported, deleted and rebuilt, never trusted. Entries are written under temporary names
and renamed into place, so an interrupted build leaves nothing half-written behind.

The directory is ``$GANZOO_DATA_CACHE``, else ``$XDG_CACHE_HOME/ganzoo/data`` (default
``~/.cache/ganzoo/data``).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
import zlib
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ganzoo.errors import DataError

FORMAT = 2
"""Bumped whenever the layout or the decoding changes, so older entries stop matching."""
ENV = "GANZOO_DATA_CACHE"
HASH_BLOCK = 16 << 20


class CacheRebuiltWarning(UserWarning):
    """A cache entry failed its check and was rebuilt."""


def default_cache_dir() -> Path:
    """``$GANZOO_DATA_CACHE``, else ``$XDG_CACHE_HOME/ganzoo/data`` (``~/.cache/ganzoo/data``)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ganzoo" / "data"


def cache_key(root: Path, entries: list[tuple[str, os.stat_result]], recipe: dict[str, Any]) -> str:
    """The key of a folder's decoded pixels: folder, files (relative path, size, mtime) and
    the decoding ``recipe`` (target size, crop policy)."""
    listing = [[name, st.st_size, st.st_mtime_ns] for name, st in entries]
    payload = {"format": FORMAT, "root": str(root.resolve()), "recipe": recipe, "files": listing}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def file_crc32(path: Path) -> int:
    """The CRC-32 of a file: a local cache needs to catch damage, not forgery, and CRC-32 reads
    several times faster than sha256 (this check runs at every open)."""
    checksum = 0
    with open(path, "rb") as f:
        while block := f.read(HASH_BLOCK):
            checksum = zlib.crc32(block, checksum)
    return checksum


class DecodedCache:
    """Cache entries in ``directory`` (see the module docstring)."""

    def __init__(self, directory: str | Path | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.npy", self.directory / f"{key}.json"

    def open(self, key: str) -> tuple[np.ndarray, dict[str, Any]] | None:
        """The entry ``key`` as a copy-on-write memory map and its record, or None when there is
        none. An entry that fails its check is deleted (with a warning) and None returned."""
        pixels_path, record_path = self.paths(key)
        if not record_path.exists() and not pixels_path.exists():
            return None
        problem = self._problem(key, pixels_path, record_path)
        if problem is None:
            record = json.loads(record_path.read_text())
            pixels = np.load(pixels_path, mmap_mode="c")
            if list(pixels.shape) == record["shape"] and pixels.dtype == np.uint8:
                return pixels, record
            problem = f"it holds {pixels.shape} {pixels.dtype} where its record says {record['shape']} uint8"
        warnings.warn(f"the decoded cache {pixels_path} is unusable ({problem}); rebuilding it",
                      CacheRebuiltWarning, stacklevel=3)
        for path in (pixels_path, record_path):
            path.unlink(missing_ok=True)
        return None

    @staticmethod
    def _problem(key: str, pixels_path: Path, record_path: Path) -> str | None:
        try:
            record = json.loads(record_path.read_text())
            if record.get("format") != FORMAT or record.get("key") != key:
                return "its record is for another key or format"
            size = pixels_path.stat().st_size
        except FileNotFoundError as exc:
            return f"{Path(exc.filename).name} is missing"
        except (OSError, ValueError, AttributeError) as exc:
            return f"its record cannot be read: {exc}"
        if size != record.get("bytes"):
            return f"{size:,} bytes where {record.get('bytes')} were written: truncated or replaced"
        if file_crc32(pixels_path) != record.get("crc32"):
            return "its checksum does not match: the file is corrupt"
        return None

    def check_writable(self) -> None:
        """A one-line DataError when entries cannot be written in the directory."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe = self.directory / f".probe-{os.getpid()}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise DataError(f"the data cache directory {self.directory} is not writable ({exc.strerror or exc}); "
                            f"set {ENV} to a writable folder, or pass --no-cache") from None

    def build(self, key: str, shape: tuple[int, ...], fill: Callable[[np.ndarray], dict[str, Any]]
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """Write the entry ``key``: ``fill(pixels)`` decodes into a fresh uint8 map of ``shape``
        and returns the facts for the record; its ``keep_rows`` (row indices) and ``channels``
        (leading channels), when given, shrink the entry to those before it is sealed. Returns
        the entry as ``open`` would."""
        self.check_writable()
        pixels_path, record_path = self.paths(key)
        partial = self.directory / f"{key}.{os.getpid()}.partial.npy"
        compact = self.directory / f"{key}.{os.getpid()}.compact.npy"
        try:
            pixels = self._allocate(partial, shape)
            facts = fill(pixels)
            pixels.flush()
            rows, channels = facts.pop("keep_rows", None), facts.pop("channels", shape[-1])
            if rows is not None or channels != shape[-1]:
                rows = np.arange(shape[0]) if rows is None else np.asarray(rows)
                smaller = self._allocate(compact, (len(rows), *shape[1:-1], channels))
                for start in range(0, len(rows), 4096):
                    smaller[start:start + 4096] = pixels[rows[start:start + 4096], ..., :channels]
                smaller.flush()
                shape = smaller.shape
                del pixels, smaller
                os.replace(compact, partial)
            else:
                del pixels
            record = {"format": FORMAT, "key": key, "shape": list(shape), "bytes": partial.stat().st_size,
                      "crc32": file_crc32(partial), **facts}
            record_tmp = record_path.with_suffix(f".{os.getpid()}.tmp")
            record_tmp.write_text(json.dumps(record, indent=1) + "\n")
            os.replace(partial, pixels_path)
            os.replace(record_tmp, record_path)
        except OSError as exc:
            raise DataError(f"cannot write the decoded cache in {self.directory} ({exc.strerror or exc}); "
                            f"free some space, set {ENV} elsewhere, or pass --no-cache") from None
        finally:
            for path in (partial, compact, record_path.with_suffix(f".{os.getpid()}.tmp")):
                path.unlink(missing_ok=True)
        opened = self.open(key)
        assert opened is not None
        return opened

    @staticmethod
    def _allocate(path: Path, shape: tuple[int, ...]) -> np.memmap:
        """A fresh uint8 ``.npy`` map of ``shape`` whose blocks are reserved on disk first (a
        full disk is then an OSError here, not a crash while writing through the map)."""
        pixels = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
        if hasattr(os, "posix_fallocate"):
            with open(path, "rb+") as f:
                os.posix_fallocate(f.fileno(), 0, os.fstat(f.fileno()).st_size)
        return pixels
