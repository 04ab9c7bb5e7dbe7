"""Latents for sampling: BigGAN's truncation trick, latents files in and out, and latent walks
(spherical interpolation) written as GIFs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from ganzoo.errors import DataError, GanzooError
from ganzoo.hub import load_pretrained
from ganzoo.latents import draw_each, draw_stream, read_latents, slerp, truncate, walk


@pytest.fixture(scope="module")
def dcgan_mnist():
    return load_pretrained("dcgan-mnist")


def test_truncation_redraws_components_into_the_interval(dcgan_mnist):
    z = draw_stream(dcgan_mnist, 200, seed=0, psi=0.7)
    assert z.abs().max() <= 0.7 and z.std() < 0.6  # a truncated normal is narrower
    assert torch.equal(z, draw_stream(dcgan_mnist, 200, seed=0, psi=0.7))
    plain = draw_stream(dcgan_mnist, 200, seed=0)
    inside = plain.abs() <= 0.7
    assert torch.equal(z[inside], plain[inside])  # components already inside are kept
    assert torch.equal(draw_each(dcgan_mnist, [3], seed=2), draw_each(dcgan_mnist, [5], seed=0))  # seed s + i
    with pytest.raises(GanzooError, match="--truncation must be > 0"):
        truncate(plain, 0.0, torch.Generator())


def test_slerp_and_walk():
    a, b = torch.randn(4, 8), torch.randn(4, 8)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-6) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-5)
    same = torch.randn(1, 8).repeat(2, 1)
    assert torch.allclose(slerp(same[:1], same[1:], 0.3), same[:1])  # parallel: no division by zero
    keys = torch.randn(3, 2, 8)
    steps = walk(keys, 4)
    assert len(steps) == 12 and torch.equal(steps[0], keys[0]) and torch.allclose(steps[4], keys[1], atol=1e-5)


def test_latents_files_in_and_out(dcgan_mnist, ganzoo_here, one_line_error, tmp_path):
    made = ganzoo_here("sample", "dcgan-mnist", "-n", "6", "-o", "a.png", "--truncation", "0.8")
    assert made.returncode == 0 and (tmp_path / "a.latents.npy").is_file(), made.stderr
    z = np.load(tmp_path / "a.latents.npy")
    assert z.shape == (6, dcgan_mnist.latent_dim) and np.abs(z).max() <= 0.8
    save_file({"z": torch.from_numpy(z)}, tmp_path / "z.safetensors")
    again = ganzoo_here("sample", "dcgan-mnist", "-o", "b.png", "--latents", "z.safetensors")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    np.save(tmp_path / "bad.npy", np.zeros((3, 5), np.float32))
    line = one_line_error(ganzoo_here("sample", "dcgan-mnist", "-o", "c.png", "--latents", "bad.npy"))
    assert "shape (3, 5)" in line and f"(N, {dcgan_mnist.latent_dim})" in line
    assert not (tmp_path / "c.png").exists()
    with pytest.raises(DataError, match="must be .npy or .safetensors"):
        read_latents(tmp_path / "a.png", 100)
    folder = ganzoo_here("sample", "dcgan-mnist", "--out-dir", "set", "--latents", "a.latents.npy")
    assert folder.returncode == 0 and "wrote 6 images" in folder.stdout, folder.stderr


def test_a_walk_is_a_looping_gif_starting_at_the_grid(ganzoo_here, one_line_error, tmp_path):
    grid = ganzoo_here("sample", "dcgan-mnist", "-n", "4", "-o", "grid.png", "--seed", "3")
    made = ganzoo_here("sample", "dcgan-mnist", "-n", "4", "-o", "walk.gif", "--seed", "3", "--walk", "3", "--frames", "2")
    assert grid.returncode == 0 and made.returncode == 0, made.stderr
    with Image.open(tmp_path / "walk.gif") as gif, Image.open(tmp_path / "grid.png") as png:
        assert gif.n_frames == 6 and gif.info["loop"] == 0 and gif.size == png.size
        first = np.asarray(gif.convert("L"), dtype=int)
        assert np.abs(first - np.asarray(png.convert("L"), dtype=int)).mean() < 3  # GIF palette rounding only
    assert "--walk writes a GIF" in one_line_error(ganzoo_here("sample", "dcgan-mnist", "--walk", "2", "-o", "w.png"))
    assert "--walk, --truncation and --latents are for models that sample from noise" in one_line_error(
        ganzoo_here("sample", "srgan-x4", "--walk", "2", "-o", "w.gif"))
