"""Unpaired image data: two folders of images, one per domain (the CycleGAN layout), and the
random crop and flip that CycleGAN trains with.

A dataset root holds ``trainA``/``trainB`` (and ``testA``/``testB``) folders of images, as in
the reference's datasets (e.g. summer2winter_yosemite). Each folder is read with
``ganzoo.data.folder`` (centre-cropped to a square, resized with Lanczos, EXIF-rotated,
unreadable files skipped with a warning) and kept as RGB uint8.

Augmentation. The reference loads images at 286, takes a random 256 crop and flips half of them
horizontally (it trains at 256; 286/256 = 1.117). Here the datasets stay at ``image_size`` so
every tensor has the model's size, and ``random_crop_flip`` does the jitter per batch: resize
to ``round(crop * 1.125)`` (144 for 128, 288 for 256; bicubic, like the reference's PIL
resize), take a random ``crop`` x ``crop`` window per image and mirror each image with
probability 0.5. Test images are used as loaded (the reference's test phase neither crops nor
flips).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from ganzoo.api import EXTENSIONS, DataError, ImageDataset, has_images, load_image_folder, to_signed

SPLITS = ("train", "test")
LOAD_SCALE = 1.125
"""Resize factor before the random crop (the reference's 286 / 256, rounded to 9/8)."""


def load_unpaired(
    root: str | Path, image_size: int = 128, split: str = "train"
) -> tuple[ImageDataset, ImageDataset]:
    """The two domains of ``root``: ``{split}A`` and ``{split}B`` as RGB uint8 datasets of
    ``image_size`` squares (their sizes may differ: the images are unpaired)."""
    if split not in SPLITS:
        raise DataError(f"unpaired datasets have splits {' and '.join(SPLITS)}, not {split!r}")
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"unpaired dataset {root} does not exist; point --data at a folder "
                        f"holding {split}A and {split}B")
    return _domain(root, f"{split}A", image_size), _domain(root, f"{split}B", image_size)


def _domain(root: Path, folder: str, image_size: int) -> ImageDataset:
    path = root / folder
    if not path.is_dir():
        raise DataError(f"{path} is missing: an unpaired dataset needs {folder} next to "
                        f"{folder[:-1]}{'B' if folder.endswith('A') else 'A'}, each a folder of images")
    if not has_images(path):
        raise DataError(f"{path} holds no images ({', '.join(EXTENSIONS)}); put the "
                        f"{folder[-1]}-domain images there")
    dataset = load_image_folder(path, image_size)
    if dataset.images.shape[1] == 1:  # every image was greyscale: both domains must be RGB
        dataset.images = dataset.images.expand(-1, 3, -1, -1).contiguous()
    dataset.name = f"{root.name}/{folder}"
    dataset.card = {"split": folder}
    return dataset


def random_crop_flip(
    images: Tensor, crop: int, generator: torch.Generator, scale: float = LOAD_SCALE
) -> Tensor:
    """CycleGAN's training jitter on a batch (N, C, H, W): resize to ``round(crop * scale)``
    squares (skipped when already that size), one random ``crop`` window per image, and a
    horizontal flip of each image with probability 0.5.

    uint8 in, uint8 out (rounded); floating point in, the same dtype out, clamped to [-1, 1].
    Offsets and flips are drawn from ``generator`` (CPU), so a seed fixes the result on any
    device; with ``scale=1`` and ``crop`` equal to the image size it only flips.
    """
    if scale < 1:
        raise DataError(f"the crop scale must be >= 1, got {scale}")
    load = int(crop * scale + 0.5)
    n, _, h, w = images.shape
    if (h, w) != (load, load):
        resized = F.interpolate(images.float(), size=(load, load), mode="bicubic", align_corners=False)
        if images.dtype == torch.uint8:
            images = resized.clamp_(0, 255).round_().to(torch.uint8)
        else:
            images = resized.clamp_(-1, 1).to(images.dtype)
    offsets = torch.randint(0, load - crop + 1, (n, 2), generator=generator)
    flip = torch.rand(n, generator=generator) < 0.5
    steps = torch.arange(crop)
    rows = offsets[:, :1] + steps  # (N, crop)
    cols = offsets[:, 1:] + torch.where(flip[:, None], crop - 1 - steps, steps)
    device = images.device
    index = torch.arange(n, device=device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=device)[None, :, None, None]
    return images[index, channel, rows.to(device)[:, None, :, None], cols.to(device)[:, None, None, :]]


class UnpairedData:
    """CycleGAN's training data: the A and B domains of one dataset root, with the surface the
    Trainer uses (``len``, ``batch``, ``to``, ``image_shape``...).

    ``len`` is the larger domain's size (as in the reference's ``UnalignedDataset``): index ``i``
    picks A image ``i % len(A)`` and a B image drawn uniformly at random, independently of A.
    The B draws, crop offsets and flips come from the global CPU torch RNG, which the Trainer's
    checkpoints save and restore, so a resumed run draws what the uninterrupted one would.
    ``test_a``/``test_b`` (when the root has testA/testB) feed the preview grids.
    """

    num_classes = None
    labels = None
    reader = "unpaired-folders"

    def __init__(self, a: ImageDataset, b: ImageDataset, *, path: str = "", name: str = "",
                 test: tuple[ImageDataset, ImageDataset] | None = None, augment: bool = True) -> None:
        if a.image_shape != b.image_shape:
            raise DataError(f"{a.name} holds {a.image_shape} images but {b.name} {b.image_shape}")
        self.a, self.b, self.test, self.augment = a, b, test, augment
        self.path, self.name = path, name
        self.card = {
            "split": "trainA + trainB (unpaired)",
            "license": "other",
            "license_note": "Flickr photos collected by the CycleGAN authors; research use",
            "images": {"trainA": len(a), "trainB": len(b)},
        }

    def __len__(self) -> int:
        return max(len(self.a), len(self.b))

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.a.image_shape

    def to(self, device: torch.device | str) -> "UnpairedData":
        test = None if self.test is None else (self.test[0].to(device), self.test[1].to(device))
        moved = UnpairedData(self.a.to(device), self.b.to(device), path=self.path, name=self.name,
                             test=test, augment=self.augment)
        moved.card = self.card
        return moved

    def batch(self, indices: Tensor, device: torch.device) -> dict[str, Tensor]:
        """``{"a": ..., "b": ...}``, float NCHW in [-1, 1] on ``device``, jittered by
        ``random_crop_flip`` when ``augment``."""
        rng = torch.default_generator
        a_index = indices.cpu() % len(self.a)
        b_index = torch.randint(len(self.b), (len(indices),), generator=rng)
        out = {}
        for key, domain, index in (("a", self.a, a_index), ("b", self.b, b_index)):
            images = domain.images[index.to(domain.images.device)].to(device, non_blocking=True)
            images = to_signed(images)
            if self.augment:
                images = random_crop_flip(images, images.shape[-1], rng)
            out[key] = images
        return out


def load_unpaired_training_data(path: str | Path, image_size: int = 128) -> UnpairedData:
    """``path``'s trainA/trainB at ``image_size`` (and testA/testB when both are there)."""
    root = Path(path)
    a, b = load_unpaired(root, image_size, "train")
    test = None
    if all(has_images(root / f"test{d}") for d in "AB"):
        test = load_unpaired(root, image_size, "test")
    return UnpairedData(a, b, path=str(root), name=root.name, test=test)
