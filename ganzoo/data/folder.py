"""A folder of images (recursive; JPEG, PNG, WebP, BMP), centre-cropped and resized to a square.

The first read decodes on every core into the decoded cache (``ganzoo.data.cache``); later
reads memory-map it. A set whose pixels would not fit the memory budget is streamed instead
(``ganzoo.data.stream``). With ``labels="folders"`` each first-level subfolder is a class.
"""

from __future__ import annotations

import os
import stat
import warnings
from pathlib import Path

import numpy as np
import torch

from ganzoo.data.dataset import ImageDataset
from ganzoo.data.options import DataOptions
from ganzoo.errors import DataError

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
DEFAULT_SIZE = 64


class SkippedImagesWarning(UserWarning):
    """Some files in an image folder could not be read and were left out."""


def image_entries(root: Path) -> list[tuple[str, os.stat_result]]:
    """The regular files under ``root`` with an image extension, as (path relative to ``root``,
    stat), sorted by path components (a named pipe, a socket or a device with such a name is
    left out: reading one would block)."""
    entries = []
    pending = [""]
    while pending:
        relative = pending.pop()
        try:
            listing = list(os.scandir(os.path.join(root, relative)))
        except OSError:
            continue
        for entry in listing:
            name = os.path.join(relative, entry.name) if relative else entry.name
            if entry.is_dir(follow_symlinks=False):
                pending.append(name)
            elif entry.name.lower().endswith(EXTENSIONS):
                try:
                    st = entry.stat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    entries.append((name, st))
    return sorted(entries, key=lambda entry: entry[0].split(os.sep))


def image_files(root: Path) -> list[Path]:
    """The image files under ``root`` (see ``image_entries``)."""
    return [root / name for name, _ in image_entries(root)]


def has_images(root: Path) -> bool:
    """Cheap check used for ``--data`` detection: the first image file found is enough."""
    if not root.is_dir():
        return False
    for _, _, names in os.walk(root):
        if any(n.lower().endswith(EXTENSIONS) for n in names):
            return True
    return False


def class_labels(root: Path, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Labels from the first-level subfolder of each file (``names`` relative to ``root``), and
    the class names (sorted)."""
    parts = [name.split(os.sep) for name in names]
    loose = [p[0] for p in parts if len(p) == 1]
    if loose:
        raise DataError(f"labels=folders: {loose[0]} sits directly in {root}; put every image in one "
                        "subfolder per class (e.g. cats/, dogs/)")
    classes = sorted({p[0] for p in parts})
    if len(classes) < 2:
        raise DataError(f"labels=folders: {root} has one class folder ({classes[0]}); a conditional model "
                        "needs at least two, one subfolder per class")
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index[p[0]] for p in parts], np.int64), classes


def load_image_folder(path: str | Path, image_size: int | None = None,
                      options: DataOptions | None = None) -> ImageDataset:
    """Every image under ``path``, centre-cropped to a square and resized to ``image_size``.

    Greyscale when every image is greyscale, else RGB. Unreadable files are skipped with one
    warning that lists them; a folder with no readable image is an error. Returns a
    ``StreamingImages`` instead when ``options`` ask for streaming (or ``auto`` finds the set
    larger than the memory budget).
    """
    options = options or DataOptions()
    root = Path(path)
    size = image_size or DEFAULT_SIZE
    entries = image_entries(root)
    if not entries:
        raise DataError(f"no images ({', '.join(EXTENSIONS)}) found under {root}; check --data")
    relative = [name for name, _ in entries]
    labels, names = class_labels(root, relative) if options.labels == "folders" else (None, None)
    card = {"split": "all files", **({"class_names": names} if names else {})}
    if options.mode == "stream" or (options.mode == "auto" and len(entries) * size * size * 3 > options.budget()):
        from ganzoo.data.stream import StreamingImages

        return StreamingImages([os.path.join(root, name) for name in relative], size, labels=labels, class_names=names,
                               name=root.name or "images", path=str(root), card=card, workers=options.workers)
    pixels, record = _decoded(root, entries, size, options)
    skipped = record.get("skipped", [])
    if skipped:
        _warn_skipped(root, skipped)
        if labels is not None:
            gone = {name for name, _ in skipped}
            labels = labels[[name not in gone for name in relative]]
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2)  # NCHW view of the NHWC pixels: no copy
    return ImageDataset(images=images, labels=None if labels is None else torch.from_numpy(labels),
                        num_classes=None if names is None else len(names), name=root.name or "images",
                        path=str(root), card=card, class_names=names)


def _warn_skipped(root: Path, skipped: list[list[str]]) -> None:
    shown = "; ".join(f"{name} ({reason})" for name, reason in skipped[:5])
    more = f"; and {len(skipped) - 5} more" if len(skipped) > 5 else ""
    warnings.warn(f"skipped {len(skipped)} unreadable image(s) under {root}: {shown}{more}",
                  SkippedImagesWarning, stacklevel=3)


def _decoded(root: Path, entries: list[tuple[str, os.stat_result]], size: int,
             options: DataOptions) -> tuple[np.ndarray, dict]:
    """The folder's pixels (N x size x size x C uint8) and their record: from the decoded cache,
    decoded into it, or (``cache=False``) decoded into memory."""
    from ganzoo.data.cache import DecodedCache, cache_key
    from ganzoo.data.decode import CROP, decode_into, shared_array

    files = [os.path.join(root, name) for name, _ in entries]
    shape = (len(files), size, size, 3)

    def fill(pixels: np.ndarray) -> dict:
        decoded = decode_into(pixels, files, size, workers=options.workers, progress=options.progress,
                              desc=f"decoding {root.name or root}")
        if len(decoded.skipped) == len(files):
            _warn_skipped(root, [[entries[i][0], reason] for i, reason in decoded.skipped])
            raise DataError(f"none of the {len(files)} image files under {root} could be read")
        facts: dict = {"root": str(root.resolve()), "images": len(files) - len(decoded.skipped),
                       "skipped": [[entries[i][0], reason] for i, reason in decoded.skipped]}
        if decoded.skipped:
            gone = {i for i, _ in decoded.skipped}
            facts["keep_rows"] = [i for i in range(len(files)) if i not in gone]
        if decoded.grey:
            facts["channels"] = 1
        return facts

    if not options.cache:
        pixels = shared_array(shape)
        facts = fill(pixels)
        rows, channels = facts.pop("keep_rows", None), facts.pop("channels", 3)
        if rows is not None or channels != 3:
            pixels = pixels[slice(None) if rows is None else rows, ..., :channels].copy()
        return pixels, facts
    cache = DecodedCache(options.cache_dir)
    key = cache_key(root, entries, {"size": size, "crop": CROP})
    return cache.open(key) or cache.build(key, shape, fill)
