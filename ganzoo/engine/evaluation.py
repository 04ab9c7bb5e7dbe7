"""The metrics a training run logs as it goes (``eval_metrics``), on fixed samples and fixed
real images so that the curve compares like with like."""

from __future__ import annotations

import warnings
from typing import Sequence

import torch

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import GanzooError
from ganzoo.metrics.base import ProtocolChanged, check_shapes
from ganzoo.metrics.evaluate import build_metric, generate_dataset


class TrainingEvaluation:
    """The metrics a Trainer runs every ``eval_every`` steps: ``n`` samples of its (EMA)
    generator, always from the same seed, against ``n`` training images fixed at the start."""

    def __init__(self, names: Sequence[str], data: ImageDataset, *, n: int, seed: int, device) -> None:
        self.metrics = [build_metric(name) for name in dict.fromkeys(names)]
        self.n, self.seed, self.device = min(n, len(data)), seed, device
        chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:self.n]
        labels = None if data.labels is None else data.labels[chosen.to(data.labels.device)].cpu()
        self.real = ImageDataset(data.images[chosen.to(data.images.device)].cpu(), labels, data.num_classes,
                                 data.name, data.path, data.card, data.reader)

    def check(self, generator) -> None:
        """Refuse at the start what would fail at the first evaluation."""
        if generator.latent_dim is None:
            raise GanzooError("eval_metrics: this generator translates images; its plugin evaluates it")
        for metric in self.metrics:
            if metric.needs_labels and generator.num_classes is None:
                raise GanzooError(f"eval_metrics: {metric.name} needs a class-conditional model")
        check_shapes(self.real.image_shape, tuple(generator.image_shape), "eval_metrics", self.real.name,
                     "the generator")

    def __call__(self, generator) -> dict[str, float]:
        """``{"eval_<metric>": value}`` for the generator as it is now, with the metric's own
        per-part figures beside it (``eval_swd_64``, ...)."""
        fake = generate_dataset(generator, self.n, seed=self.seed)
        values = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ProtocolChanged)  # eval_n is the user's explicit choice
            for metric in self.metrics:
                result = metric.compute(self.real, fake, seed=self.seed, device=self.device)
                values[f"eval_{metric.name}"] = result.value
                values.update({f"eval_{key}": value for key, value in result.details.items()
                               if key.startswith(f"{metric.name}_") and isinstance(value, float)})
        return values
