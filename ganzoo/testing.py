"""Conformance checks for plugins, usable from a plugin's own pytest suite.

Each ``check_*`` function exercises a registered name through the same paths users take and
raises ``AssertionError`` saying which promise failed::

    from ganzoo.testing import check_architecture

    def test_mygan_conforms(tmp_path):
        check_architecture("mygan", settings={"width": 8}, workdir=tmp_path)

Everything runs on the CPU in seconds for a small model: pass ``settings`` that make it small.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch

__all__ = ["check_architecture", "check_loss", "check_metric", "check_pretrained", "check_listing_is_light"]

TRAIN_STEPS = 2
RESUMED_STEPS = 3
SYNTHETIC_IMAGES = 16


def _zoo():
    from ganzoo.plugins import get_zoo

    return get_zoo()


def check_listing_is_light() -> None:
    """Discovering every installed plugin (``ganzoo list``) imports no torch: hook modules
    register ``"module:attribute"`` strings and leave the heavy imports to use time."""
    code = ("import sys; from ganzoo.plugins import build_zoo; zoo = build_zoo(); "
            "print(sorted(m for m in ('torch', 'timm', 'numpy') if m in sys.modules)); "
            "print([p.name + ': ' + e for p in zoo.plugins for e in p.errors])")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, f"listing the plugins failed:\n{out.stderr}"
    heavy, errors = out.stdout.strip().splitlines()[-2:]
    assert heavy == "[]", f"listing the plugins imported {heavy}; import them inside the registered targets"
    assert errors == "[]", f"plugins failed to load: {errors}"


def _small_run_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"steps": TRAIN_STEPS, "batch_size": 4, "checkpoint_every": TRAIN_STEPS, "sample_every": TRAIN_STEPS,
            "log_every": 1, "preview_samples": 8, "device": "cpu", **settings}


def _check_images(images: torch.Tensor, shape: tuple[int, ...], what: str) -> None:
    assert tuple(images.shape) == shape, f"{what}: shape {tuple(images.shape)}, expected {shape}"
    assert images.dtype == torch.float32, f"{what}: dtype {images.dtype}, expected float32"
    assert torch.isfinite(images).all(), f"{what}: not finite"
    assert images.min() >= -1 and images.max() <= 1, f"{what}: values outside [-1, 1]"


def _check_generator(generator: Any, label: str) -> None:
    from ganzoo.interfaces import Generator

    assert isinstance(generator, Generator), f"{label}: {type(generator).__name__} is not a ganzoo Generator"
    shape = tuple(generator.image_shape)
    assert len(shape) == 3 and all(isinstance(d, int) and d > 0 for d in shape), \
        f"{label}: image_shape {shape} is not (C, H, W)"
    if generator.latent_dim is None:  # image to image: uint8 NCHW in and out
        images = torch.randint(0, 256, (2, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
        out = generator.translate(images)
        assert out.dtype == torch.uint8 and out.dim() == 4 and len(out) == 2, \
            f"{label}: translate must map uint8 NCHW images to uint8 NCHW images"
        assert torch.equal(out, generator.translate(images)), f"{label}: translate is not deterministic"
        return
    labels = None
    if generator.num_classes:
        from ganzoo.interfaces import class_rows

        labels = class_rows(generator.num_classes, generator.num_classes)
    n = len(labels) if labels is not None else 4
    first = generator.generate(n, seed=0, labels=labels)
    _check_images(first, (n, *shape), f"{label}: generate")
    assert torch.equal(first, generator.generate(n, seed=0, labels=labels)), \
        f"{label}: generate(seed=0) is not repeatable"
    assert not torch.equal(first, generator.generate(n, seed=1, labels=labels)), \
        f"{label}: generate ignores its seed"


def check_architecture(name: str, *, settings: Mapping[str, Any] | None = None, data: Any = None,
                       workdir: str | Path | None = None) -> Path:
    """Registration, types and shapes, seeded generation, a few training steps, resume, export and
    loading back, for the architecture ``name``.

    ``settings`` are ``--set`` values (make the model small); ``data`` is a data path the
    architecture reads, or None for its bench adapter's synthetic data. Returns the exported
    pretrained directory (under ``workdir``, default a temporary directory).
    """
    from ganzoo.bench.adapter import bench_adapter
    from ganzoo.engine import resume_run, start_run
    from ganzoo.engine.run import read_run, resolve_settings
    from ganzoo.hub import export_run, load_pretrained
    from ganzoo.interfaces import Architecture, Discriminator

    check_listing_is_light()
    entry = _zoo().architectures.get(name)
    cls = entry.load()  # a PluginError if it does not import or is not an Architecture
    assert issubclass(cls, Architecture)
    arch = cls()
    model_values, _ = resolve_settings(arch, _small_run_settings(settings or {}))
    config = arch.make_config(model_values)
    _check_generator(arch.build_generator(config).eval(), f"{name}: build_generator")
    discriminator = arch.build_discriminator(config)
    assert isinstance(discriminator, Discriminator), \
        f"{name}: build_discriminator returned {type(discriminator).__name__}, not a ganzoo Discriminator"

    workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix=f"ganzoo-check-{name}-"))
    run_dir = workdir / f"{name}-run"
    if data is None:
        data = bench_adapter(arch).make_data(config, SYNTHETIC_IMAGES, seed=0)
    trainer = start_run(name, data, run_dir, settings=_small_run_settings(settings or {}), progress=False)
    before = {k: v.clone() for k, v in trainer.recipe.generators.state_dict().items()}
    trainer.fit()
    after = trainer.recipe.generators.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if before[k].is_floating_point()), \
        f"{name}: {TRAIN_STEPS} training steps changed no generator parameter"
    for line in (run_dir / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        bad = [k for k, v in record.items() if isinstance(v, float) and not math.isfinite(v)]
        assert not bad, f"{name}: non-finite {bad} logged at step {record.get('step')}"
    resumed = resume_run(run_dir, steps=RESUMED_STEPS, data=data, progress=False)
    assert resumed.step == TRAIN_STEPS, f"{name}: resumed at step {resumed.step}, expected {TRAIN_STEPS}"
    resumed.fit()
    assert read_run(run_dir)["train_config"]["steps"] == RESUMED_STEPS

    exported = export_run(run_dir, workdir / f"{name}-exported")
    config_json = json.loads((exported / "config.json").read_text())
    assert config_json["architecture"] == name and config_json["plugin"]["name"] == entry.plugin
    assert (exported / "README.md").is_file() and (exported / "model.safetensors").is_file()
    _check_generator(load_pretrained(exported), f"{name}: the exported model")
    return exported


def check_loss(name: str) -> None:
    """The loss ``name`` imports as an ``AdversarialLoss``, takes ``label_smoothing``, and gives
    finite float32 scalars with gradients for both players, also from bf16 logits."""
    from ganzoo.interfaces import AdversarialLoss

    cls = _zoo().losses.get(name).load()
    assert issubclass(cls, AdversarialLoss)
    rng = torch.Generator().manual_seed(0)
    for loss in (cls(), cls(label_smoothing=0.1)):
        for dtype in (torch.float32, torch.bfloat16):
            real = (torch.randn(8, 1, generator=rng) * 3).to(dtype).requires_grad_()
            fake = (torch.randn(8, 1, generator=rng) * 3).to(dtype).requires_grad_()
            d = loss.d_loss(real, fake)
            g = loss.g_loss(fake, real.detach() if loss.uses_real_logits else None)
            for side, value in (("d_loss", d), ("g_loss", g)):
                assert value.dim() == 0, f"{name}: {side} is not a scalar"
                assert value.dtype == torch.float32, f"{name}: {side} of {dtype} logits is {value.dtype}"
                assert torch.isfinite(value), f"{name}: {side} is not finite"
            (d_real, d_fake) = torch.autograd.grad(d, (real, fake))
            (g_fake,) = torch.autograd.grad(g, (fake,))
            assert d_real.abs().sum() > 0 and d_fake.abs().sum() > 0, f"{name}: d_loss has no gradient"
            assert g_fake.abs().sum() > 0, f"{name}: g_loss has no gradient for the fakes"
    better = torch.full((8, 1), 3.0)  # the generator's loss falls as D rates the fakes higher
    worse = torch.full((8, 1), -3.0)
    reference = torch.zeros(8, 1)
    loss = cls()
    assert loss.g_loss(better, reference if loss.uses_real_logits else None) < \
        loss.g_loss(worse, reference if loss.uses_real_logits else None), \
        f"{name}: g_loss does not fall as the discriminator rates the fakes higher"


def check_metric(name: str) -> None:
    """The metric ``name`` imports as a ``Metric`` with its class attributes; sample metrics
    compute a finite figure with its protocol on small random images."""
    from ganzoo.data.dataset import ImageDataset
    from ganzoo.metrics.base import Metric, MetricResult, ModelMetric

    cls = _zoo().metrics.get(name).load()
    assert issubclass(cls, Metric)
    for attribute in ("name", "title"):
        assert isinstance(getattr(cls, attribute, None), str), f"{name}: {cls.__name__}.{attribute} is not set"
    assert isinstance(cls.default_n, int) and cls.default_n >= 0, f"{name}: default_n must be a count (0: all)"
    metric = cls()
    if issubclass(cls, ModelMetric) or cls.needs_labels:
        return  # these read their own data or a labelled model: covered by the family's tests
    rng = torch.Generator().manual_seed(0)

    def images(n: int) -> ImageDataset:
        return ImageDataset(torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=rng), name="random")

    metric.prepare("cpu")
    result = metric.compute(images(64) if cls.needs_real else None, images(64), seed=0)
    assert isinstance(result, MetricResult) and math.isfinite(result.value), f"{name}: {result}"
    assert result.lower_is_better == cls.lower_is_better and result.protocol, \
        f"{name}: the result must carry the metric's direction and its protocol"


def check_pretrained(name: str) -> None:
    """The pretrained model ``name`` names a registered architecture, loads (its sha256 checked
    wherever it comes from), has a model card, and generates as its architecture promises."""
    from ganzoo.hub import load_pretrained

    zoo = _zoo()
    entry = zoo.pretrained.get(name)
    assert entry.architecture in zoo.architectures, \
        f"{name}: architecture {entry.architecture!r} is not registered"
    if entry.bundled is not None:
        config = json.loads((entry.bundled / "config.json").read_text())
        assert config["architecture"] == entry.architecture, \
            f"{name}: config.json says {config['architecture']!r}, the registration {entry.architecture!r}"
        assert (entry.bundled / "README.md").is_file(), f"{name}: the bundled copy has no model card"
    _check_generator(load_pretrained(name), name)
