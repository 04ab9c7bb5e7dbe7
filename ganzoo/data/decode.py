"""Image files decoded into one preallocated uint8 NHWC array: centre-cropped squares, decoded
by worker processes on every core (JPEG decoding holds Python's GIL too often for threads to
help), written in place so the peak memory is the array itself."""

from __future__ import annotations

import mmap
import multiprocessing
import os
import warnings
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image

from ganzoo.images import IMAGE_READ_ERRORS, open_image

SERIAL_BELOW = 2048
"""Fewer files are decoded in this process: starting workers would cost more than it saves."""
CHUNK = 256
"""Files per worker task (one reply of about CHUNK x H x W x 3 bytes)."""
IN_FLIGHT = 4
"""Tasks queued per worker."""


def square(image: Image.Image, size: int) -> Image.Image:
    """The centred square crop of ``image``, resized (Lanczos) to ``size`` x ``size``."""
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return image if side == size else image.resize((size, size), Image.Resampling.LANCZOS)


CROP = "centre-square, lanczos"
"""The crop policy of ``square``, part of the decoded cache's keys."""


def decode_square(path: str | Path, size: int, mode: str = "RGB") -> tuple[np.ndarray, bool]:
    """One file as an H x W x 3 (``mode`` "RGB") or H x W ("L") uint8 array, and whether the file
    itself is greyscale. Raises one of ``IMAGE_READ_ERRORS`` for an unreadable file."""
    image = open_image(path)
    return np.asarray(square(image.convert(mode), size)), image.mode == "L"


@dataclass
class Decoded:
    """What ``decode_into`` learnt besides the pixels."""

    grey: bool = True
    """Every readable file is greyscale."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(index, reason) of each unreadable file; its row of the array is left as it was."""


def _decode_chunk(paths: Sequence[str], size: int, start: int | None = None
                  ) -> tuple[np.ndarray | int, list[bool], list[tuple[int, str]]]:
    """Decode ``paths``: into rows ``start``... of the shared ``_TARGET`` (a forked worker; the
    pixel count comes back), or into a fresh array that is sent back."""
    pixels = np.zeros((len(paths), size, size, 3), np.uint8) if start is None else _TARGET[start:start + len(paths)]
    greys, errors = [], []
    for i, path in enumerate(paths):
        try:
            pixels[i], grey = decode_square(path, size)
            greys.append(grey)
        except IMAGE_READ_ERRORS as exc:
            errors.append((i, str(exc)))
    return (pixels if start is None else len(paths)), greys, errors


_TARGET: np.ndarray | None = None
"""The array forked workers write into (set before the pool forks)."""


def shared_array(shape: tuple[int, ...]) -> np.ndarray:
    """A uint8 array in anonymous shared memory: forked decode workers write into it in place."""
    return np.frombuffer(mmap.mmap(-1, max(1, int(np.prod(shape)))), np.uint8)[:int(np.prod(shape))].reshape(shape)


def _writable_by_forks(out: np.ndarray) -> bool:
    """``out`` is a shared mapping (a file opened for writing, or ``shared_array``), so rows that
    forked workers write land in it."""
    if isinstance(out, np.memmap):
        return out.mode in ("r+", "w+")
    base = out
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return isinstance(base, mmap.mmap)


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def decode_into(out: np.ndarray, files: Sequence[str | Path], size: int, *, workers: int = 0,
                progress: bool | None = None, desc: str = "decoding") -> Decoded:
    """Decode ``files`` into rows of ``out`` (N x size x size x 3 uint8, e.g. a memory map) with
    ``workers`` processes (0: every core), showing a progress bar in images/s when ``progress``
    (None: on a terminal)."""
    from tqdm import tqdm

    workers = workers or default_workers()
    result = Decoded()
    chunks = [(start, [str(f) for f in files[start:start + CHUNK]]) for start in range(0, len(files), CHUNK)]
    bar = tqdm(total=len(files), desc=desc, unit="img", disable=None if progress is None else not progress,
               leave=False, dynamic_ncols=True)

    def take(start: int, reply: tuple[np.ndarray | int, list[bool], list[tuple[int, str]]]) -> None:
        pixels, greys, errors = reply
        if isinstance(pixels, np.ndarray):
            out[start:start + len(pixels)] = pixels
        result.grey &= all(greys)
        result.skipped += [(start + i, reason) for i, reason in errors]
        bar.update(len(greys) + len(errors))

    try:
        if workers == 1 or len(files) < SERIAL_BELOW:
            for start, paths in chunks:
                take(start, _decode_chunk(paths, size))
        else:
            done = _decode_in_workers(chunks, size, workers, take, out)
            for start, paths in chunks[done:]:  # the workers could not start (or died): go on here
                take(start, _decode_chunk(paths, size))
    finally:
        bar.close()
    return result


def _decode_in_workers(chunks: list[tuple[int, list[str]]], size: int, workers: int, take,
                       out: np.ndarray) -> int:
    """Decode ``chunks`` in order in ``workers`` processes, handing each to ``take``; returns how
    many were done (fewer than all only when the pool broke). Forked workers (where the platform
    has fork) start at once, run PIL and NumPy only and, when ``out`` is a shared mapping, write
    their rows into it themselves; elsewhere they are spawned and send their pixels back."""
    global _TARGET
    fork = "fork" in multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if fork else "spawn")
    in_place = fork and _writable_by_forks(out)
    _TARGET = out if in_place else None
    done = 0
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=context) as pool:
                pending: deque = deque()
                for start, paths in chunks:  # a few chunks in flight per worker bound the memory
                    pending.append((start, pool.submit(_decode_chunk, paths, size, start if in_place else None)))
                    if len(pending) >= IN_FLIGHT * workers:
                        start, reply = pending.popleft()
                        take(start, reply.result())
                        done += 1
                while pending:
                    start, reply = pending.popleft()
                    take(start, reply.result())
                    done += 1
    except (BrokenProcessPool, OSError) as exc:
        warnings.warn(f"decoding worker processes failed ({exc}); decoding the rest in this process",
                      RuntimeWarning, stacklevel=3)
    finally:
        _TARGET = None
    return done
