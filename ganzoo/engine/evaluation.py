"""The metrics a training run logs as it goes (``eval_metrics``), on fixed samples and fixed
real images so that the curve compares like with like.

Two kinds: sample metrics (SWD, FID, classifier metrics) compare ``eval_n`` samples of a
noise-to-image generator with ``eval_n`` training images fixed at the start; model metrics of
image-to-image generators (``sr``, ``domain-accuracy``) run the generator on their own
reference data, ``eval_data`` (e.g. a Set5 folder), at their full protocol.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import torch

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import GanzooError
from ganzoo.metrics.base import ModelMetric, ProtocolChanged, check_shapes
from ganzoo.metrics.evaluate import build_metric, generate_dataset


class TrainingEvaluation:
    """The metrics a Trainer runs every ``eval_every`` steps on its (EMA) generator.

    Sample metrics see ``n`` samples, always from the same seed, against ``n`` training images
    fixed at the start; model metrics read ``eval_data`` (default: the training data's path).
    """

    def __init__(self, names: Sequence[str], data: Any, *, n: int, seed: int, device,
                 eval_data: str = "") -> None:
        metrics = [build_metric(name) for name in dict.fromkeys(names)]
        self.model_metrics = [m for m in metrics if isinstance(m, ModelMetric)]
        self.sample_metrics = [m for m in metrics if not isinstance(m, ModelMetric)]
        self.seed, self.device = seed, device
        self.eval_data = eval_data or str(getattr(data, "path", "") or "")
        self.real: ImageDataset | None = None
        self.n = n
        if self.sample_metrics and hasattr(data, "subset"):  # an ImageDataset, or streamed images
            self.n = min(n, len(data))
            chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:self.n]
            self.real = data.subset(chosen)

    def check(self, generator) -> None:
        """Refuse at the start what would fail at the first evaluation."""
        translates = generator.latent_dim is None
        if translates and self.sample_metrics:
            names = ", ".join(m.name for m in self.sample_metrics)
            raise GanzooError(f"eval_metrics: {names} measures samples from noise, and this generator "
                              "translates images; log its own metrics instead (see `ganzoo list`, e.g. sr)")
        if not translates and self.model_metrics:
            names = ", ".join(m.name for m in self.model_metrics)
            raise GanzooError(f"eval_metrics: {names} measures image-to-image models, and this generator "
                              "samples from noise; log a sample metric instead (e.g. swd)")
        if self.model_metrics and not self.eval_data:
            raise GanzooError(f"eval_metrics: {self.model_metrics[0].name} runs the generator on reference "
                              "data; name it with --set eval_data=PATH")
        for metric in self.sample_metrics:
            if metric.needs_labels and generator.num_classes is None:
                raise GanzooError(f"eval_metrics: {metric.name} needs a class-conditional model")
        if self.sample_metrics:
            if self.real is None:
                raise GanzooError("eval_metrics: sample metrics need training images (an image dataset), which this data is not")
            check_shapes(self.real.image_shape, tuple(generator.image_shape), "eval_metrics", self.real.name,
                         "the generator")
        for metric in self.metrics:
            metric.prepare(self.device)

    @property
    def metrics(self) -> list:
        return self.sample_metrics + self.model_metrics

    def __call__(self, generator) -> dict[str, Any]:
        """``{"eval_<metric>": value}`` for the generator as it is now, with the metric's own
        per-part figures beside it (``eval_swd_64``, ``eval_sr_psnr_rgb``, ...)."""
        values: dict[str, Any] = {}
        if self.sample_metrics:
            assert self.real is not None
            fake = generate_dataset(generator, self.n, seed=self.seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ProtocolChanged)  # eval_n is the user's explicit choice
                for metric in self.sample_metrics:
                    result = metric.compute(self.real, fake, seed=self.seed, device=self.device)
                    values[f"eval_{metric.name}"] = result.value
                    values.update({f"eval_{key}": value for key, value in result.details.items()
                                   if key.startswith(f"{metric.name}_") and isinstance(value, float)})
        for metric in self.model_metrics:
            result = metric.evaluate_model(generator, self.eval_data, n=None, seed=self.seed,
                                           device=str(self.device), progress=False)
            values[f"eval_{metric.name}"] = result.value
            values.update({f"eval_{metric.name}_{key}": value for key, value in result.details.items()
                           if isinstance(value, float)})
            if isinstance(result.protocol.get("images"), int):
                values[f"eval_{metric.name}_images"] = result.protocol["images"]
        return values
