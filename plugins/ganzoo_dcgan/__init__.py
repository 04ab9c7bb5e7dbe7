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
    for name, description, sha256 in (
        ("dcgan-mnist", "DCGAN trained on MNIST digits (padded to 32x32)",
         "ad79915fe1ef772636a80fda97b473ed0475d6faddd30d0ca774ecb58ef7926c"),
        ("dcgan-celeba", "DCGAN trained on CelebA faces (64x64)",
         "1071547530530b525bf210baf458730c7554fcff64b35b96f0753e9897ff51a1"),
    ):
        register(name, PRETRAINED / name, architecture="dcgan", description=description,
                 repo_id=f"ganzoo/{name}", sha256=sha256)
