"""Evaluate a generator against a reference dataset with registered metrics, writing every
figure beside the protocol it was measured with.

``evaluate(model, data, ["swd", "ms-ssim"])`` loads the model (a pretrained name, a
directory or a training run), reads the reference data at the model's resolution, draws the
images each metric's protocol asks for (once, seeded) and runs the metrics. With
``model=None`` it measures the floor of each metric instead: two disjoint random halves of
the reference data against each other.
"""

from __future__ import annotations

import datetime
import inspect
import warnings
from pathlib import Path
from typing import Any, Sequence

import torch
from tqdm.auto import tqdm

from ganzoo import __version__
from ganzoo.data.dataset import ImageDataset, load_dataset
from ganzoo.data.options import DataOptions
from ganzoo.errors import DataError, GanzooError
from ganzoo.pixels import to_unsigned
from ganzoo.metrics.base import (
    Metric, MetricResult, ModelMetric, ProtocolChanged, check_shapes, limit,
)

GENERATION_BATCH = 250
MIN_REFERENCE = 2
"""Real images a comparing metric needs at the least: one image is no distribution."""


def build_metric(name: str, **options: Any) -> Metric:
    """The registered metric ``name``, given those of ``options`` its constructor accepts
    (e.g. ``inception_weights`` reaches FID, KID and IS only); None means its default."""
    from ganzoo.plugins import get_zoo

    metric_class = get_zoo().metrics.get(name).load()
    accepted = inspect.signature(metric_class).parameters
    return metric_class(**{k: v for k, v in options.items() if v is not None and k in accepted})


def lower_is_better(name: str) -> bool:
    """Whether a smaller value of the registered metric ``name`` is a better model."""
    from ganzoo.plugins import get_zoo

    return get_zoo().metrics.get(name).load().lower_is_better


@torch.no_grad()
def generate_dataset(generator, n: int, *, seed: int = 0, batch_size: int = GENERATION_BATCH,
                     progress: bool = False, name: str = "generated") -> ImageDataset:
    """``n`` uint8 images from a noise-to-image generator. A conditional one gets labels that
    cover its classes evenly (``i % classes``) in a seeded random order. The latent noise comes
    from one stream seeded by ``seed``, so the same seed gives the same images."""
    if generator.latent_dim is None:
        raise GanzooError(f"{name}: the generator translates images; evaluate it with its plugin's own metrics")
    if n < 1:
        raise GanzooError(f"need at least one image to generate, got n={n}")
    rng = torch.Generator().manual_seed(seed)
    labels = None
    if generator.num_classes is not None:
        labels = (torch.arange(n) % generator.num_classes)[torch.randperm(n, generator=rng)]
    chunks = []
    with tqdm(total=n, desc="generate", unit="img", disable=not progress, leave=False) as bar:
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            z = generator.sample_latent(count, generator=rng, device=torch.device("cpu"))
            batch_labels = None if labels is None else labels[start:start + count]
            chunks.append(to_unsigned(generator.generate(count, z=z, labels=batch_labels)).cpu())
            bar.update(count)
    return ImageDataset(torch.cat(chunks).contiguous(), labels, generator.num_classes, name)


def split_halves(dataset: ImageDataset, seed: int) -> tuple[ImageDataset, ImageDataset]:
    """Two disjoint halves of ``dataset`` in a random order seeded by ``seed``."""
    if len(dataset) < 2 * MIN_REFERENCE:
        raise DataError(f"{dataset.path or dataset.name} has {len(dataset)} images; real-vs-real needs at least "
                        f"{2 * MIN_REFERENCE}")
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    half = len(dataset) // 2

    def part(indices: torch.Tensor, which: str) -> ImageDataset:
        labels = None if dataset.labels is None else dataset.labels[indices]
        return ImageDataset(dataset.images[indices], labels, dataset.num_classes, f"{dataset.name} ({which} half)",
                            dataset.path, dataset.card, dataset.reader)

    return part(order[:half], "first"), part(order[half:2 * half], "second")


def _run_metric(metric: Metric, real: ImageDataset | None, fake: ImageDataset, n: int, *, seed: int,
                device: str, progress: bool, fake_side: str) -> tuple[MetricResult, list[str]]:
    """Run ``metric`` on the first ``n`` images of each side; ProtocolChanged warnings are
    collected (and returned) so they travel with the figure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ProtocolChanged)
        if n < metric.default_n:
            warnings.warn(f"{metric.name}: the protocol uses {metric.default_n:,} images a side; measuring on "
                          f"{n:,} (--n), so the figure is not comparable with published ones", ProtocolChanged)
        fake_part = limit(fake, n, metric.name, fake_side)
        real_part = None if real is None else limit(real, n, metric.name, "real")
        result = metric.compute(real_part, fake_part, seed=seed, device=device, progress=progress)
    notes = []
    for warning in caught:
        if issubclass(warning.category, ProtocolChanged):
            notes.append(str(warning.message))
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return result, notes


def evaluate(model: str | Path | None, data: str | Path, metrics: Sequence[str], *, n: int | None = None,
             seed: int = 0, device: str = "cpu", split: str | None = None, dataset_name: str | None = None,
             metric_options: dict[str, Any] | None = None, hub_options=None,
             progress: bool = False, fake_dir: str | Path | None = None, cache: bool = True) -> dict[str, Any]:
    """Evaluate ``model`` (None: real-vs-real), or the generated images in ``fake_dir`` (a folder
    ``ganzoo sample --out-dir`` wrote, or any folder of images), on reference ``data``.

    ``n`` is the number of images a side for every metric (default: each metric's protocol);
    ``split`` the reference split (default: "test" when the reader has splits, so labelled
    metrics such as TSTR test on held-out images). Returns the report that ``ganzoo eval``
    writes as JSON: one entry per metric with its value, details, protocol and the warnings
    that say how the protocol had to change. ``cache``: read an image folder through the
    decoded cache (``ganzoo.data.cache``).
    """
    from ganzoo.devices import resolve_device

    if not metrics:
        raise GanzooError("no metrics chosen; name at least one (see `ganzoo list`)")
    if n is not None and n < 2:
        raise GanzooError(f"--n must be at least 2, got {n}")
    built = [build_metric(name, **(metric_options or {})) for name in dict.fromkeys(metrics)]
    torch_device = resolve_device(device)
    for metric in built:
        metric.prepare(torch_device)
    generator = None
    folder = None
    if fake_dir is not None:
        from ganzoo.sampling import read_folder

        if model is not None:
            raise GanzooError("give a MODEL or --fake-dir, not both")
        folder = read_folder(fake_dir)
        for metric in built:
            if metric.needs_labels and folder.labels is None:
                raise GanzooError(f"{metric.name} needs labelled images, and {fake_dir} has no labels.csv; "
                                  "drop that metric")
    if model is not None:
        from ganzoo.hub import load_pretrained

        generator = load_pretrained(model, device=str(torch_device), options=hub_options)
        for metric in built:
            if metric.needs_labels and generator.num_classes is None:
                raise GanzooError(f"{metric.name} needs a class-conditional model, and {model} is not one; "
                                  "drop that metric")
    if generator is not None and generator.latent_dim is None:
        return _evaluate_translator(generator, model, data, built, n=n, seed=seed, device=torch_device,
                                    progress=progress)
    for metric in built:
        if isinstance(metric, ModelMetric):
            raise GanzooError(f"{metric.name} measures image-to-image models; "
                              f"{model or fake_dir or 'real-vs-real'} is not one")
    size = generator.image_shape[1] if generator is not None else folder.image_shape[1] if folder else None
    if split is None:
        split = _default_split(Path(data), dataset_name)
    real = load_dataset(data, dataset_name, image_size=size, split=split,
                        options=DataOptions(cache=cache, mode="memory", progress=progress))
    counts = {metric.name: n or metric.default_n for metric in built}
    comparing = [m.name for m in built if m.needs_real]
    measured = generator is not None or folder is not None
    if measured and comparing and len(real) < MIN_REFERENCE:
        raise DataError(f"{data} holds {len(real)} image{'s' if len(real) != 1 else ''}; {', '.join(comparing)} compares the model's images with a "
                        f"set of real ones and needs at least {MIN_REFERENCE} (real-vs-real: {2 * MIN_REFERENCE})")
    if folder is not None:
        check_shapes(real.image_shape, folder.image_shape, "eval", real.name or str(data), str(fake_dir))
        fake, reference, fake_side = folder, real, "generated"
    elif generator is not None:
        check_shapes(real.image_shape, tuple(generator.image_shape), "eval", real.name or str(data), str(model))
        fake = generate_dataset(generator, max(counts.values()), seed=seed, progress=progress,
                                name=f"{model} samples")
        reference, fake_side = real, "generated"
    else:
        reference, fake = split_halves(real, seed)
        fake_side = "second-half"
    results = []
    for metric in built:
        result, notes = _run_metric(metric, reference if metric.needs_real or measured else None,
                                    fake, counts[metric.name], seed=seed, device=str(torch_device),
                                    progress=progress, fake_side=fake_side)
        entry = result.to_dict()
        entry["protocol"] = {**entry["protocol"], "seed": seed, "resolution": list(fake.image_shape),
                             "data": str(data), "split": real.card.get("split", "all images"),
                             "real_vs_real": not measured}
        entry["warnings"] = notes
        results.append(entry)
    reference = {"path": str(data), "reader": real.reader, "split": real.card.get("split", "all images"),
                 "images": len(real), "resolution": list(real.image_shape),
                 "real_vs_real": None if measured else
                 f"two disjoint random halves of {len(fake)} images (seed {seed})"}
    report = _report(generator, model, reference, results, seed=seed, device=torch_device)
    if folder is not None:
        report["model"] = {"name": str(fake_dir), "source": f"{len(folder)} images in {fake_dir}",
                           "architecture": None, "image_shape": list(folder.image_shape), "notes": []}
    return report


def _report(generator, model, reference: dict[str, Any], results: list[dict[str, Any]], *, seed: int,
            device: torch.device) -> dict[str, Any]:
    """The report ``ganzoo eval`` writes: versions, date, device, model, reference, results."""
    from ganzoo.hardware import hardware_name

    return {
        "ganzoo": __version__,
        "torch": str(torch.__version__),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "device": hardware_name(device),
        "model": None if generator is None else {
            "name": str(model), "source": generator.source.describe(),
            "architecture": generator.pretrained_config.get("architecture"),
            "image_shape": list(generator.image_shape), "notes": list(generator.source.notes)},
        "reference": reference,
        "seed": seed,
        "results": results,
    }


def _evaluate_translator(generator, model, data, metrics: list[Metric], *, n: int | None, seed: int,
                         device: torch.device, progress: bool) -> dict[str, Any]:
    """Image-to-image models: each metric runs the generator on its own reference data."""
    results = []
    for metric in metrics:
        if not isinstance(metric, ModelMetric):
            raise GanzooError(f"{metric.name} measures samples from noise; {model} translates images, "
                              "so use its own metrics (see `ganzoo list`)")
        result = metric.evaluate_model(generator, str(data), n=n, seed=seed, device=str(device), progress=progress)
        entry = result.to_dict()
        entry["protocol"] = {**entry["protocol"], "seed": seed, "data": str(data)}
        entry["warnings"] = []
        results.append(entry)
    first = results[0]["protocol"]
    reference = {"path": str(data), "reader": "", "split": first.get("split", "all images"),
                 "images": first.get("images", 0), "resolution": None, "real_vs_real": None}
    return _report(generator, model, reference, results, seed=seed, device=device)


def _default_split(path: Path, dataset_name: str | None) -> str | None:
    """"test" for readers that have splits (held-out data), None otherwise."""
    from ganzoo.plugins import get_zoo

    datasets = get_zoo().datasets
    if dataset_name is not None:
        entry = datasets.get(dataset_name)
    else:
        entry = next((e for e in datasets if e.detect is not None and path.exists() and e.detect(path)), None)
    if entry is None:
        return None
    return "test" if "split" in inspect.signature(entry.load()).parameters else None
