"""DiffAugment: shapes, gradients, policy parsing, seeding and the semantics of each policy."""

from __future__ import annotations

import pytest
import torch

from ganzoo.augment import DiffAugment
from ganzoo.errors import GanzooError

POLICIES = ["color", "translation", "cutout", "color,translation,cutout"]


def images(n: int = 4, c: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    """Images in [-1, 1] with no exact zeros, so zeros in an output come from the augmentation."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, c, size, size, generator=g) * 1.8 - 0.9
    return torch.where(x.abs() < 0.01, torch.full_like(x, 0.5), x)


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("channels", [1, 3])
def test_shape_and_dtype_preserved(policy: str, channels: int) -> None:
    x = images(c=channels)
    y = DiffAugment(policy)(x)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("policy", POLICIES)
def test_gradients_reach_the_input(policy: str) -> None:
    x = images().requires_grad_(True)
    DiffAugment(policy)(x).sum().backward()
    assert x.grad is not None
    assert x.grad.abs().sum() > 0


def test_empty_policy_is_identity() -> None:
    x = images()
    assert DiffAugment("")(x) is x
    assert torch.equal(DiffAugment(" ")(x), x)


def test_unknown_policy_raises_with_valid_names() -> None:
    with pytest.raises(GanzooError) as info:
        DiffAugment("color,rotate")
    message = str(info.value)
    assert "rotate" in message
    for name in ("color", "translation", "cutout"):
        assert name in message


def test_default_policy_and_repr() -> None:
    aug = DiffAugment()
    assert aug.policy == ("color", "translation", "cutout")
    assert "color,translation,cutout" in repr(aug)


def test_same_seed_same_output_different_seed_different() -> None:
    x = images()
    aug = DiffAugment()
    torch.manual_seed(1)
    a = aug(x)
    torch.manual_seed(1)
    b = aug(x)
    torch.manual_seed(2)
    c = aug(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_translation_only_moves_pixels() -> None:
    torch.manual_seed(0)
    x = images(n=8, size=16)
    y = DiffAugment("translation")(x)
    for xi, yi in zip(x, y):
        allowed = set(xi.flatten().tolist()) | {0.0}
        assert set(yi.flatten().tolist()) <= allowed
    # Each sample is x shifted by (dy, dx) with |dy|, |dx| <= 16 / 8, zeros where it came from outside.
    for xi, yi in zip(x, y):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                padded = torch.nn.functional.pad(xi, (2, 2, 2, 2))
                shifted = padded[:, 2 + dy : 18 + dy, 2 + dx : 18 + dx]
                matches.append(torch.equal(shifted, yi))
        assert sum(matches) == 1


def test_translation_shifts_vary_per_sample() -> None:
    torch.manual_seed(0)
    x = images(n=1, size=16).expand(16, -1, -1, -1)
    y = DiffAugment("translation")(x)
    assert len({tuple(yi.flatten().tolist()) for yi in y}) > 1


@pytest.mark.parametrize("size", [16, 32])
def test_cutout_zeroes_a_half_size_square_clipped_at_edges(size: int) -> None:
    torch.manual_seed(0)
    n, half = 64, size // 2
    x = images(n=n, c=3, size=size)
    y = DiffAugment("cutout")(x)
    zero = y == 0
    # The cut is the same for every channel, and elsewhere the image is untouched.
    assert (zero == zero[:, :1]).all()
    assert torch.equal(torch.where(zero, x, y), x)
    counts = []
    for mask in zero[:, 0]:
        rows = mask.any(dim=1).nonzero().flatten()
        cols = mask.any(dim=0).nonzero().flatten()
        # One rectangle: its bounding box is fully zeroed.
        box = mask[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert box.all() and int(mask.sum()) == box.numel()
        for idx, extent in ((rows, len(rows)), (cols, len(cols))):
            assert half // 2 <= extent <= half
            if idx.min() > 0 and idx.max() < size - 1:  # not clipped by an edge: the full side
                assert extent == half
        if len(rows) == half and len(cols) == half:
            assert int(mask.sum()) == size * size // 4
        counts.append(int(mask.sum()))
    # A quarter of the image when inside; clipping at the edges only makes it smaller.
    assert max(counts) == size * size // 4
    assert 0.15 < sum(counts) / (n * size * size) <= 0.25


def test_cutout_positions_vary_per_sample() -> None:
    torch.manual_seed(0)
    x = images(n=1).expand(16, -1, -1, -1)
    y = DiffAugment("cutout")(x)
    assert len({tuple((yi == 0).flatten().tolist()) for yi in y}) > 1


def test_color_on_grey_images() -> None:
    torch.manual_seed(0)
    x = images(c=1)
    y = DiffAugment("color")(x)
    assert y.shape == x.shape and not torch.equal(x, y)
    # Saturation is a no-op on one channel: only brightness and contrast change grey images.
    torch.manual_seed(3)
    from ganzoo.augment import rand_saturation

    assert torch.allclose(rand_saturation(x), x)


def test_color_ranges() -> None:
    """Brightness shifts by U(-0.5, 0.5); contrast keeps the per-sample mean."""
    from ganzoo.augment import rand_brightness, rand_contrast

    torch.manual_seed(0)
    x = images(n=256)
    shift = (rand_brightness(x) - x).flatten(1)
    assert torch.allclose(shift, shift[:, :1].expand_as(shift), atol=1e-6)
    assert shift.min() >= -0.5 and shift.max() <= 0.5
    assert torch.allclose(rand_contrast(x).mean(dim=(1, 2, 3)), x.mean(dim=(1, 2, 3)), atol=1e-5)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_bf16_autocast_on_cpu(dtype: torch.dtype) -> None:
    x = images().to(dtype).requires_grad_(True)
    torch.manual_seed(0)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = DiffAugment()(x)
    assert y.shape == x.shape and y.dtype == dtype
    assert torch.isfinite(y.float()).all()
    y.float().sum().backward()
    assert x.grad is not None and x.grad.float().abs().sum() > 0
