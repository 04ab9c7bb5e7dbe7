"""``domain-accuracy``: does a two-way translator move test images into the other domain?

Protocol (every choice is recorded in the result's ``protocol``):

1. A small domain classifier (``DomainClassifier``: four stride-2 3x3 convolutions with batch
   norm, global average pooling, a linear layer; ~0.1 M parameters) is trained by the metric
   itself, seeded, on the real ``trainA`` (label 0) and ``trainB`` (label 1) images at 64x64:
   ``EPOCHS`` epochs of AdamW, cross-entropy weighted by inverse class frequency, random
   horizontal flips. It takes well under a minute on one CPU core, so nothing is cached.
2. Its accuracy on the real ``testA``/``testB`` images says how well it tells the domains apart.
3. ``testA`` is translated a2b and ``testB`` b2a at the model's own resolution (its
   ``image_shape``), resized to 64x64 and classified. The headline value is the share of
   translated images the classifier puts in the target domain (both directions pooled);
   ``details`` has each direction and, as a floor, the share of *untranslated* test images
   it puts in the other domain.

All test images are used unless ``-n`` limits each domain to its first ``n`` images.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from ganzoo.api import DataError, MetricResult, ModelMetric, to_signed

CLASSIFIER_SIZE = 64
EPOCHS = 8
BATCH_SIZE = 64
LR = 2e-3
WEIGHT_DECAY = 1e-2
WIDTHS = (16, 32, 64, 128)


class DomainClassifier(nn.Module):
    """(N, 3, 64, 64) in [-1, 1] -> two logits (domain A, domain B)."""

    def __init__(self, widths: tuple[int, ...] = WIDTHS) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = 3
        for cout in widths:
            layers += [nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout),
                       nn.ReLU(inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 2)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).mean(dim=(2, 3)))


def to_classifier_input(images: Tensor, device: torch.device | str) -> Tensor:
    """uint8 NCHW -> float in [-1, 1] at CLASSIFIER_SIZE (antialiased bilinear resize)."""
    x = to_signed(images.to(device))
    if x.shape[-2:] != (CLASSIFIER_SIZE, CLASSIFIER_SIZE):
        x = F.interpolate(x, size=(CLASSIFIER_SIZE, CLASSIFIER_SIZE), mode="bilinear",
                          align_corners=False, antialias=True)
    return x


def train_domain_classifier(a: Tensor, b: Tensor, *, seed: int, device: torch.device | str,
                            epochs: int = EPOCHS) -> DomainClassifier:
    """A classifier of uint8 images ``a`` (label 0) against ``b`` (label 1), seeded."""
    rng = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainClassifier().to(device)
    x = torch.cat([to_classifier_input(a, "cpu"), to_classifier_input(b, "cpu")])
    y = torch.cat([torch.zeros(len(a), dtype=torch.long), torch.ones(len(b), dtype=torch.long)])
    weight = torch.tensor([len(y) / (2 * len(a)), len(y) / (2 * len(b))], device=device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    batch = min(BATCH_SIZE, len(y))
    steps = epochs * (len(y) // batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LR, total_steps=max(1, steps))
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=rng)
        for start in range(0, len(y) - batch + 1, batch):
            index = order[start:start + batch]
            images = x[index]
            flip = torch.rand(len(index), generator=rng) < 0.5
            images = torch.where(flip[:, None, None, None], images.flip(-1), images).to(device)
            loss = F.cross_entropy(model(images), y[index].to(device), weight=weight)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def predict(model: DomainClassifier, images: Tensor, device: torch.device | str) -> Tensor:
    """Predicted domain (0 = A, 1 = B) of uint8 images, on the CPU."""
    out = [model(to_classifier_input(images[i:i + 256], device)).argmax(1).cpu()
           for i in range(0, len(images), 256)]
    return torch.cat(out)


@torch.no_grad()
def translate_all(generator: Any, images: Tensor, direction: str, batch: int = 16) -> Tensor:
    return torch.cat([generator.translate(images[i:i + batch], direction=direction).cpu()
                      for i in range(0, len(images), batch)])


class DomainAccuracy(ModelMetric):
    name = "domain-accuracy"
    title = "domain accuracy of translations"
    lower_is_better = False
    default_n = 0
    """0: every test image (the test sets are small)."""

    def __init__(self) -> None:
        self._classifiers: dict[tuple, tuple[DomainClassifier, float]] = {}
        """Trained classifiers by (data, size, seed, device): a training run evaluates with the
        same seeded classifier every time, trained once."""

    def _classifier(self, key: tuple, train_a: Tensor, train_b: Tensor, *, seed: int,
                    device: str | torch.device) -> tuple[DomainClassifier, float]:
        if key not in self._classifiers:
            start = time.perf_counter()
            classifier = train_domain_classifier(train_a, train_b, seed=seed, device=device)
            self._classifiers[key] = classifier, time.perf_counter() - start
        return self._classifiers[key]

    def evaluate_model(self, generator: Any, data: str, *, n: int | None, seed: int,
                       device: str | torch.device, progress: bool) -> MetricResult:
        from ganzoo_cyclegan.data import load_unpaired

        start = time.perf_counter()
        if not hasattr(generator, "a2b") or not hasattr(generator, "b2a"):
            raise DataError(f"{self.name} measures two-way translators (a2b and b2a), such as CycleGAN's")
        size = int(generator.image_shape[1])
        test_a, test_b = load_unpaired(Path(data), size, "test")  # missing test folders fail first
        train_a, train_b = load_unpaired(Path(data), size, "train")
        if n:
            test_a.images, test_b.images = test_a.images[:n], test_b.images[:n]
        classifier, classifier_seconds = self._classifier((str(Path(data).resolve()), size, seed, str(device)),
                                                          train_a.images, train_b.images, seed=seed, device=device)

        def share(images: Tensor, label: int) -> float:
            return float((predict(classifier, images, device) == label).float().mean())

        real_a, real_b = share(test_a.images, 0), share(test_b.images, 1)
        a2b = share(translate_all(generator, test_a.images, "a2b"), 1)
        b2a = share(translate_all(generator, test_b.images, "b2a"), 0)
        na, nb = len(test_a.images), len(test_b.images)
        value = (a2b * na + b2a * nb) / (na + nb)
        details = {
            "a2b_target_share": round(a2b, 4),
            "b2a_target_share": round(b2a, 4),
            "classifier_test_accuracy": round((real_a * na + real_b * nb) / (na + nb), 4),
            "classifier_test_accuracy_a": round(real_a, 4),
            "classifier_test_accuracy_b": round(real_b, 4),
            "untranslated_target_share": round(((1 - real_a) * na + (1 - real_b) * nb) / (na + nb), 4),
            "classifier_train_accuracy": round(
                (share(train_a.images, 0) * len(train_a) + share(train_b.images, 1) * len(train_b))
                / (len(train_a) + len(train_b)), 4),
            "classifier_seconds": round(classifier_seconds, 1),
        }
        protocol = {  # scalars (model cards keep these): the figures that say what the value means
            "split": "testA->b + testB->a",
            "images": na + nb,
            "a2b_target_share": details["a2b_target_share"],
            "b2a_target_share": details["b2a_target_share"],
            "classifier_test_accuracy": details["classifier_test_accuracy"],
            "untranslated_target_share": details["untranslated_target_share"],
            "test_images": f"testA {na}, testB {nb}",
            "train_images": f"trainA {len(train_a)}, trainB {len(train_b)}",
            "translation_resolution": f"{size}x{size}",
            "classifier": f"4x(conv3x3 s2+BN+ReLU) {'-'.join(map(str, WIDTHS))}, GAP, linear; {CLASSIFIER_SIZE}px",
            "classifier_training": f"{EPOCHS} epochs, batch {BATCH_SIZE}, AdamW {LR} one-cycle, wd {WEIGHT_DECAY}, "
                                   "class-weighted CE, flips",
        }
        return MetricResult(self.name, self.title, value, self.lower_is_better, protocol, details,
                            round(time.perf_counter() - start, 2))
