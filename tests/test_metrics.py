"""SWD (ProGAN protocol), SSIM/PSNR (BasicSR protocol) and MS-SSIM diversity on small synthetic sets."""

from __future__ import annotations

import math
import warnings

import pytest
import torch
import torch.nn.functional as F

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError
from ganzoo.metrics import ssim as S
from ganzoo.metrics.base import ProtocolChanged, limit
from ganzoo.metrics.swd import SlicedWasserstein, laplacian_pyramid, pyr_up, resolutions


def smooth_images(n: int, seed: int, channels: int = 3, size: int = 32) -> torch.Tensor:
    """uint8 images with structure at several scales: upsampled noise plus fine noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = F.interpolate(torch.rand(n, channels, size // 8, size // 8, generator=g), size=(size, size),
                           mode="bilinear", align_corners=False)
    fine = torch.rand(n, channels, size, size, generator=g)
    return (200 * coarse + 55 * fine).round().clamp(0, 255).to(torch.uint8)


def blurred(images: torch.Tensor) -> torch.Tensor:
    x = images.float()
    kernel = torch.ones(images.shape[1], 1, 3, 3) / 9
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel, groups=images.shape[1]).round().to(torch.uint8)


def dataset(images: torch.Tensor, name: str = "") -> ImageDataset:
    return ImageDataset(images, name=name)


# -- SWD --------------------------------------------------------------------------------------

def test_protocol_levels_go_down_to_16():
    assert resolutions(64) == [64, 32, 16]
    assert resolutions(128) == [128, 64, 32, 16]
    assert resolutions(28) == [28]
    assert resolutions(8) == []


def test_laplacian_pyramid_reconstructs_the_image():
    x = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    pyramid = laplacian_pyramid(x, 3)
    assert [level.shape[-1] for level in pyramid] == [32, 16, 8]
    image = pyramid[-1]
    for level in reversed(pyramid[:-1]):
        image = level + pyr_up(image)
    assert torch.allclose(image, x, atol=1e-12)
    # The band-pass levels of a constant image are zero; the residual keeps the constant.
    flat = laplacian_pyramid(torch.full((1, 1, 32, 32), 5.0, dtype=torch.float64), 3)
    assert flat[0].abs().max() < 1e-12 and flat[1].abs().max() < 1e-12
    assert torch.allclose(flat[2], torch.full_like(flat[2], 5.0))


@pytest.fixture(scope="module")
def swd_sets():
    a, b = smooth_images(96, 1), smooth_images(96, 2)
    return dataset(a, "a"), dataset(b, "b"), dataset(blurred(b), "blurred b")


def test_swd_separates_a_blurred_set_and_is_repeatable(swd_sets):
    a, b, blurry = swd_sets
    metric = SlicedWasserstein(neighbourhoods=32)
    same_kind = metric.compute(a, b, seed=0)
    different = metric.compute(a, blurry, seed=0)
    assert same_kind.protocol["levels"] == [32, 16]
    assert set(same_kind.details) == {"swd_32", "swd_16"}
    assert same_kind.value == pytest.approx(sum(same_kind.details.values()) / 2)
    # Blurring removes the fine band: the full-resolution level shows it most.
    assert different.details["swd_32"] > 2 * same_kind.details["swd_32"]
    assert different.value > 1.5 * same_kind.value
    assert metric.compute(a, b, seed=0).value == same_kind.value  # same seed, same figure
    spread = [metric.compute(a, b, seed=s).value for s in (1, 2, 3)]
    assert len(set(spread)) == 3  # different seeds do draw differently...
    assert max(spread) - min(spread) < 0.25 * same_kind.value  # ...within a stated spread


def test_streamed_descriptors_project_as_normalised_ones_held_in_memory():
    from ganzoo.metrics.swd import DescriptorFile

    rng = torch.Generator().manual_seed(0)
    chunks = [torch.randn(k, 3, 49, generator=rng) * torch.tensor([1.0, 30.0, 0.2]).view(1, 3, 1) + 5
              for k in (100, 37, 250)]
    held = torch.cat(chunks)
    normalised = ((held - held.mean(dim=(0, 2), keepdim=True))
                  / held.std(dim=(0, 2), keepdim=True, unbiased=False)).reshape(len(held), -1)
    streamed = DescriptorFile(3, 49)
    for chunk in chunks:
        streamed.append(chunk)
    streamed.seal()
    directions = torch.randn(147, 16, generator=rng)
    directions /= directions.norm(dim=0, keepdim=True)
    expected = torch.sort(directions.T @ normalised.T, dim=1).values
    got = streamed.sorted_projections(directions, rows=64)  # read back in chunks that straddle the writes
    streamed.close()
    assert got.shape == (16, 387)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_swd_refuses_sets_that_cannot_be_compared(swd_sets):
    a, _, _ = swd_sets
    metric = SlicedWasserstein(neighbourhoods=8)
    with pytest.raises(DataError, match=r"real images \(a\) are 32x32 but generated ones .* are 16x16"):
        metric.compute(a, dataset(smooth_images(8, 3, size=16), "small"))
    with pytest.raises(DataError, match=r"the real set \(a\) is RGB but the generated set is grey") as error:
        metric.compute(a, dataset(smooth_images(8, 3, channels=1)))
    assert "\n" not in str(error.value)
    tiny = dataset(smooth_images(8, 3, size=8))
    with pytest.raises(DataError, match="at least 16x16"):
        metric.compute(tiny, tiny)


def test_limit_warns_that_the_protocol_changed():
    small = dataset(smooth_images(10, 0), "ten images")
    with pytest.warns(ProtocolChanged, match="asks for 100 real images but ten images has 10; using 10"):
        assert len(limit(small, 100, "swd", "real")) == 10
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(limit(small, 4, "swd", "real")) == 4


# -- PSNR and SSIM (BasicSR) ----------------------------------------------------------------------

def test_psnr_of_a_known_error():
    a = torch.full((1, 3, 16, 16), 100, dtype=torch.uint8)
    b = a + 1
    assert S.psnr(a, b).item() == pytest.approx(10 * math.log10(255**2), abs=1e-9)
    assert S.psnr(a, a).item() == math.inf
    # The border crop ignores errors within `crop_border` pixels of the edge.
    c = a.clone()
    c[..., :4, :] = 0
    assert S.psnr(a, c, crop_border=4).item() == math.inf
    assert S.psnr(a, c).item() < 20


def test_ssim_identity_symmetry_and_y_channel():
    x, y = smooth_images(2, 0, size=48), smooth_images(2, 1, size=48)
    assert torch.allclose(S.ssim(x, x), torch.ones(2, dtype=torch.float64))
    assert torch.allclose(S.ssim(x, y), S.ssim(y, x))
    assert (S.ssim(x, y) < 0.9).all()
    assert (S.ssim(x, blurred(x)) > S.ssim(x, y)).all()
    # BT.601 Y of a grey RGB image is 16 + 219/255 * v.
    grey = torch.full((1, 3, 4, 4), 255, dtype=torch.uint8)
    assert S.rgb_to_y(S._as_float(grey)).flatten()[0].item() == pytest.approx(235.0, abs=1e-3)
    with pytest.raises(DataError, match="image shapes differ"):
        S.ssim(x, y[..., :40])


def test_ms_ssim_is_one_for_identical_images_and_symmetric():
    x, y = smooth_images(3, 0, size=64), smooth_images(3, 1, size=64)
    assert torch.allclose(S.ms_ssim(x, x), torch.ones(3, dtype=torch.float64))
    assert torch.allclose(S.ms_ssim(x, y), S.ms_ssim(y, x))
    assert (S.ms_ssim(x, y) < S.ms_ssim(x, blurred(x))).all()


def test_ms_ssim_diversity_ranks_a_collapsed_set_above_a_diverse_one():
    diverse = dataset(smooth_images(40, 0, size=32))
    collapsed = dataset(smooth_images(1, 0, size=32).repeat(40, 1, 1, 1))
    metric = S.MSSSIMDiversity(pairs=200)
    low = metric.compute(None, diverse, seed=0)
    assert metric.compute(None, collapsed, seed=0).value == pytest.approx(1.0)
    assert low.value < 0.5 and not low.details
    assert metric.compute(None, diverse, seed=0).value == low.value
    with_real = metric.compute(diverse, collapsed, seed=0)
    assert with_real.details["real"] == pytest.approx(low.value, abs=0.05)
    assert with_real.protocol["pairs"] == 200 and with_real.protocol["n_real"] == 40
    with pytest.raises(DataError, match="the real set is grey but the generated set is RGB"):
        metric.compute(dataset(smooth_images(4, 0, channels=1)), diverse)
