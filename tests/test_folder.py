"""Image folders as datasets, --data detection, MNIST at other sizes, and DCGAN on both.

Every image here is tiny and written with PIL into tmp_path; MNIST is the shared, read-only copy.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.builtins import has_images as detect_images
from ganzoo.builtins import looks_like_mnist
from ganzoo.data import load_dataset
from ganzoo.data.folder import (
    DEFAULT_SIZE,
    SkippedImagesWarning,
    has_images,
    image_files,
    load_image_folder,
)
from ganzoo.data.mnist import load_mnist
from ganzoo.engine import resume_run, start_run
from ganzoo.errors import DataError, GanzooError

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 160, 0)
TINY_DCGAN = {"image_size": 32, "g_width": 8, "d_width": 8, "latent_dim": 16}


def noise(size: tuple[int, int], mode: str = "RGB", seed: int = 0) -> Image.Image:
    """A random image (incompressible enough that half a JPEG of it is really cut short)."""
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "L": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    return Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode)


def save(image: Image.Image, path: Path, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, **kwargs)
    return path


def jpeg_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


@pytest.fixture
def rgb_folder(tmp_path: Path) -> Path:
    """16 random 40x40 RGB images, half PNG and half JPEG, some in nested folders."""
    root = tmp_path / "rgb"
    for i in range(16):
        sub = root / ("a/b" if i % 4 == 0 else "a" if i % 4 == 1 else "")
        save(noise((40, 40), seed=i), sub / f"img{i:02d}.{'png' if i % 2 else 'jpg'}")
    return root


# -- load_image_folder ----------------------------------------------------------------------------

def test_recursive_discovery_mixes_jpeg_and_png(tmp_path: Path):
    root = tmp_path / "pics"
    save(noise((20, 20), seed=1), root / "top.png")
    save(noise((20, 20), seed=2), root / "one" / "mid.jpg")
    save(noise((20, 20), seed=3), root / "one" / "two" / "three" / "deep.JPEG")
    save(noise((20, 20), seed=4), root / "one" / "two" / "deep.PNG")

    found = [p.relative_to(root).as_posix() for p in image_files(root)]
    assert sorted(found) == ["one/mid.jpg", "one/two/deep.PNG", "one/two/three/deep.JPEG", "top.png"]
    data = load_image_folder(root, image_size=16)
    assert data.images.shape == (4, 3, 16, 16)
    assert data.images.dtype == torch.uint8
    assert data.labels is None and data.num_classes is None
    assert data.name == "pics" and data.path == str(root)


def test_png_pixels_survive_exactly_at_native_size(tmp_path: Path):
    image = noise((12, 12), seed=7)
    save(image, tmp_path / "pics" / "x.png")
    data = load_image_folder(tmp_path / "pics", image_size=12)
    assert torch.equal(data.images[0].permute(1, 2, 0), torch.from_numpy(np.array(image)))


def test_default_size_is_64(tmp_path: Path):
    save(noise((20, 30), seed=1), tmp_path / "pics" / "x.png")
    assert load_image_folder(tmp_path / "pics").images.shape == (1, 3, DEFAULT_SIZE, DEFAULT_SIZE)
    assert DEFAULT_SIZE == 64


@pytest.mark.parametrize("size", [(60, 40), (40, 60)], ids=["landscape", "portrait"])
def test_non_square_images_are_centre_cropped_then_resized(tmp_path: Path, size):
    """A blue square with red margins (left/right or top/bottom): only blue survives."""
    w, h = size
    side = min(w, h)
    image = Image.new("RGB", size, RED)
    image.paste(Image.new("RGB", (side, side), BLUE), ((w - side) // 2, (h - side) // 2))
    save(image, tmp_path / "pics" / "framed.png")

    data = load_image_folder(tmp_path / "pics", image_size=16)
    assert data.images.shape == (1, 3, 16, 16)
    red, green, blue = data.images[0].int()
    assert red.max() <= 2, "the red margins were not cropped away"
    assert green.max() <= 2
    assert blue.min() >= 253


def test_upscaling_small_images(tmp_path: Path):
    save(Image.new("RGB", (8, 12), GREEN), tmp_path / "pics" / "small.png")
    data = load_image_folder(tmp_path / "pics", image_size=32)
    assert data.images.shape == (1, 3, 32, 32)
    assert torch.equal(data.images[0, :, 0, 0], torch.tensor(GREEN, dtype=torch.uint8))


def test_grey_images_give_one_channel(tmp_path: Path):
    root = tmp_path / "grey"
    save(noise((20, 20), "L", seed=1), root / "a.png")
    save(noise((24, 20), "L", seed=2), root / "sub" / "b.jpg")
    assert Image.open(root / "sub" / "b.jpg").mode == "L"
    data = load_image_folder(root, image_size=16)
    assert data.images.shape == (2, 1, 16, 16)
    assert data.image_shape == (1, 16, 16)


def test_one_colour_image_makes_the_whole_set_rgb(tmp_path: Path):
    root = tmp_path / "mixed"
    grey = noise((20, 20), "L", seed=1)
    save(grey, root / "a_grey.png")
    save(noise((20, 20), "L", seed=2), root / "b_grey.jpg")
    save(noise((20, 20), "RGB", seed=3), root / "c_colour.png")
    data = load_image_folder(root, image_size=20)
    assert data.images.shape == (3, 3, 20, 20)
    # the grey image is replicated into three equal channels
    first = data.images[0]
    assert torch.equal(first[0], first[1]) and torch.equal(first[1], first[2])
    assert torch.equal(first[0], torch.from_numpy(np.array(grey)))


# 16-bit greyscale PNGs (mode "I;16") must be scaled to 8 bits, not clipped to white.


def test_other_extensions_are_ignored(tmp_path: Path):
    root = tmp_path / "pics"
    save(noise((16, 16), seed=1), root / "keep.png")
    save(noise((16, 16), seed=2), root / "keep.jpeg")
    save(noise((16, 16), seed=3), root / "skip.gif")  # a real image, but not a listed format
    save(noise((16, 16), seed=4), root / "skip.tiff")
    (root / "notes.txt").write_text("not an image")
    (root / "png").write_text("no extension at all")
    (root / "archive.png.bak").write_bytes(b"\x89PNG junk")

    assert {p.name for p in image_files(root)} == {"keep.png", "keep.jpeg"}
    with_warnings = load_image_folder(root, image_size=8)  # nothing unreadable was even tried
    assert len(with_warnings) == 2


def test_empty_folder_is_a_data_error(tmp_path: Path):
    root = tmp_path / "empty"
    (root / "nested").mkdir(parents=True)
    (root / "nested" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="no images"):
        load_image_folder(root)


def test_folder_of_only_unreadable_files_is_a_data_error(tmp_path: Path):
    root = tmp_path / "junk"
    root.mkdir()
    (root / "a.png").write_bytes(b"not a png at all")
    (root / "b.jpg").write_bytes(b"")
    (root / "c.webp").write_bytes(bytes(range(256)))
    with pytest.warns(SkippedImagesWarning, match="skipped 3"):
        with pytest.raises(DataError, match="none of the 3 image files"):
            load_image_folder(root)


def test_corrupt_images_are_skipped_with_one_warning(tmp_path: Path):
    root = tmp_path / "pics"
    good = [save(noise((20, 20), seed=i), root / f"good{i}.{ext}")
            for i, ext in enumerate(["png", "jpg", "png"])]
    whole = jpeg_bytes(noise((64, 64), seed=99))
    (root / "sub").mkdir()
    (root / "sub" / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (root / "garbage.png").write_bytes(np.random.default_rng(0).bytes(500))

    with pytest.warns(SkippedImagesWarning) as record:
        data = load_image_folder(root, image_size=20)
    skipped = [w for w in record if issubclass(w.category, SkippedImagesWarning)]
    assert len(skipped) == 1
    message = str(skipped[0].message)
    assert "skipped 2" in message
    assert "truncated.jpg" in message and "garbage.png" in message
    assert not any(p.name in message for p in good)

    assert len(data) == len(good)
    # exactly the good images, in sorted file order (good0.png, good1.jpg, good2.png)
    expected = load_image_folder_of(good, tmp_path / "only-good", image_size=20)
    assert torch.equal(data.images, expected.images)


def load_image_folder_of(files: list[Path], root: Path, image_size: int):
    root.mkdir()
    for f in files:
        (root / f.name).write_bytes(f.read_bytes())
    return load_image_folder(root, image_size=image_size)


# -- detection ------------------------------------------------------------------------------------

def test_has_images(tmp_path: Path):
    root = tmp_path / "pics"
    save(noise((8, 8)), root / "a" / "b" / "c" / "deep.webp")
    assert has_images(root) and detect_images(root)
    assert not has_images(tmp_path / "missing")
    assert not has_images(root / "a" / "b" / "c" / "deep.webp")  # a file, not a folder
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "a.txt").write_text("x")
    assert not has_images(tmp_path / "text")


def test_load_dataset_detects_an_image_folder(rgb_folder: Path):
    assert not looks_like_mnist(rgb_folder)
    data = load_dataset(rgb_folder, image_size=32)
    assert data.name == "rgb" and data.card == {"split": "all files"}
    assert data.images.shape == (16, 3, 32, 32)
    named = load_dataset(rgb_folder, "image-folder", image_size=32)
    assert torch.equal(named.images, data.images)


def test_load_dataset_detects_mnist(mnist_dir: Path):
    assert looks_like_mnist(mnist_dir)
    assert not has_images(mnist_dir)
    data = load_dataset(mnist_dir)
    assert data.name == "mnist" and data.num_classes == 10
    assert data.card["split"] == "train"
    assert data.images.shape == (60000, 1, 28, 28)


def test_load_dataset_without_images_or_mnist_names_dataset_option(tmp_path: Path):
    root = tmp_path / "nothing"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="--dataset") as info:
        load_dataset(root)
    assert "image-folder" in str(info.value) and "mnist" in str(info.value)


# -- MNIST sizes ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mnist_test_28(mnist_dir: Path):
    return load_mnist(mnist_dir, split="test")


@pytest.mark.parametrize("size", [None, 28])
def test_mnist_native_size(mnist_dir: Path, mnist_test_28, size):
    data = load_mnist(mnist_dir, split="test", image_size=size)
    assert data.images.shape == (10000, 1, 28, 28) and data.images.dtype == torch.uint8
    assert torch.equal(data.images, mnist_test_28.images)


def test_mnist_32_is_padded_with_a_black_border(mnist_dir: Path, mnist_test_28):
    data = load_mnist(mnist_dir, split="test", image_size=32)
    assert data.images.shape == (10000, 1, 32, 32) and data.images.dtype == torch.uint8
    images = data.images
    assert torch.equal(images[:, :, 2:30, 2:30], mnist_test_28.images)
    border = images.clone()
    border[:, :, 2:30, 2:30] = 0
    assert int(border.max()) == 0, "the 2-pixel border is not all black"
    assert torch.equal(data.labels, mnist_test_28.labels)


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture
def small_mnist(tmp_path: Path, mnist_test_28) -> Path:
    """The first 32 real test digits as a train split of their own (cheap to resize)."""
    root = tmp_path / "mnist-small"
    root.mkdir()
    images = mnist_test_28.images[:32, 0].numpy()
    labels = mnist_test_28.labels[:32].numpy()
    for split in ("train", "t10k"):
        write_idx(root / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", labels)
    return root


def test_mnist_64_is_resized(small_mnist: Path, mnist_test_28):
    data = load_mnist(small_mnist, image_size=64)
    assert data.images.shape == (32, 1, 64, 64) and data.images.dtype == torch.uint8
    original = mnist_test_28.images[:32].float()
    # a resize, not a pad: the digit fills the frame, and the mean brightness is kept
    assert data.images[:, :, 8:56, 8:56].float().mean() > data.images.float().mean()
    assert abs(data.images.float().mean() - original.mean()) < 2.0
    assert int(data.images.max()) > 200 and int(data.images.min()) == 0
    back = torch.nn.functional.interpolate(data.images.float(), size=(28, 28), mode="bilinear",
                                           antialias=True, align_corners=False)
    assert (back - original).abs().mean() < 12


def test_mnist_rejects_non_positive_sizes(small_mnist: Path):
    with pytest.raises(DataError, match="positive"):
        load_mnist(small_mnist, image_size=-4)


# -- through the engine ---------------------------------------------------------------------------

def generator_of(trainer):
    return trainer.recipe.generators[trainer.recipe.export_name]


def test_dcgan_on_an_rgb_image_folder(rgb_folder: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    settings = {**TINY_DCGAN, "batch_size": 4, "steps": 3, "log_every": 1, "sample_every": 3,
                "checkpoint_every": 3}
    trainer = start_run("dcgan", rgb_folder, run_dir, settings=settings, progress=False)
    assert trainer.data.image_shape == (3, 32, 32)
    summary = trainer.fit()
    assert summary["steps"] == 3

    generator = generator_of(trainer).eval()
    assert tuple(generator.image_shape) == (3, 32, 32)
    with torch.no_grad():
        out = generator(torch.randn(2, TINY_DCGAN["latent_dim"]))
    assert out.shape == (2, 3, 32, 32) and torch.isfinite(out).all()

    record = json.loads((run_dir / "run.json").read_text())
    assert record["model_config"]["channels"] == 3 and record["model_config"]["image_size"] == 32
    assert record["data"]["dataset"] == "rgb" and record["data"]["path"] == str(rgb_folder.resolve())
    log = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "step" in r][:3] == [1, 2, 3]
    assert any((run_dir / "samples").iterdir())
    assert any((run_dir / "checkpoints").iterdir())

    # the run resumes with the reader that read it (not a reader named after the folder)
    assert record["data"]["reader"] == "image-folder"
    resumed = resume_run(run_dir, steps=5, progress=False)
    assert resumed.step == 3 and resumed.data.image_shape == (3, 32, 32)
    assert resumed.fit()["steps"] == 5


def test_dcgan_on_mnist_is_one_channel_32(mnist_dir: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    settings = {**TINY_DCGAN, "batch_size": 8, "steps": 2, "log_every": 1, "sample_every": 2,
                "checkpoint_every": 2}
    trainer = start_run("dcgan", mnist_dir, run_dir, settings=settings, progress=False)
    assert trainer.data.image_shape == (1, 32, 32)
    assert trainer.fit()["steps"] == 2
    generator = generator_of(trainer).eval()
    assert tuple(generator.image_shape) == (1, 32, 32)
    with torch.no_grad():
        assert generator(torch.randn(3, TINY_DCGAN["latent_dim"])).shape == (3, 1, 32, 32)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["model_config"]["channels"] == 1 and record["data"]["dataset"] == "mnist"


def test_dcgan_refuses_an_unsupported_size_before_training(rgb_folder: Path, tmp_path: Path):
    run_dir = tmp_path / "run"
    settings = {**TINY_DCGAN, "image_size": 48, "batch_size": 4, "steps": 3}
    with pytest.raises(GanzooError) as info:
        start_run("dcgan", rgb_folder, run_dir, settings=settings, progress=False)
    message = str(info.value)
    assert "48" in message and "32, 64, 128" in message
    assert "Traceback" not in message
    assert not run_dir.exists(), "a run directory was written for a run that cannot start"


# bad model settings are refused before any data is read (a large folder would be decoded first)
def test_unsupported_size_is_refused_before_the_data_is_read(rgb_folder, tmp_path, monkeypatch):
    import ganzoo.data.dataset as dataset_module

    def no_data(*args, **kwargs):
        raise AssertionError("the data was read before image_size was checked")

    monkeypatch.setattr(dataset_module, "load_dataset", no_data)  # what load_training_data calls
    with pytest.raises(GanzooError, match="32, 64, 128"):
        start_run("dcgan", rgb_folder, tmp_path / "run", settings={"image_size": 48},
                  progress=False)


# -- CLI ------------------------------------------------------------------------------------------

def test_cli_train_on_an_empty_folder_is_a_one_line_error(ganzoo, one_line_error, tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    line = one_line_error(ganzoo("train", "dcgan", "--data", empty, "-o", "run", cwd=tmp_path))
    assert "--dataset" in line
    assert not (tmp_path / "run").exists()
