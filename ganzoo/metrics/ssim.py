"""SSIM, MS-SSIM and PSNR on images in [0, 255].

``ssim``/``psnr`` follow BasicSR's protocol for super-resolution tables (Gaussian window 11,
sigma 1.5, valid filtering, optional border crop, RGB or the BT.601 Y channel), and
``ms_ssim`` follows ProGAN's (the TensorFlow reference: five scales with weights 0.0448,
0.2856, 0.3001, 0.2363, 0.1333, 2x2 average downsampling, the window shrunk to the image at
coarse scales). ``MSSSIMDiversity`` is ProGAN's diversity measure: the mean MS-SSIM of random
pairs of generated images, lower is more diverse, with the real data's value beside it.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch import Tensor

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError
from ganzoo.metrics.base import Metric, MetricResult, check_comparable, limit

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def gaussian_kernel(size: int, sigma: float) -> Tensor:
    """The normalised 1-D Gaussian whose outer product is MATLAB's fspecial window (half-pixel
    offsets for even sizes)."""
    offset = 0.5 if size % 2 == 0 else 0.0
    radius = size // 2
    coords = torch.arange(-radius, radius + (0 if size % 2 == 0 else 1), dtype=torch.float64) + offset
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def _banded(n: int, kernel: Tensor) -> Tensor:
    """The (n - k + 1, n) matrix whose product with a length-n signal is its valid correlation
    with ``kernel``."""
    k = len(kernel)
    rows = torch.arange(n - k + 1, device=kernel.device)[:, None]
    cols = rows + torch.arange(k, device=kernel.device)
    matrix = kernel.new_zeros(n - k + 1, n)
    matrix[rows.expand(-1, k), cols] = kernel.expand(n - k + 1, k)
    return matrix


def gaussian_window(size: int, sigma: float) -> Tensor:
    """The normalised 2-D Gaussian window (separable: the outer product of ``gaussian_kernel``)."""
    g = gaussian_kernel(size, sigma)
    return torch.outer(g, g)


def _ssim_and_cs(x: Tensor, y: Tensor, max_val: float, filter_size: int = 11, filter_sigma: float = 1.5,
                 k1: float = 0.01, k2: float = 0.03) -> tuple[Tensor, Tensor]:
    """Per-image SSIM and contrast-structure term, averaged over the valid region and channels.
    A window larger than the image shrinks to it, its sigma in proportion (ProGAN)."""
    size = min(filter_size, x.shape[-2], x.shape[-1])
    sigma = filter_sigma * size / filter_size
    c = x.shape[1]
    # The five local moments in one separable valid filtering, as two banded matrix products
    # (several times faster than a grouped convolution in float64 on CPU).
    g = gaussian_kernel(size, sigma).to(x)
    moments = _banded(x.shape[-2], g) @ torch.cat([x, y, x * x, y * y, x * y], dim=1) @ _banded(x.shape[-1], g).T
    mu_x, mu_y, xx, yy, xy = moments.split(c, dim=1)
    sxx = xx - mu_x**2
    syy = yy - mu_y**2
    sxy = xy - mu_x * mu_y
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    cs_map = (2 * sxy + c2) / (sxx + syy + c2)
    ssim_map = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1) * cs_map
    return ssim_map.mean(dim=(1, 2, 3)), cs_map.mean(dim=(1, 2, 3))


def _as_float(images: Tensor) -> Tensor:
    if images.dim() == 3:
        images = images[None]
    if images.dim() != 4:
        raise DataError(f"expected images shaped (N, C, H, W), got {tuple(images.shape)}")
    return images.to(torch.float64)


def rgb_to_y(images: Tensor) -> Tensor:
    """BT.601 luma in [16, 235] from RGB in [0, 255] (MATLAB's rgb2ycbcr, as BasicSR uses)."""
    r, g, b = (images[:, i:i + 1] / 255 for i in range(3))
    return 16 + 65.481 * r + 128.553 * g + 24.966 * b


def _prepare(a: Tensor, b: Tensor, crop_border: int, y_channel: bool) -> tuple[Tensor, Tensor]:
    a, b = _as_float(a), _as_float(b)
    if a.shape != b.shape:
        raise DataError(f"image shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if crop_border:
        a, b = (t[..., crop_border:-crop_border, crop_border:-crop_border] for t in (a, b))
    if y_channel:
        if a.shape[1] != 3:
            raise DataError("the Y channel needs RGB images")
        a, b = rgb_to_y(a), rgb_to_y(b)
    return a, b


def psnr(a: Tensor, b: Tensor, *, crop_border: int = 0, y_channel: bool = False) -> Tensor:
    """Per-image PSNR in dB of images in [0, 255] (BasicSR's calculate_psnr)."""
    a, b = _prepare(a, b, crop_border, y_channel)
    mse = (a - b).pow(2).mean(dim=(1, 2, 3))
    return 10 * torch.log10(255.0**2 / mse)


def ssim(a: Tensor, b: Tensor, *, crop_border: int = 0, y_channel: bool = False) -> Tensor:
    """Per-image SSIM of images in [0, 255] (BasicSR's calculate_ssim: window 11, sigma 1.5)."""
    a, b = _prepare(a, b, crop_border, y_channel)
    return _ssim_and_cs(a, b, 255.0)[0]


def _downsample(x: Tensor) -> Tensor:
    """2x2 mean, the last row/column repeated when odd (scipy's convolve, mode 'reflect')."""
    pad = (0, x.shape[-1] % 2, 0, x.shape[-2] % 2)
    if any(pad):
        x = F.pad(x, pad, mode="replicate")
    return F.avg_pool2d(x, 2)


def ms_ssim(a: Tensor, b: Tensor, *, weights: tuple[float, ...] = MS_SSIM_WEIGHTS) -> Tensor:
    """Per-pair MS-SSIM of images in [0, 255] (ProGAN's ms_ssim.py, also mmagic's).

    Like the reference, negative SSIM and contrast-structure terms (anti-correlated pairs,
    common at the 4x4 scale) are clipped to 0 before the fractional powers.
    """
    a, b = _as_float(a), _as_float(b)
    if a.shape != b.shape:
        raise DataError(f"image shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    if min(a.shape[-2:]) < 2 ** (len(weights) - 1):
        raise DataError(f"MS-SSIM with {len(weights)} scales needs images of at least "
                        f"{2 ** (len(weights) - 1)} pixels a side, got {a.shape[-2]}x{a.shape[-1]}")
    w = torch.tensor(weights, dtype=torch.float64, device=a.device)
    cs_terms = []
    for level in range(len(weights)):
        s, cs = _ssim_and_cs(a, b, 255.0)
        if level < len(weights) - 1:
            cs_terms.append(cs)
            a, b = _downsample(a), _downsample(b)
    cs_all = torch.stack(cs_terms).clamp_min(0)
    return torch.prod(cs_all ** w[:-1, None], dim=0) * s.clamp_min(0) ** w[-1]


def _pair_ms_ssim(images: Tensor, pairs: int, generator: torch.Generator, batch: int = 500) -> Tensor:
    n = len(images)
    first = torch.randint(n, (pairs,), generator=generator)
    second = (first + torch.randint(1, n, (pairs,), generator=generator)) % n  # never the same image
    values = [ms_ssim(images[first[i:i + batch]], images[second[i:i + batch]]) for i in range(0, pairs, batch)]
    return torch.cat(values)


class MSSSIMDiversity(Metric):
    """Mean MS-SSIM of random pairs of generated images (ProGAN's protocol: 10,000 pairs);
    lower is more diverse. The real data's value, on as many pairs, is in ``details``."""

    name = "ms-ssim"
    title = "MS-SSIM of random pairs (diversity)"
    lower_is_better = True
    needs_real = False
    default_n = 10_000

    def __init__(self, pairs: int = 10_000) -> None:
        self.pairs = pairs

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        if len(fake) < 2:
            raise DataError("ms-ssim needs at least two generated images")
        generator = torch.Generator().manual_seed(seed)
        value = float(_pair_ms_ssim(fake.images.to(device), self.pairs, generator).mean())
        details = {}
        if real is not None:
            check_comparable(real, fake, self.name)
            real = limit(real, len(fake), self.name, "real")
            details["real"] = float(_pair_ms_ssim(real.images.to(device), self.pairs,
                                                  torch.Generator().manual_seed(seed + 1)).mean())
        protocol = {"pairs": self.pairs, "n_fake": len(fake), "n_real": len(real) if real is not None else 0,
                    "scales": len(MS_SSIM_WEIGHTS), "weights": list(MS_SSIM_WEIGHTS), "window": "gaussian 11, sigma 1.5",
                    "downsample": "2x2 mean", "reference": "ProGAN (Karras et al. 2018) ms_ssim.py"}
        return MetricResult(self.name, self.title, value, self.lower_is_better, protocol, details,
                            time.perf_counter() - start)
