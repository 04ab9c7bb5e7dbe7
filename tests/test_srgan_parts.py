"""SRGAN's parts: SRResNet and its discriminator, HR/LR data, and tiled upscaling.

Networks are tiny (width 8, two blocks) except where the default sizes are the point; images
are written with PIL into tmp_path, and Set5 is the shared, read-only copy.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

if importlib.util.find_spec("ganzoo_srgan") is None:  # until pyproject lists the plugin and it is reinstalled
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins"))

from ganzoo.data.folder import SkippedImagesWarning  # noqa: E402
from ganzoo.errors import DataError, GanzooError  # noqa: E402
from ganzoo.metrics.ssim import psnr  # noqa: E402
from ganzoo.pixels import to_signed, to_unsigned  # noqa: E402
from ganzoo_srgan.data import (  # noqa: E402
    downscale, load_hr_folder, load_sr_pairs, random_pairs,
)
from ganzoo_srgan.models import SRDiscriminator, SRGANConfig, SRResNet  # noqa: E402
from ganzoo_srgan.upscale import bicubic_upscale, match_channels, upscale, upscale_signed  # noqa: E402

TINY = {"blocks": 2, "width": 8, "d_width": 4}


def tiny_generator(seed: int = 0, **values: int) -> SRResNet:
    torch.manual_seed(seed)
    return SRResNet(SRGANConfig(**{**TINY, **values})).eval()


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A random PIL image of ``size`` (W, H)."""
    rng = np.random.default_rng(seed)
    shape = (size[1], size[0]) + ((3,) if mode == "RGB" else ())
    return Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode)


def random_uint8(c: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (c, h, w), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


# --- networks -------------------------------------------------------------------------------


def test_config_rejects_scales_the_network_cannot_make() -> None:
    with pytest.raises(ValueError, match="power of two"):
        SRGANConfig(scale=3)
    with pytest.raises(ValueError, match="multiple of scale"):
        SRGANConfig(hr_crop=98)
    with pytest.raises(ValueError, match="blocks must be >= 1"):
        SRGANConfig(blocks=0)


def test_default_srresnet_is_the_papers_x4_network() -> None:
    generator = SRResNet(SRGANConfig())
    assert generator.image_shape == (3, 96, 96)
    assert generator.latent_dim is None and generator.scale == 4
    # 1,549,462 with biases on every convolution and one slope per PReLU: the paper's "1.5M"
    # (BasicSR's MSRResNet, without BatchNorm and with LeakyReLU, has 1,517,571).
    assert sum(p.numel() for p in generator.parameters()) == 1_549_462
    assert generator.receptive_radius == 40
    with torch.no_grad():
        out = generator.eval()(torch.rand(2, 3, 6, 7) * 2 - 1)
    assert out.shape == (2, 3, 24, 28) and torch.isfinite(out).all()
    with pytest.raises(GanzooError, match="takes images"):
        generator.sample_latent(1)


@pytest.mark.parametrize("scale", [2, 8])
def test_srresnet_upsamples_by_its_scale(scale: int) -> None:
    generator = tiny_generator(scale=scale, hr_crop=8 * scale)
    with torch.no_grad():
        assert generator(torch.zeros(1, 3, 5, 3)).shape == (1, 3, 5 * scale, 3 * scale)


def test_receptive_radius_matches_a_one_pixel_probe() -> None:
    """Changing one LR pixel changes the output exactly within receptive_radius LR pixels
    (11.5 for two blocks at x4, rounded up to 12)."""
    generator = tiny_generator()
    assert generator.receptive_radius == 12
    lr = torch.rand(1, 3, 40, 40)
    probed = lr.clone()
    probed[..., 20, 20] += 1
    with torch.no_grad():
        changed = (generator(probed) - generator(lr)).abs().sum(dim=(0, 1)) > 0
    rows = changed.any(dim=1).nonzero().flatten()
    reach = max(20 * 4 - int(rows.min()), int(rows.max()) - (21 * 4 - 1)) / 4  # in LR pixels
    assert generator.receptive_radius - 1 < reach <= generator.receptive_radius


def test_default_discriminator_gives_one_logit_per_image() -> None:
    discriminator = SRDiscriminator(SRGANConfig())
    # eight convolutions (64 -> 512) 4,689,088 with BatchNorm, head 512 -> 1024 -> 1 526,337
    assert sum(p.numel() for p in discriminator.parameters()) == 5_215_425
    with torch.no_grad():
        logits = discriminator.eval()(torch.rand(2, 3, 96, 96) * 2 - 1)
    assert logits.shape == (2,) and torch.isfinite(logits).all()


@pytest.mark.parametrize("size", [(96, 96), (16, 16), (33, 50), (5, 7), (1, 1)])
def test_discriminator_takes_any_size(size: tuple[int, int]) -> None:
    discriminator = SRDiscriminator(SRGANConfig(**TINY))
    logits = discriminator(torch.rand(3, 3, *size) * 2 - 1)  # training mode: BatchNorm on 3 images
    assert logits.shape == (3,) and torch.isfinite(logits).all()


# --- random HR/LR pairs ---------------------------------------------------------------------


def test_random_pairs_shapes_ranges_and_seed() -> None:
    images = torch.randint(0, 256, (4, 3, 40, 50), dtype=torch.uint8)
    hr, lr = random_pairs(images, crop=16, scale=4, generator=torch.Generator().manual_seed(1))
    assert hr.shape == (4, 3, 16, 16) and lr.shape == (4, 3, 4, 4)
    assert hr.dtype == lr.dtype == torch.float32
    assert hr.min() >= -1 and hr.max() <= 1 and lr.min() >= -1 and lr.max() <= 1
    assert torch.equal(lr, downscale(hr, 4))
    again = random_pairs(images, crop=16, scale=4, generator=torch.Generator().manual_seed(1))
    assert torch.equal(hr, again[0]) and torch.equal(lr, again[1])
    other = random_pairs(images, crop=16, scale=4, generator=torch.Generator().manual_seed(2))
    assert not torch.equal(hr, other[0])


def test_random_pairs_crop_from_each_image_and_flip_some() -> None:
    """A crop the size of the image leaves only the flip to chance: each HR is the image or its
    mirror, and over 16 draws both happen. Images of different sizes come as a list."""
    image = random_uint8(3, 8, 8)
    hr, _ = random_pairs([image] * 16, crop=8, scale=2, generator=torch.Generator().manual_seed(0))
    signed = to_signed(image)
    plain = [torch.equal(h, signed) for h in hr]
    mirrored = [torch.equal(h, signed.flip(-1)) for h in hr]
    assert all(p or m for p, m in zip(plain, mirrored)) and any(plain) and any(mirrored)
    mixed = [random_uint8(3, 12, 30, seed=1), random_uint8(3, 21, 12, seed=2)]
    hr, lr = random_pairs(mixed, crop=12, scale=4)
    assert hr.shape == (2, 3, 12, 12) and lr.shape == (2, 3, 3, 3)


def test_downscaling_a_constant_image_gives_the_constant() -> None:
    images = torch.full((2, 3, 24, 24), 200, dtype=torch.uint8)
    hr, lr = random_pairs(images, crop=16, scale=4)
    assert torch.allclose(hr, torch.tensor(200 / 127.5 - 1))
    assert torch.allclose(lr, torch.tensor(200 / 127.5 - 1), atol=1e-6)
    assert torch.equal(to_unsigned(lr), torch.full((2, 3, 4, 4), 200, dtype=torch.uint8))


def test_random_pairs_rejects_images_smaller_than_the_crop() -> None:
    with pytest.raises(DataError, match="HR image 1 is 20x10, smaller than the 16x16 crop"):
        random_pairs([random_uint8(3, 16, 16), random_uint8(3, 10, 20)], crop=16, scale=4)
    with pytest.raises(GanzooError, match="multiple of the scale"):
        random_pairs([random_uint8(3, 16, 16)], crop=15, scale=4)


# --- HR training folders --------------------------------------------------------------------


def test_load_hr_folder_skips_small_images_with_one_warning(tmp_path: Path) -> None:
    noise((40, 30)).save(tmp_path / "big.png")
    noise((30, 40), "L").save(tmp_path / "grey.png")
    noise((40, 20)).save(tmp_path / "short.png")
    (tmp_path / "sub").mkdir()
    noise((10, 50)).save(tmp_path / "sub" / "narrow.jpg")
    with pytest.warns(SkippedImagesWarning) as caught:
        images = load_hr_folder(tmp_path, min_size=30)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "skipped 2 of 4 images" in message and "short.png (40x20)" in message
    assert "narrow.jpg (10x50)" in message and "big.png" not in message
    assert [tuple(i.shape) for i in images] == [(3, 30, 40), (3, 40, 30)]  # file-name order
    assert all(i.dtype == torch.uint8 for i in images)
    assert torch.equal(images[1][0], images[1][2])  # grey repeated to RGB


def test_load_hr_folder_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no images"):
        load_hr_folder(tmp_path)
    noise((20, 20)).save(tmp_path / "small.png")
    with pytest.raises(DataError, match="none of the 1 images .* at least 96x96"):
        load_hr_folder(tmp_path)
    with pytest.raises(DataError, match="not a folder"):
        load_hr_folder(tmp_path / "missing")


# --- benchmark pairs ------------------------------------------------------------------------


def test_set5_pairs_and_their_bicubic_baseline(data_root: Path) -> None:
    pairs = load_sr_pairs(data_root / "sr" / "Set5" / "x4", scale=4)
    assert [name for name, _, _ in pairs] == [f"img_00{i}" for i in range(1, 6)]
    for _, hr, lr in pairs:
        assert hr.dtype == lr.dtype == torch.uint8 and hr.shape[0] == lr.shape[0] == 3
        assert hr.shape[1:] == (lr.shape[1] * 4, lr.shape[2] * 4)
    assert pairs[4][1].shape == (3, 344, 228)
    # the published "Bicubic" row of SRGAN's Table 2 (and every x4 SR paper): 28.43 dB
    scores = [psnr(bicubic_upscale(lr, 4)[None], hr[None], crop_border=4, y_channel=True) for _, hr, lr in pairs]
    assert float(torch.stack(scores).mean()) == pytest.approx(28.43, abs=0.01)


def write_pair(folder: Path, name: str, hr_size: tuple[int, int], lr_size: tuple[int, int] | None,
               mode: str = "RGB") -> None:
    folder.mkdir(exist_ok=True)
    noise(hr_size, mode).save(folder / f"{name}_SRF_4_HR.png")
    if lr_size is not None:
        noise(lr_size, mode).save(folder / f"{name}_SRF_4_LR.png")


def test_load_sr_pairs_reads_grey_pairs_as_rgb(tmp_path: Path) -> None:
    write_pair(tmp_path, "img_002", (16, 8), (4, 2))
    write_pair(tmp_path, "img_001", (8, 12), (2, 3), mode="L")
    pairs = load_sr_pairs(tmp_path)
    assert [(n, tuple(h.shape), tuple(lr.shape)) for n, h, lr in pairs] == [
        ("img_001", (3, 12, 8), (3, 3, 2)), ("img_002", (3, 8, 16), (3, 2, 4))]


@pytest.mark.parametrize("files, scale, message", [
    ([("a", (16, 16), (4, 4)), ("b", (16, 16), None)], 4, r"b_SRF_4_HR.png has no LR partner"),
    ([("a", (16, 16), (4, 4))], 2, r"a_SRF_4_\w\w.png is named for x4 but the scale is 2; pass scale=4"),
    ([("a", (16, 12), (4, 4))], 4, r"a_SRF_4_LR.png is 4x4, but x4 of it should be its HR image's 16x12"),
    ([("a", (18, 16), (4, 4))], 4, r"a_SRF_4_HR.png is 18x16, not divisible by the scale 4; crop it to 16x16"),
])
def test_load_sr_pairs_errors(tmp_path: Path, files: list, scale: int, message: str) -> None:
    for name, hr_size, lr_size in files:
        write_pair(tmp_path, name, hr_size, lr_size)
    with pytest.raises(DataError, match=message):
        load_sr_pairs(tmp_path, scale=scale)


def test_load_sr_pairs_lr_without_hr_stray_files_and_empty(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no images"):
        load_sr_pairs(tmp_path)
    write_pair(tmp_path, "a", (16, 16), (4, 4))
    noise((4, 4)).save(tmp_path / "b_LR.png")
    with pytest.raises(DataError, match=r"b_LR.png has no HR partner"):
        load_sr_pairs(tmp_path)
    (tmp_path / "b_LR.png").unlink()
    noise((16, 16)).save(tmp_path / "c.png")
    with pytest.raises(DataError, match=r"c.png is neither \*_HR nor \*_LR"):
        load_sr_pairs(tmp_path)


def test_load_sr_pairs_makes_lr_for_a_folder_of_hr_images(tmp_path: Path) -> None:
    noise((18, 13)).save(tmp_path / "b.png")
    Image.new("RGB", (8, 8), (10, 120, 250)).save(tmp_path / "a_HR.png")
    pairs = load_sr_pairs(tmp_path, scale=4)
    assert [(n, tuple(h.shape), tuple(lr.shape)) for n, h, lr in pairs] == [
        ("a", (3, 8, 8), (3, 2, 2)), ("b", (3, 12, 16), (3, 3, 4))]
    assert pairs[0][2][:, 0, 0].tolist() == [10, 120, 250]  # a constant stays constant
    hr_b = torch.from_numpy(np.array(Image.open(tmp_path / "b.png"))).permute(2, 0, 1)
    assert torch.equal(pairs[1][1], hr_b[:, :12, :16])  # cropped at the bottom and right


# --- upscaling ------------------------------------------------------------------------------


def test_upscale_with_one_tile_is_the_full_pass() -> None:
    generator = tiny_generator().train()
    image = random_uint8(3, 20, 24)
    out = upscale(generator, image)
    assert generator.training  # mode restored
    with torch.no_grad():
        full = to_unsigned(generator.eval()(to_signed(image)[None])[0])
    assert out.dtype == torch.uint8 and out.shape == (3, 80, 96)
    assert torch.equal(out, full)


def test_tiles_overlapping_by_the_receptive_radius_stitch_exactly() -> None:
    generator = tiny_generator()
    lr = to_signed(random_uint8(3, 29, 23))
    with torch.no_grad():
        full = generator(lr[None])[0]
    tiled = upscale_signed(generator, lr, tile=8, overlap=generator.receptive_radius)
    assert tiled.shape == full.shape
    assert (tiled - full).abs().max() < 1e-5
    seams = upscale_signed(generator, lr, tile=8, overlap=2)  # too little overlap: seams show
    assert (seams - full).abs().max() > 1e-4


def test_translate_stitches_its_tiles_exactly_by_default() -> None:
    generator = tiny_generator(blocks=8)  # radius 24: wider than a fixed overlap of 16
    with torch.no_grad():
        for conv in (m for m in generator.modules() if isinstance(m, torch.nn.Conv2d)):
            conv.weight.mul_(2)  # stronger responses, so that edge errors survive quantisation
    image = random_uint8(3, 29, 23)
    with torch.no_grad():
        whole = to_unsigned(generator(to_signed(image)[None])[0].clamp(-1, 1))
    assert torch.equal(generator.translate(image[None], tile=8)[0], whole)
    seams = generator.translate(image[None], tile=8, overlap=16)[0]  # less than the radius: not exact
    assert not torch.equal(seams, whole)


def test_upscale_adapts_channels_and_rejects_what_it_cannot() -> None:
    generator = tiny_generator()
    grey, rgba = random_uint8(1, 6, 6), random_uint8(4, 6, 6)
    assert torch.equal(upscale(generator, grey), upscale(generator, grey.expand(3, -1, -1)))
    assert torch.equal(upscale(generator, rgba), upscale(generator, rgba[:3]))
    assert match_channels(torch.full((3, 4, 4), 255, dtype=torch.uint8), 1).shape == (1, 4, 4)
    with pytest.raises(DataError, match="5 channels but the model takes 3"):
        upscale(generator, random_uint8(5, 6, 6))
    with pytest.raises(DataError, match="3x5; it must be at least 4x4"):
        upscale(generator, random_uint8(3, 5, 3))
    with pytest.raises(DataError, match="uint8 CHW"):
        upscale(generator, torch.rand(3, 8, 8))
    with pytest.raises(GanzooError, match="tile must be >= 1"):
        upscale(generator, random_uint8(3, 6, 6), tile=0)


def test_bicubic_upscale_shapes_and_constants() -> None:
    image = torch.full((3, 5, 7), 77, dtype=torch.uint8)
    big = bicubic_upscale(image, 4)
    assert big.dtype == torch.uint8 and big.shape == (3, 20, 28) and (big == 77).all()


def test_upscale_quantises_tile_by_tile_to_the_same_image():
    torch.manual_seed(0)
    generator = SRResNet(SRGANConfig(blocks=1, width=4, hr_crop=16)).eval()
    image = torch.randint(0, 256, (3, 21, 30), dtype=torch.uint8)
    whole = to_unsigned(upscale_signed(generator, to_signed(image), tile=8, overlap=generator.receptive_radius))
    tiled = upscale(generator, image, tile=8, overlap=generator.receptive_radius)
    assert tiled.dtype == torch.uint8 and torch.equal(tiled, whole)
