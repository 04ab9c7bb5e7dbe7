"""``ganzoo export MODEL --format onnx|torchscript|exported-program``: every bundled model exports
to ONNX and runs in onnxruntime like PyTorch at another batch (and, for image-to-image models,
another size) than it was traced with; TorchScript and ExportedProgram for one model of each
kind; a failed or refused export leaves nothing behind."""

from __future__ import annotations


import numpy as np
import onnxruntime
import pytest
import torch

from ganzoo.deploy import export_generator
from ganzoo.hub import load_pretrained
from ganzoo.plugins import get_zoo

BUNDLED = sorted(e.name for e in get_zoo().pretrained if e.bundled is not None)


def _inputs(generator, batch: int):
    rng = torch.Generator().manual_seed(7)
    if generator.latent_dim is None:
        c = generator.image_shape[0]
        m = generator.spatial_multiple
        return {"images": torch.rand(batch, c, 5 * m * 2, 3 * m * 4, generator=rng) * 2 - 1}
    feed = {"z": torch.randn(batch, generator.latent_dim, generator=rng)}
    if generator.num_classes is not None:
        feed["labels"] = torch.arange(batch) % generator.num_classes
    return feed


@pytest.mark.parametrize("name", BUNDLED)
def test_every_bundled_model_runs_in_onnxruntime_like_pytorch(name, tmp_path):
    generator = load_pretrained(name)
    info = export_generator(generator, tmp_path / f"{name}.onnx", "onnx")
    assert info.opset == 18 and info.max_abs_diff < 1e-3
    feed = _inputs(generator, 5)
    assert tuple(feed) == info.inputs
    session = onnxruntime.InferenceSession(str(info.path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(info.inputs)
    assert [o.name for o in session.get_outputs()] == list(info.outputs)
    got = session.run(None, {k: v.numpy() for k, v in feed.items()})[0]
    with torch.no_grad():
        expected = generator(*feed.values()).numpy()
    assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-3


@pytest.mark.parametrize("fmt, suffix", [("torchscript", ".pt"), ("exported-program", ".pt2")])
@pytest.mark.parametrize("name", ["cgan-mnist", "cyclegan-summer2winter"])
def test_torchscript_and_exported_program(name, fmt, suffix, tmp_path):
    generator = load_pretrained(name)
    options = {"direction": "b2a"} if name.startswith("cyclegan") else {}
    info = export_generator(generator, tmp_path / f"m{suffix}", fmt, options=options)
    loaded = torch.jit.load(str(info.path)) if fmt == "torchscript" else torch.export.load(str(info.path)).module()
    feed = _inputs(generator, 4)
    with torch.no_grad():
        expected = generator(*feed.values(), **options)
        assert torch.allclose(loaded(*feed.values()), expected, atol=1e-5)


def test_cli_export_and_its_refusals(ganzoo_here, one_line_error, tmp_path):
    made = ganzoo_here("export", "mlp-mnist", "--format", "onnx", "-o", "g.onnx")
    assert made.returncode == 0 and "inputs z -> images" in made.stdout, made.stderr
    before = (tmp_path / "g.onnx").read_bytes()
    assert "exists; pass --overwrite" in one_line_error(
        ganzoo_here("export", "mlp-mnist", "--format", "onnx", "-o", "g.onnx"))
    assert "should end in .pt2" in one_line_error(
        ganzoo_here("export", "mlp-mnist", "--format", "exported-program", "-o", "g.onnx", "--overwrite"))
    assert (tmp_path / "g.onnx").read_bytes() == before
    assert "'tflite' is not one of" in one_line_error(
        ganzoo_here("export", "mlp-mnist", "--format", "tflite", "-o", "g.tflite"))
    assert "--option is for image-to-image models" in one_line_error(
        ganzoo_here("export", "mlp-mnist", "--format", "torchscript", "-o", "g.pt", "--option", "direction=a2b"))
    assert "is not a training run folder" in one_line_error(ganzoo_here("export", "mlp-mnist", "-o", "x"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.onnx"]  # no temporary file left
