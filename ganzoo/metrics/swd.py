"""Sliced Wasserstein distance between Laplacian-pyramid patch statistics: ProGAN's protocol
(Karras et al. 2018, metrics/sliced_wasserstein.py; the figures mmagic publishes).

Per pyramid level (full resolution down to 16x16): 128 random 7x7 neighbourhoods per image;
the descriptors of each set are normalised per channel (mean 0, std 1 over the set); then 4
repeats of 128 random unit directions, sorted projections, mean absolute difference. Distances
are multiplied by 1e3; the headline is their average over levels.

The descriptors are streamed (``DescriptorFile``): written to a temporary file as they are
made and projected in groups of directions, so memory stays near 1 GB at the full protocol
where holding them would take several.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError
from ganzoo.metrics.base import Metric, MetricResult, check_comparable

_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0])
GAUSSIAN_5x5 = torch.outer(_BINOMIAL, _BINOMIAL) / 256  # cv2.pyrDown's kernel
DIRECTION_GROUP = 64
"""Directions projected at once: the sorted projections of one group of both sets (2 x 64 x
2.1 M float32, 1.1 GB, at 16,384 images) are the largest buffers."""
READ_ROWS = 65_536
"""Descriptors read back from the temporary file at a time."""


def _filter(x: Tensor, kernel: Tensor) -> Tensor:
    """Depthwise 5x5 filtering with mirrored borders (scipy.ndimage mode 'mirror')."""
    c = x.shape[1]
    weight = kernel.to(x)[None, None].expand(c, 1, 5, 5)
    return F.conv2d(F.pad(x, (2, 2, 2, 2), mode="reflect"), weight, groups=c)


def pyr_down(x: Tensor) -> Tensor:
    return _filter(x, GAUSSIAN_5x5)[:, :, ::2, ::2]


def pyr_up(x: Tensor) -> Tensor:
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, h * 2, w * 2)
    up[:, :, ::2, ::2] = x
    return _filter(up, GAUSSIAN_5x5 * 4)


def laplacian_pyramid(x: Tensor, levels: int) -> list[Tensor]:
    """Band-pass levels from full resolution down; the last is the low-pass residual."""
    pyramid = [x]
    for _ in range(1, levels):
        pyramid.append(pyr_down(pyramid[-1]))
        pyramid[-2] = pyramid[-2] - pyr_up(pyramid[-1])
    return pyramid


def resolutions(size: int) -> list[int]:
    """The pyramid levels the protocol uses: size, size/2, ... down to 16."""
    levels = []
    while size >= 16:
        levels.append(size)
        size //= 2
    return levels


def _descriptors(level: Tensor, per_image: int, size: int, generator: torch.Generator) -> Tensor:
    """``per_image`` random ``size``x``size`` neighbourhoods of each image, flattened."""
    n, c, h, w = level.shape
    r = size // 2
    ys = torch.randint(r, h - r, (n, per_image), generator=generator)
    xs = torch.randint(r, w - r, (n, per_image), generator=generator)
    offsets = torch.arange(-r, r + 1)
    rows = (ys[..., None] + offsets)[..., :, None]            # n, k, size, 1
    cols = (xs[..., None] + offsets)[..., None, :]            # n, k, 1, size
    flat = (rows * w + cols).reshape(n, -1)                   # n, k*size*size
    patches = level.reshape(n, c, h * w).gather(2, flat[:, None, :].expand(n, c, -1).to(level.device))
    return patches.reshape(n, c, per_image, size * size).permute(0, 2, 1, 3).reshape(n * per_image, c, size * size)


def _sorted_rows(x: Tensor) -> Tensor:
    """Each row sorted. On CPU through NumPy, in place, whose SIMD sort is over ten times faster
    than torch.sort on the millions of projections a level has; torch.sort on accelerators."""
    if x.device.type != "cpu":
        return torch.sort(x, dim=1).values
    rows = x.contiguous().numpy()
    rows.sort(axis=1)
    return torch.from_numpy(rows)


class DescriptorFile:
    """One set's descriptors at one level, streamed: written once, chunk by chunk, to an
    unlinked temporary file (the page cache holds it, not this process), with float64
    per-channel sums for the normalisation ProGAN's protocol applies (per channel, mean 0 and
    population std 1 over the whole set)."""

    def __init__(self, channels: int, width: int) -> None:
        self.file = tempfile.TemporaryFile(prefix="ganzoo-swd-")
        self.channels, self.width, self.rows = channels, width, 0
        self.sum = torch.zeros(channels, dtype=torch.float64)
        self.squares = torch.zeros(channels, dtype=torch.float64)
        self.mean = self.std = None

    def append(self, descriptors: Tensor) -> None:
        """``descriptors``: (k, channels, width) float32."""
        wide = descriptors.double()
        self.sum += wide.sum(dim=(0, 2)).cpu()
        self.squares += wide.square().sum(dim=(0, 2)).cpu()
        self.file.write(descriptors.float().contiguous().cpu().numpy().tobytes())
        self.rows += len(descriptors)

    def seal(self) -> None:
        count = self.rows * self.width
        mean = self.sum / count
        self.mean = mean.float().view(1, -1, 1)
        self.std = (self.squares / count - mean.square()).clamp_min(0).sqrt().float().view(1, -1, 1)

    def sorted_projections(self, directions: Tensor, rows: int) -> Tensor:
        """(directions, descriptors): every normalised descriptor projected on each unit
        direction (the columns of ``directions``), each row sorted. The normalisation is folded
        into the directions (x - m) / s . d = x . (d / s) - m / s . d, so the raw descriptors are
        read ``rows`` at a time and never rewritten."""
        assert self.mean is not None, "seal() first"
        device = directions.device
        per_channel = directions.view(self.channels, self.width, -1)
        scaled = (per_channel / self.std.view(-1, 1, 1).to(device)).reshape(self.channels * self.width, -1)
        offset = (per_channel.sum(dim=1) * (self.mean / self.std).view(-1, 1).to(device)).sum(dim=0)
        out = torch.empty(directions.shape[1], self.rows, device=device)
        buffer = np.empty((rows, self.channels * self.width), np.float32)
        self.file.seek(0)
        for start in range(0, self.rows, rows):
            k = min(rows, self.rows - start)
            self.file.readinto(memoryview(buffer[:k]).cast("B"))
            chunk = torch.from_numpy(buffer[:k]).to(device)
            out[:, start:start + k] = scaled.T @ chunk.T
        out -= offset[:, None]
        return _sorted_rows(out)

    def close(self) -> None:
        self.file.close()


def sliced_wasserstein(a: DescriptorFile, b: DescriptorFile, repeats: int, directions: int,
                       generator: torch.Generator, *, group: int, rows: int, device) -> float:
    """Mean over repeats of the mean |sorted(a.d) - sorted(b.d)| over random unit directions d,
    ``group`` directions at a time (the sorted projections of one group of both sets are the
    largest buffers)."""
    results = []
    for _ in range(repeats):
        dirs = torch.randn(a.channels * a.width, directions, generator=generator).to(device)
        dirs = dirs / dirs.norm(dim=0, keepdim=True)
        total = 0.0
        for start in range(0, directions, group):
            chosen = dirs[:, start:start + group]
            pa = a.sorted_projections(chosen, rows)
            pb = b.sorted_projections(chosen, rows)
            total += float(pa.sub_(pb).abs_().sum(dim=1).double().sum())  # in place: no G x M temporaries
            del pa, pb
        results.append(total / (directions * a.rows))
    return sum(results) / len(results)


class SlicedWasserstein(Metric):
    """SWD x1e3 per pyramid level and averaged (ProGAN protocol: 16,384 images a side)."""

    name = "swd"
    title = "SWD x1e3 (average over levels)"
    lower_is_better = True
    default_n = 16_384

    def __init__(self, neighbourhoods: int = 128, patch: int = 7, repeats: int = 4, directions: int = 128,
                 batch_size: int = 256) -> None:
        self.neighbourhoods, self.patch = neighbourhoods, patch
        self.repeats, self.directions, self.batch_size = repeats, directions, batch_size

    def _level_descriptors(self, images: Tensor, level: int, levels: int, generator: torch.Generator,
                           device, bar) -> DescriptorFile:
        descriptors = DescriptorFile(images.shape[1], self.patch * self.patch)
        depth = min(level + 2, levels)  # band-pass level L needs the Gaussian levels L and L+1 only
        for start in range(0, len(images), self.batch_size):
            batch = images[start:start + self.batch_size].to(device, torch.float32)
            descriptors.append(_descriptors(laplacian_pyramid(batch, depth)[level], self.neighbourhoods,
                                            self.patch, generator))
            if bar is not None:
                bar.update(len(batch))
        descriptors.seal()
        return descriptors

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        assert real is not None
        check_comparable(real, fake, self.name)
        size = fake.image_shape[1]
        if fake.image_shape[1] != fake.image_shape[2]:
            raise DataError(f"swd: images must be square, got {fake.image_shape[1]}x{fake.image_shape[2]}")
        levels = resolutions(size)
        if not levels:
            raise DataError(f"swd: the protocol needs images of at least 16x16, got {size}x{size}")
        n = min(len(real), len(fake))  # sorted projections pair up: equal counts (the larger set is cut)
        real_images, fake_images = real.images[:n], fake.images[:n]
        distances = []
        bar = tqdm(total=2 * n * len(levels), desc="swd", unit="img", disable=not progress, leave=False)
        for level in range(len(levels)):
            # Independent seeded streams per set and level: the same seed gives the same figure.
            desc_real = self._level_descriptors(real_images, level, len(levels),
                                                torch.Generator().manual_seed(seed * 1000 + 2 * level), device, bar)
            desc_fake = self._level_descriptors(fake_images, level, len(levels),
                                                torch.Generator().manual_seed(seed * 1000 + 2 * level + 1), device, bar)
            directions = torch.Generator().manual_seed(seed * 1000 + 500 + level)
            try:
                distances.append(1e3 * sliced_wasserstein(desc_real, desc_fake, self.repeats, self.directions,
                                                          directions, group=DIRECTION_GROUP,
                                                          rows=READ_ROWS, device=device))
            finally:
                desc_real.close()
                desc_fake.close()
        bar.close()
        details = {f"swd_{res}": d for res, d in zip(levels, distances)}
        protocol = {"n_real": n, "n_fake": n, "levels": levels, "neighbourhoods_per_image": self.neighbourhoods,
                    "patch": self.patch, "repeats": self.repeats, "directions": self.directions, "scale": 1e3,
                    "pyramid": "Laplacian, 5x5 binomial (cv2.pyrDown), mirrored borders",
                    "reference": "ProGAN (Karras et al. 2018) sliced_wasserstein.py"}
        return MetricResult(self.name, self.title, sum(distances) / len(distances), self.lower_is_better,
                            protocol, details, time.perf_counter() - start)
