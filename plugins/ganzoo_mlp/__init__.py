"""The classic tutorial GAN: two small multilayer perceptrons on MNIST digits."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo.api import hookimpl

PRETRAINED = Path(__file__).parent / "pretrained"


@hookimpl
def register_architectures(register: Callable[..., None]) -> None:
    register("mlp", "ganzoo_mlp.architecture:MLPGAN", "fully connected GAN of the classic tutorials")


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    register("mlp-mnist", PRETRAINED / "mlp-mnist", architecture="mlp",
             description="MLP GAN trained on MNIST digits (28x28)", repo_id="ganzoo/mlp-mnist",
             sha256="f4772f9f3ba377ed2170d203956f8a9e4d7af09697600a9833ba9fdcc8d8783e")
