"""Images to a folder (``ganzoo sample --out-dir``) and back (``ganzoo eval --fake-dir``): one file
per image, image i from seed S + i whatever the batch size, resumable, labelled for conditional
models, npz for FID tools; a folder of another model or seed is never mixed in."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch

from ganzoo.hub import load_pretrained
from ganzoo.images import read_image
from ganzoo.metrics.evaluate import evaluate
from ganzoo.pixels import to_unsigned
from ganzoo.latents import draw_each
from ganzoo.sampling import read_folder, write_folder


@pytest.fixture(scope="module")
def dcgan_mnist():
    return load_pretrained("dcgan-mnist")


def test_image_i_comes_from_seed_s_plus_i_whatever_the_batch(dcgan_mnist, tmp_path):
    a = write_folder(dcgan_mnist, tmp_path / "a", 7, model="dcgan-mnist", seed=5, batch_size=3)
    write_folder(dcgan_mnist, tmp_path / "b", 7, model="dcgan-mnist", seed=5, batch_size=7)
    assert a.written == 7 and sorted(p.name for p in (tmp_path / "a").glob("*.png"))[0] == "000000.png"
    for i in range(7):
        name = f"{i:06d}.png"
        assert torch.equal(read_image(tmp_path / "a" / name), read_image(tmp_path / "b" / name))
    expected = to_unsigned(dcgan_mnist.generate(1, z=draw_each(dcgan_mnist, range(4, 5), 5)))[0]
    assert torch.equal(read_image(tmp_path / "a" / "000004.png"), expected)


def test_a_folder_resumes_and_refuses_another_seed(dcgan_mnist, tmp_path, ganzoo_here, one_line_error):
    out = tmp_path / "faces"
    write_folder(dcgan_mnist, out, 6, model="dcgan-mnist", seed=0)
    before = {p.name: p.read_bytes() for p in out.glob("*.png")}
    for name in ("000001.png", "000004.png"):
        (out / name).unlink()
    again = ganzoo_here("sample", "dcgan-mnist", "-n", "6", "--out-dir", str(out))
    assert again.returncode == 0 and "wrote 2 images (4 already there)" in again.stdout, again.stderr
    assert {p.name: p.read_bytes() for p in out.glob("*.png")} == before
    line = one_line_error(ganzoo_here("sample", "dcgan-mnist", "-n", "6", "--out-dir", str(out), "--seed", "1"))
    assert "holds samples made with another seed" in line
    assert {p.name: p.read_bytes() for p in out.glob("*.png")} == before


def test_conditional_folders_are_balanced_or_one_label_and_recorded(tmp_path):
    cgan = load_pretrained("cgan-mnist")
    write_folder(cgan, tmp_path / "all", 25, model="cgan-mnist", fmt="jpg")
    with open(tmp_path / "all" / "labels.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["label"]) for r in rows] == [i % 10 for i in range(25)] and rows[3]["file"] == "000003.jpg"
    folder = read_folder(tmp_path / "all")
    assert folder.labels.tolist() == [i % 10 for i in range(25)] and folder.image_shape == (1, 32, 32)
    write_folder(cgan, tmp_path / "sevens", 4, model="cgan-mnist", label=7)
    assert read_folder(tmp_path / "sevens").labels.tolist() == [7, 7, 7, 7]


def test_npz_holds_the_images_of_the_png_folder(dcgan_mnist, tmp_path):
    write_folder(dcgan_mnist, tmp_path / "png", 5, model="dcgan-mnist", seed=3)
    write_folder(dcgan_mnist, tmp_path / "npz", 5, model="dcgan-mnist", seed=3, fmt="npz")
    with np.load(tmp_path / "npz" / "samples.npz") as archive:
        assert archive["arr_0"].shape == (5, 32, 32, 1) and archive["arr_0"].dtype == np.uint8
    assert torch.equal(read_folder(tmp_path / "npz").images, read_folder(tmp_path / "png").images)
    manifest = json.loads((tmp_path / "npz" / "samples.json").read_text())
    assert manifest["format"] == "npz" and manifest["seed"] == 3


def test_eval_fake_dir_measures_exactly_the_images_in_the_folder(dcgan_mnist, tmp_path, mnist_dir, ganzoo_here):
    from ganzoo.data.dataset import load_dataset
    from ganzoo.metrics.evaluate import build_metric

    out = tmp_path / "set"
    write_folder(dcgan_mnist, out, 64, model="dcgan-mnist", seed=0)
    report = evaluate(None, mnist_dir, ["swd"], n=64, fake_dir=out)
    (entry,) = report["results"]
    real = load_dataset(mnist_dir, image_size=32, split="test")
    direct = build_metric("swd").compute(real.__class__(real.images[:64], None, None), read_folder(out), seed=0)
    assert entry["value"] == pytest.approx(direct.value, rel=1e-9)
    assert report["model"]["source"] == f"64 images in {out}"
    cli = ganzoo_here("eval", "--fake-dir", str(out), "--real-dir", str(mnist_dir), "-m", "swd", "-n", "64")
    assert cli.returncode == 0 and f"{entry['value']:.4g}"[:4] in cli.stdout, cli.stdout + cli.stderr


def test_bad_folder_input_is_one_line(tmp_path, ganzoo_here, one_line_error):
    assert "--out-dir writes single images from noise" in one_line_error(
        ganzoo_here("sample", "dcgan-mnist", "--out-dir", "x", "-o", "y.png"))
    assert "translates images; --out-dir is for models that sample from noise" in one_line_error(
        ganzoo_here("sample", "srgan-x4", "--out-dir", "x", "-n", "2"))
    assert "'gif' is not one of" in one_line_error(
        ganzoo_here("sample", "dcgan-mnist", "--out-dir", "x", "--format", "gif"))
    assert "--format is for --out-dir" in one_line_error(
        ganzoo_here("sample", "dcgan-mnist", "--format", "jpg"))
    (tmp_path / "file").write_text("not a folder")
    assert "Directory 'file' is a file" in one_line_error(
        ganzoo_here("sample", "dcgan-mnist", "--out-dir", "file", "-n", "2"))
    assert (tmp_path / "file").read_text() == "not a folder"
    assert "cannot write 'grid.gif'" in one_line_error(ganzoo_here("sample", "dcgan-mnist", "-o", "grid.gif"))


def test_a_full_disk_while_writing_a_folder_is_one_line_and_keeps_what_was_written(tmp_path, monkeypatch):
    import errno

    from click.testing import CliRunner
    from PIL import Image

    from ganzoo.cli import cli

    real_save, calls = Image.Image.save, []

    def save_until_full(self, fp, *args, **kwargs):
        calls.append(fp)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save_until_full)
    out = tmp_path / "set"
    result = CliRunner().invoke(cli, ["sample", "dcgan-mnist", "-n", "8", "--out-dir", str(out), "--device", "cpu"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("error: No space left on device; free space") and "Traceback" not in result.output
    monkeypatch.setattr(Image.Image, "save", real_save)
    kept = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert kept == ["000000.png", "000001.png", "000002.png"]  # complete files only, no temporary ones
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    for name in kept:
        with Image.open(out / name) as image:
            image.load()


def test_o_a_folder_puts_the_grid_inside_it(tmp_path, ganzoo_here):
    made = ganzoo_here("sample", "mlp-mnist", "-n", "4", "-o", "grids/", "-q")
    assert made.returncode == 0, made.stderr
    assert sorted(p.name for p in (tmp_path / "grids").iterdir()) == ["samples.latents.npy", "samples.png"]
    (tmp_path / "existing").mkdir()
    again = ganzoo_here("sample", "mlp-mnist", "-n", "4", "-o", "existing", "-q")
    assert again.returncode == 0 and (tmp_path / "existing" / "samples.png").is_file()
