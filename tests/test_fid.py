"""FID, KID and IS: the mathematics on synthetic features, and the FID InceptionV3 (architecture,
preprocessing, weight loading and its errors) with random-init weights, since the pretrained
file is not available to the tests. Inception forwards (299x299) are slow on a CPU, so the
network runs on a few tiny batches only."""

from __future__ import annotations

import hashlib
import math
import warnings

import pytest
import torch

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import ArtifactError, DataError
from ganzoo.metrics import fid as fidmod
from ganzoo.metrics import inception
from ganzoo.metrics.base import ProtocolChanged
from ganzoo.metrics.fid import (FID, KID, InceptionScore, fid_from_features, inception_score, kid_from_features,
                                polynomial_mmd2_unbiased)
from ganzoo.metrics.frechet import frechet_distance
from ganzoo.metrics.inception import (RANDOM_INIT, WEIGHTS_NAME, WEIGHTS_URL, FIDInceptionV3, load_fid_inception)


def gaussian(n: int, d: int, seed: int, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * std + mean


# ------------------------------------------------------------------------------- FID mathematics

def test_fid_of_a_set_with_itself_is_zero():
    x = gaussian(500, 32, 0, std=3.0)
    value, parts = fid_from_features(x, x)
    assert abs(value) < 1e-6
    assert parts["mean_term"] == 0.0


def test_fid_gaussian_closed_form():
    d, m, s = 8, 0.5, 2.0
    expected = m**2 * d + d * (1 - s) ** 2  # |mu|^2 + tr(I + s^2 I - 2 s I)
    exact = frechet_distance(torch.zeros(d), torch.eye(d), torch.full((d,), m), s**2 * torch.eye(d))
    assert exact == pytest.approx(expected, rel=1e-12)
    sampled, parts = fid_from_features(gaussian(20_000, d, 1), gaussian(20_000, d, 2, mean=m, std=s))
    assert sampled == pytest.approx(expected, rel=0.03)
    assert parts["mean_term"] == pytest.approx(m**2 * d, rel=0.1)
    assert parts["mean_term"] + parts["covariance_term"] == pytest.approx(sampled)


def test_fid_is_symmetric():
    a, b = gaussian(300, 16, 3), gaussian(300, 16, 4, mean=0.2, std=1.5)
    assert fid_from_features(a, b)[0] == pytest.approx(fid_from_features(b, a)[0], rel=1e-10)


def test_fid_of_one_gaussian_is_positive_and_shrinks_with_n():
    d = 16
    values = [fid_from_features(gaussian(n, d, 10 + n), gaussian(n, d, 20 + n))[0] for n in (100, 1_000, 10_000)]
    assert values[0] > values[1] > values[2] > 0
    assert values[0] > 5 * values[2]  # the bias is O(d^2 / n)


# ------------------------------------------------------------------------------- KID mathematics

def test_kid_estimator_is_the_unbiased_mmd():
    x, y = gaussian(5, 3, 5), gaussian(5, 3, 6, mean=0.5)
    k = lambda a, b: (float(a @ b) / 3 + 1) ** 3  # noqa: E731
    m = len(x)
    within = sum(k(x[i], x[j]) + k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    between = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert polynomial_mmd2_unbiased(x, y) == pytest.approx(within - 2 * between, rel=1e-12)


def test_kid_near_zero_for_one_distribution_and_positive_for_shifted_ones():
    d = 16
    real, same, shifted = gaussian(1_000, d, 7), gaussian(1_000, d, 8), gaussian(1_000, d, 9, mean=0.5)
    kid_same, std_same = kid_from_features(real, same, subsets=20, subset_size=200, seed=0)
    kid_shift, std_shift = kid_from_features(real, shifted, subsets=20, subset_size=200, seed=0)
    assert kid_shift > 0.1 and kid_shift > 10 * std_shift
    assert abs(kid_same) < 0.02 * kid_shift and abs(kid_same) < 3 * std_same
    assert std_same > 0


def test_kid_is_seeded():
    a, b = gaussian(400, 8, 11), gaussian(400, 8, 12, mean=0.1)
    assert kid_from_features(a, b, 10, 100, seed=5) == kid_from_features(a, b, 10, 100, seed=5)
    assert kid_from_features(a, b, 10, 100, seed=5) != kid_from_features(a, b, 10, 100, seed=6)


def test_kid_refuses_subsets_larger_than_the_sets():
    with pytest.raises(ValueError, match="subset_size"):
        kid_from_features(gaussian(10, 4, 0), gaussian(20, 4, 1), 5, 15)


# ------------------------------------------------------------------------------- IS mathematics

def test_inception_score_of_identical_predictions_is_one():
    logits = torch.randn(1008).repeat(40, 1)
    mean, std, scores = inception_score(logits, splits=4, seed=0)
    assert mean == pytest.approx(1.0, abs=1e-12) and std == pytest.approx(0.0, abs=1e-12)
    assert len(scores) == 4


def test_inception_score_of_k_confident_equally_used_classes_is_k():
    k, per_split, splits = 5, 20, 10
    labels = torch.arange(k).repeat(per_split * splits // k)  # every split of 20 holds each class 4 times
    logits = torch.full((len(labels), 1008), -50.0)
    logits[torch.arange(len(labels)), labels * 7] = 50.0
    mean, std, _ = inception_score(logits, splits=splits, seed=None)
    assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0.0, abs=1e-9)
    assert inception_score(logits, splits=1, seed=3)[0] == pytest.approx(k, rel=1e-9)  # order-free in one split
    assert inception_score(logits, splits=10, seed=3)[0] < k  # shuffled splits use classes unevenly


# ------------------------------------------------------------------------------- the network

PYTORCH_FID_PARAMETERS = 23_850_960
"""pytorch-fid's ``fid_inception_v3()``: trainable parameters (torchvision Inception3 with 1008
classes, no aux head). Its state dict has 566 entries (parameters and batch-norm buffers)."""

PUBLISHED_SHAPES = {
    "Conv2d_1a_3x3.conv.weight": (32, 3, 3, 3),
    "Conv2d_1a_3x3.bn.running_mean": (32,),
    "Conv2d_2b_3x3.conv.weight": (64, 32, 3, 3),
    "Conv2d_4a_3x3.conv.weight": (192, 80, 3, 3),
    "Mixed_5b.branch_pool.conv.weight": (32, 192, 1, 1),
    "Mixed_5d.branch5x5_2.conv.weight": (64, 48, 5, 5),
    "Mixed_6a.branch3x3.conv.weight": (384, 288, 3, 3),
    "Mixed_6b.branch7x7_2.conv.weight": (128, 128, 1, 7),
    "Mixed_6e.branch7x7dbl_5.conv.weight": (192, 192, 1, 7),
    "Mixed_7a.branch3x3_2.conv.weight": (320, 192, 3, 3),
    "Mixed_7b.branch3x3dbl_1.conv.weight": (448, 1280, 1, 1),
    "Mixed_7c.branch3x3_2b.conv.weight": (384, 384, 3, 1),
    "Mixed_7c.branch_pool.bn.running_var": (192,),
    "fc.weight": (1008, 2048),
    "fc.bias": (1008,),
}


def images(n: int, c: int, size: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, c, size, size), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


@pytest.fixture(scope="module")
def net() -> FIDInceptionV3:
    return load_fid_inception("random", "cpu")


@pytest.fixture(scope="module")
def grey_outputs(net):
    grey = images(2, 1, 32, 0)
    return grey, net(grey)


@pytest.fixture(scope="module")
def saved(net, tmp_path_factory) -> tuple:
    path = tmp_path_factory.mktemp("weights") / "random-inception.pth"
    torch.save(net.state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_architecture_is_pytorch_fids_fid_inception(net):
    state = net.state_dict()
    assert sum(p.numel() for p in net.parameters()) == PYTORCH_FID_PARAMETERS
    assert len(state) == 566
    for key, shape in PUBLISHED_SHAPES.items():
        assert tuple(state[key].shape) == shape, key
    assert not any(key.startswith("AuxLogits") for key in state)
    assert all(m.eps == 1e-3 for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    # the TensorFlow quirks: average pools exclude the padding; the last block max-pools
    assert torch.equal(inception._avg_pool_no_pad(torch.ones(1, 1, 5, 5)), torch.ones(1, 1, 5, 5))
    assert (net.Mixed_7b.pool, net.Mixed_7c.pool) == ("avg", "max")
    assert not net.training and not any(p.requires_grad for p in net.parameters())
    assert net.weights_id == RANDOM_INIT


def test_preprocessing_resizes_to_299_in_minus_one_to_one_and_repeats_grey():
    grey = images(2, 1, 28, 1)
    x = FIDInceptionV3.preprocess(grey)
    assert x.shape == (2, 3, 299, 299) and x.dtype == torch.float32
    assert x.min() >= -1 and x.max() <= 1
    assert torch.equal(x, FIDInceptionV3.preprocess(grey.repeat(1, 3, 1, 1)))
    full = torch.full((1, 3, 299, 299), 255, dtype=torch.uint8)
    assert torch.equal(FIDInceptionV3.preprocess(full), torch.ones(1, 3, 299, 299))  # no resampling at 299
    with pytest.raises(ValueError, match="uint8"):
        FIDInceptionV3.preprocess(grey.float())


def test_forward_gives_pool3_features_and_1008_logits(net, grey_outputs):
    _, (features, logits) = grey_outputs
    assert features.shape == (2, 2048) and logits.shape == (2, 1008)
    assert (features >= 0).all() and torch.isfinite(logits).all()  # pool3 averages ReLUs
    assert torch.allclose(logits, features @ net.fc.weight.T + net.fc.bias)
    rgb_features, rgb_logits = net(images(2, 3, 64, 2))
    assert rgb_features.shape == (2, 2048) and rgb_logits.shape == (2, 1008)


def test_saved_state_dict_reloads_to_the_same_features(saved, grey_outputs):
    path, digest = saved
    grey, (features, logits) = grey_outputs
    model = load_fid_inception(path, "cpu", sha256_prefix=digest[:8])
    assert model.weights_id == digest
    reloaded_features, reloaded_logits = inception.extract(grey, model, batch_size=2, device="cpu")
    assert reloaded_features.dtype == reloaded_logits.dtype == torch.float64
    assert torch.equal(reloaded_features, features.double()) and torch.equal(reloaded_logits, logits.double())


def test_a_file_with_the_wrong_hash_is_refused(saved):
    path, digest = saved
    assert not digest.startswith("6726825d")
    with pytest.raises(ArtifactError) as info:
        load_fid_inception(path, "cpu")
    message = str(info.value)
    assert "\n" not in message and "6726825d" in message and str(path) in message


def test_pickled_objects_are_never_unpickled(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": torch.zeros(1), "payload": ProtocolChanged("x")}, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(ArtifactError) as info:
        load_fid_inception(path, "cpu", sha256_prefix=digest[:8])
    assert "\n" not in str(info.value)


def test_missing_weights_name_the_file_its_source_and_both_ways_to_give_it(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    for weights in (None, tmp_path / "nowhere.pth"):
        with pytest.raises(ArtifactError) as info:
            load_fid_inception(weights, "cpu")
        message = str(info.value)
        assert "\n" not in message
        for part in (WEIGHTS_NAME, WEIGHTS_URL, "--inception-weights", str(tmp_path / "hub" / "checkpoints")):
            assert part in message, (part, message)
    assert str(tmp_path / "nowhere.pth") in message


# ------------------------------------------------------------------------------- the metrics

@pytest.fixture(scope="module")
def results(net):
    """FID of a set with itself, and KID and IS of tiny sets, on random-init weights (the protocol
    asks for more images than given, so KID and IS warn). Features are extracted once per set."""
    real = ImageDataset(images(2, 1, 16, 3), name="real")
    fake = ImageDataset(images(2, 1, 16, 4) // 2, name="fake")
    calls = []
    original = fidmod.extract

    def counting_extract(batch, *args, **kwargs):
        calls.append(len(batch))
        return original(batch, *args, **kwargs)

    def shared_network(weights, device):  # one random-init network for the three metrics
        assert weights == "random"
        return net

    fidmod.extract, fidmod.load_fid_inception = counting_extract, shared_network
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = {
                "fid": FID(inception_weights="random").compute(real, real, seed=0),
                "kid": KID(inception_weights="random").compute(real, fake, seed=0),
                "is": InceptionScore(inception_weights="random").compute(None, fake, seed=0),
            }
    finally:
        fidmod.extract, fidmod.load_fid_inception = original, load_fid_inception
    return out, [w for w in caught if issubclass(w.category, ProtocolChanged)], calls


def test_metric_results_and_protocols(results):
    out, _, calls = results
    assert calls == [2, 2, 2, 2]  # fid: the same set once; kid: both sides; is: the generated side
    for name, result in out.items():
        p = result.protocol
        assert result.metric == name
        assert p["inception_weights"] == RANDOM_INIT  # never mistaken for a real FID
        assert p["feature_dim"] == 2048 and "299" in p["resize"] and "bilinear" in p["resize"]
        assert "Inception" in p["feature_extractor"] and p["n_fake"] == 2
    fid, kid, score = out["fid"], out["kid"], out["is"]
    assert fid.lower_is_better and kid.lower_is_better and not score.lower_is_better
    assert fid.value == pytest.approx(0.0, abs=1e-6) and fid.protocol["n_real"] == 2
    assert set(fid.details) == {"mean_term", "covariance_term"}
    assert kid.protocol["subset_size"] == 2 and kid.protocol["subset_size_requested"] == 1000
    assert kid.protocol["subsets"] == 100 and kid.details["std"] == 0.0 and math.isfinite(kid.value)
    assert score.protocol["splits"] == 2 and score.protocol["classes"] == 1008 and score.protocol["n_real"] == 0
    assert 1.0 <= score.value <= 2.0 and len(score.details["split_scores"]) == 2


def test_kid_and_is_warn_how_they_changed_the_protocol(results):
    _, caught, _ = results
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages
    assert any(m.startswith("kid:") and "subsets of 2" in m and "1000" in m for m in messages)
    assert any(m.startswith("is:") and "2 splits" in m for m in messages)


def test_metrics_refuse_incomparable_sets_before_loading_the_network():
    grey = ImageDataset(images(2, 1, 16, 5), name="grey")
    rgb = ImageDataset(images(2, 3, 16, 6), name="rgb")
    for metric in (FID(inception_weights="/nonexistent.pth"), KID(inception_weights="/nonexistent.pth")):
        with pytest.raises(DataError, match="grey"):
            metric.compute(grey, rgb)
    assert (FID.name, KID.name, InceptionScore.name) == ("fid", "kid", "is")
    assert not InceptionScore.needs_real and FID.needs_real and KID.needs_real
