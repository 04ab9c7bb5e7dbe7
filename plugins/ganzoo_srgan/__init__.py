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
             description="x4 super-resolution (SRResNet/SRGAN) trained briefly on BSDS200: "
                         "ganzoo sample srgan-x4 --input IMG -o OUT",
             repo_id="ganzoo/srgan-x4", sha256="012809c2b58f4ce582fb7d11bc65dca17f381bdb8404f5238a804a35806774d7")
    register("srresnet-x4", PRETRAINED / "srresnet-x4", architecture="srgan",
             description="x4 super-resolution, PSNR-oriented (SRResNet, phase 1) on BSDS200: "
                         "ganzoo sample srresnet-x4 --input IMG -o OUT",
             repo_id="ganzoo/srresnet-x4", sha256="302941062bbb4918ef939cf6d882fe5599c72fabec3b9313487b5dba7c9559c8")
