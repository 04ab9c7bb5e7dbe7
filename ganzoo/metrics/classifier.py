"""Classifier-based evaluation on MNIST-like digits: a small CNN, its training recipe, and
three metrics built on it.

- ``classifier-score``: the Inception-score analogue, exp(E_x KL(p(y|x) || p(y))) with the
  bundled classifier's softmax, over ``splits`` equal parts of the generated set (higher is
  better; 10 is the most a 10-class classifier can give).
- ``classifier-fd``: the Fréchet distance between Gaussians fitted to the classifier's 256-d
  penultimate features of real and generated images (lower is better).
- ``tstr``: train on synthetic, test on real. A fresh classifier is trained with the same
  recipe on the generated labelled images and tested on the real labelled set (higher is
  better); the bundled classifier's accuracy on the same real images is given beside it.

Input: 1-channel uint8 images, 28x28 or 32x32. 32x32 images are centre-cropped to 28x28
(``load_mnist(image_size=32)`` pads MNIST's 28x28 digits with a 2-pixel black border, so the
crop gives back the original digit; whatever a 32x32 generator draws in that border is not
seen). Pixels are scaled from [0, 255] to [-1, 1].

The bundled classifier (``weights/mnist-classifier.safetensors`` and its JSON of facts:
test accuracy, recipe, hardware, sha256) is rebuilt with
``python -m ganzoo.metrics.classifier --data /path/to/mnist``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import ArtifactError, DataError
from ganzoo.fileio import sha256_of
from ganzoo.metrics.base import Metric, MetricResult, limit
from ganzoo.metrics.frechet import frechet_distance_of
from ganzoo.pixels import to_signed

ARCHITECTURE = "mnist-cnn"
ARCHITECTURE_VERSION = 1
NAME = "mnist-classifier"
WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
NUM_CLASSES = 10
FEATURE_DIM = 256
REBUILD = "python -m ganzoo.metrics.classifier --data DIR_WITH_MNIST"

RECIPE: dict[str, Any] = {"epochs": 8, "batch_size": 128, "lr": 2e-3, "weight_decay": 1e-2,
                          "augment": True, "warmup": 0.02}
"""The training recipe of the bundled classifier (AdamW, linear warm-up over ``warmup`` of the
steps then cosine decay to 0; ``augment``: random shifts of up to 2 pixels each way)."""

TSTR_EPOCHS = 5
"""TSTR's default epochs: fewer than the bundled classifier's (the generated set is usually
10,000 images, not 60,000); recorded in every TSTR protocol."""


class MnistClassifier(nn.Module):
    """conv32-pool-conv64-pool-conv128-pool (3x3, batch norm, ReLU), dropout, fc256, fc10.

    Input: (N, 1, 28, 28) floats in [-1, 1]. ``features`` is the 256-d penultimate layer
    (after its ReLU, before the last dropout): what the Fréchet distance is computed on.
    Small on purpose: about 0.4M parameters and 8M multiply-adds per image, so evaluating
    10,000 images takes seconds on one CPU core.
    """

    def __init__(self) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True), nn.MaxPool2d(2)]

        self.conv = nn.Sequential(*block(1, 32), *block(32, 64), *block(64, 128))  # 28 -> 14 -> 7 -> 3
        self.drop1 = nn.Dropout(0.25)
        self.fc1 = nn.Linear(128 * 3 * 3, FEATURE_DIM)
        self.drop2 = nn.Dropout(0.5)
        self.fc2 = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def features(self, x: Tensor) -> Tensor:
        return F.relu(self.fc1(self.drop1(self.conv(x).flatten(1))))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc2(self.drop2(self.features(x)))


# ---------------------------------------------------------------------------------------------
# Input checks and preparation


def check_input(dataset: ImageDataset, metric: str, side: str = "generated") -> None:
    """One-line DataError unless the images are 1-channel 28x28 or 32x32."""
    c, h, w = dataset.image_shape
    if c != 1 or h != w or h not in (28, 32):
        raise DataError(f"{metric}: the MNIST classifier needs 1-channel 28x28 or 32x32 images, but the {side} "
                        f"set{f' ({dataset.name})' if dataset.name else ''} is {c}x{h}x{w}; "
                        "evaluate a model trained on MNIST-like digits")


def crop28(images: Tensor) -> Tensor:
    """uint8 (N, 1, 28|32, 28|32) -> (N, 1, 28, 28): 32x32 is centre-cropped (MNIST's 2-pixel pad)."""
    if images.shape[-1] == 32:
        return images[..., 2:30, 2:30]
    return images


def _shift(images: Tensor, generator: torch.Generator, pad: int = 2) -> Tensor:
    """Each image shifted by its own random offset of up to ``pad`` pixels each way (zero fill)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(images.device)
    rows = offsets[0, :, None] + torch.arange(h, device=images.device)
    cols = offsets[1, :, None] + torch.arange(w, device=images.device)
    index = torch.arange(n, device=images.device)[:, None, None]
    return padded[index, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


def _bar(total: int, desc: str, progress: bool, unit: str = "img"):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not progress, leave=False)


@torch.no_grad()
def predict(model: MnistClassifier, images: Tensor, *, batch_size: int = 1000, device: str | torch.device = "cpu",
            progress: bool = False, desc: str = "classifier") -> tuple[Tensor, Tensor]:
    """Log-probabilities (N, 10) and 256-d features (N, 256), float64 on the CPU, of uint8 images
    (N, 1, 28|32, 28|32) in eval mode."""
    was_training = model.training
    model.eval()
    device = torch.device(device)
    model.to(device)
    log_probs, features = [], []
    try:
        with _bar(len(images), desc, progress) as bar:
            for start in range(0, len(images), batch_size):
                x = to_signed(crop28(images[start:start + batch_size]).to(device))
                f = model.features(x)
                log_probs.append(F.log_softmax(model.fc2(f).double(), dim=1).cpu())
                features.append(f.double().cpu())
                bar.update(len(x))
    finally:
        model.train(was_training)
    return torch.cat(log_probs), torch.cat(features)


def accuracy(model: MnistClassifier, dataset: ImageDataset, batch_size: int = 1000, *,
             device: str | torch.device = "cpu", progress: bool = False) -> float:
    """Fraction of ``dataset``'s labelled images whose most likely class is the label."""
    check_input(dataset, "accuracy", "labelled")
    if dataset.labels is None:
        raise DataError(f"accuracy: {dataset.name or 'the dataset'} has no labels; give a labelled set")
    log_probs, _ = predict(model, dataset.images, batch_size=batch_size, device=device, progress=progress,
                           desc="accuracy")
    return float((log_probs.argmax(1) == dataset.labels.cpu()).double().mean())


# ---------------------------------------------------------------------------------------------
# Training


def train_classifier(dataset: ImageDataset, *, epochs: int = RECIPE["epochs"], seed: int = 0,
                     batch_size: int = RECIPE["batch_size"], lr: float = RECIPE["lr"],
                     weight_decay: float = RECIPE["weight_decay"], augment: bool = RECIPE["augment"],
                     warmup: float = RECIPE["warmup"], device: str | torch.device = "cpu",
                     progress: bool = False) -> MnistClassifier:
    """A fresh ``MnistClassifier`` trained on the labelled ``dataset`` (cross-entropy, AdamW,
    linear warm-up then cosine decay to 0, random 2-pixel shifts when ``augment``).

    Deterministic for a given seed, device and thread count: the initialisation and dropout use
    a forked RNG seeded with ``seed`` (the global RNG is left as it was), the order and the
    shifts their own generators. Every image is used each epoch (the last batch may be smaller).
    Returned in eval mode.
    """
    check_input(dataset, "train_classifier", "training")
    if dataset.labels is None:
        raise DataError(f"train_classifier: {dataset.name or 'the dataset'} has no labels; a classifier needs "
                        "labelled images")
    labels = dataset.labels.long()
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= NUM_CLASSES):
        raise DataError(f"train_classifier: labels must lie in 0..{NUM_CLASSES - 1}, got "
                        f"{int(labels.min())}..{int(labels.max())}")
    if epochs < 1 or batch_size < 2:
        raise ValueError(f"need epochs >= 1 and batch_size >= 2, got {epochs} and {batch_size}")
    device = torch.device(device)
    images = crop28(dataset.images).to(device)
    labels = labels.to(device)
    n = len(images)
    batch_size = min(batch_size, n)
    starts = [s for s in range(0, n, batch_size) if n - s >= 2]  # BN needs 2 images a batch
    total = epochs * len(starts)
    warm = max(1, round(warmup * total))

    def schedule(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    fork = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=fork):
        torch.manual_seed(seed)
        model = MnistClassifier().to(device)
        optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
        order_rng = torch.Generator().manual_seed(seed * 1_000_003 + 1)
        shift_rng = torch.Generator().manual_seed(seed * 1_000_003 + 2)
        model.train()
        with _bar(total, "train classifier", progress, unit="step") as bar:
            for _ in range(epochs):
                order = torch.randperm(n, generator=order_rng).to(device)
                for start in starts:
                    index = order[start:start + batch_size]
                    batch = images[index]
                    if augment:
                        batch = _shift(batch, shift_rng)
                    loss = F.cross_entropy(model(to_signed(batch)), labels[index])
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    optimiser.step()
                    scheduler.step()
                    bar.update(1)
                    bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
    return model.eval()


# ---------------------------------------------------------------------------------------------
# The bundled classifier


def load_mnist_classifier(directory: str | Path | None = None, device: str | torch.device = "cpu") -> MnistClassifier:
    """The bundled MNIST classifier in eval mode, its weights checked against the sha256 in its
    JSON. ``model.info`` holds that JSON (test accuracy, recipe, sha256). ``directory`` holds
    ``mnist-classifier.safetensors`` and ``mnist-classifier.json`` (default: the bundled copy)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    directory = Path(directory) if directory is not None else WEIGHTS_DIR
    weights, facts = directory / f"{NAME}.safetensors", directory / f"{NAME}.json"
    fix = f"reinstall ganzoo or rebuild it with `{REBUILD}`"
    for path in (weights, facts):
        if not path.is_file():
            raise ArtifactError(f"the MNIST classifier's {path.name} is missing from {directory}; {fix}")
    try:
        info = json.loads(facts.read_text())
        expected = info["sha256"]
        if info.get("architecture") != ARCHITECTURE or info.get("architecture_version") != ARCHITECTURE_VERSION:
            raise ArtifactError(f"{facts} describes architecture {info.get('architecture')!r} version "
                                f"{info.get('architecture_version')}, this ganzoo needs {ARCHITECTURE!r} "
                                f"version {ARCHITECTURE_VERSION}; {fix}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{facts} is not a valid classifier description ({type(exc).__name__}); {fix}") from None
    actual = sha256_of(weights)
    if actual != expected:
        raise ArtifactError(f"{weights} has sha256 {actual[:12]}..., its JSON says {str(expected)[:12]}...: the "
                            f"file is corrupt or was replaced; {fix}")
    try:
        tensors = load_file(weights)
        model = MnistClassifier()
        model.load_state_dict(tensors, strict=True)
    except (SafetensorError, OSError, ValueError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0][:200]
        raise ArtifactError(f"{weights} cannot be loaded into the classifier ({reason}); {fix}") from None
    model.info = info
    return model.to(device).eval()


def _classifier_protocol(model: MnistClassifier) -> dict[str, Any]:
    info = getattr(model, "info", {})
    return {"classifier": info.get("name", NAME), "classifier_sha256": info.get("sha256", ""),
            "classifier_architecture": f"{ARCHITECTURE} v{ARCHITECTURE_VERSION}",
            "classifier_test_accuracy": info.get("test_accuracy"),
            "input": "1-channel 28x28 (32x32 images centre-cropped), scaled to [-1, 1]"}


def _hardware() -> str:
    from ganzoo.hardware import cpu_model

    return f"{cpu_model()} ({os.cpu_count()} cores visible, {torch.get_num_threads()} torch threads)"


def _atomic_bytes(path: Path, write) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        tmp.chmod(0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def build_bundled(data: str | Path, out: str | Path = WEIGHTS_DIR, *, epochs: int = RECIPE["epochs"],
                  seed: int = 0, device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """Train the classifier on MNIST's train split, test it on the test split, and write
    ``mnist-classifier.safetensors`` and ``.json`` into ``out`` (each atomically)."""
    from safetensors.torch import save_file

    from ganzoo.data.mnist import load_mnist

    train, test = load_mnist(data, "train"), load_mnist(data, "test")
    start = time.perf_counter()
    model = train_classifier(train, epochs=epochs, seed=seed, device=device, progress=progress)
    seconds = time.perf_counter() - start
    test_accuracy = accuracy(model, test, device=device)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    weights = out / f"{NAME}.safetensors"
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    _atomic_bytes(weights, lambda tmp: save_file(tensors, tmp))
    info = {
        "name": NAME,
        "architecture": ARCHITECTURE,
        "architecture_version": ARCHITECTURE_VERSION,
        "description": MnistClassifier.__doc__.split("\n\n")[0],
        "input": "uint8 1x28x28 (32x32 centre-cropped) scaled to [-1, 1]",
        "feature_dim": FEATURE_DIM,
        "num_classes": NUM_CLASSES,
        "parameters": sum(p.numel() for p in model.parameters()),
        "test_accuracy": test_accuracy,
        "test_images": len(test),
        "test_split": "MNIST t10k (all 10,000 images)",
        "train_images": len(train),
        "train_split": "MNIST train (all 60,000 images, none held out)",
        "recipe": {**RECIPE, "epochs": epochs, "optimiser": "AdamW", "schedule": "linear warm-up, cosine to 0",
                   "augment_detail": "random shift up to 2 pixels each way, zero fill", "loss": "cross-entropy"},
        "epochs": epochs,
        "seed": seed,
        "seconds": round(seconds, 1),
        "torch": torch.__version__,
        "hardware": f"{device}: {_hardware()}" if device == "cpu" else f"{device}: {torch.cuda.get_device_name(device)}",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "sha256": sha256_of(weights),
        "rebuild": f"python -m ganzoo.metrics.classifier --data DIR --epochs {epochs} --seed {seed}",
    }
    _atomic_bytes(out / f"{NAME}.json", lambda tmp: tmp.write_text(json.dumps(info, indent=2) + "\n"))
    return info


# ---------------------------------------------------------------------------------------------
# Metrics


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
                    **_classifier_protocol(model),
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
                    "real_size": real.image_shape[1], "fake_size": fake.image_shape[1], **_classifier_protocol(model),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ganzoo.metrics.classifier",
                                     description="Train the bundled MNIST classifier and write its weights and facts.")
    parser.add_argument("--data", required=True, help="directory with the four MNIST idx files")
    parser.add_argument("--out", default=str(WEIGHTS_DIR), help="where to write mnist-classifier.{safetensors,json}")
    parser.add_argument("--epochs", type=int, default=RECIPE["epochs"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = build_bundled(args.data, args.out, epochs=args.epochs, seed=args.seed, device=args.device)
    print(f"test accuracy {info['test_accuracy']:.4f} on {info['test_images']} images; trained in "
          f"{info['seconds']:.0f} s; sha256 {info['sha256']}; written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
