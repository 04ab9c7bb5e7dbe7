"""A folder of images (recursive; JPEG, PNG, WebP, BMP), centre-cropped and resized to a square."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError
from ganzoo.images import IMAGE_READ_ERRORS, open_image

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp")
DEFAULT_SIZE = 64


class SkippedImagesWarning(UserWarning):
    """Some files in an image folder could not be read and were left out."""


def image_files(root: Path) -> list[Path]:
    """The regular files under ``root`` with an image extension (a named pipe, a socket or a
    device with such a name is left out: reading one would block or never end)."""
    files = []
    for directory, _, names in os.walk(root):
        files += [Path(directory) / n for n in names if n.lower().endswith(EXTENSIONS)]
    return sorted(f for f in files if f.is_file())


def has_images(root: Path) -> bool:
    """Cheap check used for ``--data`` detection: the first image file found is enough."""
    if not root.is_dir():
        return False
    for _, _, names in os.walk(root):
        if any(n.lower().endswith(EXTENSIONS) for n in names):
            return True
    return False


def _square(image: Image.Image, size: int) -> Image.Image:
    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    image = image.crop((left, top, left + side, top + side))
    return image if side == size else image.resize((size, size), Image.Resampling.LANCZOS)


def load_image_folder(path: str | Path, image_size: int | None = None) -> ImageDataset:
    """Every image under ``path``, centre-cropped to a square and resized to ``image_size``.

    Greyscale when every image is greyscale, else RGB. Unreadable files are skipped with one
    warning that lists them; a folder with no readable image is an error.
    """
    root = Path(path)
    size = image_size or DEFAULT_SIZE
    files = image_files(root)
    if not files:
        raise DataError(f"no images ({', '.join(EXTENSIONS)}) found under {root}; check --data")
    pixels, grey, skipped = [], True, []
    for file in files:
        try:
            image = open_image(file)
            grey &= image.mode == "L"
            pixels.append(np.asarray(_square(image.convert("RGB"), size)))
        except IMAGE_READ_ERRORS as exc:
            skipped.append(f"{file.relative_to(root)} ({exc})")
    if skipped:
        shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        warnings.warn(f"skipped {len(skipped)} unreadable image(s) under {root}: {shown}",
                      SkippedImagesWarning, stacklevel=2)
    if not pixels:
        raise DataError(f"none of the {len(files)} image files under {root} could be read")
    images = torch.from_numpy(np.stack(pixels)).permute(0, 3, 1, 2).contiguous()
    if grey:
        images = images[:, :1].contiguous()
    return ImageDataset(images=images, name=root.name or "images", path=str(root),
                        card={"split": "all files"})
