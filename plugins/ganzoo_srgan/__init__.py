"""SRGAN (Ledig et al., 2017): x4 photo-realistic single-image super-resolution with an SRResNet
generator and a VGG-style discriminator; image-to-image, so the generators take LR images, not
latent vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo.api import hookimpl

PRETRAINED = Path(__file__).parent / "pretrained"


@hookimpl
def register_architectures(register: Callable[..., None]) -> None:
    register("srgan", "ganzoo_srgan.architecture:SRGAN",
             "Ledig et al.'s SRGAN: x4 super-resolution, SRResNet + VGG-style discriminator")


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    register("sr", "ganzoo_srgan.metric:SuperResolutionMetric",
             "super-resolution PSNR/SSIM (Y and RGB, BasicSR protocol) on HR/LR pairs, beside bicubic")


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    register("srgan-x4", PRETRAINED / "srgan-x4", architecture="srgan",
             description="x4 super-resolution, the perceptual variant (SRGAN phase 2 from srresnet-x4) on BSDS200: "
                         "ganzoo sample srgan-x4 --input IMG -o OUT",
             repo_id="ganzoo/srgan-x4", sha256="38eb1c1fb71e14f19e25133f9ebef901575ad7af71a4056bfe6c7e163681a6ed")
    register("srresnet-x4", PRETRAINED / "srresnet-x4", architecture="srgan",
             description="x4 super-resolution, PSNR-oriented (SRResNet, phase 1) on BSDS200: "
                         "ganzoo sample srresnet-x4 --input IMG -o OUT",
             repo_id="ganzoo/srresnet-x4", sha256="8bfbcdd97f81a20ef5d8318f4347f0d6a4746d7f0730d6e67f7899e7e21cd739")
