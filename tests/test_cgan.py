"""The class-conditional GAN: label-dependent networks (label plane and projection D), a real run on
MNIST with one preview row per class, `ganzoo sample --label` on its export, and unlabelled data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn.utils import parametrize

from ganzoo.engine import start_run
from ganzoo.engine.run import get_architecture
from ganzoo.errors import DataError
from ganzoo.hub import export_run, load_pretrained
from ganzoo.images import make_grid
from ganzoo.interfaces import class_rows
from ganzoo.recipes import ConditionalRecipe
from ganzoo_cgan.architecture import ConditionalGAN
from ganzoo_cgan.models import (
    ConditionalConfig,
    ConditionalDiscriminator,
    ConditionalGenerator,
)

TINY = {"g_width": 8, "d_width": 8, "latent_dim": 16, "embed_dim": 8}
CELL = 32 + 2
"""A 32x32 image plus the grid's 2-pixel padding."""


def png(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        image.load()
        assert image.format == "PNG"
        return np.asarray(image)


# -- the networks ---------------------------------------------------------------------------------


def test_cgan_is_registered():
    assert isinstance(get_architecture("cgan"), ConditionalGAN)


@pytest.mark.parametrize("spectral_norm", [False, True])
@pytest.mark.parametrize("projection", [False, True])
def test_networks_take_labels(projection, spectral_norm):
    torch.manual_seed(0)
    config = ConditionalConfig(**TINY, num_classes=10, channels=1, image_size=32,
                               projection=projection, spectral_norm=spectral_norm)
    g, d = ConditionalGenerator(config), ConditionalDiscriminator(config)
    assert g.num_classes == 10 and g.latent_dim == 16 and g.image_shape == (1, 32, 32)
    n = 6
    z = torch.randn(n, 16)
    labels = torch.arange(n)
    images = g(z, labels)
    assert images.shape == (n, 1, 32, 32)
    assert images.min() >= -1 and images.max() <= 1
    logits = d(images, labels)
    assert logits.shape == (n,) and torch.isfinite(logits).all()
    g.eval(), d.eval()  # per-sample now: a label's effect is not mixed through batch statistics
    with torch.no_grad():
        images = g(z, labels)
        # the generator's output depends on the label
        assert not torch.allclose(images, g(z, (labels + 1) % 10))
        # and the discriminator's logit does too, for every image
        same, other = d(images, labels), d(images, (labels + 3) % 10)
    assert (same - other).abs().min() > 0
    assert not torch.allclose(same, other, rtol=1e-4, atol=1e-6)
    # the label is an input of D's computation graph: gradients reach its embedding
    d.train()
    d.zero_grad()
    d(images, labels).sum().backward()
    embedding = d.embed if projection else d.label_plane
    weight = embedding.parametrizations.weight.original if parametrize.is_parametrized(embedding) \
        else embedding.weight
    assert weight.grad is not None and weight.grad[labels].abs().sum() > 0
    if spectral_norm:
        assert not any(isinstance(m, nn.BatchNorm2d) for m in d.modules())


def test_generate_needs_labels():
    from ganzoo.errors import GanzooError

    g = ConditionalGenerator(ConditionalConfig(**TINY))
    with pytest.raises(GanzooError, match="labels"):
        g.generate(4, seed=0)
    labels = torch.full((4,), 7)
    a, b = g.generate(4, seed=0, labels=labels), g.generate(4, seed=0, labels=labels)
    assert torch.equal(a, b) and a.shape == (4, 1, 32, 32)


# -- a run on MNIST -------------------------------------------------------------------------------


PREVIEW = 30  # 3 per class


@pytest.fixture(scope="module")
def cgan_run(tmp_path_factory, write_mnist_subset):
    """A tiny cgan trained 4 steps on 1,024 real MNIST digits: (run_dir, trainer)."""
    root = tmp_path_factory.mktemp("cgan")
    data = write_mnist_subset(root / "mnist", 1024)
    run_dir = root / "run"
    trainer = start_run("cgan", data, run_dir, progress=False, settings={
        **TINY, "batch_size": 16, "steps": 4, "log_every": 2, "sample_every": 4,
        "checkpoint_every": 4, "preview_samples": PREVIEW,
    })
    trainer.fit()
    return run_dir, trainer


def test_run_fills_classes_and_shape_from_the_data(cgan_run):
    run_dir, trainer = cgan_run
    assert isinstance(trainer.recipe, ConditionalRecipe)
    assert trainer.recipe.generator.num_classes == 10
    assert trainer.recipe.generator.image_shape == (1, 32, 32)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["model_config"]["num_classes"] == 10
    assert record["model_config"]["channels"] == 1 and record["model_config"]["image_size"] == 32
    logs = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in logs] == [2, 4]
    assert all(np.isfinite(v) for r in logs for v in r.values())


def test_preview_grid_has_one_row_per_class(cgan_run):
    run_dir, trainer = cgan_run
    pixels = png(run_dir / "samples" / "step_00000004.png")
    assert pixels.shape == (10 * CELL + 2, (PREVIEW // 10) * CELL + 2)  # (height, width), grey
    assert pixels.shape == (342, 104)
    # row r holds class r: the grid is exactly the EMA generator's images for class_rows(10, 30)
    z, labels = trainer.preview_inputs
    assert torch.equal(labels, class_rows(10, PREVIEW))
    assert labels.tolist() == [c for c in range(10) for _ in range(3)]
    generators = trainer.sampling_generators()
    generators.eval()
    with torch.no_grad():
        expected = np.asarray(make_grid(generators["generator"](z, labels), nrow=PREVIEW // 10))
    assert np.abs(expected.astype(int) - pixels.astype(int)).max() <= 1


@pytest.fixture(scope="module")
def exported(cgan_run, tmp_path_factory) -> Path:
    run_dir, _ = cgan_run
    out = export_run(run_dir, tmp_path_factory.mktemp("export") / "cgan-tiny")
    config = json.loads((out / "config.json").read_text())
    assert config["architecture"] == "cgan" and config["num_classes"] == 10
    assert config["image_shape"] == [1, 32, 32]
    return out


def expected_grid(model: Path, n: int, labels: torch.Tensor, nrow: int | None) -> np.ndarray:
    generator = load_pretrained(model)
    return np.asarray(make_grid(generator.generate(n, seed=0, labels=labels), nrow=nrow))


def test_export_samples_png_has_one_row_per_class(exported):
    pixels = png(exported / "samples.png")
    assert pixels.shape == (10 * CELL + 2, 8 * CELL + 2)  # 80 samples, 8 per class


def test_sample_one_label(ganzoo_here, exported, tmp_path):
    result = ganzoo_here("sample", exported, "--label", "7", "-n", "8", "-o", "out.png")
    assert result.returncode == 0, result.stderr
    pixels = png(tmp_path / "out.png")
    # 8 images in the default square grid: 3 per row, 3 rows (the last one short)
    assert pixels.shape == (3 * CELL + 2, 3 * CELL + 2)
    expected = expected_grid(exported, 8, torch.full((8,), 7), None)
    assert np.abs(expected.astype(int) - pixels.astype(int)).max() <= 1
    # and --nrow 8 puts them in one row
    result = ganzoo_here("sample", exported, "--label", "7", "-n", "8", "--nrow", "8", "-o", "row.png")
    assert result.returncode == 0, result.stderr
    assert png(tmp_path / "row.png").shape == (CELL + 2, 8 * CELL + 2)


def test_sample_without_label_gives_one_row_per_class(ganzoo_here, exported, tmp_path):
    result = ganzoo_here("sample", exported, "-n", "20", "-o", "grid.png")
    assert result.returncode == 0, result.stderr
    pixels = png(tmp_path / "grid.png")
    assert pixels.shape == (10 * CELL + 2, 2 * CELL + 2)  # 10 rows (classes) of 2
    expected = expected_grid(exported, 20, class_rows(10, 20), 2)
    assert np.abs(expected.astype(int) - pixels.astype(int)).max() <= 1


@pytest.mark.parametrize("label", ["10", "-1"])
def test_sample_label_out_of_range(ganzoo_here, one_line_error, exported, tmp_path, label):
    result = ganzoo_here("sample", exported, f"--label={label}", "-n", "8", "-o", "out.png")
    line = one_line_error(result)
    assert f"label {label}" in line and "0 to 9" in line and "range" in line
    assert not (tmp_path / "out.png").exists()
    assert not list(tmp_path.iterdir())


def test_label_on_an_unconditional_model(ganzoo_here, one_line_error, tmp_path):
    result = ganzoo_here("sample", "mlp-mnist", "--label", "3", "-n", "4", "-o", "out.png")
    line = one_line_error(result)
    assert "not conditional" in line and "--label" in line
    assert not (tmp_path / "out.png").exists()


# -- data without labels --------------------------------------------------------------------------


@pytest.fixture
def unlabelled(tmp_path) -> Path:
    """A folder of four tiny grey PNGs: images but no labels."""
    folder = tmp_path / "pictures"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8), "L").save(folder / f"{i}.png")
    return folder


def test_cgan_refuses_unlabelled_data(unlabelled, tmp_path):
    with pytest.raises(DataError, match="no labels.*labelled dataset"):
        start_run("cgan", unlabelled, tmp_path / "run", settings={**TINY, "batch_size": 2}, progress=False)
    assert not (tmp_path / "run").exists()


def test_cgan_refuses_unlabelled_data_even_with_num_classes_set(unlabelled, tmp_path):
    # with num_classes given explicitly, unlabelled data is still refused before the run starts
    with pytest.raises(DataError, match="labels"):
        trainer = start_run("cgan", unlabelled, tmp_path / "run", progress=False,
                            settings={**TINY, "batch_size": 2, "steps": 1, "num_classes": 10})
        trainer.fit()


def test_cgan_on_unlabelled_data_on_the_command_line(ganzoo_here, one_line_error, unlabelled, tmp_path):
    result = ganzoo_here("train", "cgan", "--data", unlabelled, "-o", "run", "--steps", "1",
                    "--batch-size", "2", "--set", "g_width=8", "--set", "d_width=8")
    line = one_line_error(result)
    assert "no labels" in line and "labelled" in line
    assert not (tmp_path / "run").exists()


def test_sample_reports_the_number_of_images_it_wrote(exported, tmp_path):
    """Without --label, -n is rounded down to whole rows per class (at least one each)."""
    from click.testing import CliRunner

    from ganzoo.cli import cli

    for n, written in ((25, 20), (5, 10)):
        out = tmp_path / f"n{n}.png"
        result = CliRunner().invoke(cli, ["sample", str(exported), "-n", str(n), "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert png(out).shape == (10 * CELL + 2, (written // 10) * CELL + 2)
        # the message counts the images actually written (whole rows per class)
        assert f"wrote {written} samples" in result.output
