"""What the core gives image-to-image families: training phases (a recipe may skip the
discriminator), image files in and out, and `ganzoo sample --input` refusing noise models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.engine import start_run
from ganzoo.errors import DataError
from ganzoo.images import read_image, save_uint8

TINY = {"g_hidden": 32, "d_hidden": 32, "latent_dim": 16, "batch_size": 16, "sample_every": 1000,
        "checkpoint_every": 1000}


def test_a_recipe_can_train_the_generator_alone_in_a_first_phase(mnist_dir, tmp_path):
    trainer = start_run("mlp", mnist_dir, tmp_path / "run", settings={**TINY, "steps": 3}, progress=False)
    recipe = trainer.recipe
    begun = []
    recipe.begin_step = begun.append
    recipe.trains_discriminator = lambda step: step >= 1  # phase 1: step 0 only
    d_before = [p.detach().clone() for p in recipe.discriminators.parameters()]
    g_before = [p.detach().clone() for p in recipe.generators.parameters()]
    losses = trainer.train_step()
    assert all(torch.equal(a, b) for a, b in zip(d_before, recipe.discriminators.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(g_before, recipe.generators.parameters()))
    assert "d_loss" not in losses and "g_loss" in losses
    losses = trainer.train_step()
    assert not all(torch.equal(a, b) for a, b in zip(d_before, recipe.discriminators.parameters()))
    assert "d_loss" in losses
    assert begun == [0, 1]


@pytest.mark.parametrize("mode, channels", [("L", 1), ("RGB", 3), ("RGBA", 3), ("P", 3), ("I;16", 1)])
def test_read_image_gives_uint8_chw(tmp_path, mode, channels):
    rng = np.random.default_rng(0)
    if mode == "I;16":
        image = Image.fromarray(rng.integers(0, 65535, (5, 7), dtype=np.uint16))
    else:
        image = Image.fromarray(rng.integers(0, 255, (5, 7, 3), dtype=np.uint8), "RGB").convert(mode)
    image.save(tmp_path / "x.png")
    pixels = read_image(tmp_path / "x.png")
    assert pixels.dtype == torch.uint8 and pixels.shape == (channels, 5, 7)
    save_uint8(pixels, tmp_path / "copy.png")
    assert torch.equal(read_image(tmp_path / "copy.png"), pixels)


def test_read_image_refuses_what_is_not_an_image(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(DataError, match=r"cannot read image .*notes.png.*; give a PNG or JPEG file"):
        read_image(tmp_path / "notes.png")


def test_sample_input_needs_an_image_to_image_model(ganzoo, one_line_error, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "in.png")
    error = one_line_error(ganzoo("sample", "mlp-mnist", "--input", tmp_path / "in.png", "-o", tmp_path / "o.png"))
    assert "makes images from noise; drop --input" in error
    assert not (tmp_path / "o.png").exists()
