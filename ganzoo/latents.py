"""Latent vectors for sampling: seeded draws (one seed per image), the truncation trick, files
of latents, and walks between them.

Truncation is BigGAN's (Brock et al., 2019): each component of a Gaussian latent whose magnitude
exceeds ``psi`` is drawn again until it does not, so the latents follow a normal distribution
truncated to [-psi, psi] (smaller psi: less variety, more typical images). Walks interpolate
spherically (slerp), which keeps Gaussian latents at a typical norm; latents files are .npy or
.safetensors holding one (N, latent_dim) float array (key ``z`` or the only tensor).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ganzoo.errors import DataError, GanzooError

MAX_REDRAWS = 1000


def truncate(z: Tensor, psi: float | None, rng: torch.Generator) -> Tensor:
    """``z`` with every component beyond [-psi, psi] drawn again from ``rng`` until it lands
    inside (BigGAN's truncation); ``z`` itself when ``psi`` is None."""
    if psi is None:
        return z
    if not psi > 0:
        raise GanzooError(f"--truncation must be > 0, got {psi}")
    for _ in range(MAX_REDRAWS):
        outside = z.abs() > psi
        if not outside.any():
            return z
        z = torch.where(outside, torch.randn(z.shape, generator=rng, dtype=z.dtype), z)
    return z.clamp(-psi, psi)  # psi so small that redraws barely land: the limit itself


def draw_stream(generator: Any, n: int, seed: int, psi: float | None = None) -> Tensor:
    """``n`` latents from one stream seeded ``seed`` (a grid: what ``generate(seed=)`` draws)."""
    rng = torch.Generator().manual_seed(seed)
    return truncate(generator.sample_latent(n, generator=rng, device=torch.device("cpu")), psi, rng)


def draw_each(generator: Any, indices: range | list[int], seed: int, psi: float | None = None) -> Tensor:
    """The latents of images ``indices``, image ``i`` from its own stream seeded ``seed + i``
    (a folder: the same images whatever the batch)."""
    rows = []
    for i in indices:
        rng = torch.Generator().manual_seed(seed + i)
        rows.append(truncate(generator.sample_latent(1, generator=rng, device=torch.device("cpu")), psi, rng)[0])
    return torch.stack(rows)


def read_latents(path: str | Path, latent_dim: int) -> Tensor:
    """An (N, latent_dim) float32 tensor from a .npy or .safetensors file; a one-line DataError
    for another shape, type or format."""
    path = Path(path)
    if path.suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read latents {path}: {exc}") from None
        z = torch.from_numpy(np.asarray(array))
    elif path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            tensors = load_file(path)
        except (OSError, SafetensorError) as exc:
            raise DataError(f"cannot read latents {path}: {exc}") from None
        if "z" not in tensors and len(tensors) != 1:
            raise DataError(f"{path} holds {', '.join(sorted(tensors))}; name the latents tensor 'z'")
        z = tensors.get("z", next(iter(tensors.values())))
    else:
        raise DataError(f"latents file {path} must be .npy or .safetensors")
    if z.dim() != 2 or z.shape[1] != latent_dim or not z.is_floating_point():
        raise DataError(f"{path} holds a {str(z.dtype).removeprefix('torch.')} array of shape {tuple(z.shape)}; "
                        f"the model takes float latents of shape (N, {latent_dim})")
    if not torch.isfinite(z).all():
        raise DataError(f"{path} holds non-finite latents")
    return z.float()


def write_latents(z: Tensor, path: str | Path) -> Path:
    """``z`` as an .npy file, written atomically."""
    import os

    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, z.detach().cpu().float().numpy())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def slerp(a: Tensor, b: Tensor, t: float) -> Tensor:
    """Spherical interpolation between latent batches ``a`` and ``b`` (rows), at ``t`` in [0, 1]
    (exactly ``a`` and ``b`` at the ends)."""
    if t == 0:
        return a.clone()
    if t == 1:
        return b.clone()
    a_n, b_n = a / a.norm(dim=-1, keepdim=True), b / b.norm(dim=-1, keepdim=True)
    omega = torch.arccos((a_n * b_n).sum(-1, keepdim=True).clamp(-1, 1))
    sin = torch.sin(omega)
    linear = (1 - t) * a + t * b
    curved = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / sin.clamp_min(1e-8)
    return torch.where(sin.abs() < 1e-6, linear, curved)


def walk(keys: Tensor, frames: int) -> list[Tensor]:
    """Latents of a looping walk through ``keys`` (K, W, latent_dim: K keyframes of W parallel
    walks), ``frames`` frames from each keyframe to the next, back to the first."""
    if frames < 1:
        raise GanzooError(f"--frames must be >= 1, got {frames}")
    out = []
    for k in range(len(keys)):
        a, b = keys[k], keys[(k + 1) % len(keys)]
        out += [slerp(a, b, i / frames) for i in range(frames)]
    return out


def describe_truncation(psi: float | None) -> str:
    return "none" if psi is None else f"BigGAN truncation: components redrawn until |z_i| <= {psi:g}"


def frame_ms(fps: float) -> int:
    """Milliseconds per frame of an animation at ``fps`` frames per second."""
    if not 0 < fps <= 100:
        raise GanzooError(f"--fps must be in (0, 100], got {fps}")
    return max(10, int(math.floor(1000 / fps)))
