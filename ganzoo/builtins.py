"""What the core itself registers: its losses and dataset readers. Imports no torch."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo.hookspecs import hookimpl


@hookimpl
def register_losses(register: Callable[..., None]) -> None:
    register("bce", "ganzoo.losses:NonSaturatingLoss", "non-saturating BCE (Goodfellow et al.)")
    register("minimax", "ganzoo.losses:MinimaxLoss", "original minimax BCE")
    register("wgan", "ganzoo.losses:WassersteinLoss", "WGAN with weight clipping, RMSprop, 5 critic steps")
    register("wgan-gp", "ganzoo.losses:WassersteinGPLoss", "WGAN with gradient penalty (lambda 10)")
    register("hinge", "ganzoo.losses:HingeLoss", "hinge loss")
    register("lsgan", "ganzoo.losses:LeastSquaresLoss", "least-squares loss")


def has_images(path: Path) -> bool:
    from ganzoo.data.folder import has_images as folder_has_images  # numpy/PIL only when used

    return folder_has_images(path)


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
    register(
        "image-folder",
        "ganzoo.data.folder:load_image_folder",
        "a folder of JPEG/PNG images (recursive), centre-cropped and resized to a square",
        detect=has_images,
    )
