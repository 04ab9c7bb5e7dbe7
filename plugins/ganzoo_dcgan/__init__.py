"""DCGAN (Radford et al., 2016): convolutional GANs for 32, 64 and 128 pixel images."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo.api import hookimpl

PRETRAINED = Path(__file__).parent / "pretrained"


@hookimpl
def register_architectures(register: Callable[..., None]) -> None:
    register("dcgan", "ganzoo_dcgan.architecture:DCGAN", "Radford et al.'s deep convolutional GAN")


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    for name, description, sha256 in (
        ("dcgan-mnist", "DCGAN trained on MNIST digits (padded to 32x32)",
         "2cb40989ae7db6d456f24854653e658232e24df65c6d61b6433051567cce03e2"),
        ("dcgan-celeba", "DCGAN trained on CelebA faces (64x64)",
         "a7b4ac1fe6bb4438bde8c2e6de0b359e26fecefa61439dfec46d5e8dea3d0024"),
    ):
        register(name, PRETRAINED / name, architecture="dcgan", description=description,
                 repo_id=f"ganzoo/{name}", sha256=sha256)
