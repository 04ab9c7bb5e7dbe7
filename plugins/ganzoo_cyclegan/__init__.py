"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation between two image domains with
ResNet generators, 70x70 PatchGAN discriminators, a cycle-consistency loss and a history pool of
generated images."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from ganzoo.api import hookimpl

PRETRAINED = Path(__file__).parent / "pretrained"


@hookimpl
def register_architectures(register: Callable[..., None]) -> None:
    register("cyclegan", "ganzoo_cyclegan.architecture:CycleGAN",
             "unpaired image-to-image translation (Zhu et al.): two ResNet G, two PatchGAN D, cycle loss")


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    register("domain-accuracy", "ganzoo_cyclegan.metric:DomainAccuracy",
             "share of translated test images a small A/B classifier (trained on trainA/trainB) puts "
             "in the target domain")


@hookimpl
def register_pretrained(register: Callable[..., None]) -> None:
    register("cyclegan-summer2winter", PRETRAINED / "cyclegan-summer2winter", architecture="cyclegan",
             description="CycleGAN between Yosemite summer (A) and winter (B) photos: "
                         "--input IMG --direction a2b|b2a",
             repo_id="ganzoo/cyclegan-summer2winter",
             sha256="22c62155b8000360fa398beaa4816f73621e7f4d9b018b11f45f414297a0d113")
