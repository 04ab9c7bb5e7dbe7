"""CycleGAN end to end: training through the engine (losses, the history pools, a bit-identical
resume), the unpaired training data, the translate API, the domain-accuracy metric, the bundled
cyclegan-summer2winter model through `ganzoo sample`, and one-line errors for bad data."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.engine.run import resume_run, start_run
from ganzoo.errors import DataError, GanzooError
from ganzoo.plugins import get_zoo

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"
if str(PLUGINS) not in sys.path:  # until the plugin's entry point is installed with the package
    sys.path.append(str(PLUGINS))

from ganzoo_cyclegan.data import UnpairedData, load_unpaired_training_data  # noqa: E402
from ganzoo_cyclegan.metric import DomainAccuracy  # noqa: E402
from ganzoo_cyclegan.models import CycleGANConfig, CycleGANPair  # noqa: E402

TINY = {"g_width": 4, "d_width": 4, "image_size": 32, "pool_size": 3, "log_every": 1,
        "sample_every": 2, "checkpoint_every": 2, "preview_samples": 8}


def write_domain(folder: Path, n: int, channel: int, size: int = 36) -> None:
    """``n`` noisy images in which ``channel`` (0 red for A, 2 blue for B) is bright."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(channel * 100 + n)
    for i in range(n):
        pixels = rng.integers(0, 96, (size, size, 3), dtype=np.uint8)
        pixels[..., channel] += 150
        Image.fromarray(pixels).save(folder / f"{i}.png")


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unpaired")
    write_domain(root / "trainA", 6, 0)
    write_domain(root / "trainB", 4, 2)
    write_domain(root / "testA", 3, 0)
    write_domain(root / "testB", 2, 2)
    return root


def train(data: Path, run_dir: Path, steps: int, **settings):
    trainer = start_run("cyclegan", data, run_dir, settings={**TINY, "steps": steps, **settings}, progress=False)
    trainer.fit()
    return trainer


# --- data ---------------------------------------------------------------------------------------

def test_unpaired_data_draws_a_by_index_and_b_at_random(unpaired: Path):
    data = load_unpaired_training_data(unpaired, image_size=32)
    assert isinstance(data, UnpairedData) and len(data) == 6  # the larger domain
    assert data.image_shape == (3, 32, 32) and data.num_classes is None and data.labels is None
    assert data.test is not None and len(data.test[0]) == 3
    assert "research use" in data.card["license_note"]
    torch.manual_seed(0)
    batch = data.batch(torch.tensor([0, 7]), torch.device("cpu"))  # 7 wraps round to A image 1
    assert set(batch) == {"a", "b"}
    for images in batch.values():
        assert images.shape == (2, 3, 32, 32) and images.dtype == torch.float32
        assert images.min() >= -1 and images.max() <= 1
    assert batch["a"][:, 0].mean() > batch["a"][:, 2].mean()  # red A, blue B
    assert batch["b"][:, 2].mean() > batch["b"][:, 0].mean()
    torch.manual_seed(0)
    assert torch.equal(data.batch(torch.tensor([0, 7]), torch.device("cpu"))["b"], batch["b"])  # global RNG


# --- training -----------------------------------------------------------------------------------

def test_training_runs_with_finite_losses_and_fills_the_pools(unpaired: Path, tmp_path: Path):
    trainer = train(unpaired, tmp_path / "run", steps=3, pool_size=2)
    assert trainer.config.loss == "lsgan" and trainer.config.ema == 0 and trainer.config.batch_size == 1
    records = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    for key in ("d_loss", "g_loss", "g_cycle_a", "g_cycle_b", "g_identity_a", "g_adv_a2b", "d_a_loss"):
        assert all(math.isfinite(r[key]) for r in records), key
    assert len(trainer.recipe.pool_a) == len(trainer.recipe.pool_b) == 2  # full after 2 of 3 images
    grid = Image.open(tmp_path / "run" / "samples" / "step_00000003.png")
    assert grid.size == (2 * 34 + 2, 4 * 34 + 2)  # 2 test images a row; A, a2b, B, b2a rows


def test_resume_restores_the_pools_and_matches_an_uninterrupted_run(unpaired: Path, tmp_path: Path):
    whole = train(unpaired, tmp_path / "whole", steps=4)
    half = train(unpaired, tmp_path / "half", steps=2)
    saved = {k: v.clone() for k, v in half.recipe.state_dict().items()}
    resumed = resume_run(tmp_path / "half", steps=4, progress=False)
    assert resumed.step == 2 and len(resumed.recipe.pool_a) == 2
    for key in ("pool_a.images", "pool_a.count", "pool_a.rng", "pool_b.images"):
        assert torch.equal(resumed.recipe.state_dict()[key], saved[key]), key
    resumed.fit()
    final, expected = resumed.recipe.state_dict(), whole.recipe.state_dict()
    assert len(resumed.recipe.pool_a) == 3
    for key, value in expected.items():
        assert torch.equal(final[key], value), key


def test_an_empty_trainB_is_a_one_line_error(ganzoo_here, one_line_error, unpaired: Path, tmp_path: Path):
    root = tmp_path / "data"
    write_domain(root / "trainA", 2, 0)
    (root / "trainB").mkdir()
    line = one_line_error(ganzoo_here("train", "cyclegan", "--data", root, "-o", tmp_path / "run", "--steps", "1"))
    assert "trainB holds no images" in line


# --- the translator -----------------------------------------------------------------------------

def test_translate_takes_any_mode_and_size_and_refuses_tiny_images():
    torch.manual_seed(0)
    pair = CycleGANPair(CycleGANConfig(image_size=32, g_width=4))
    rgb = torch.randint(0, 256, (1, 3, 30, 42), dtype=torch.uint8)
    out = pair.translate(rgb, direction="b2a")
    assert out.shape == rgb.shape and out.dtype == torch.uint8  # padded to 32x44 and cropped back
    assert not torch.equal(out, pair.translate(rgb, direction="a2b"))
    assert pair.translate(rgb[:, :1]).shape == rgb.shape  # grey -> RGB
    assert torch.equal(pair.translate(torch.cat([rgb, rgb[:, :1]], 1)), pair.translate(rgb))  # alpha dropped
    with pytest.raises(DataError, match="at least 16x16") as info:
        pair.translate(torch.zeros(1, 3, 8, 40, dtype=torch.uint8))
    assert "\n" not in str(info.value)
    with pytest.raises(GanzooError, match="a2b or b2a"):
        pair.translate(rgb, direction="sideways")
    with pytest.raises(GanzooError, match="takes images"):
        pair.generate(1)


# --- the metric ---------------------------------------------------------------------------------

def test_domain_accuracy_is_registered_and_reports_its_protocol(unpaired: Path):
    assert "domain-accuracy" in get_zoo().metrics.names()
    torch.manual_seed(0)
    pair = CycleGANPair(CycleGANConfig(image_size=32, g_width=4)).eval()
    result = DomainAccuracy().evaluate_model(pair, str(unpaired), n=None, seed=0, device="cpu", progress=False)
    assert result.metric == "domain-accuracy" and not result.lower_is_better
    assert 0 <= result.value <= 1
    assert result.protocol["test_images"] == "testA 3, testB 2"
    assert result.details["classifier_test_accuracy"] == 1.0  # red against blue
    again = DomainAccuracy().evaluate_model(pair, str(unpaired), n=2, seed=0, device="cpu", progress=False)
    assert again.protocol["images"] == 4


def test_domain_accuracy_needs_the_test_folders(tmp_path: Path):
    write_domain(tmp_path / "trainA", 2, 0)
    write_domain(tmp_path / "trainB", 2, 2)
    pair = CycleGANPair(CycleGANConfig(image_size=32, g_width=4))
    with pytest.raises(DataError, match="testA is missing") as info:
        DomainAccuracy().evaluate_model(pair, str(tmp_path), n=None, seed=0, device="cpu", progress=False)
    assert "\n" not in str(info.value)


# --- the bundled model --------------------------------------------------------------------------

def test_bundled_model_translates_a_folder_and_a_file(ganzoo_here, tmp_path: Path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)).save(inputs / "photo.jpg")
    Image.fromarray(rng.integers(0, 256, (90, 100), dtype=np.uint8), "L").save(inputs / "grey.png")
    Image.fromarray(rng.integers(0, 256, (64, 64, 4), dtype=np.uint8), "RGBA").save(inputs / "alpha.png")
    result = ganzoo_here("sample", "cyclegan-summer2winter", "--input", inputs, "--direction", "b2a", "-o", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    sizes = {p.name: (Image.open(p).size, Image.open(p).mode) for p in (tmp_path / "out").iterdir()}
    assert sizes == {"photo.png": ((128, 128), "RGB"), "grey.png": ((100, 90), "RGB"),
                     "alpha.png": ((64, 64), "RGB")}, sizes
    result = ganzoo_here("sample", "cyclegan-summer2winter", "--input", inputs / "photo.jpg", "--direction", "a2b",
                    "-o", tmp_path / "one.png")
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "one.png").size == (128, 128)


def test_sample_option_is_passed_to_translate_and_direction_is_its_alias(ganzoo_here, tmp_path: Path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(photo)
    outputs = {}
    for name, flags in (("option", ["--option", "direction=b2a"]), ("alias", ["--direction", "b2a"]),
                        ("a2b", ["--option", "direction=a2b"])):
        result = ganzoo_here("sample", "cyclegan-summer2winter", "--input", photo, *flags, "-o", tmp_path / f"{name}.png")
        assert result.returncode == 0, result.stderr
        outputs[name] = np.asarray(Image.open(tmp_path / f"{name}.png"))
    assert np.array_equal(outputs["option"], outputs["alias"])
    assert not np.array_equal(outputs["option"], outputs["a2b"])
    bad = ganzoo_here("sample", "cyclegan-summer2winter", "--input", photo, "--option", "direction=up", "-o", tmp_path / "x.png")
    assert bad.returncode == 2 and "unknown direction 'up'" in bad.stderr and not (tmp_path / "x.png").exists()
    noise = ganzoo_here("sample", "mlp-mnist", "--option", "direction=b2a", "-o", tmp_path / "grid.png")
    assert noise.returncode == 2 and "makes images from noise" in noise.stderr


def test_training_logs_domain_accuracy_with_one_classifier(unpaired: Path, tmp_path: Path):
    from ganzoo.fileio import read_jsonl

    train(unpaired, tmp_path / "run", 4, eval_metrics="domain-accuracy", eval_every=2)
    evals = [r for r in read_jsonl(tmp_path / "run" / "log.jsonl") if "eval_domain-accuracy" in r]
    assert [r["step"] for r in evals] == [0, 2, 4]  # on the training data's own test folders
    for record in evals:
        assert 0 <= record["eval_domain-accuracy"] <= 1 and record["eval_domain-accuracy_images"] == 5
        # the classifier is trained once per run: its figures repeat to the last digit
        assert record["eval_domain-accuracy_classifier_seconds"] == evals[0]["eval_domain-accuracy_classifier_seconds"]
        assert record["eval_domain-accuracy_classifier_test_accuracy"] == 1.0
