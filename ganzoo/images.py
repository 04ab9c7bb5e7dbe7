"""Image grids and image files (PNG, JPEG, WebP; written atomically)."""

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


FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
"""Image files ganzoo writes, by extension."""
JPEG_QUALITY = 95


def image_format(path: str | Path) -> str:
    """PIL's format name for ``path``'s extension, or a one-line GanzooError naming the choices."""
    from ganzoo.errors import GanzooError

    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise GanzooError(f"cannot write {Path(path).name!r}: give a file ending in "
                          f"{', '.join(sorted(FORMATS))}")
    return FORMATS[suffix]


def to_pil(image: Image.Image | torch.Tensor, nrow: int | None = None) -> Image.Image:
    """A PIL image from a PIL image, a CHW tensor or an NCHW batch (tiled by ``make_grid``).
    Float tensors are in ganzoo's range [-1, 1] (what ``generate`` returns); uint8 ones in
    [0, 255]."""
    if isinstance(image, Image.Image):
        return image
    if not isinstance(image, torch.Tensor) or image.dim() not in (3, 4) or image.shape[-3] not in (1, 3):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"save_image takes a PIL image or a (N,) C, H, W tensor with 1 or 3 channels, got {shape}")
    if image.dtype == torch.uint8:
        from ganzoo.pixels import to_signed

        image = to_signed(image)
    batch = image if image.dim() == 4 else image[None]
    return make_grid(batch, nrow=nrow) if len(batch) > 1 else make_grid(batch, padding=0)


def save_image(image: Image.Image | torch.Tensor, path: str | Path, *, nrow: int | None = None) -> Path:
    """Write ``image`` (a PIL image, a CHW tensor, or an NCHW batch as a grid of ``nrow`` per
    row) to ``path`` in the format of its extension (.png, .jpg, .webp), via a temporary file,
    so a failure never leaves half a file."""
    path = Path(path)
    kind = image_format(path)
    pil = to_pil(image, nrow)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        pil.save(tmp, format=kind, **({"quality": JPEG_QUALITY} if kind in ("JPEG", "WEBP") else {}))
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

