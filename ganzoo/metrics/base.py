"""What a metric is: a ``Metric`` computes a ``MetricResult`` from a real and a generated
``ImageDataset`` (uint8 NCHW, labels when conditional), and states the protocol it used."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import torch

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError


class ProtocolChanged(UserWarning):
    """The data could not follow a metric's protocol; the warning says what was changed."""


@dataclass
class MetricResult:
    """A figure with its protocol. ``value`` is the headline number; ``details`` holds the
    parts it summarises (per-level distances, a spread over subsets, the real data's value)."""

    metric: str
    name: str
    value: float
    lower_is_better: bool
    protocol: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Metric(ABC):
    """One evaluation metric. Subclasses set the class attributes and implement ``compute``.

    ``compute(real, fake, seed=..., device=..., progress=...)`` gets the images it needs
    (``real`` is None when ``needs_real`` is False) and returns a ``MetricResult`` whose
    ``protocol`` records every choice that changes the figure (counts, sizes, networks).
    """

    name: ClassVar[str]
    title: ClassVar[str]
    lower_is_better: ClassVar[bool] = True
    needs_real: ClassVar[bool] = True
    needs_labels: ClassVar[bool] = False
    default_n: ClassVar[int] = 10_000
    """Images per side the published protocol uses."""

    @abstractmethod
    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        ...

    def prepare(self, device: str | torch.device = "cpu") -> None:
        """Load what the metric needs (networks, weights files) before any image is read or
        made, so that a missing file fails at once."""


class ModelMetric(Metric):
    """A metric of an image-to-image generator (super-resolution, domain translation): it reads
    its own reference data (pairs, test domains) and runs the generator on it."""

    needs_real = False

    @abstractmethod
    def evaluate_model(self, generator: Any, data: str, *, n: int | None, seed: int,
                       device: str | torch.device, progress: bool) -> MetricResult:
        ...

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        raise DataError(f"{self.name} measures an image-to-image model on its data, not a set of samples")


def check_shapes(real: tuple[int, ...], fake: tuple[int, ...], metric: str, real_name: str = "",
                 fake_name: str = "") -> None:
    """Real and generated images (C, H, W) must agree in channels and size: a one-line error otherwise."""
    def named(name: str) -> str:
        return f" ({name})" if name else ""

    if real[0] != fake[0]:
        kinds = {1: "grey", 3: "RGB"}
        a, b = (kinds.get(shape[0], f"{shape[0]}-channel") for shape in (real, fake))
        raise DataError(f"{metric}: the real set{named(real_name)} is {a} but the generated set{named(fake_name)} "
                        f"is {b}; evaluate against data with the model's channels")
    if tuple(real[1:]) != tuple(fake[1:]):
        raise DataError(f"{metric}: real images{named(real_name)} are {real[1]}x{real[2]} but generated ones"
                        f"{named(fake_name)} are {fake[1]}x{fake[2]}; evaluate at the model's resolution")


def check_comparable(real: ImageDataset, fake: ImageDataset, metric: str) -> None:
    """Both sets must have the same channels and size: a one-line error otherwise."""
    check_shapes(real.image_shape, fake.image_shape, metric, real.name, fake.name)


def limit(dataset: ImageDataset, n: int, metric: str, side: str) -> ImageDataset:
    """The first ``n`` images, warning (ProtocolChanged) when fewer exist."""
    if len(dataset) < n:
        warnings.warn(f"{metric}: the protocol asks for {n} {side} images but {dataset.name or side} has "
                      f"{len(dataset)}; using {len(dataset)} (the figure is not comparable with published ones)",
                      ProtocolChanged, stacklevel=2)
        return dataset
    labels = None if dataset.labels is None else dataset.labels[:n]
    return ImageDataset(dataset.images[:n], labels, dataset.num_classes, dataset.name, dataset.path,
                        dataset.card, dataset.reader)
