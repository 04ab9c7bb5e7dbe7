"""``ganzoo eval`` and ``ganzoo.metrics.evaluate``: bundled models against the real MNIST data,
real-vs-real floors, the protocol in the report, and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.hub import load_pretrained
from ganzoo.metrics.evaluate import evaluate, generate_dataset, split_halves
from ganzoo.metrics.report import card_entries


@pytest.fixture(scope="module")
def cgan():
    return load_pretrained("cgan-mnist")


def test_generated_sets_are_seeded_and_cover_the_classes(cgan):
    first = generate_dataset(cgan, 60, seed=3, batch_size=25)
    again = generate_dataset(cgan, 60, seed=3, batch_size=25)
    other = generate_dataset(cgan, 60, seed=4, batch_size=25)
    assert first.images.dtype == torch.uint8 and first.image_shape == (1, 32, 32)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    assert not torch.equal(first.images, other.images)
    assert torch.bincount(first.labels, minlength=10).tolist() == [6] * 10
    assert first.labels[:10].tolist() != list(range(10))  # shuffled, so any prefix is mixed


def test_split_halves_are_disjoint():
    images = torch.arange(11, dtype=torch.uint8).view(11, 1, 1, 1).expand(11, 1, 2, 2).contiguous()
    from ganzoo.data.dataset import ImageDataset

    a, b = split_halves(ImageDataset(images, name="eleven"), seed=0)
    ids_a, ids_b = set(a.images[:, 0, 0, 0].tolist()), set(b.images[:, 0, 0, 0].tolist())
    assert len(ids_a) == len(ids_b) == 5 and not ids_a & ids_b


def test_report_carries_values_and_protocol(mnist_dir):
    report = evaluate("cgan-mnist", mnist_dir, ["classifier-score", "swd"], n=200, seed=0)
    assert report["model"]["architecture"] == "cgan" and "bundled" in report["model"]["source"]
    assert report["reference"] == {"path": str(mnist_dir), "reader": "mnist", "split": "test", "images": 10_000,
                                   "resolution": [1, 32, 32], "real_vs_real": None}
    score, swd = report["results"]
    assert score["metric"] == "classifier-score" and 6 < score["value"] <= 10  # 10 splits of 20 images
    assert 6 < score["details"]["real"] <= 10
    for entry in (score, swd):
        protocol = entry["protocol"]
        assert protocol["n_fake"] == 200 and protocol["n_real"] == 200
        assert protocol["seed"] == 0 and protocol["split"] == "test" and protocol["resolution"] == [1, 32, 32]
        assert entry["warnings"] and "--n" in entry["warnings"][0]
    assert swd["protocol"]["levels"] == [32, 16]
    entries = card_entries(report)  # what --record writes: the data named, never its path here
    assert [e["dataset"] for e in entries] == ["mnist", "mnist"]
    assert str(mnist_dir) not in json.dumps(entries) and all("data" not in e["protocol"] for e in entries)
    assert entries[1]["protocol"]["per_level"].startswith("32: ")
    again = evaluate("cgan-mnist", mnist_dir, ["swd"], n=200, seed=0)
    assert again["results"][0]["value"] == swd["value"]
    json.dumps(report)  # the report is plain JSON


def write_folder(directory: Path, n: int, size: int = 32, mode: str = "RGB") -> Path:
    directory.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        shape = (size, size, 3) if mode == "RGB" else (size, size)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(directory / f"{i:03d}.png")
    return directory


def test_real_vs_real_with_too_few_images_warns_how_the_protocol_changed(ganzoo, tmp_path):
    data = write_folder(tmp_path / "faces", 24)
    result = ganzoo("eval", "--real-vs-real", "--data", data, "-m", "swd", "-n", "50", "-o", "floor.json")
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert any("swd: the protocol asks for 50 second-half images but" in w and "has 12; using 12" in w
               for w in warnings), result.stderr
    report = json.loads((tmp_path / "floor.json").read_text())
    assert report["model"] is None
    assert report["reference"]["real_vs_real"] == "two disjoint random halves of 12 images (seed 0)"
    entry = report["results"][0]
    assert entry["protocol"]["real_vs_real"] is True and entry["protocol"]["n_fake"] == 12
    assert entry["protocol"]["levels"] == [64, 32, 16] and entry["value"] > 0  # folders are read at 64 by default
    assert "swd" in result.stdout and "real vs real" in result.stdout


def test_bad_input_is_one_line(ganzoo_here, one_line_error, tmp_path, mnist_dir):
    rgb = write_folder(tmp_path / "rgb", 4)
    cases = [
        (["eval", "dcgan-celeba", "--data", mnist_dir], "eval: the real set (mnist) is grey but the generated set "
                                                         "(dcgan-celeba) is RGB"),
        (["eval", "mlp-mnist", "--data", mnist_dir, "-m", "swdd"], "unknown metric 'swdd'; did you mean 'swd'?"),
        (["eval", "mlp-mnist", "--data", mnist_dir, "-m", "tstr"], "tstr needs a class-conditional model"),
        (["eval", "mlp-mnist", "--real-vs-real", "--data", mnist_dir], "only one of a MODEL, --fake-dir or --real-vs-real"),
        (["eval", "--data", mnist_dir], "give a MODEL to evaluate, or --real-vs-real"),
        (["eval", "mlp-mnist", "--data", mnist_dir, "-o", tmp_path / "missing" / "r.json"], "does not exist"),
        (["eval", "--real-vs-real", "--data", rgb, "--split", "test"], "the image-folder reader has no splits"),
        (["eval", "mlp-mnist", "--data", mnist_dir, "--split", "validation"], "MNIST has the splits train and test"),
        (["eval", "mlp-mnist", "--data", mnist_dir, "-n", "1"], "--n must be at least 2"),
        (["eval", "mlp-mnist", "--data", mnist_dir, "-m", "fid", "--inception-weights", tmp_path / "none.pth"],
         "none.pth does not exist; download it from https://github.com/mseitzer/pytorch-fid"),
    ]
    for args, expected in cases:
        assert expected in one_line_error(ganzoo_here(*args)), args
    assert not (tmp_path / "missing").exists()
