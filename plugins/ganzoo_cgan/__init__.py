"""Class-conditional GANs: labels embedded into both networks, or a projection discriminator."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo.api import hookimpl

PRETRAINED = Path(__file__).parent / "pretrained"


@hookimpl
def register_architectures(register: Callable[..., None]) -> None:
    register("cgan", "ganzoo_cgan.architecture:ConditionalGAN",
             "class-conditional DCGAN (Mirza & Osindero; projection D of Miyato & Koyama)")


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    register("cgan-mnist", PRETRAINED / "cgan-mnist", architecture="cgan",
             description="conditional GAN on MNIST: pick the digit with --label (32x32)",
             repo_id="ganzoo/cgan-mnist",
             sha256="6a79294c5ee2760ffa1387da2979895a27529ed6daec2299f515bdb2fc3dce65")
