"""What the core itself registers: its losses, dataset readers and metrics. Imports no torch."""

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
    register("ragan", "ganzoo.losses:RelativisticAverageLoss",
             "relativistic average BCE, RaGAN (Jolicoeur-Martineau)")


def has_images(path: Path) -> bool:
    from ganzoo.data.folder import has_images as folder_has_images  # numpy/PIL only when used

    return folder_has_images(path)


def looks_like_mnist(path: Path) -> bool:
    return any((path / f"train-images-idx3-ubyte{ext}").is_file() for ext in (".gz", ""))


def saved_by_datasets(path: Path) -> bool:
    """A directory written by the ``datasets`` library's ``save_to_disk``."""
    return path.is_dir() and any((path / marker).is_file() for marker in ("dataset_dict.json", "state.json"))


@hookimpl
def register_datasets(register: Callable[..., None]) -> None:
    register(
        "mnist",
        "ganzoo.data.mnist:load_mnist",
        "MNIST idx files (train split), 28x28 grey, 10 classes",
        detect=looks_like_mnist,
    )
    register(
        "hf-saved",
        "ganzoo.data.hf:load_saved_dataset",
        "a Hugging Face dataset saved with save_to_disk (image and ClassLabel columns; needs ganzoo[datasets]); "
        "--data hf:ORG/NAME[:SPLIT] reads one from the Hub or its cache",
        detect=saved_by_datasets,
    )
    register(
        "image-folder",
        "ganzoo.data.folder:load_image_folder",
        "a folder of JPEG/PNG images (recursive), centre-cropped and resized to a square",
        detect=has_images,
    )


@hookimpl
def register_metrics(register: Callable[..., None]) -> None:
    register("swd", "ganzoo.metrics.swd:SlicedWasserstein",
             "sliced Wasserstein distance of Laplacian-pyramid patches x1e3 (ProGAN; 16,384 images)")
    register("ms-ssim", "ganzoo.metrics.ssim:MSSSIMDiversity",
             "mean MS-SSIM of 10,000 random generated pairs, lower is more diverse (ProGAN)")
    register("fid", "ganzoo.metrics.fid:FID", "Fréchet Inception distance (pytorch-fid's InceptionV3 network)")
    register("kid", "ganzoo.metrics.fid:KID", "kernel Inception distance, unbiased, 100 subsets of 1,000")
    register("is", "ganzoo.metrics.fid:InceptionScore", "Inception score, 10 splits")
    register("classifier-score", "ganzoo.metrics.classifier_metrics:ClassifierScore",
             "Inception score with ganzoo's bundled MNIST classifier (10,000 images)")
    register("classifier-fd", "ganzoo.metrics.classifier_metrics:ClassifierFD",
             "Fréchet distance in the MNIST classifier's features (10,000 images)")
    register("tstr", "ganzoo.metrics.classifier_metrics:TSTR",
             "train a classifier on generated labelled digits, test on real ones (conditional models)")
