"""MNIST reading and validation, the in-memory dataset and the resumable batch sampler."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest
import torch

from ganzoo.data.dataset import ImageDataset, ShuffledBatches, load_dataset
from ganzoo.data.mnist import load_mnist
from ganzoo.errors import DataError, GanzooError

FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}



def mnist_copy(source: Path, tmp_path: Path, *, leave_out: tuple[str, ...] = ()) -> Path:
    """A private, writable copy of the MNIST directory (the shared one is read-only)."""
    out = tmp_path / "mnist"
    out.mkdir()
    for name in FILES.values():
        if name not in leave_out:
            shutil.copyfile(source / name, out / name)
            (out / name).chmod(0o644)
    return out


@pytest.fixture(scope="module")
def train_set(mnist_dir) -> ImageDataset:
    return load_mnist(mnist_dir, "train")


# -- reading real MNIST ---------------------------------------------------------------------------


def test_train_split_shape_dtype_and_labels(train_set):
    assert train_set.images.shape == (60000, 1, 28, 28)
    assert train_set.images.dtype == torch.uint8
    assert train_set.labels.shape == (60000,)
    assert train_set.labels.dtype == torch.int64
    assert sorted(train_set.labels.unique().tolist()) == list(range(10))
    assert train_set.num_classes == 10
    assert train_set.image_shape == (1, 28, 28)
    assert train_set.name == "mnist"
    assert train_set.card["split"] == "train"
    # real digits: dark background, bright strokes, the full byte range is used
    assert train_set.images.min() == 0 and train_set.images.max() == 255


def test_test_split(mnist_dir):
    test = load_mnist(mnist_dir, "test")
    assert test.images.shape == (10000, 1, 28, 28)
    assert test.labels.shape == (10000,)
    assert sorted(test.labels.unique().tolist()) == list(range(10))
    assert test.card["split"] == "test"


def test_load_dataset_detects_mnist(mnist_dir):
    dataset = load_dataset(mnist_dir)
    assert dataset.name == "mnist" and len(dataset) == 60000


def test_load_dataset_missing_path(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nope")


def test_load_dataset_unrecognised_directory(tmp_path):
    (tmp_path / "hello.txt").write_text("not images")
    with pytest.raises(DataError, match="no dataset reader recognises"):
        load_dataset(tmp_path)


def test_load_dataset_unknown_reader_name(mnist_dir):
    with pytest.raises(GanzooError, match="did you mean 'mnist'"):
        load_dataset(mnist_dir, "mnits")


# -- damaged MNIST directories --------------------------------------------------------------------


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_mnist(tmp_path / "missing")


def test_missing_file_is_named(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path, leave_out=(FILES["train_labels"],))
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz not found"):
        load_mnist(directory)


def test_uncompressed_files_are_read_too(mnist_dir, tmp_path):
    directory = tmp_path / "raw"
    directory.mkdir()
    for key in ("test_images", "test_labels"):
        name = FILES[key]
        (directory / name.removesuffix(".gz")).write_bytes(gzip.decompress((mnist_dir / name).read_bytes()))
    test = load_mnist(directory, "test")
    assert test.images.shape == (10000, 1, 28, 28)
    assert torch.equal(test.images, load_mnist(mnist_dir, "test").images)


def test_truncated_gzip(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path)
    path = directory / FILES["test_images"]
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="cannot read") as info:
        load_mnist(directory, "test")
    assert FILES["test_images"] in str(info.value)


def test_garbage_instead_of_gzip(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path)
    (directory / FILES["test_labels"]).write_bytes(b"this is not gzip at all" * 100)
    with pytest.raises(DataError, match=FILES["test_labels"]):
        load_mnist(directory, "test")


def test_truncated_payload_inside_valid_gzip(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path)
    path = directory / FILES["test_images"]
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-28 * 28 * 3], compresslevel=1))
    with pytest.raises(DataError, match="truncated or padded"):
        load_mnist(directory, "test")


def test_wrong_magic_labels_file_under_images_name(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path)
    shutil.copyfile(directory / FILES["test_labels"], directory / FILES["test_images"])
    with pytest.raises(DataError, match="bad magic number") as info:
        load_mnist(directory, "test")
    assert FILES["test_images"] in str(info.value)


def test_too_short_file(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path)
    (directory / FILES["test_labels"]).write_bytes(gzip.compress(b"\x00\x00"))
    with pytest.raises(DataError, match="too short"):
        load_mnist(directory, "test")


def test_image_and_label_counts_must_agree(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path)
    # a well-formed labels file for the test split, but with only 9999 labels
    raw = gzip.decompress((directory / FILES["test_labels"]).read_bytes())
    fewer = raw[:4] + (9999).to_bytes(4, "big") + raw[8 : 8 + 9999]
    (directory / FILES["test_labels"]).write_bytes(gzip.compress(fewer, compresslevel=1))
    with pytest.raises(DataError, match="10000 images but 9999 labels"):
        load_mnist(directory, "test")


def test_label_out_of_range(mnist_dir, tmp_path):
    directory = mnist_copy(mnist_dir, tmp_path)
    raw = bytearray(gzip.decompress((directory / FILES["test_labels"]).read_bytes()))
    raw[8 + 5] = 42
    (directory / FILES["test_labels"]).write_bytes(gzip.compress(bytes(raw), compresslevel=1))
    with pytest.raises(DataError, match="beyond 9"):
        load_mnist(directory, "test")


# -- ImageDataset ---------------------------------------------------------------------------------


def test_batch_is_float_in_minus_one_one(train_set):
    indices = torch.arange(0, 60000, 97)
    batch = train_set.batch(indices, torch.device("cpu"))
    image = batch["image"]
    assert image.dtype == torch.float32
    assert image.shape == (len(indices), 1, 28, 28)
    assert image.min().item() == -1.0 and image.max().item() == 1.0
    assert torch.equal(batch["label"], train_set.labels[indices])
    # the conversion is exact: uint8 v -> v / 127.5 - 1
    expected = train_set.images[indices].float() / 127.5 - 1.0
    assert torch.allclose(image, expected, atol=1e-6)
    # and it does not touch the stored uint8 images
    assert train_set.images.dtype == torch.uint8


def test_dataset_validation():
    with pytest.raises(DataError, match="uint8 NCHW"):
        ImageDataset(torch.zeros(4, 1, 8, 8))
    with pytest.raises(DataError, match="uint8 NCHW"):
        ImageDataset(torch.zeros(4, 8, 8, dtype=torch.uint8))
    with pytest.raises(DataError, match="no images"):
        ImageDataset(torch.zeros(0, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(DataError, match="4 images but 3 labels"):
        ImageDataset(torch.zeros(4, 1, 8, 8, dtype=torch.uint8), labels=torch.zeros(3, dtype=torch.long))


def test_unlabelled_batch_has_no_label():
    dataset = ImageDataset(torch.full((5, 3, 4, 4), 255, dtype=torch.uint8))
    batch = dataset.batch(torch.tensor([0, 2]), torch.device("cpu"))
    assert set(batch) == {"image"}
    assert torch.equal(batch["image"], torch.ones(2, 3, 4, 4))


# -- ShuffledBatches ------------------------------------------------------------------------------


def take(sampler: ShuffledBatches, n: int) -> list[list[int]]:
    return [sampler.next().tolist() for _ in range(n)]


@pytest.mark.parametrize("num_items", [100, 103])
def test_each_epoch_is_a_permutation(num_items):
    batch_size = 10
    per_epoch = num_items // batch_size
    sampler = ShuffledBatches(num_items, batch_size, seed=3)
    epochs = []
    for _ in range(4):
        indices = [i for b in take(sampler, per_epoch) for i in b]
        assert len(indices) == per_epoch * batch_size
        assert len(set(indices)) == len(indices), "an index repeats within an epoch"
        assert all(0 <= i < num_items for i in indices)
        if num_items % batch_size == 0:
            assert sorted(indices) == list(range(num_items))
        epochs.append(indices)
    assert sampler.epoch == 3
    assert len({tuple(e) for e in epochs}) == 4, "epochs should be shuffled differently"


def test_same_seed_same_order_other_seed_differs():
    a = take(ShuffledBatches(1000, 32, seed=7), 100)
    b = take(ShuffledBatches(1000, 32, seed=7), 100)
    c = take(ShuffledBatches(1000, 32, seed=8), 100)
    assert a == b
    assert a != c


def test_order_does_not_depend_on_global_rng():
    torch.manual_seed(1)
    a = take(ShuffledBatches(500, 50, seed=0), 25)
    torch.manual_seed(2)
    torch.rand(10)
    b = take(ShuffledBatches(500, 50, seed=0), 25)
    assert a == b


@pytest.mark.parametrize("consumed", [0, 1, 7, 10, 11, 23])
def test_state_dict_resumes_the_exact_sequence(consumed):
    reference = ShuffledBatches(103, 10, seed=5)
    expected = take(reference, consumed + 25)

    original = ShuffledBatches(103, 10, seed=5)
    take(original, consumed)
    state = original.state_dict()
    assert set(state) == {"epoch", "position"}
    assert all(isinstance(v, int) for v in state.values())

    resumed = ShuffledBatches(103, 10, seed=5)
    resumed.load_state_dict(dict(state))
    assert take(resumed, 25) == expected[consumed:]
    # the original goes on identically too (state_dict has no side effect)
    assert take(original, 25) == expected[consumed:]


def test_state_dict_survives_torch_save(tmp_path):
    sampler = ShuffledBatches(64, 8, seed=1)
    take(sampler, 11)
    torch.save({"batches": sampler.state_dict()}, tmp_path / "s.pt")
    state = torch.load(tmp_path / "s.pt", weights_only=True)["batches"]
    resumed = ShuffledBatches(64, 8, seed=1)
    resumed.load_state_dict(state)
    assert take(resumed, 10) == take(sampler, 10)


def test_batch_larger_than_dataset():
    with pytest.raises(DataError, match="larger than the dataset"):
        ShuffledBatches(10, 11, seed=0)
    sampler = ShuffledBatches(10, 10, seed=0)  # exactly the dataset is fine
    assert sorted(sampler.next().tolist()) == list(range(10))
    assert sorted(sampler.next().tolist()) == list(range(10))
