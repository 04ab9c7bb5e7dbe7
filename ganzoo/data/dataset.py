"""An in-memory uint8 image dataset, a seeded resumable batch sampler, and reader lookup."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ganzoo.data.options import DataOptions
from ganzoo.errors import DataError
from ganzoo.pixels import to_signed


@dataclass
class ImageDataset:
    """Images as one uint8 NCHW tensor (and int64 labels when labelled).

    Kept as uint8 so even large sets fit in memory (or on the GPU); ``batch`` converts the
    selected images to float in [-1, 1].
    """

    images: Tensor
    labels: Tensor | None = None
    num_classes: int | None = None
    name: str = ""
    path: str = ""
    card: dict[str, Any] = field(default_factory=dict)
    """Facts for model cards: ``license``, ``citation``, ``split``, ``hf_id``."""
    reader: str = ""
    """The registered dataset reader that made it (set by ``load_dataset``)."""
    class_names: list[str] | None = None
    """The name of each class (class folders, a Hugging Face ClassLabel), when known."""

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise DataError(f"{self.name}: images must be a uint8 NCHW tensor")
        if len(self.images) == 0:
            raise DataError(f"{self.name}: the dataset at {self.path} holds no images")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DataError(
                f"{self.name}: {len(self.images)} images but {len(self.labels)} labels in {self.path}"
            )

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    def to(self, device: torch.device | str) -> "ImageDataset":
        """A copy with its tensors on ``device``."""
        labels = None if self.labels is None else self.labels.to(device)
        return ImageDataset(self.images.to(device), labels, self.num_classes, self.name,
                            self.path, self.card, self.reader, self.class_names)

    def subset(self, indices: Tensor) -> "ImageDataset":
        """The images ``indices`` (and their labels) as a dataset in host memory."""
        labels = None if self.labels is None else self.labels[indices.to(self.labels.device)].cpu()
        return ImageDataset(self.images[indices.to(self.images.device)].cpu(), labels, self.num_classes,
                            self.name, self.path, self.card, self.reader, self.class_names)

    def batch(self, indices: Tensor, device: torch.device) -> dict[str, Tensor]:
        """Images ``indices`` as float in [-1, 1] on ``device`` (plus ``label`` if labelled)."""
        indices = indices.to(self.images.device)
        images = self.images[indices].contiguous()  # NCHW whatever the storage (a cache maps NHWC)
        if images.device.type == "cpu" and device.type == "cuda":
            images = images.pin_memory()  # so the copy below overlaps with the GPU's work
        images = images.to(device, non_blocking=True)
        out = {"image": to_signed(images)}
        if self.labels is not None:
            out["label"] = self.labels[indices].to(device, non_blocking=True)
        return out


class ShuffledBatches:
    """Endless shuffled batches of indices; the order depends only on the seed and the epoch,
    so ``state_dict`` (epoch and position) is all a resume needs. The epoch's order is kept on
    ``device`` (where the images are), so cutting a batch copies nothing from the host."""

    def __init__(self, num_items: int, batch_size: int, seed: int,
                 device: torch.device | str = "cpu") -> None:
        if batch_size > num_items:
            raise DataError(f"batch size {batch_size} is larger than the dataset ({num_items} images)")
        self.num_items, self.batch_size, self.seed = num_items, batch_size, seed
        self.device = torch.device(device)
        self.epoch, self.position = 0, 0
        self._order: Tensor | None = None

    def _epoch_order(self) -> Tensor:
        if self._order is None:
            rng = torch.Generator().manual_seed(self.seed * 1_000_003 + self.epoch)
            self._order = torch.randperm(self.num_items, generator=rng).to(self.device)
        return self._order

    def next(self) -> Tensor:
        if self.position + self.batch_size > self.num_items:  # drop the ragged tail
            self.epoch, self.position, self._order = self.epoch + 1, 0, None
        start = self.position
        self.position += self.batch_size
        return self._epoch_order()[start : self.position]

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position, self._order = int(state["epoch"]), int(state["position"]), None


HF_PREFIX = "hf:"
"""``--data hf:ORG/NAME[:split]`` names a Hugging Face dataset."""


def load_dataset(path: str | Path, name: str | None = None, image_size: int | None = None,
                 split: str | None = None, options: DataOptions | None = None) -> ImageDataset:
    """Read the dataset at ``path`` with the reader ``name``, or the first whose detector
    recognises the path, at ``image_size`` (None: the reader's native size). ``split`` (e.g.
    MNIST's "test") goes to readers that have splits; None is the reader's default. ``options``
    (cache, streaming, labels) go to readers that take them; ``hf:ORG/NAME[:split]`` reads a
    Hugging Face dataset."""
    from ganzoo.plugins import get_zoo

    if str(path).startswith(HF_PREFIX):
        from ganzoo.data.hf import load_hf_dataset

        return load_hf_dataset(str(path), image_size=image_size, split=split, options=options)
    path = Path(path)
    if not path.exists():
        raise DataError(f"data path {path} does not exist; point --data at a dataset directory")
    datasets = get_zoo().datasets
    if name is not None:
        entry = datasets.get(name)
    else:
        matches = [e for e in datasets if e.detect is not None and e.detect(path)]
        if not matches:
            known = ", ".join(datasets.names()) or "none"
            raise DataError(
                f"no dataset reader recognises {path} (readers: {known}); check the path "
                "or name the reader with --dataset"
            )
        entry = matches[0]
    reader = entry.load()
    parameters = inspect.signature(reader).parameters
    kwargs: dict[str, Any] = {"image_size": image_size}
    if split is not None:
        if "split" not in parameters:
            raise DataError(f"the {entry.name} reader has no splits; drop --split {split} (it reads all of {path})")
        kwargs["split"] = split
    if options is not None and "options" in parameters:
        kwargs["options"] = options
    elif options is not None and options.labels == "folders":
        raise DataError(f"labels=folders reads class subfolders of an image folder; the {entry.name} reader "
                        "has its own labels (drop --set labels=folders)")
    dataset = reader(path, **kwargs)
    dataset.reader = entry.name
    return dataset
