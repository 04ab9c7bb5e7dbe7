"""The bundled MNIST classifier and the metrics built on it: classifier score, classifier-FD and
train-on-synthetic-test-on-real (TSTR), on small real subsets so the module stays fast."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import ArtifactError, DataError
from ganzoo.metrics import classifier as C
from ganzoo.metrics.classifier_training import train_classifier
from ganzoo.metrics.classifier_metrics import TSTR, ClassifierFD, ClassifierScore


@pytest.fixture(scope="module")
def mnist_test(mnist_dir):
    from ganzoo.data.mnist import load_mnist

    return load_mnist(mnist_dir, "test")


def subset(dataset: ImageDataset, start: int, n: int, *, labels: bool = True) -> ImageDataset:
    images = dataset.images[start:start + n].clone()
    return ImageDataset(images, dataset.labels[start:start + n].clone() if labels else None,
                        dataset.num_classes if labels else None, dataset.name)


def test_bundled_classifier_loads_with_its_checksum():
    model = C.load_mnist_classifier()
    weights = C.WEIGHTS_DIR / f"{C.NAME}.safetensors"
    assert model.info["sha256"] == C.sha256_of(weights)
    assert not model.training
    assert model.info["architecture_version"] == C.ARCHITECTURE_VERSION
    for key in ("test_accuracy", "train_images", "epochs", "seed", "seconds", "torch", "hardware"):
        assert key in model.info


def test_corrupt_or_missing_classifier_is_refused(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(C.WEIGHTS_DIR, copy)
    weights = copy / f"{C.NAME}.safetensors"
    data = bytearray(weights.read_bytes())
    data[-100] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="sha256") as info:
        C.load_mnist_classifier(copy)
    assert "\n" not in str(info.value)

    # a truncated file whose JSON was updated to match: the checksum passes, the load does not
    weights.write_bytes(bytes(data[:1000]))
    facts = json.loads((copy / f"{C.NAME}.json").read_text())
    (copy / f"{C.NAME}.json").write_text(json.dumps({**facts, "sha256": C.sha256_of(weights)}))
    with pytest.raises(ArtifactError, match="cannot be loaded") as info:
        C.load_mnist_classifier(copy)
    assert "\n" not in str(info.value)

    weights.unlink()
    with pytest.raises(ArtifactError, match="missing"):
        C.load_mnist_classifier(copy)


def test_bundled_classifier_accuracy_on_real_test_images(mnist_test):
    model = C.load_mnist_classifier()
    assert C.accuracy(model, subset(mnist_test, 0, 2000)) >= 0.99
    # 32x32 (padded) input is centre-cropped back to the same 28x28 digits
    padded = torch.nn.functional.pad(mnist_test.images[:200], (2, 2, 2, 2))
    log28, feat28 = C.predict(model, mnist_test.images[:200])
    log32, feat32 = C.predict(model, padded)
    assert torch.equal(log28, log32) and torch.equal(feat28, feat32)
    assert feat28.shape == (200, C.FEATURE_DIM)


def test_classifier_score_real_is_high_and_one_image_is_one(mnist_test):
    real = subset(mnist_test, 0, 2000)
    result = ClassifierScore().compute(None, real)
    assert result.value > 9 and not result.lower_is_better
    assert result.protocol["splits"] == 10 and result.protocol["n_fake"] == 2000
    assert result.protocol["classifier_sha256"] == C.load_mnist_classifier().info["sha256"]
    assert result.details["std"] >= 0 and "real" not in result.details

    # images sorted by class (as a conditional model's usually are) are shuffled before splitting
    order = torch.argsort(real.labels, stable=True)
    by_class = ImageDataset(real.images[order], real.labels[order], 10, "sorted")
    assert ClassifierScore().compute(None, by_class).value == pytest.approx(result.value, rel=0.05)

    same = ImageDataset(mnist_test.images[:1].repeat(2000, 1, 1, 1), None, None, "one digit")
    with_real = ClassifierScore().compute(real, same)
    assert with_real.value == pytest.approx(1.0, abs=1e-9)
    assert with_real.details["real"] == pytest.approx(result.value, rel=1e-12)
    assert with_real.protocol["n_real"] == 2000


def test_classifier_fd_small_for_real_large_for_noise(mnist_train, mnist_test):
    train, test = subset(mnist_train, 0, 1000), subset(mnist_test, 0, 1000)
    metric = ClassifierFD()
    real_vs_real = metric.compute(train, test)
    assert real_vs_real.lower_is_better and real_vs_real.protocol["n_real"] == 1000
    noise = ImageDataset(torch.randint(0, 256, (1000, 1, 32, 32), dtype=torch.uint8,
                                       generator=torch.Generator().manual_seed(0)), name="noise")
    blank = ImageDataset(torch.zeros(1000, 1, 28, 28, dtype=torch.uint8), name="blank")
    for bad in (noise, blank):
        assert metric.compute(train, bad).value > 20 * real_vs_real.value
    # the same digits padded to 32x32 give the same distance
    padded = ImageDataset(torch.nn.functional.pad(test.images, (2, 2, 2, 2)), name="padded")
    assert metric.compute(train, padded).value == pytest.approx(real_vs_real.value, rel=1e-9)


def test_tstr_learns_from_real_labels_not_from_shuffled_ones(mnist_train, mnist_test):
    fake = subset(mnist_train, 0, 2000)
    real = subset(mnist_test, 0, 1000)
    metric = TSTR(epochs=1, batch_size=32)  # 62 steps: enough for batch norm's running statistics
    good = metric.compute(real, fake, seed=0)
    assert good.value > 0.6, good.value
    assert not good.lower_is_better
    assert good.details["train_on_real_accuracy"] >= 0.99
    assert good.details["train_on_real_protocol"]["train_images"] == 60_000
    assert good.protocol["epochs"] == 1 and good.protocol["n_fake"] == 2000 and good.protocol["n_real"] == 1000

    shuffled = subset(mnist_train, 0, 2000)
    shuffled.labels = shuffled.labels[torch.randperm(2000, generator=torch.Generator().manual_seed(1))]
    chance = metric.compute(real, shuffled, seed=0)
    assert chance.value < 0.3, chance.value


def test_tstr_same_seed_same_figure(mnist_train, mnist_test):
    fake, real = subset(mnist_train, 2000, 300), subset(mnist_test, 1000, 300)
    metric = TSTR(epochs=1, batch_size=64)
    first = metric.compute(real, fake, seed=3)
    assert metric.compute(real, fake, seed=3).value == first.value
    before = torch.random.get_rng_state()
    train_classifier(fake, epochs=1, seed=3, batch_size=64)
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is left alone


def test_bad_inputs_are_one_line_data_errors(mnist_test):
    real = subset(mnist_test, 0, 100)
    rgb = ImageDataset(torch.zeros(100, 3, 28, 28, dtype=torch.uint8), name="rgb")
    big = ImageDataset(torch.zeros(100, 1, 64, 64, dtype=torch.uint8), name="big")
    for metric in (ClassifierScore(), ClassifierFD()):
        for bad in (rgb, big):
            with pytest.raises(DataError, match="1-channel 28x28 or 32x32") as info:
                metric.compute(real, bad)
            assert "\n" not in str(info.value)
    with pytest.raises(DataError, match="1-channel"):
        ClassifierFD().compute(rgb, real)
    with pytest.raises(DataError, match="not conditional"):
        TSTR(epochs=1).compute(real, subset(mnist_test, 0, 100, labels=False))
    with pytest.raises(DataError, match="labelled real"):
        TSTR(epochs=1).compute(subset(mnist_test, 0, 100, labels=False), real)
    with pytest.raises(DataError, match="splits"):
        ClassifierScore().compute(None, subset(mnist_test, 0, 10))
