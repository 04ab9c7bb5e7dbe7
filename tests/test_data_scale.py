"""Data at scale: the decoded cache, parallel decoding, streaming, class folders, Hugging Face
datasets, and their one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data import decode
from ganzoo.data.cache import CacheRebuiltWarning
from ganzoo.data.dataset import ShuffledBatches, load_dataset
from ganzoo.data.folder import SkippedImagesWarning, load_image_folder
from ganzoo.data.options import DataOptions
from ganzoo.data.stream import StreamingImages
from ganzoo.engine import resume_run, start_run
from ganzoo.errors import DataError, GanzooError

TINY_DCGAN = {"g_width": 4, "d_width": 4, "latent_dim": 8, "image_size": 32, "batch_size": 4,
              "sample_every": 1000, "log_every": 1, "checkpoint_every": 2, "keep_checkpoints": 100}


def write_images(root: Path, count: int, *, classes: tuple[str, ...] = (), grey: bool = False, seed: int = 0) -> None:
    """``count`` random images of a few sizes (so the centre crop matters), spread over
    ``classes`` subfolders when given."""
    rng = np.random.default_rng(seed)
    for i in range(count):
        folder = root / classes[i % len(classes)] if classes else root
        folder.mkdir(parents=True, exist_ok=True)
        h, w = (36, 44) if i % 2 else (40, 40)
        pixels = rng.integers(0, 256, (h, w) if grey else (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"{i:04d}.png")


def cache_entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.npy"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "faces"
    write_images(root, 12)
    return root


def test_second_read_maps_the_cache_with_the_pixels_a_plain_decode_gives(folder, tmp_path):
    options = DataOptions(cache_dir=str(tmp_path / "cache"))
    first = load_image_folder(folder, 32, options)
    (entry,) = cache_entries(tmp_path / "cache")
    written = entry.stat()
    second = load_image_folder(folder, 32, options)
    plain = load_image_folder(folder, 32, DataOptions(cache=False))
    assert first.images.shape == (12, 3, 32, 32)
    assert torch.equal(first.images, plain.images) and torch.equal(second.images, plain.images)
    assert cache_entries(tmp_path / "cache") == [entry]
    assert entry.stat().st_mtime_ns == written.st_mtime_ns and entry.stat().st_ino == written.st_ino
    record = json.loads(entry.with_suffix(".json").read_text())
    assert record["images"] == 12 and record["shape"] == [12, 32, 32, 3]


def test_a_changed_file_gives_a_new_entry_with_its_new_pixels(folder, tmp_path):
    options = DataOptions(cache_dir=str(tmp_path / "cache"))
    before = load_image_folder(folder, 32, options)
    changed = folder / "0003.png"
    Image.fromarray(np.full((40, 40, 3), 7, np.uint8)).save(changed)
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    after = load_image_folder(folder, 32, options)
    assert len(cache_entries(tmp_path / "cache")) == 2
    assert torch.equal(after.images[3], torch.full((3, 32, 32), 7, dtype=torch.uint8))
    assert not torch.equal(before.images[3], after.images[3])
    assert torch.equal(before.images[4], after.images[4])
    write_images(folder / "more", 1, seed=5)  # an added file invalidates it too
    assert len(load_image_folder(folder, 32, options)) == 13


@pytest.mark.parametrize("damage", ["flip", "truncate", "record"])
def test_a_damaged_entry_is_rebuilt_never_trusted(folder, tmp_path, damage):
    options = DataOptions(cache_dir=str(tmp_path / "cache"))
    good = load_image_folder(folder, 32, options).images.clone()
    (entry,) = cache_entries(tmp_path / "cache")
    data = bytearray(entry.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        entry.write_bytes(bytes(data))
        reason = "checksum"
    elif damage == "truncate":
        entry.write_bytes(bytes(data[: len(data) - 100]))
        reason = "truncated"
    else:
        entry.with_suffix(".json").write_text("{not json")
        reason = "record"
    with pytest.warns(CacheRebuiltWarning, match=reason):
        again = load_image_folder(folder, 32, options)
    assert torch.equal(again.images, good)
    with_record = json.loads(entry.with_suffix(".json").read_text())
    assert with_record["bytes"] == entry.stat().st_size


def test_an_unwritable_cache_directory_is_one_line(folder, tmp_path, ganzoo_here, one_line_error):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DataError, match="not writable"):
        load_image_folder(folder, 32, DataOptions(cache_dir=str(blocker / "cache")))
    result = ganzoo_here("train", "dcgan", "--data", str(folder), "-o", str(tmp_path / "run"), "--steps", "1",
                         "--set", "g_width=4", "--set", "d_width=4", "--set", "image_size=32",
                         "--set", "batch_size=4", env={"GANZOO_DATA_CACHE": str(blocker / "cache")})
    assert "GANZOO_DATA_CACHE" in one_line_error(result) and "--no-cache" in one_line_error(result)
    assert not (tmp_path / "run").exists()
    result = ganzoo_here("train", "dcgan", "--data", str(folder), "-o", str(tmp_path / "run"), "--steps", "1",
                         "--no-cache", "--set", "g_width=4", "--set", "d_width=4", "--set", "image_size=32",
                         "--set", "batch_size=4", env={"GANZOO_DATA_CACHE": str(blocker / "cache")})
    assert result.returncode == 0, result.stderr


def test_no_cache_writes_nothing(folder, tmp_path):
    load_image_folder(folder, 32, DataOptions(cache=False, cache_dir=str(tmp_path / "cache")))
    assert not (tmp_path / "cache").exists()


def test_worker_processes_decode_what_one_process_does(tmp_path, monkeypatch):
    root = tmp_path / "mixed"
    write_images(root, 40)
    (root / "broken.png").write_bytes(b"no png")
    files = sorted(str(p) for p in root.iterdir())
    monkeypatch.setattr(decode, "SERIAL_BELOW", 0)  # workers even for a handful of files
    monkeypatch.setattr(decode, "CHUNK", 8)
    serial = np.zeros((len(files), 32, 32, 3), np.uint8)
    one = decode.decode_into(serial, files, 32, workers=1, progress=False)
    assert serial.any() and [files[i] for i, _ in one.skipped] == [str(root / "broken.png")]
    # workers that send their rows back (private memory), and workers that write them in place
    for parallel in (np.zeros_like(serial), decode.shared_array(serial.shape)):
        two = decode.decode_into(parallel, files, 32, workers=2, progress=False)
        assert np.array_equal(serial, parallel)
        assert one.skipped == two.skipped and one.grey is False and two.grey is False


def test_grey_and_unreadable_files_survive_the_cache(tmp_path):
    root = tmp_path / "digits"
    write_images(root, 6, classes=("a", "b"), grey=True)
    (root / "a" / "zz-broken.png").write_bytes(b"junk")
    options = DataOptions(cache_dir=str(tmp_path / "cache"), labels="folders")
    for _ in range(2):  # built, then opened: the same pixels, labels and warning
        with pytest.warns(SkippedImagesWarning, match="zz-broken"):
            dataset = load_image_folder(root, 32, options)
        assert dataset.images.shape == (6, 1, 32, 32)
        assert dataset.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_class_folders_give_labels_and_names(tmp_path):
    root = tmp_path / "pets"
    write_images(root, 9, classes=("dogs", "cats", "birds"))
    dataset = load_dataset(root, image_size=32, options=DataOptions(labels="folders", cache=False))
    assert dataset.class_names == ["birds", "cats", "dogs"] and dataset.num_classes == 3
    assert dataset.labels.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # files sorted by folder, then name
    assert dataset.card["class_names"] == ["birds", "cats", "dogs"]
    assert load_dataset(root, image_size=32, options=DataOptions(cache=False)).labels is None


def test_class_folders_that_cannot_label_are_one_line(tmp_path, ganzoo_here, one_line_error):
    single = tmp_path / "single"
    write_images(single, 3, classes=("cats",))
    loose = tmp_path / "loose"
    write_images(loose, 4, classes=("cats", "dogs"))
    write_images(loose, 1, seed=3)
    for root, says in ((single, "one class folder (cats)"), (loose, "sits directly in")):
        result = ganzoo_here("train", "cgan", "--data", str(root), "-o", str(tmp_path / f"run-{root.name}"),
                             "--set", "labels=folders", "--steps", "1")
        assert says in one_line_error(result)


def test_a_conditional_model_trained_on_class_folders_samples_by_class_name(tmp_path, run_ganzoo, one_line_error):
    root = tmp_path / "pets"
    write_images(root, 8, classes=("cats", "dogs"))
    run, model = tmp_path / "run", tmp_path / "model"
    common = ["--set", "g_width=4", "--set", "d_width=4", "--set", "latent_dim=8", "--set", "embed_dim=4",
              "--set", "image_size=32", "--set", "batch_size=4", "--set", "sample_every=100"]
    result = run_ganzoo(["train", "cgan", "--data", str(root), "-o", str(run), "--steps", "2",
                         "--set", "labels=folders", *common])
    assert result.returncode == 0, result.stderr
    assert run_ganzoo(["export", str(run), "-o", str(model)]).returncode == 0
    config = json.loads((model / "config.json").read_text())
    assert config["num_classes"] == 2 and config["dataset"]["class_names"] == ["cats", "dogs"]
    assert "1 `dogs`" in (model / "README.md").read_text()
    by_name, by_number = tmp_path / "dogs.png", tmp_path / "one.png"
    assert run_ganzoo(["sample", str(model), "--label", "dogs", "-n", "4", "-o", str(by_name)]).returncode == 0
    assert run_ganzoo(["sample", str(model), "--label", "1", "-n", "4", "-o", str(by_number)]).returncode == 0
    assert by_name.read_bytes() == by_number.read_bytes()
    error = one_line_error(run_ganzoo(["sample", str(model), "--label", "dgos", "-o", str(tmp_path / "x.png")]))
    assert "no class 'dgos'" in error and "did you mean 'dogs'" in error


def test_auto_streams_a_set_above_the_memory_budget(folder):
    assert isinstance(load_image_folder(folder, 32, DataOptions(memory_budget=1, cache=False)), StreamingImages)
    assert not isinstance(load_image_folder(folder, 32, DataOptions(cache=False)), StreamingImages)


def test_streamed_batches_are_the_in_memory_ones_in_the_same_order(folder):
    memory = load_image_folder(folder, 32, DataOptions(cache=False, labels="auto"))
    stream = load_image_folder(folder, 32, DataOptions(mode="stream", workers=1))
    assert stream.image_shape == memory.image_shape == (3, 32, 32) and len(stream) == 12
    batches = ShuffledBatches(len(memory), 5, seed=3)
    stream.follow(batches)
    for _ in range(6):  # past an epoch's end
        indices = batches.next()
        assert torch.equal(stream.batch(indices, torch.device("cpu"))["image"],
                           memory.batch(indices, torch.device("cpu"))["image"])
    assert torch.equal(stream.subset(torch.tensor([2, 7])).images, memory.images[[2, 7]])


def test_a_streamed_run_trains_and_resumes_exactly_as_an_in_memory_one(folder, tmp_path):
    from tests.test_resume import assert_same_checkpoint

    settings = {**TINY_DCGAN, "steps": 4, "hflip": True}
    start_run("dcgan", folder, tmp_path / "memory", progress=False, settings={**settings, "data_mode": "memory"}).fit()
    streamed = tmp_path / "stream"
    start_run("dcgan", folder, streamed, progress=False,
              settings={**settings, "steps": 2, "data_mode": "stream", "data_workers": 1}).fit()
    resume_run(streamed, steps=4, progress=False).fit()
    assert_same_checkpoint(streamed / "checkpoints" / "step_00000004",
                           tmp_path / "memory" / "checkpoints" / "step_00000004")
    unflipped = tmp_path / "unflipped"
    start_run("dcgan", folder, unflipped, progress=False, settings={**settings, "hflip": False}).fit()
    a = torch.load(unflipped / "checkpoints" / "step_00000004" / "trainer.pt", weights_only=True)
    b = torch.load(streamed / "checkpoints" / "step_00000004" / "trainer.pt", weights_only=True)
    assert a["batches"] == b["batches"]  # the same order; only the flips differ ...
    from safetensors.torch import load_file

    wa = load_file(unflipped / "checkpoints" / "step_00000004" / "model.safetensors")
    wb = load_file(streamed / "checkpoints" / "step_00000004" / "model.safetensors")
    assert any(not torch.equal(wa[k], wb[k]) for k in wa)  # ... and they reach the weights


def test_hflip_refuses_paired_batches(tmp_path):
    write_images(tmp_path / "hr", 4)
    with pytest.raises(GanzooError, match="hflip mirrors single images; .* lr"):
        start_run("srgan", tmp_path / "hr", tmp_path / "run", progress=False,
                  settings={"steps": 1, "batch_size": 2, "blocks": 1, "width": 4, "d_width": 2, "hr_crop": 16,
                            "hflip": True}).fit()


# -- Hugging Face datasets -----------------------------------------------------------------------


def saved_dataset(root: Path, *, with_image: bool = True) -> Path:
    datasets = pytest.importorskip("datasets")
    rng = np.random.default_rng(0)
    pictures = [Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)) for _ in range(8)]
    columns = {"kind": [i % 2 for i in range(8)]}
    features = {"kind": datasets.ClassLabel(names=["left", "right"])}
    if with_image:
        columns["picture"], features["picture"] = pictures, datasets.Image()
    else:
        columns["caption"], features["caption"] = [f"row {i}" for i in range(8)], datasets.Value("string")
    table = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
    datasets.DatasetDict({"train": table}).save_to_disk(str(root))
    return root


def test_a_saved_hugging_face_dataset_trains_a_conditional_model(tmp_path, run_ganzoo):
    root = saved_dataset(tmp_path / "saved")
    dataset = load_dataset(root, image_size=32)
    assert dataset.reader == "hf-saved" and dataset.images.shape == (8, 3, 32, 32)
    assert dataset.labels.tolist() == [0, 1] * 4 and dataset.class_names == ["left", "right"]
    run = tmp_path / "run"
    result = run_ganzoo(["train", "cgan", "--data", str(root), "-o", str(run), "--steps", "2",
                         "--set", "g_width=4", "--set", "d_width=4", "--set", "latent_dim=8", "--set", "embed_dim=4",
                         "--set", "image_size=32", "--set", "batch_size=4", "--set", "sample_every=100"])
    assert result.returncode == 0, result.stderr
    record = json.loads((run / "run.json").read_text())
    assert record["data"]["reader"] == "hf-saved" and record["data"]["card"]["class_names"] == ["left", "right"]


def test_hugging_face_inputs_that_cannot_be_read_are_one_line(tmp_path, run_ganzoo, one_line_error):
    pytest.importorskip("datasets")
    no_image = saved_dataset(tmp_path / "captions", with_image=False)
    error = one_line_error(run_ganzoo(["train", "dcgan", "--data", str(no_image), "-o", str(tmp_path / "a"),
                                       "--steps", "1"]))
    assert "no image column" in error and "image_column" in error
    error = one_line_error(run_ganzoo(["train", "dcgan", "--data", "hf:nobody/no-such-set", "-o",
                                       str(tmp_path / "b"), "--steps", "1"], env={"HF_HUB_OFFLINE": "1"}))
    assert "nobody/no-such-set" in error and "cache" in error
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_hub_dataset_is_named_by_its_id_for_the_card():
    datasets = pytest.importorskip("datasets")
    from ganzoo.card import render_card
    from ganzoo.data.hf import parse_ref, read_table

    assert parse_ref("hf:someone/faces:test") == ("someone/faces", "test")
    with pytest.raises(DataError, match="hf:ORG/NAME"):
        parse_ref("hf:/abs/path")
    rng = np.random.default_rng(1)
    table = datasets.Dataset.from_dict(
        {"image": [Image.fromarray(rng.integers(0, 256, (16, 16), dtype=np.uint8)) for _ in range(4)]},
        features=datasets.Features({"image": datasets.Image()}))
    dataset = read_table(table, "someone/faces", "test", 16, DataOptions(cache=False), hf_id="someone/faces")
    assert dataset.images.shape == (4, 1, 16, 16) and dataset.labels is None  # grey, unlabelled
    assert dataset.path == "hf:someone/faces:test" and dataset.card["hf_id"] == "someone/faces"
    card = render_card("faces", {"architecture": "dcgan", "config": {}, "image_shape": [1, 16, 16], "latent_dim": 8,
                                 "num_classes": None, "training": {}, "dataset": {"name": "someone/faces", **dataset.card}})
    assert "- someone/faces" in card.split("---")[1]
