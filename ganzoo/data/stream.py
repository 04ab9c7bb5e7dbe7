"""Streaming for sets larger than memory: each batch is decoded from its files by DataLoader
worker processes while the networks train on the one before.

The Trainer's own ``ShuffledBatches`` stays the one source of the sample order: ``follow``
gives the loader a copy of it at its current state (after a resume, the resumed state), so the
workers decode exactly the batches the Trainer will ask for, in order, and a resume continues
the same sequence. ``batch`` checks each prefetched batch against the indices asked for and
decodes in-process if they ever differ.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Iterator

import numpy as np
import torch
from torch import Tensor

from ganzoo.data.dataset import ImageDataset, ShuffledBatches
from ganzoo.data.decode import decode_square, default_workers
from ganzoo.errors import DataError
from ganzoo.images import IMAGE_READ_ERRORS, open_image
from ganzoo.pixels import to_signed

GREY_PROBE = 64
"""Files looked at to decide greyscale or RGB (a streamed set cannot be read whole first)."""
PREFETCH = 4
"""Batches each worker decodes ahead."""


class FileImages(torch.utils.data.Dataset):
    """Item i: (i, file i as uint8 CHW, centre-cropped and resized to ``size``)."""

    def __init__(self, files: list[str], size: int, grey: bool) -> None:
        self.files, self.size, self.mode = files, size, "L" if grey else "RGB"

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, Tensor]:
        path = self.files[index]
        try:
            pixels, _ = decode_square(path, self.size, self.mode)
        except IMAGE_READ_ERRORS as exc:
            raise DataError(f"cannot read {path} while streaming ({exc}); remove or replace the file") from None
        pixels = pixels[:, :, None] if pixels.ndim == 2 else pixels
        return index, torch.from_numpy(pixels.copy()).permute(2, 0, 1)


class _Plan:
    """The index batches a ``ShuffledBatches`` will give from its current state on (sharded
    per rank like the Trainer's), endlessly."""

    def __init__(self, batches: ShuffledBatches, shard: Callable[[Tensor], Tensor] | None) -> None:
        self.batches, self.shard = copy.deepcopy(batches), shard

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            indices = self.batches.next()
            yield (self.shard(indices) if self.shard else indices).tolist()


class StreamingImages:
    """An image folder read batch by batch: the interface of ``ImageDataset`` (length, shape,
    labels, ``batch``, ``subset``) without the images in memory."""

    streams = True

    def __init__(self, files: list[str], size: int, *, labels: np.ndarray | None = None,
                 class_names: list[str] | None = None, name: str = "", path: str = "",
                 card: dict[str, Any] | None = None, workers: int = 0, reader: str = "") -> None:
        grey = all(open_image(f).mode == "L" for f in files[:GREY_PROBE])
        self.items = FileImages(files, size, grey)
        self.labels = None if labels is None else torch.from_numpy(labels)
        self.class_names = class_names
        self.num_classes = None if class_names is None else len(class_names)
        self.name, self.path, self.card, self.reader = name, path, dict(card or {}), reader
        self.workers = workers or max(1, min(4, default_workers() - 1))
        self._loader: Iterator[tuple[Tensor, Tensor]] | None = None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        size = self.items.size
        return (1 if self.items.mode == "L" else 3), size, size

    def follow(self, batches: ShuffledBatches, shard: Callable[[Tensor], Tensor] | None = None, *,
               pin_memory: bool = False) -> None:
        """Start the workers on the batches ``batches`` will give from now on."""
        loader = torch.utils.data.DataLoader(
            self.items, batch_sampler=_Plan(batches, shard), num_workers=self.workers,
            pin_memory=pin_memory, prefetch_factor=PREFETCH, persistent_workers=False,
            generator=torch.Generator().manual_seed(0))  # workers draw nothing: leave the global RNG alone
        self._loader = iter(loader)

    def _decode(self, indices: Tensor) -> Tensor:
        return torch.stack([self.items[int(i)][1] for i in indices])

    def batch(self, indices: Tensor, device: torch.device) -> dict[str, Tensor]:
        images = None
        if self._loader is not None:
            got, images = next(self._loader)
            if not torch.equal(got, indices.cpu()):
                self._loader, images = None, None  # someone else moved the order: stop following
        if images is None:
            images = self._decode(indices.cpu())
        out = {"image": to_signed(images.to(device, non_blocking=True))}
        if self.labels is not None:
            out["label"] = self.labels[indices.cpu()].to(device, non_blocking=True)
        return out

    def subset(self, indices: Tensor) -> ImageDataset:
        """The images ``indices``, decoded now, as an in-memory dataset (e.g. an evaluation's
        reference images)."""
        indices = indices.cpu()
        labels = None if self.labels is None else self.labels[indices]
        return ImageDataset(self._decode(indices), labels, self.num_classes, self.name, self.path,
                            self.card, self.reader, self.class_names)

    def close(self) -> None:
        self._loader = None  # the DataLoader's iterator shuts its workers down when collected
