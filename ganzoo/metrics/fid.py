"""FID, KID and the Inception score on the FID InceptionV3 (``ganzoo.metrics.inception``).

* FID (Heusel et al. 2017): the Fréchet distance between Gaussians fitted (float64) to the
  pool3 features of the real and generated images, as pytorch-fid.
* KID (Binkowski et al. 2018): the unbiased MMD^2 with the cubic polynomial kernel
  k(x, y) = (x.y / d + 1)^3 on pool3 features, averaged over ``subsets`` random subsets of
  ``subset_size`` images per side; ``details["std"]`` is the spread over subsets. Subsets are
  drawn as torch-fidelity draws them (``numpy.random.RandomState(seed).choice(n, size,
  replace=False)``, real then generated, per subset); the kernels are computed in float64
  (torch-fidelity: float32). Unbiased, so it can be slightly negative for equal distributions.
* IS (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))) in ``splits`` splits, mean and
  (population) std over splits, as torch-fidelity: the images are shuffled with
  ``RandomState(seed).permutation``, the softmax is over all 1008 outputs of the network, and
  the logits are ``pool3 @ fc.weight.T`` without the fc bias (torch-fidelity's
  ``logits_unbiased``, which is what the original OpenAI code read from the TensorFlow graph,
  ``softmax/logits/MatMul``). The 8 extra classes of the TF graph are unused background/dummy
  outputs; keeping them in the softmax is what the published numbers did.

Features are computed once per ``compute`` (the same set given as both sides is read once)
and never cached across calls.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import torch
from torch import Tensor

from ganzoo.data.dataset import ImageDataset
from ganzoo.errors import DataError
from ganzoo.metrics.base import Metric, MetricResult, ProtocolChanged, check_comparable
from ganzoo.metrics.frechet import frechet_distance, gaussian_stats
from ganzoo.metrics.inception import (EXTRACTOR_NAME, FEATURE_DIM, NUM_CLASSES, RESIZE, FIDInceptionV3, extract,
                                      load_fid_inception)

KID_KERNEL = "polynomial (x.y/d + 1)^3, d = 2048"


# ---------------------------------------------------------------- the mathematics, on features

def fid_from_features(real: Tensor, fake: Tensor) -> tuple[float, dict[str, float]]:
    """FID of two (N, D) feature sets and its parts: the squared distance of the means and the
    covariance term (the rest)."""
    mu1, s1 = gaussian_stats(real)
    mu2, s2 = gaussian_stats(fake)
    value = frechet_distance(mu1, s1, mu2, s2)
    mean_term = float((mu1 - mu2) @ (mu1 - mu2))
    return value, {"mean_term": mean_term, "covariance_term": value - mean_term}


def polynomial_mmd2_unbiased(x: Tensor, y: Tensor) -> float:
    """Unbiased MMD^2 of two equal-sized samples under k(a, b) = (a.b / d + 1)^3 (float64)."""
    x, y = x.to(torch.float64), y.to(torch.float64)
    m, d = x.shape
    if len(y) != m or m < 2:
        raise ValueError(f"need two samples of the same size >= 2, got {len(x)} and {len(y)}")
    k_xx = (x @ x.T / d + 1) ** 3
    k_yy = (y @ y.T / d + 1) ** 3
    k_xy = (x @ y.T / d + 1) ** 3
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2 * k_xy.sum() / (m * m))


def kid_from_features(real: Tensor, fake: Tensor, subsets: int = 100, subset_size: int = 1000,
                      seed: int = 0) -> tuple[float, float]:
    """KID (mean, std over subsets) as torch-fidelity draws its subsets, but in float64."""
    n1, n2 = len(real), len(fake)
    if subset_size > min(n1, n2):
        raise ValueError(f"subset_size {subset_size} is larger than the sets ({n1} and {n2} features)")
    if n1 == n2 == subset_size:  # every subset is the whole of both sets, reordered: one value
        value = polynomial_mmd2_unbiased(real, fake)
        return value, 0.0
    rng = np.random.RandomState(seed)
    values = np.zeros(subsets)
    for i in range(subsets):
        a = torch.from_numpy(rng.choice(n1, subset_size, replace=False)).to(real.device)
        b = torch.from_numpy(rng.choice(n2, subset_size, replace=False)).to(fake.device)
        values[i] = polynomial_mmd2_unbiased(real[a], fake[b])
    return float(values.mean()), float(values.std())


def inception_score(logits: Tensor, splits: int = 10, seed: int | None = 0) -> tuple[float, float, list[float]]:
    """IS (mean, population std, per-split scores) from (N, K) logits, as torch-fidelity: the
    rows are shuffled with ``RandomState(seed).permutation`` (no shuffle when ``seed`` is None),
    split at ``i * N // splits``, and each split scores exp(mean KL(p(y|x) || mean p(y)))."""
    n = len(logits)
    if not 1 <= splits <= n:
        raise ValueError(f"need 1 <= splits <= N, got {splits} splits of {n} images")
    logits = logits.to(torch.float64)
    if seed is not None:
        logits = logits[torch.from_numpy(np.random.RandomState(seed).permutation(n)).to(logits.device)]
    p = logits.softmax(dim=1)
    log_p = logits.log_softmax(dim=1)
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_chunk, log_p_chunk = p[lo:hi], log_p[lo:hi]
        q = p_chunk.mean(dim=0, keepdim=True)
        kl = (p_chunk * (log_p_chunk - q.log())).nan_to_num(0.0)  # 0 log 0 = 0
        scores.append(float(kl.sum(dim=1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores)), scores


# ---------------------------------------------------------------- the metrics, on images

class _InceptionMetric(Metric):
    """Shared by FID, KID and IS: the network, feature extraction and the common protocol."""

    def __init__(self, inception_weights: str | None = None, batch_size: int = 50) -> None:
        self.inception_weights = inception_weights
        self.batch_size = batch_size

    def prepare(self, device: str | torch.device = "cpu") -> None:
        self._network(device)

    def _network(self, device: str | torch.device) -> FIDInceptionV3:
        """The network, loaded once per device."""
        key = str(device)
        if getattr(self, "_loaded", (None, None))[0] != key:
            self._loaded = (key, load_fid_inception(self.inception_weights, device))
        return self._loaded[1]

    def _features(self, model: FIDInceptionV3, datasets: dict[str, ImageDataset], device: str | torch.device,
                  progress: bool) -> dict[str, tuple[Tensor, Tensor]]:
        """(features, logits) per side; a dataset given for two sides is read once."""
        out: dict[str, tuple[Tensor, Tensor]] = {}
        seen: dict[int, tuple[Tensor, Tensor]] = {}
        for side, dataset in datasets.items():
            key = id(dataset.images)
            if key not in seen:
                seen[key] = extract(dataset.images, model, self.batch_size, device, progress,
                                    desc=f"{self.name} {side}")
            out[side] = seen[key]
        return out

    def _protocol(self, model: FIDInceptionV3, n_real: int, n_fake: int, **own) -> dict:
        return {"n_real": n_real, "n_fake": n_fake, "feature_extractor": EXTRACTOR_NAME,
                "inception_weights": model.weights_id, "resize": RESIZE, "feature_dim": FEATURE_DIM,
                "batch_size": self.batch_size, **own}

    def _check_two_sides(self, real: ImageDataset | None, fake: ImageDataset) -> ImageDataset:
        if real is None:
            raise DataError(f"{self.name} needs a real dataset; pass one to evaluate against")
        check_comparable(real, fake, self.name)
        if min(len(real), len(fake)) < 2:
            raise DataError(f"{self.name} needs at least 2 images per side (got {len(real)} real, "
                            f"{len(fake)} generated); evaluate on more images")
        return real


class FID(_InceptionMetric):
    """Fréchet Inception distance (pytorch-fid's network, preprocessing and statistics)."""

    name = "fid"
    title = "FID (Fréchet Inception distance)"
    lower_is_better = True
    needs_real = True
    default_n = 10_000

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        real = self._check_two_sides(real, fake)
        model = self._network(device)
        feats = self._features(model, {"real": real, "fake": fake}, device, progress)
        value, details = fid_from_features(feats["real"][0], feats["fake"][0])
        protocol = self._protocol(model, len(real), len(fake), statistics="float64 mean and unbiased covariance",
                                  reference="pytorch-fid (Heusel et al. 2017)")
        return MetricResult(self.name, self.title, value, self.lower_is_better, protocol, details,
                            time.perf_counter() - start)


class KID(_InceptionMetric):
    """Kernel Inception distance: unbiased polynomial-kernel MMD^2 over random subsets."""

    name = "kid"
    title = "KID (kernel Inception distance)"
    lower_is_better = True
    needs_real = True
    default_n = 10_000

    def __init__(self, inception_weights: str | None = None, subsets: int = 100, subset_size: int = 1000,
                 batch_size: int = 50) -> None:
        super().__init__(inception_weights, batch_size)
        if subsets < 1 or subset_size < 2:
            raise ValueError(f"kid needs subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}")
        self.subsets, self.subset_size = subsets, subset_size

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        real = self._check_two_sides(real, fake)
        size = self.subset_size
        smallest = min(len(real), len(fake))
        if smallest < size:
            warnings.warn(f"kid: the protocol draws subsets of {size} images per side but only {smallest} "
                          f"{'real' if len(real) == smallest else 'generated'} images are given; using subsets "
                          f"of {smallest} (the figure is not comparable with published ones)",
                          ProtocolChanged, stacklevel=2)
            size = smallest
        model = self._network(device)
        feats = self._features(model, {"real": real, "fake": fake}, device, progress)
        mean, std = kid_from_features(feats["real"][0].to(device), feats["fake"][0].to(device),
                                      self.subsets, size, seed)
        protocol = self._protocol(model, len(real), len(fake), subsets=self.subsets, subset_size=size,
                                  subset_size_requested=self.subset_size, kernel=KID_KERNEL,
                                  estimator="unbiased MMD^2", seed=seed,
                                  reference="Binkowski et al. 2018; subsets drawn as torch-fidelity")
        return MetricResult(self.name, self.title, mean, self.lower_is_better, protocol, {"std": std},
                            time.perf_counter() - start)


class InceptionScore(_InceptionMetric):
    """Inception score of the generated images (torch-fidelity's protocol)."""

    name = "is"
    title = "Inception score"
    lower_is_better = False
    needs_real = False
    default_n = 10_000

    def __init__(self, inception_weights: str | None = None, splits: int = 10, batch_size: int = 50) -> None:
        super().__init__(inception_weights, batch_size)
        if splits < 1:
            raise ValueError(f"is needs splits >= 1, got {splits}")
        self.splits = splits

    def compute(self, real: ImageDataset | None, fake: ImageDataset, *, seed: int = 0,
                device: str | torch.device = "cpu", progress: bool = False) -> MetricResult:
        start = time.perf_counter()
        splits = self.splits
        if len(fake) < splits:
            warnings.warn(f"is: the protocol uses {splits} splits but only {len(fake)} generated images are "
                          f"given; using {len(fake)} splits of one image (the figure is not comparable with "
                          "published ones)", ProtocolChanged, stacklevel=2)
            splits = len(fake)
        model = self._network(device)
        _, logits = self._features(model, {"fake": fake}, device, progress)["fake"]
        unbiased = logits - model.fc.bias.detach().to("cpu", torch.float64)
        mean, std, scores = inception_score(unbiased, splits, seed)
        protocol = self._protocol(model, 0, len(fake), splits=splits, classes=NUM_CLASSES,
                                  logits="pool3 @ fc.weight.T without the fc bias (torch-fidelity's logits_unbiased)",
                                  shuffle_seed=seed, reference="Salimans et al. 2016; torch-fidelity's protocol")
        return MetricResult(self.name, self.title, mean, self.lower_is_better, protocol,
                            {"std": std, "split_scores": scores}, time.perf_counter() - start)
