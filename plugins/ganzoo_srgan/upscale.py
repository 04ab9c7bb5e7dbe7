"""Upscaling whole images: an SR generator run tile by tile, and plain bicubic as the floor.

``upscale`` runs the generator in eval mode without gradients on overlapping LR tiles and keeps
only each tile's core, so memory depends on ``tile`` and not on the image. Each tile is
zero-padded at its edges where the full image has real pixels; that error reaches
``receptive_radius`` LR pixels inward (40 for the default 16-block x4 SRResNet). With
``overlap`` at least that, tiles stitch to exactly the full-image pass; with less (the default
16), pixels near tile seams differ slightly. BatchNorm in eval mode is per-pixel, so tiling
changes nothing else.

Input images are uint8 CHW. They are adapted to the generator's channels: grey is repeated to
RGB, alpha (a 2nd channel of grey + alpha or a 4th of RGBA) is dropped without compositing, and
RGB goes to grey with BT.601 luma for one-channel models. Anything else is a ``DataError``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.api import DataError, GanzooError, to_signed, to_unsigned


MIN_SIDE = 4
"""Smallest LR side accepted: below it there is nothing to super-resolve."""
_LUMA = (0.299, 0.587, 0.114)


def _check_image(image: Tensor) -> None:
    if not isinstance(image, Tensor) or image.dtype != torch.uint8 or image.dim() != 3:
        shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
        dtype = getattr(image, "dtype", "")
        raise DataError(f"expected a uint8 CHW image tensor, got {dtype} {shape}")
    c, h, w = image.shape
    if h < MIN_SIDE or w < MIN_SIDE:
        raise DataError(f"the image is {w}x{h}; it must be at least {MIN_SIDE}x{MIN_SIDE} pixels to upscale")


def match_channels(image: Tensor, channels: int) -> Tensor:
    """uint8 CHW -> the same image with ``channels`` (1 or 3) channels; see the module docstring."""
    _check_image(image)
    c = image.shape[0]
    if c in (2, 4):  # grey + alpha, RGBA: drop alpha
        image, c = image[: c - 1], c - 1
    if c == channels:
        return image
    if c == 1 and channels == 3:
        return image.expand(3, -1, -1).contiguous()
    if c == 3 and channels == 1:
        weights = torch.tensor(_LUMA, device=image.device).view(3, 1, 1)
        return (image.float() * weights).sum(0, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    raise DataError(f"the image has {image.shape[0]} channels but the model takes {channels}; "
                    "give a grey, grey+alpha, RGB or RGBA image")


def upscale_signed(generator: nn.Module, lr: Tensor, tile: int = 128, overlap: int = 16) -> Tensor:
    """Float CHW in [-1, 1] -> the generator's float CHW output, ``scale`` times larger,
    unclamped, on the CPU; run in eval mode, without gradients, over ``tile`` x ``tile`` LR
    cores each widened by ``overlap`` pixels on every side that has image there."""
    return _upscale_tiles(generator, lr, tile, overlap, quantise=False)


def _upscale_tiles(generator: nn.Module, lr: Tensor, tile: int, overlap: int, *, quantise: bool) -> Tensor:
    """``upscale_signed``, or with ``quantise`` each tile clamped and stored as uint8 as it is
    made, so that memory holds one uint8 output and one tile, never a float copy of the image
    (a 2000x2000 input: 192 MB out, not 768 MB and more)."""
    if tile < 1 or overlap < 0:
        raise GanzooError(f"tile must be >= 1 and overlap >= 0, got tile={tile}, overlap={overlap}")
    scale = getattr(generator, "scale", None)
    if not isinstance(scale, int):
        raise GanzooError(f"{type(generator).__name__} has no integer 'scale': it is not a super-resolution model")
    param = next(generator.parameters())
    c, h, w = lr.shape
    out: Tensor | None = None
    was_training = generator.training
    generator.eval()
    try:
        with torch.no_grad():
            for y0 in range(0, h, tile):
                y1 = min(y0 + tile, h)
                ya, yb = max(0, y0 - overlap), min(h, y1 + overlap)
                for x0 in range(0, w, tile):
                    x1 = min(x0 + tile, w)
                    xa, xb = max(0, x0 - overlap), min(w, x1 + overlap)
                    piece = lr[:, ya:yb, xa:xb].to(param.device, param.dtype)[None]
                    sr = generator(piece)[0].float().cpu()
                    if quantise:
                        sr = to_unsigned(sr)
                    if out is None:
                        out = torch.empty(sr.shape[0], h * scale, w * scale, dtype=sr.dtype)
                    top, left = (y0 - ya) * scale, (x0 - xa) * scale
                    out[:, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
                        sr[:, top:top + (y1 - y0) * scale, left:left + (x1 - x0) * scale]
    finally:
        generator.train(was_training)
    assert out is not None
    return out


def upscale(generator: nn.Module, image: Tensor, tile: int = 128, overlap: int = 16) -> Tensor:
    """uint8 CHW LR image -> uint8 CHW image ``generator.scale`` times larger (on the CPU).

    The generator's output is clamped to [-1, 1] before it is quantised. Tiles and overlap as
    in ``upscale_signed``; ``overlap >= generator.receptive_radius`` stitches without seams.
    """
    channels = generator.image_shape[0] if hasattr(generator, "image_shape") else image.shape[0]
    image = match_channels(image, channels)
    return _upscale_tiles(generator, to_signed(image), tile, overlap, quantise=True)


def bicubic_upscale(image: Tensor, scale: int) -> Tensor:
    """uint8 CHW -> uint8 CHW ``scale`` times larger by bicubic interpolation: the baseline an
    SR model must beat. ``antialias=True`` adds no smoothing when enlarging; it selects PyTorch's
    PIL-style kernel (a = -0.5, as MATLAB's ``imresize``) instead of a = -0.75, so this gives the
    published "Bicubic" rows (28.43 dB PSNR on Set5 x4, Y channel, 4-pixel border cropped)."""
    _check_image(image)
    if scale < 1:
        raise GanzooError(f"scale must be >= 1, got {scale}")
    big = F.interpolate(image.float()[None], scale_factor=scale, mode="bicubic", align_corners=False,
                        antialias=True)
    return big[0].round_().clamp_(0, 255).to(torch.uint8)
