"""CycleGAN's parts: the ResNet generator and 70x70 PatchGAN (shapes, sizes against the reference,
the receptive field measured by backprop), the history pool of generated images (fill, 50/50
swaps, determinism, resume), and unpaired data (trainA/trainB folders, the random crop and flip)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganzoo.errors import DataError, GanzooError
from ganzoo.settings import build_settings

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
if str(PLUGINS) not in sys.path:  # until the plugin's entry point is installed with the package
    sys.path.append(str(PLUGINS))

from ganzoo_cyclegan.data import load_unpaired, random_crop_flip  # noqa: E402
from ganzoo_cyclegan.models import CycleGANConfig, PatchDiscriminator, ResnetGenerator  # noqa: E402
from ganzoo_cyclegan.pool import ImagePool  # noqa: E402


def small(**values) -> CycleGANConfig:
    return CycleGANConfig(**{"image_size": 32, "g_width": 8, "d_width": 8, **values})


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# --- networks -----------------------------------------------------------------------------------

def test_generator_maps_images_to_images_in_range():
    torch.manual_seed(0)
    g = ResnetGenerator(small(blocks=6))
    assert g.image_shape == (3, 32, 32) and g.latent_dim is None
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    y = g(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert y.std() > 0.01  # not collapsed to a constant at init
    assert g(torch.zeros(1, 3, 16, 24)).shape == (1, 3, 16, 24)  # any sides divisible by 4
    with pytest.raises(GanzooError, match="multiples of 4"):
        g(torch.zeros(1, 3, 30, 32))
    with pytest.raises(GanzooError, match="takes images"):
        g.generate(1)


def test_parameter_counts_match_the_reference():
    # The reference (junyanz/pytorch-CycleGAN-and-pix2pix) prints 11.378 M for resnet_9blocks,
    # 7.838 M for resnet_6blocks and 2.765 M for the 70x70 "basic" D at ngf = ndf = 64. (The
    # 7.8 M sometimes quoted for the 9-block G is the 6-block one: each block adds 1,180,160.)
    six = ResnetGenerator(CycleGANConfig(blocks=6))
    nine = ResnetGenerator(CycleGANConfig(blocks=9))
    d = PatchDiscriminator(CycleGANConfig())
    assert n_params(six) == 7_837_699
    assert n_params(nine) == 11_378_179
    assert n_params(nine) - n_params(six) == 3 * 2 * (256 * 256 * 9 + 256)
    assert n_params(d) == 2_764_737


def test_config_rejects_other_block_counts_and_sizes_in_one_line():
    for values, match in (({"blocks": 7}, "6 .*or 9"), ({"image_size": 30}, "multiple of 4"),
                          ({"g_width": 0}, "g_width")):
        with pytest.raises(GanzooError, match=match) as info:
            build_settings(CycleGANConfig, values, "CycleGAN")
        assert "\n" not in str(info.value)
    with pytest.raises(GanzooError):
        CycleGANConfig(blocks=12)


def test_patch_discriminator_gives_a_logit_map():
    d = PatchDiscriminator(small(image_size=128))
    assert d(torch.zeros(2, 3, 128, 128)).shape == (2, 1, 14, 14)
    assert d(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)  # the reference's 30x30 at 256


def test_patch_discriminator_receptive_field_is_70():
    torch.manual_seed(0)
    d = PatchDiscriminator(CycleGANConfig()).double()
    # Instance norm's mean and variance make every logit depend on every pixel; the receptive
    # field is the convolutions' footprint, so measure it with the norms taken out.
    for name, module in list(d.net.named_children()):
        if isinstance(module, nn.InstanceNorm2d):
            d.net[int(name)] = nn.Identity()
    x = torch.randn(1, 3, 128, 128, dtype=torch.float64, requires_grad=True)
    out = d(x)
    assert out.shape == (1, 1, 14, 14)
    out[0, 0, 7, 7].backward()
    hit = x.grad.abs().sum(dim=(0, 1)) > 0
    rows, cols = hit.any(dim=1).nonzero().flatten(), hit.any(dim=0).nonzero().flatten()
    assert 0 < rows.min() and rows.max() < 127 and 0 < cols.min() and cols.max() < 127  # not clipped
    assert int(rows.max() - rows.min()) + 1 == 70
    assert int(cols.max() - cols.min()) + 1 == 70
    assert int(hit.sum()) == 70 * 70  # and every pixel inside it counts


# --- image pool -------------------------------------------------------------------------------

def numbered(start: int, n: int) -> torch.Tensor:
    """n 1x1 "images" whose value is their number."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1)


def test_pool_returns_new_images_until_full():
    pool = ImagePool(4, torch.Generator().manual_seed(0))
    assert torch.equal(pool.query(numbered(0, 3)), numbered(0, 3))
    assert torch.equal(pool.query(numbered(3, 1)), numbered(3, 1))
    assert len(pool) == 4
    assert sorted(pool.images.flatten().tolist()) == [0, 1, 2, 3]


def test_pool_swaps_about_half_once_full():
    pool = ImagePool(10, torch.Generator().manual_seed(1))
    pool.query(numbered(0, 10))
    new = numbered(100, 2000)
    out = pool.query(new)
    swapped = out != new
    assert 0.45 < swapped.float().mean() < 0.55
    # a swapped-in image is an older one (from the fill or from earlier in this batch)
    assert (out[swapped] < new[swapped]).all()
    stored = pool.images.flatten()
    assert len(stored.unique()) == 10 and stored.min() >= 100  # the history now holds new images
    # the images that went out plus those still held are exactly the ones that came in
    everything = torch.cat([out.flatten(), stored]).sort().values
    assert torch.equal(everything, torch.cat([numbered(0, 10), new]).flatten().sort().values)


def test_pool_is_deterministic_given_the_seed():
    def run(seed: int) -> torch.Tensor:
        pool = ImagePool(5, torch.Generator().manual_seed(seed))
        return torch.cat([pool.query(numbered(10 * k, 4)) for k in range(10)])

    assert torch.equal(run(3), run(3))
    assert not torch.equal(run(3), run(4))


def test_pool_of_size_zero_passes_through_and_outputs_are_detached_copies():
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    off = ImagePool(0)
    out = off.query(x)
    assert torch.equal(out, x) and not out.requires_grad and len(off) == 0

    pool = ImagePool(3)
    x = torch.randn(3, 2, 4, 4, requires_grad=True)
    out = pool.query(x * 1)
    assert not out.requires_grad and not pool.images.requires_grad
    kept = pool.images.clone()
    with torch.no_grad():
        x.add_(1)
        out.add_(1)
    assert torch.equal(pool.images, kept)  # the pool holds its own copies
    with pytest.raises(GanzooError, match="pool"):
        pool.query(torch.zeros(1, 2, 8, 8))


def test_pool_state_round_trips_through_a_weights_only_load():
    pool = ImagePool(6, torch.Generator().manual_seed(5))
    for k in range(3):
        pool.query(numbered(10 * k, 4))
    buffer = io.BytesIO()
    torch.save(pool.state_dict(), buffer)
    state = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    assert all(isinstance(v, (int, torch.Tensor)) for v in state.values())
    assert state["count"] == 6 and state["images"].shape == (6, 1, 1, 1)

    restored = ImagePool(6, torch.Generator().manual_seed(999))
    restored.load_state_dict(state)
    for k in range(3, 8):  # both continue identically
        assert torch.equal(pool.query(numbered(10 * k, 4)), restored.query(numbered(10 * k, 4)))

    empty = ImagePool(6)
    fresh = ImagePool(6)
    fresh.load_state_dict(empty.state_dict())
    assert len(fresh) == 0 and torch.equal(fresh.query(numbered(0, 2)), numbered(0, 2))
    with pytest.raises(GanzooError, match="pool size"):
        ImagePool(7).load_state_dict(state)


# --- unpaired data ----------------------------------------------------------------------------

def write_images(folder: Path, n: int, size: tuple[int, int], mode: str = "RGB") -> None:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(len(str(folder)) + n)
    for i in range(n):
        shape = (size[1], size[0]) if mode == "L" else (size[1], size[0], 3)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(folder / f"{i}.png")


def test_load_unpaired_reads_both_domains_as_rgb(tmp_path: Path):
    write_images(tmp_path / "trainA", 3, (40, 30))
    write_images(tmp_path / "trainB", 2, (20, 20), mode="L")  # greyscale domain: still RGB
    write_images(tmp_path / "testA", 1, (16, 16))
    write_images(tmp_path / "testB", 1, (16, 16))
    a, b = load_unpaired(tmp_path, image_size=16)
    assert a.images.shape == (3, 3, 16, 16) and a.images.dtype == torch.uint8
    assert b.images.shape == (2, 3, 16, 16)
    assert torch.equal(b.images[:, 0], b.images[:, 2])
    assert a.name.endswith("/trainA") and b.card["split"] == "trainB"
    ta, tb = load_unpaired(tmp_path, image_size=16, split="test")
    assert len(ta) == len(tb) == 1


def test_load_unpaired_names_an_empty_or_missing_folder(tmp_path: Path):
    write_images(tmp_path / "trainA", 1, (8, 8))
    with pytest.raises(DataError, match="trainB is missing") as info:
        load_unpaired(tmp_path)
    assert "\n" not in str(info.value)
    (tmp_path / "trainB").mkdir()
    (tmp_path / "trainB" / "notes.txt").write_text("no images here")
    with pytest.raises(DataError, match="trainB holds no images") as info:
        load_unpaired(tmp_path)
    assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="testA is missing"):
        load_unpaired(tmp_path, split="test")
    with pytest.raises(DataError, match="splits"):
        load_unpaired(tmp_path, split="val")
    with pytest.raises(DataError, match="does not exist"):
        load_unpaired(tmp_path / "nowhere")


def test_load_unpaired_reads_summer2winter(data_root: Path):
    a, b = load_unpaired(data_root / "summer2winter128", image_size=128, split="test")
    assert a.images.shape == (309, 3, 128, 128) and b.images.shape == (238, 3, 128, 128)
    assert a.images.dtype == torch.uint8 and a.images.float().std() > 20


def coordinates(size: int, n: int) -> torch.Tensor:
    """n images whose channel 0 holds the row and channel 1 the column of each pixel."""
    grid = torch.stack(torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij"))
    return grid.to(torch.uint8).expand(n, -1, -1, -1)


def test_random_crop_flip_takes_seeded_windows_and_mirrors_half():
    images = coordinates(144, 200)  # already at the load size for 128: no resize
    out = random_crop_flip(images, 128, torch.Generator().manual_seed(0))
    assert out.shape == (200, 2, 128, 128) and out.dtype == torch.uint8
    rows, cols = out[:, 0].long(), out[:, 1].long()
    top, left = rows[:, 0, 0], cols[:, 0, :].min(dim=1).values
    assert torch.equal(rows, top[:, None, None] + torch.arange(128)[None, :, None].expand_as(rows))
    flipped = cols[:, 0, 0] > cols[:, 0, -1]
    step = torch.where(flipped, -1, 1)[:, None]
    assert (cols[:, 0, 1:] - cols[:, 0, :-1] == step).all()  # contiguous, mirrored or not
    assert 0.4 < flipped.float().mean() < 0.6
    assert top.min() == 0 and top.max() == 16 and left.min() == 0 and left.max() == 16
    assert torch.equal(out, random_crop_flip(images, 128, torch.Generator().manual_seed(0)))
    assert not torch.equal(out, random_crop_flip(images, 128, torch.Generator().manual_seed(1)))


def test_random_crop_flip_resizes_up_first_and_keeps_floats():
    rng = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8, generator=rng)
    out = random_crop_flip(images, 32, rng)  # 32 -> 36 -> random 32 crop
    assert out.shape == images.shape and out.dtype == torch.uint8
    floats = images.float() / 127.5 - 1
    out = random_crop_flip(floats, 32, rng)
    assert out.dtype == torch.float32 and out.abs().max() <= 1
    only_flip = random_crop_flip(images, 32, rng, scale=1.0)
    for image, result in zip(images, only_flip):
        assert torch.equal(result, image) or torch.equal(result, image.flip(-1))
