"""MNIST from the four idx files (gzip-compressed or not), validated before use."""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
CARD = {
    "license": "cc-by-sa-3.0",
    "license_note": "MNIST, CC BY-SA 3.0 (LeCun, Cortes, Burges)",
    "hf_id": "ylecun/mnist",
}


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    raise DataError(
        f"MNIST file {stem}.gz not found in {directory}; it needs train-images-idx3-ubyte.gz, "
        "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz"
    )


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read an idx file of unsigned bytes with ``ndim`` dimensions, checking its header."""
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(f"cannot read {path}: {exc}; replace the file with a good copy") from None
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path} is not an idx file (too short); replace it with a good copy")
    zero, dtype, dims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08 or dims != ndim:
        raise DataError(
            f"{path} is not an idx file of {ndim}-d unsigned bytes (bad magic number); "
            "replace it with a good copy"
        )
    shape = struct.unpack(f">{ndim}I", raw[4 : 4 + 4 * ndim])
    expected = 4 + 4 * ndim + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(
            f"{path} is truncated or padded: header says {expected} bytes, file has {len(raw)}; "
            "replace it with a good copy"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_mnist(path: str | Path, split: str = "train", image_size: int | None = None) -> ImageDataset:
    """MNIST ``split`` ("train" or "test") from the idx files in directory ``path``.

    ``image_size`` 32 pads the 28x28 digits with black borders (the usual DCGAN input); other
    sizes resize them (antialiased bilinear).
    """
    directory = Path(path)
    if not directory.is_dir():
        raise DataError(f"MNIST directory {directory} does not exist")
    if split not in _FILES:
        raise DataError(f"MNIST has the splits {' and '.join(_FILES)}, not {split!r}")
    image_stem, label_stem = _FILES[split]
    images = read_idx(_find(directory, image_stem), 3)
    labels = read_idx(_find(directory, label_stem), 1)
    if len(images) != len(labels):
        raise DataError(
            f"MNIST {split} split in {directory}: {len(images)} images but {len(labels)} labels"
        )
    if labels.max(initial=0) > 9:
        raise DataError(f"MNIST {split} labels in {directory} go beyond 9; the file is corrupt")
    return ImageDataset(
        images=_fit(torch.from_numpy(images.copy()).unsqueeze(1), image_size),
        labels=torch.from_numpy(labels.astype(np.int64)),
        num_classes=10,
        name="mnist",
        path=str(directory),
        card={**CARD, "split": split},
    )


def _fit(images: torch.Tensor, image_size: int | None) -> torch.Tensor:
    if image_size is None or image_size == 28:
        return images
    if image_size < 1:
        raise DataError(f"image_size must be positive, got {image_size}")
    if image_size == 32:
        return torch.nn.functional.pad(images, (2, 2, 2, 2))
    resized = torch.nn.functional.interpolate(images.float(), size=(image_size, image_size),
                                              mode="bilinear", antialias=True, align_corners=False)
    return resized.round().clamp(0, 255).to(torch.uint8)
