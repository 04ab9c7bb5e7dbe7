"""Image grids and PNG files (written atomically)."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float NCHW in [-1, 1] -> uint8 NHWC."""
    images = images.detach().float().cpu().clamp(-1, 1)
    return images.add(1).mul(127.5).round().to(torch.uint8).permute(0, 2, 3, 1)


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> Image.Image:
    """Tile NCHW images in [-1, 1] into one PIL image, ``nrow`` per row."""
    n, c, h, w = images.shape
    nrow = nrow or max(1, math.ceil(math.sqrt(n)))
    rows = math.ceil(n / nrow)
    pixels = to_uint8(images).numpy()
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


def read_image(path: str | Path) -> torch.Tensor:
    """An image file as uint8 CHW: 1 channel for greyscale, else 3 (alpha dropped, palettes
    and 16-bit greys converted). An unreadable file is a one-line DataError."""
    from ganzoo.errors import DataError

    try:
        with Image.open(path) as image:
            image.load()
            if image.mode == "I;16" or image.mode == "I":
                image = image.point(lambda v: v / 256).convert("L")
            image = image.convert("L" if image.mode in ("L", "LA", "1") else "RGB")
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read image {path}: {exc}; give a PNG or JPEG file") from None
    array = np.asarray(image)
    return torch.from_numpy(array.copy()).unsqueeze(0) if array.ndim == 2 else \
        torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def save_uint8(image: torch.Tensor, path: str | Path) -> Path:
    """Write a uint8 CHW image (1 or 3 channels) as PNG, atomically."""
    array = image.detach().cpu().numpy()
    pil = Image.fromarray(array[0], mode="L") if array.shape[0] == 1 else \
        Image.fromarray(array.transpose(1, 2, 0), mode="RGB")
    return save_image(pil, path)

