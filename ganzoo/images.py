"""Image grids and PNG files (written atomically)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ganzoo.pixels import to_unsigned


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Tile NCHW images in [-1, 1] into one PIL image, ``nrow`` per row."""
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    pixels = to_unsigned(images.cpu()).permute(0, 2, 3, 1).numpy()
    grid = np.zeros((rows * (h + padding) + padding, nrow * (w + padding) + padding, c), np.uint8)
    for i in range(n):
        top = padding + (i // nrow) * (h + padding)
        left = padding + (i % nrow) * (w + padding)
        grid[top : top + h, left : left + w] = pixels[i]
    return Image.fromarray(grid[..., 0] if c == 1 else grid, mode="L" if c == 1 else "RGB")


def save_image(image: Image.Image, path: str | Path) -> Path:
    """Write ``image`` to ``path`` via a temporary file, so a failure never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        image.save(tmp, format="PNG")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


IMAGE_READ_ERRORS = (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError)
"""What PIL raises for a file that is not a readable image (including one too large to decode:
PIL's decompression-bomb guard, over about 179 million pixels)."""


def open_image(path: str | Path) -> Image.Image:
    """An image file, loaded, upright (EXIF rotation applied) and in mode "L" (greyscale,
    16/32-bit greys scaled, not clipped, to 8 bits) or "RGB" (everything else: palettes
    expanded, alpha dropped). Raises one of ``IMAGE_READ_ERRORS`` for an unreadable file."""
    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        if image.mode.startswith("I"):
            wide = np.asarray(image, dtype=np.float64)
            scale = 257.0 if image.mode.startswith("I;16") or wide.max(initial=0) > 255 else 1.0
            return Image.fromarray(np.clip(wide / scale, 0, 255).round().astype(np.uint8), "L")
        return image.convert("L" if image.mode in ("L", "1") else "RGB")


def read_image(path: str | Path) -> torch.Tensor:
    """An image file as uint8 CHW (see ``open_image``: 1 channel for greyscale, else 3).
    An unreadable file is a one-line DataError."""
    from ganzoo.errors import DataError

    try:
        image = open_image(path)
    except IMAGE_READ_ERRORS as exc:
        raise DataError(f"cannot read image {path}: {exc}; give a PNG or JPEG file") from None
    return pil_to_tensor(image)


def pil_to_tensor(image: Image.Image) -> torch.Tensor:
    """A PIL image in mode "L" or "RGB" as uint8 CHW."""
    array = np.asarray(image)
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(array.copy())  # C-contiguous and writable


def save_uint8(image: torch.Tensor, path: str | Path) -> Path:
    """Write a uint8 CHW image (1 or 3 channels) as PNG, atomically."""
    array = image.detach().cpu().numpy()
    pil = Image.fromarray(array[0], mode="L") if array.shape[0] == 1 else \
        Image.fromarray(array.transpose(1, 2, 0), mode="RGB")
    return save_image(pil, path)

