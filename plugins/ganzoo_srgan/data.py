"""Super-resolution data: HR training folders, random HR/LR crop pairs, and benchmark pairs.

Images are kept as uint8 CHW tensors (RGB; grey images are repeated to three channels, alpha is
dropped) because training folders hold images of different sizes (BSDS: 481x321 and 321x481).
LR images are made from HR ones with PyTorch's antialiased bicubic downscaling, which uses
PIL's and MATLAB's cubic kernel (a = -0.5) widened by the scale: on Set5 it is within 0.2 grey
levels on average of the LR files of the published benchmark (made with MATLAB's ``imresize``).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.api import (
    EXTENSIONS, IMAGE_READ_ERRORS, DataError, GanzooError, SkippedImagesWarning, image_files,
    open_image, pil_to_tensor, to_signed, to_unsigned,
)

READ_ERRORS = IMAGE_READ_ERRORS
_PAIR_NAME = re.compile(r"^(?P<name>.+?)(?:_SRF_(?P<srf>\d+))?_(?P<kind>HR|LR)$", re.IGNORECASE)
"""``img_001_SRF_4_HR`` (the Set5/Set14/BSD100/Urban100 release) or ``img_001_HR``."""


def downscale(images: Tensor, scale: int) -> Tensor:
    """Float NCHW in [-1, 1] -> float NCHW at 1 / ``scale`` the size, in [-1, 1]: antialiased
    bicubic, so a constant image stays constant. H and W must be multiples of ``scale``."""
    h, w = images.shape[-2:]
    if h % scale or w % scale:
        raise DataError(f"cannot downscale a {w}x{h} image by {scale}: crop it to a multiple of {scale}")
    # scale_factor=1/scale, but by output size: the same sampling grid, and exact for any scale
    lr = F.interpolate(images, size=(h // scale, w // scale), mode="bicubic", antialias=True,
                       align_corners=False)
    return lr.clamp_(-1, 1)


def read_rgb(file: Path) -> Tensor:
    """One image file -> uint8 RGB CHW (``ganzoo.images.open_image``, grey repeated to RGB).
    Raises one of ``READ_ERRORS`` for files that cannot be read."""
    return pil_to_tensor(open_image(file).convert("RGB"))


def _image_files(root: Path, what: str) -> list[Path]:
    """The image files under the folder ``root``, or a one-line DataError naming ``what`` it
    should hold."""
    if not root.is_dir():
        raise DataError(f"{root} is not a folder; give a folder of {what}")
    files = image_files(root)
    if not files:
        raise DataError(f"no images ({', '.join(EXTENSIONS)}) found under {root}; check the path")
    return files


def _size(image: Tensor) -> str:
    """``W x H`` of a CHW tensor, as image viewers write it."""
    return f"{image.shape[-1]}x{image.shape[-2]}"


def random_pairs(
    hr_images: Tensor | Sequence[Tensor],
    crop: int = 96,
    scale: int = 4,
    generator: torch.Generator | None = None,
) -> tuple[Tensor, Tensor]:
    """One random ``crop`` x ``crop`` HR patch per image, flipped left-right with probability
    1/2, and its LR patch (``crop // scale``), both float NCHW in [-1, 1].

    ``hr_images`` is a uint8 (N, C, H, W) tensor or a sequence of uint8 CHW tensors of any
    sizes of at least ``crop``. The crops and flips come from ``generator`` (a CPU generator;
    the same seed gives the same pairs); the pixels stay on the images' device.
    """
    if crop < 1 or scale < 1 or crop % scale:
        raise GanzooError(f"the HR crop ({crop}) must be a positive multiple of the scale ({scale})")
    images = list(hr_images)
    if not images:
        raise DataError("random_pairs needs at least one HR image")
    patches = []
    for i, image in enumerate(images):
        if image.dtype != torch.uint8 or image.dim() != 3:
            raise DataError(f"HR image {i} must be a uint8 CHW tensor, got {image.dtype} {tuple(image.shape)}")
        h, w = image.shape[-2:]
        if h < crop or w < crop:
            raise DataError(f"HR image {i} is {_size(image)}, smaller than the {crop}x{crop} crop; "
                            f"load the folder with min_size={crop} or lower the crop")
        top = int(torch.randint(h - crop + 1, (1,), generator=generator))
        left = int(torch.randint(w - crop + 1, (1,), generator=generator))
        patches.append(image[:, top:top + crop, left:left + crop])
    hr = to_signed(torch.stack(patches))
    flip = torch.rand(len(images), generator=generator) < 0.5
    hr = torch.where(flip.to(hr.device).view(-1, 1, 1, 1), hr.flip(-1), hr)
    return hr, downscale(hr, scale)


def load_hr_folder(path: str | Path, min_size: int = 96) -> list[Tensor]:
    """Every image under ``path`` (recursive) as a uint8 RGB CHW tensor, in file-name order.

    Images with a side shorter than ``min_size`` (they cannot give a training crop) and files
    that cannot be read are left out, with one ``SkippedImagesWarning`` that names them; a
    folder with no usable image is a ``DataError``.
    """
    root = Path(path)
    if min_size < 1:
        raise GanzooError(f"min_size must be >= 1, got {min_size}")
    files = _image_files(root, "HR training images")
    images, skipped = [], []
    for file in files:
        try:
            image = read_rgb(file)
        except READ_ERRORS as exc:
            skipped.append(f"{file.relative_to(root)} (unreadable: {exc})")
            continue
        if min(image.shape[-2:]) < min_size:
            skipped.append(f"{file.relative_to(root)} ({_size(image)})")
            continue
        images.append(image)
    if not images:
        raise DataError(f"none of the {len(files)} images under {root} is readable and at least "
                        f"{min_size}x{min_size}; use larger images or a smaller crop")
    if skipped:
        shown = "; ".join(skipped[:5]) + (f"; and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        warnings.warn(f"skipped {len(skipped)} of {len(files)} images under {root} (smaller than "
                      f"{min_size}x{min_size} or unreadable): {shown}", SkippedImagesWarning, stacklevel=2)
    return images


BSDS_TERMS = "Berkeley: non-commercial research and education"


class HRCrops:
    """Training data for super-resolution: HR images in memory, paired on the fly.

    Each ``batch(indices, device)`` takes one random ``crop`` x ``crop`` patch (with a random
    left-right flip) of each chosen HR image and its antialiased bicubic LR patch, as
    ``{"image": HR, "lr": LR}``, float NCHW in [-1, 1]. The crops and flips come from the
    global torch RNG, which the Trainer saves and restores, so a resumed run draws the same
    pairs. The rest is the surface ``ganzoo.engine`` expects of training data.
    """

    num_classes = None
    labels = None

    def __init__(self, images: list[Tensor], *, crop: int = 96, scale: int = 4, name: str = "", path: str = "",
                 card: dict | None = None, reader: str = "sr-hr-folder") -> None:
        if crop % scale:
            raise GanzooError(f"the HR crop ({crop}) must be a multiple of the scale ({scale})")
        self.images, self.crop, self.scale = images, crop, scale
        self.name, self.path, self.card, self.reader = name, path, dict(card or {}), reader

    def __len__(self) -> int:
        return len(self.images)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (int(self.images[0].shape[0]), self.crop, self.crop)

    def to(self, device: torch.device | str) -> "HRCrops":
        return HRCrops([image.to(device) for image in self.images], crop=self.crop, scale=self.scale,
                       name=self.name, path=self.path, card=self.card, reader=self.reader)

    def batch(self, indices: Tensor, device: torch.device) -> dict[str, Tensor]:
        hr, lr = random_pairs([self.images[i] for i in indices.tolist()], self.crop, self.scale)
        return {"image": hr.to(device, non_blocking=True), "lr": lr.to(device, non_blocking=True)}

    def fixed_pairs(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """``n`` HR/LR pairs from images spread over the set, drawn with ``generator`` (for
        preview grids: the same every time), on the CPU."""
        picks = torch.linspace(0, len(self) - 1, min(n, len(self))).round().long().tolist()
        hr, lr = random_pairs([self.images[i].cpu() for i in picks], self.crop, self.scale, generator)
        return hr, lr


def load_training_folder(path: str | Path, *, crop: int = 96, scale: int = 4,
                         name: str | None = None) -> HRCrops:
    """A folder of HR images (any sizes of at least ``crop``) as ``HRCrops``. A folder named
    like BSDS (the Berkeley Segmentation Dataset) gets its terms in the card."""
    root = Path(path)
    images = load_hr_folder(root, min_size=crop)
    card: dict = {"split": "all files"}
    if "bsds" in root.resolve().name.lower():
        card.update(license="other", license_note=f"BSDS (Martin et al., 2001): {BSDS_TERMS}")
    return HRCrops(images, crop=crop, scale=scale, name=name or root.resolve().name, path=str(root),
                   card=card)


def _read_or_fail(file: Path) -> Tensor:
    try:
        return read_rgb(file)
    except READ_ERRORS as exc:
        raise DataError(f"cannot read {file}: {exc}; replace or remove it") from None


def load_sr_pairs(path: str | Path, scale: int = 4) -> list[tuple[str, Tensor, Tensor]]:
    """A super-resolution benchmark folder -> ``(name, hr, lr)`` per image, sorted by name;
    ``hr`` and ``lr`` are uint8 RGB CHW and ``lr`` is exactly 1 / ``scale`` of ``hr``.

    Either a folder of pairs named ``<name>_HR.<ext>`` and ``<name>_LR.<ext>`` (optionally
    ``<name>_SRF_<scale>_HR.png``, as in the Set5/Set14 release), where every HR image needs its
    LR partner, and the reverse, and sizes must agree; or a folder with no ``_LR`` images, whose
    images are all HR: each is cropped at the bottom and right to a multiple of ``scale`` and
    its LR image made by antialiased bicubic downscaling (see the module docstring).
    """
    root = Path(path)
    if scale < 1:
        raise GanzooError(f"scale must be >= 1, got {scale}")
    files = _image_files(root, "HR (and LR) benchmark images")
    named: dict[str, dict[str, Path]] = {}
    plain: list[Path] = []
    for file in files:
        match = _PAIR_NAME.match(file.stem)
        if match is None:
            plain.append(file)
            continue
        if match["srf"] is not None and int(match["srf"]) != scale:
            raise DataError(f"{file} is named for x{match['srf']} but the scale is {scale}; "
                            f"pass scale={match['srf']} or use the x{scale} folder")
        key = (file.parent.relative_to(root) / match["name"]).as_posix()
        kinds = named.setdefault(key, {})
        kind = match["kind"].upper()
        if kind in kinds:
            raise DataError(f"two {kind} images for {key} under {root}: {kinds[kind].name} and "
                            f"{file.name}; remove one")
        kinds[kind] = file
    if not any("LR" in kinds for kinds in named.values()):
        return _hr_only(root, plain + [kinds["HR"] for kinds in named.values()], scale)
    if plain:
        raise DataError(f"{plain[0]} is neither *_HR nor *_LR, in a folder of HR/LR pairs; "
                        "rename or remove it")
    pairs = []
    for key, kinds in sorted(named.items()):
        if "LR" not in kinds:
            raise DataError(f"{kinds['HR']} has no LR partner (*_LR) in {root}; add it or remove the HR image")
        if "HR" not in kinds:
            raise DataError(f"{kinds['LR']} has no HR partner (*_HR) in {root}; add it or remove the LR image")
        hr, lr = _read_or_fail(kinds["HR"]), _read_or_fail(kinds["LR"])
        h, w = hr.shape[-2:]
        if h % scale or w % scale:
            raise DataError(f"{kinds['HR']} is {_size(hr)}, not divisible by the scale {scale}; "
                            f"crop it to {w - w % scale}x{h - h % scale} (and check its LR image)")
        if lr.shape[-2] * scale != h or lr.shape[-1] * scale != w:
            raise DataError(f"{kinds['LR']} is {_size(lr)}, but x{scale} of it should be its HR image's "
                            f"{_size(hr)} ({kinds['HR'].name}); check the scale or the files")
        pairs.append((key, hr, lr))
    return pairs


def _hr_only(root: Path, files: list[Path], scale: int) -> list[tuple[str, Tensor, Tensor]]:
    pairs = []
    for file in sorted(files):
        hr = _read_or_fail(file)
        h, w = hr.shape[-2:]
        if h < scale or w < scale:
            raise DataError(f"{file} is {_size(hr)}, smaller than the scale {scale}; remove it")
        hr = hr[:, : h - h % scale, : w - w % scale].contiguous()
        lr = to_unsigned(downscale(to_signed(hr)[None], scale)[0])
        match = _PAIR_NAME.match(file.stem)
        stem = match["name"] if match else file.stem
        pairs.append(((file.parent.relative_to(root) / stem).as_posix(), hr, lr))
    return sorted(pairs, key=lambda pair: pair[0])
