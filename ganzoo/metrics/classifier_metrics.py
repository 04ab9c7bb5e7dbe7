"""The three metrics on the MNIST classifier: classifier-score, classifier-fd and tstr
(see ganzoo.metrics.classifier for the network and its input)."""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import Tensor

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError
from ganzoo.metrics.base import Metric, MetricResult, limit
from ganzoo.metrics.classifier import (
    ARCHITECTURE, ARCHITECTURE_VERSION, FEATURE_DIM, NUM_CLASSES, RECIPE, TSTR_EPOCHS, accuracy,
    check_input, classifier_protocol, load_mnist_classifier, predict,
)
from ganzoo.metrics.classifier_training import train_classifier
from ganzoo.metrics.frechet import frechet_distance_of


def classifier_score(log_probs: Tensor, splits: int) -> tuple[float, float]:
    """Mean and standard deviation over ``splits`` equal consecutive parts of
    exp(mean_x KL(p(y|x) || p(y))), p(y) the part's mean prediction (float64)."""
    n = len(log_probs) // splits
    scores = []
    for k in range(splits):
        part = log_probs[k * n:(k + 1) * n].double()
        log_py = torch.logsumexp(part, dim=0) - math.log(len(part))
        kl = (part.exp() * (part - log_py)).sum(1).mean()
        scores.append(math.exp(float(kl)))
    values = torch.tensor(scores, dtype=torch.float64)
    return float(values.mean()), float(values.std(unbiased=False)) if splits > 1 else 0.0


def _shuffled(rows: Tensor, seed: int) -> Tensor:
    return rows[torch.randperm(len(rows), generator=torch.Generator().manual_seed(seed))]


class ClassifierScore(Metric):
    """The Inception score with the bundled MNIST classifier: exp(E KL(p(y|x) || p(y))) over
    ``splits`` parts of the generated images (1 to 10; higher is better). With a real set its
    value on as many real images is in ``details["real"]``.

    The images are put in a random order (seeded by ``seed``) before splitting: a conditional
    model's images usually come sorted by class, and consecutive splits of sorted images would
    each hold one class and score about 1."""

    name = "classifier-score"
    title = "Classifier score (MNIST CNN)"
    lower_is_better = False
    needs_real = False
    default_n = 10_000

    def __init__(self, splits: int = 10, batch_size: int = 1000) -> None:
        self.splits, self.batch_size = splits, batch_size

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        check_input(fake, self.name)
        if len(fake) < 2 * self.splits:
            raise DataError(f"{self.name}: {len(fake)} generated images cannot make {self.splits} splits of "
                            "at least 2; generate more images")
        model = load_mnist_classifier(device=device)
        log_probs, _ = predict(model, fake.images, batch_size=self.batch_size, device=device, progress=progress,
                               desc=self.name)
        value, std = classifier_score(_shuffled(log_probs, seed), self.splits)
        details: dict[str, Any] = {"std": std}
        n_real = 0
        if real is not None:
            check_input(real, self.name, "real")
            real = limit(real, len(fake), self.name, "real")
            n_real = len(real)
            real_log_probs, _ = predict(model, real.images, batch_size=self.batch_size, device=device,
                                        progress=progress, desc=f"{self.name} (real)")
            details["real"], details["real_std"] = classifier_score(_shuffled(real_log_probs, seed), self.splits)
        protocol = {"n_fake": len(fake), "n_real": n_real, "splits": self.splits,
                    "images_per_split": len(fake) // self.splits, "split_order": f"random permutation, seed {seed}",
                    **classifier_protocol(model),
                    "reference": "Inception score (Salimans et al. 2016) with an MNIST classifier"}
        return MetricResult(self.name, self.title, value, self.lower_is_better, protocol, details,
                            time.perf_counter() - start)


class ClassifierFD(Metric):
    """The Fréchet distance between Gaussians fitted to the bundled MNIST classifier's 256-d
    penultimate features of real and generated images (lower is better). As many real images
    as generated ones are used (the first ``len(fake)``)."""

    name = "classifier-fd"
    title = "Fréchet distance in MNIST-classifier features"
    lower_is_better = True
    needs_real = True
    default_n = 10_000

    def __init__(self, batch_size: int = 1000) -> None:
        self.batch_size = batch_size

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        if real is None:
            raise DataError(f"{self.name} needs real images; give a reference dataset")
        check_input(fake, self.name)
        check_input(real, self.name, "real")
        if len(fake) < 2:
            raise DataError(f"{self.name} needs at least two generated images")
        real = limit(real, len(fake), self.name, "real")
        model = load_mnist_classifier(device=device)
        _, fake_features = predict(model, fake.images, batch_size=self.batch_size, device=device,
                                   progress=progress, desc=f"{self.name} (generated)")
        _, real_features = predict(model, real.images, batch_size=self.batch_size, device=device,
                                   progress=progress, desc=f"{self.name} (real)")
        value = frechet_distance_of(real_features, fake_features)
        protocol = {"n_real": len(real), "n_fake": len(fake), "features": f"penultimate fc, {FEATURE_DIM}-d, after ReLU",
                    "real_size": real.image_shape[1], "fake_size": fake.image_shape[1], **classifier_protocol(model),
                    "reference": "FID (Heusel et al. 2017) with an MNIST classifier's features"}
        return MetricResult(self.name, self.title, value, self.lower_is_better, protocol, {},
                            time.perf_counter() - start)


class TSTR(Metric):
    """Train on synthetic, test on real: a fresh classifier (the bundled one's architecture and
    recipe, ``epochs`` epochs) is trained on the generated labelled images and its accuracy on
    the real labelled set is the figure (higher is better). ``details["train_on_real_accuracy"]``
    is the bundled classifier's accuracy on the same real images (trained on MNIST's 60,000
    training images, see its protocol)."""

    name = "tstr"
    title = "Train on synthetic, test on real (accuracy)"
    lower_is_better = False
    needs_real = True
    needs_labels = True
    default_n = 10_000

    def __init__(self, epochs: int = TSTR_EPOCHS, batch_size: int = RECIPE["batch_size"], lr: float = RECIPE["lr"],
                 weight_decay: float = RECIPE["weight_decay"], augment: bool = RECIPE["augment"],
                 eval_batch_size: int = 1000) -> None:
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.weight_decay, self.augment, self.eval_batch_size = weight_decay, augment, eval_batch_size

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        if fake.labels is None:
            raise DataError(f"{self.name} needs labelled generated images, but {fake.name or 'the generated set'} "
                            "has none: the model is not conditional; evaluate a class-conditional model")
        if real is None or real.labels is None:
            problem = "none was given" if real is None else f"{real.name or 'the real set'} has no labels"
            raise DataError(f"{self.name} needs a labelled real test set (e.g. the MNIST test split); {problem}")
        check_input(fake, self.name)
        check_input(real, self.name, "real")
        train_start = time.perf_counter()
        model = train_classifier(fake, epochs=self.epochs, seed=seed, batch_size=self.batch_size, lr=self.lr,
                                 weight_decay=self.weight_decay, augment=self.augment, device=device,
                                 progress=progress)
        train_seconds = time.perf_counter() - train_start
        value = accuracy(model, real, self.eval_batch_size, device=device, progress=progress)
        reference = load_mnist_classifier(device=device)
        info = reference.info
        details = {
            "train_on_real_accuracy": accuracy(reference, real, self.eval_batch_size, device=device),
            "train_on_real_protocol": {
                "classifier": info.get("name"), "sha256": info.get("sha256"), "train_images": info.get("train_images"),
                "epochs": info.get("epochs"), "seed": info.get("seed"), "recipe": info.get("recipe"),
                "recorded_test_accuracy": info.get("test_accuracy"), "recorded_test_images": info.get("test_images")},
            "train_seconds": train_seconds,
        }
        counts = torch.bincount(fake.labels.long().cpu(), minlength=NUM_CLASSES)
        protocol = {"n_real": len(real), "n_fake": len(fake), "epochs": self.epochs, "seed": seed,
                    "batch_size": self.batch_size, "lr": self.lr, "weight_decay": self.weight_decay,
                    "augment": self.augment, "optimiser": "AdamW, linear warm-up then cosine to 0",
                    "classifier_architecture": f"{ARCHITECTURE} v{ARCHITECTURE_VERSION} (trained fresh)",
                    "fake_labels_per_class": counts.tolist(),
                    "reference_classifier": info.get("name"), "reference_classifier_sha256": info.get("sha256"),
                    "input": "1-channel 28x28 (32x32 images centre-cropped), scaled to [-1, 1]",
                    "reference": "TSTR (Esteban et al. 2017; Ravuri & Vinyals 2019, Classification Accuracy Score)"}
        return MetricResult(self.name, self.title, value, self.lower_is_better, protocol, details,
                            time.perf_counter() - start)
