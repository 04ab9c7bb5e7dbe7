"""The ``sr`` metric: PSNR and SSIM of a super-resolution model on HR/LR benchmark pairs
(Set5, Set14, any folder ``ganzoo_srgan.data.load_sr_pairs`` reads), beside bicubic upscaling.

BasicSR's protocol: images in [0, 255] after quantising the model's output to uint8, ``scale``
pixels cropped from every border, PSNR and SSIM (Gaussian window 11, sigma 1.5) per image and
averaged over images, on the RGB channels and on the Y channel (BT.601, MATLAB's rgb2ycbcr).
The headline value is PSNR-Y, the figure most SR papers tabulate; the details hold all four
numbers for the model and for bicubic upscaling (the floor a model must beat).
"""

from __future__ import annotations

import time
from typing import Any

import torch
from tqdm.auto import tqdm

from ganzoo.api import GanzooError, MetricResult, ModelMetric, psnr, ssim

FIGURES = ("psnr_y", "ssim_y", "psnr_rgb", "ssim_rgb")


def measure(sr: torch.Tensor, hr: torch.Tensor, crop_border: int) -> dict[str, float]:
    """The four figures of one uint8 CHW image against its HR original."""
    a, b = sr[None], hr[None]
    return {
        "psnr_y": float(psnr(a, b, crop_border=crop_border, y_channel=True)[0]),
        "ssim_y": float(ssim(a, b, crop_border=crop_border, y_channel=True)[0]),
        "psnr_rgb": float(psnr(a, b, crop_border=crop_border)[0]),
        "ssim_rgb": float(ssim(a, b, crop_border=crop_border)[0]),
    }


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: sum(row[key] for row in rows) / len(rows) for key in FIGURES}


class SuperResolutionMetric(ModelMetric):
    name = "sr"
    title = "PSNR-Y (dB) of x{scale} super-resolution"
    lower_is_better = False
    default_n = 0
    """Every pair in the folder."""

    def __init__(self, tile: int = 128) -> None:
        self.tile = tile

    def evaluate_model(self, generator: Any, data: str, *, n: int | None, seed: int,
                       device: str | torch.device, progress: bool) -> MetricResult:
        from ganzoo_srgan.data import load_sr_pairs
        from ganzoo_srgan.upscale import bicubic_upscale, upscale

        scale = getattr(generator, "scale", None)
        if not isinstance(scale, int):
            raise GanzooError(f"{self.name} measures super-resolution models; {type(generator).__name__} "
                              "has no integer 'scale'")
        start = time.perf_counter()
        pairs = load_sr_pairs(data, scale=scale)
        if n is not None:
            pairs = pairs[:n]
        crop = scale
        overlap = getattr(generator, "receptive_radius", 16)  # tiles stitch exactly
        model_rows, bicubic_rows, per_image = [], [], {}
        for name, hr, lr in tqdm(pairs, desc=self.name, unit="img", disable=not progress, leave=False):
            if hr.shape[-2] <= 2 * crop or hr.shape[-1] <= 2 * crop:
                raise GanzooError(f"{name}: {hr.shape[-1]}x{hr.shape[-2]} leaves nothing after the "
                                  f"{crop}-pixel border crop")
            sr = upscale(generator, lr, tile=self.tile, overlap=overlap)
            model_rows.append(measure(sr, hr, crop))
            bicubic_rows.append(measure(bicubic_upscale(lr, scale), hr, crop))
            per_image[name] = round(model_rows[-1]["psnr_y"], 4)
        model, bicubic = _mean(model_rows), _mean(bicubic_rows)
        details: dict[str, Any] = {**model, **{f"bicubic_{k}": v for k, v in bicubic.items()},
                                   "per_image_psnr_y": per_image}
        protocol = {
            "images": len(pairs), "scale": scale, "crop_border": crop,
            "headline": "PSNR-Y (BT.601), mean over images",
            "reference": "BasicSR calculate_psnr/ssim on uint8 images",
            "ssim_window": "gaussian 11, sigma 1.5",
            "split": "all pairs",
            # the figures again as scalars, so that `ganzoo eval --record` puts them in the card
            **{k: round(v, 4) for k, v in model.items()},
            **{f"bicubic_{k}": round(v, 4) for k, v in bicubic.items()},
        }
        return MetricResult(self.name, self.title.format(scale=scale), model["psnr_y"], False,
                            protocol, details, time.perf_counter() - start)
