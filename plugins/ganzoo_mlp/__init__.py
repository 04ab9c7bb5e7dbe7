"""The classic tutorial GAN: two small multilayer perceptrons on MNIST digits."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo import hookimpl

PRETRAINED = Path(__file__).parent / "pretrained"


@hookimpl
def register_architectures(register: Callable[..., None]) -> None:
    register("mlp", "ganzoo_mlp.models:MLPGAN", "fully connected GAN of the classic tutorials")


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    register("mlp-mnist", PRETRAINED / "mlp-mnist", architecture="mlp",
             description="MLP GAN trained on MNIST digits (28x28)")
