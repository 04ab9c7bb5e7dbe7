"""DCGAN (Radford et al., 2016): convolutional GANs for 32, 64 and 128 pixel images."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo import hookimpl

PRETRAINED = Path(__file__).parent / "pretrained"


@hookimpl
def register_architectures(register: Callable[..., None]) -> None:
    register("dcgan", "ganzoo_dcgan.models:DCGAN", "Radford et al.'s deep convolutional GAN")


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    for name, description in (
        ("dcgan-mnist", "DCGAN trained on MNIST digits (padded to 32x32)"),
        ("dcgan-celeba", "DCGAN trained on CelebA faces (64x64)"),
    ):
        if (PRETRAINED / name / "config.json").is_file():
            register(name, PRETRAINED / name, architecture="dcgan", description=description)
