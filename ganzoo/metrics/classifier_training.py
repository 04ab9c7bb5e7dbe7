"""Training the MNIST classifier: the recipe TSTR trains with, and the rebuild of the bundled
weights (``python -m ganzoo.metrics.classifier --data /path/to/mnist``)."""

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
from torch import Tensor

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError
from ganzoo.fileio import sha256_of
from ganzoo.metrics.classifier import (
    ARCHITECTURE, ARCHITECTURE_VERSION, FEATURE_DIM, NAME, NUM_CLASSES, RECIPE, WEIGHTS_DIR,
    MnistClassifier, accuracy, check_input, crop28, progress_bar,
)
from ganzoo.pixels import to_signed


def _shift(images: Tensor, generator: torch.Generator, pad: int = 2) -> Tensor:
    """Each image shifted by its own random offset of up to ``pad`` pixels each way (zero fill)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    offsets = torch.randint(0, 2 * pad + 1, (2, n), generator=generator).to(images.device)
    rows = offsets[0, :, None] + torch.arange(h, device=images.device)
    cols = offsets[1, :, None] + torch.arange(w, device=images.device)
    index = torch.arange(n, device=images.device)[:, None, None]
    return padded[index, 0, rows[:, :, None], cols[:, None, :]].unsqueeze(1)


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
        with progress_bar(total, "train classifier", progress, unit="step") as bar:
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
