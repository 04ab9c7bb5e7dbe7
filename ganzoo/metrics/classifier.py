"""The MNIST classifier behind the classifier-based metrics: a small CNN, its input rules and
the bundled weights. The three metrics built on it are in ``ganzoo.metrics.classifier_metrics``,
its training recipe in ``ganzoo.metrics.classifier_training``.

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

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import ArtifactError, DataError
from ganzoo.fileio import sha256_of
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


def progress_bar(total: int, desc: str, progress: bool, unit: str = "img"):
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
        with progress_bar(len(images), desc, progress) as bar:
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


def classifier_protocol(model: MnistClassifier) -> dict[str, Any]:
    info = getattr(model, "info", {})
    return {"classifier": info.get("name", NAME), "classifier_sha256": info.get("sha256", ""),
            "classifier_architecture": f"{ARCHITECTURE} v{ARCHITECTURE_VERSION}",
            "classifier_test_accuracy": info.get("test_accuracy"),
            "input": "1-channel 28x28 (32x32 images centre-cropped), scaled to [-1, 1]"}


if __name__ == "__main__":  # the documented rebuild command; the code is in classifier_training
    from ganzoo.metrics.classifier_training import main

    raise SystemExit(main())
