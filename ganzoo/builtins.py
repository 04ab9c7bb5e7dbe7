"""What the core itself registers: its losses and dataset readers. Imports no torch."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo.hookspecs import hookimpl


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    register("bce", "ganzoo.losses:NonSaturatingLoss", "non-saturating BCE (Goodfellow et al.)")
    register("minimax", "ganzoo.losses:MinimaxLoss", "original minimax BCE")
    register("wgan", "ganzoo.losses:WassersteinLoss", "Wasserstein critic loss")
    register("hinge", "ganzoo.losses:HingeLoss", "hinge loss")
    register("lsgan", "ganzoo.losses:LeastSquaresLoss", "least-squares loss")


def looks_like_mnist(path: Path) -> bool:
    return any((path / f"train-images-idx3-ubyte{ext}").is_file() for ext in (".gz", ""))


@hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    register(
        "mnist",
        "ganzoo.data.mnist:load_mnist",
        "MNIST idx files (train split), 28x28 grey, 10 classes",
        detect=looks_like_mnist,
    )
