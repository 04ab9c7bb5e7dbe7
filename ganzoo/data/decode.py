"""Image files decoded into one preallocated uint8 NHWC array: centre-cropped squares, decoded
by worker processes on every core (JPEG decoding holds Python's GIL too often for threads to
help), written in place so the peak memory is the array itself."""

from __future__ import annotations

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


def decode_square(path: str | Path, size: int) -> tuple[np.ndarray, bool]:
    """One file as an H x W x 3 uint8 array, and whether the file itself is greyscale. Raises one
    of ``IMAGE_READ_ERRORS`` for an unreadable file."""
    image = open_image(path)
    return np.asarray(square(image.convert("RGB"), size)), image.mode == "L"


@dataclass
class Decoded:
    """What ``decode_into`` learnt besides the pixels."""

    grey: bool = True
    """Every readable file is greyscale."""
    skipped: list[tuple[int, str]] = field(default_factory=list)
    """(index, reason) of each unreadable file; its row of the array is left as it was."""


def _decode_chunk(paths: Sequence[str], size: int) -> tuple[np.ndarray, list[bool], list[tuple[int, str]]]:
    pixels = np.zeros((len(paths), size, size, 3), np.uint8)
    greys, errors = [], []
    for i, path in enumerate(paths):
        try:
            pixels[i], grey = decode_square(path, size)
            greys.append(grey)
        except IMAGE_READ_ERRORS as exc:
            errors.append((i, str(exc)))
    return pixels, greys, errors


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

    def take(start: int, reply: tuple[np.ndarray, list[bool], list[tuple[int, str]]]) -> None:
        pixels, greys, errors = reply
        out[start:start + len(pixels)] = pixels
        result.grey &= all(greys)
        result.skipped += [(start + i, reason) for i, reason in errors]
        bar.update(len(pixels))

    try:
        if workers == 1 or len(files) < SERIAL_BELOW:
            for start, paths in chunks:
                take(start, _decode_chunk(paths, size))
        else:
            done = _decode_in_workers(chunks, size, workers, take)
            for start, paths in chunks[done:]:  # the workers could not start (or died): go on here
                take(start, _decode_chunk(paths, size))
    finally:
        bar.close()
    return result


def _decode_in_workers(chunks: list[tuple[int, list[str]]], size: int, workers: int, take) -> int:
    """Decode ``chunks`` in order in ``workers`` processes, handing each to ``take``; returns how
    many were done (fewer than all only when the pool broke). Forked workers (where the platform
    has fork) start at once and run PIL and NumPy only; elsewhere they are spawned."""
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    done = 0
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*fork.*", category=DeprecationWarning)
            with ProcessPoolExecutor(min(workers, len(chunks)), mp_context=context) as pool:
                pending: deque = deque()
                for start, paths in chunks:  # a few chunks in flight per worker bound the memory
                    pending.append((start, pool.submit(_decode_chunk, paths, size)))
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
    return done
