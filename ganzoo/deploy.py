"""Export a generator for deployment: ONNX, TorchScript or a ``torch.export`` ExportedProgram
(``ganzoo export MODEL --format FORMAT -o FILE``), verified against PyTorch before it is kept.

Every format takes and gives float32 tensors in ganzoo's value range [-1, 1]:

- noise-to-image models: input ``z`` (N, latent_dim) and, when conditional, ``labels`` (N,)
  int64; output ``images`` (N, C, H, W);
- image-to-image models: input ``images`` (N, C, h, w), output ``translated``; the batch and the
  spatial size are dynamic (spatial sizes a multiple of ``spatial_multiple``), and two-way
  translators export one ``direction``.

The batch is dynamic in every format. The file is written to a temporary name, run on a batch
of another size than the one it was traced with, compared with the PyTorch model (ONNX through
onnxruntime on the CPU), and renamed into place only when it matches within ``TOLERANCE``.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.errors import GanzooError

FORMATS = {"onnx": ".onnx", "torchscript": ".pt", "exported-program": ".pt2"}
NOISE_INPUTS, CONDITIONAL_INPUTS, NOISE_OUTPUTS = ("z",), ("z", "labels"), ("images",)
TRANSLATOR_INPUTS, TRANSLATOR_OUTPUTS = ("images",), ("translated",)  # ONNX names must differ
OPSET = 18
TOLERANCE = 1e-3
"""Largest absolute difference from PyTorch accepted, on images in [-1, 1]."""


@dataclass(frozen=True)
class ExportInfo:
    path: Path
    format: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    max_abs_diff: float
    seconds_pytorch: float
    seconds_exported: float
    opset: int | None

    def describe(self) -> str:
        opset = f", opset {self.opset}" if self.opset else ""
        return (f"{self.format}{opset}: inputs {', '.join(self.inputs)} -> {', '.join(self.outputs)}; "
                f"max |exported - PyTorch| = {self.max_abs_diff:.2e} on a batch of {VERIFY_BATCH} "
                f"(traced with {TRACE_BATCH})")


TRACE_BATCH, VERIFY_BATCH = 2, 3


class _Sampler(nn.Module):
    """z (and labels) -> images: the generator's forward as the exported graph's signature."""

    def __init__(self, generator: nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.generator(z) if labels is None else self.generator(z, labels)


class _Translator(nn.Module):
    def __init__(self, generator: nn.Module, options: dict[str, Any]) -> None:
        super().__init__()
        self.generator = generator
        self.options = dict(options)

    def forward(self, images: Tensor) -> Tensor:
        return self.generator(images, **self.options)


def _example(generator: Any, batch: int, seed: int, grow: int = 0) -> tuple[Tensor, ...]:
    """Inputs for a batch of ``batch``; a translator's images are half its training size, plus
    ``grow`` times its spatial multiple (a check at another size than the trace's)."""
    rng = torch.Generator().manual_seed(seed)
    if generator.latent_dim is None:
        c, h, w = generator.image_shape
        multiple = getattr(generator, "spatial_multiple", 1)
        h, w = (max(2 * multiple, (s // 2) // multiple * multiple) + grow * multiple for s in (h, w))
        return (torch.rand(batch, c, h, w + multiple, generator=rng) * 2 - 1,)
    z = torch.randn(batch, generator.latent_dim, generator=rng)
    if generator.num_classes is None:
        return (z,)
    return z, torch.randint(generator.num_classes, (batch,), generator=rng)


def _names(generator: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if generator.latent_dim is None:
        return TRANSLATOR_INPUTS, TRANSLATOR_OUTPUTS
    return (NOISE_INPUTS if generator.num_classes is None else CONDITIONAL_INPUTS), NOISE_OUTPUTS


def _dynamic_shapes(generator: Any) -> tuple[dict[int, Any], ...]:
    batch = torch.export.Dim("batch", min=1, max=4096)
    if generator.latent_dim is not None:
        return ({0: batch},) if generator.num_classes is None else ({0: batch}, {0: batch})
    multiple = getattr(generator, "spatial_multiple", 1)
    height, width = torch.export.Dim("height", min=1, max=4096), torch.export.Dim("width", min=1, max=4096)
    if multiple > 1:
        return ({0: batch, 2: multiple * height, 3: multiple * width},)
    return ({0: batch, 2: height, 3: width},)


def export_generator(generator: Any, path: str | Path, fmt: str, *, options: dict[str, Any] | None = None,
                     overwrite: bool = False) -> ExportInfo:
    """Write ``generator`` (in eval mode, float32, on the CPU) to ``path`` as ``fmt`` and verify
    it (see the module). ``options`` are a translator's forward options (e.g. direction)."""
    if fmt not in FORMATS:
        raise GanzooError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    if path.suffix != FORMATS[fmt]:
        raise GanzooError(f"-o {path} should end in {FORMATS[fmt]} for {fmt}")
    if path.exists() and not overwrite:
        raise GanzooError(f"{path} exists; pass --overwrite to replace it (once the new file is verified)")
    if not path.parent.is_dir():
        raise GanzooError(f"the folder of -o {path} does not exist; create it first")
    if options and generator.latent_dim is not None:
        raise GanzooError("--option is for image-to-image models; a noise model's export takes z (and labels)")
    generator = generator.float().cpu().eval()
    module = (_Translator(generator, options or {}) if generator.latent_dim is None else _Sampler(generator)).eval()
    inputs, outputs = _names(generator)
    example = _example(generator, TRACE_BATCH, seed=0)
    check = _example(generator, VERIFY_BATCH, seed=1, grow=2)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        with torch.no_grad():
            _write(module, example, tmp, fmt, inputs, outputs, _dynamic_shapes(generator))
            start = time.perf_counter()
            expected = module(*check)
            seconds_pytorch = time.perf_counter() - start
            got, seconds_exported = _run(tmp, fmt, check, inputs)
        if got.shape != expected.shape:
            raise GanzooError(f"the {fmt} export gives shape {tuple(got.shape)} where PyTorch gives "
                              f"{tuple(expected.shape)}; it was not kept")
        diff = float((got - expected).abs().max())
        if not diff <= TOLERANCE:
            raise GanzooError(f"the {fmt} export differs from PyTorch by up to {diff:.3g} (over {TOLERANCE}); "
                              "it was not kept")
        os.replace(tmp, path)
    except GanzooError:
        raise
    except Exception as exc:  # noqa: BLE001 - an exporter's failure, in one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise GanzooError(f"exporting to {fmt} failed: {type(exc).__name__}: {first}") from None
    finally:
        tmp.unlink(missing_ok=True)
    return ExportInfo(path, fmt, inputs, outputs, diff, seconds_pytorch, seconds_exported,
                      OPSET if fmt == "onnx" else None)


def _write(module: nn.Module, example: tuple[Tensor, ...], path: Path, fmt: str, inputs: tuple[str, ...],
           outputs: tuple[str, ...], dynamic: tuple[dict[int, Any], ...]) -> None:
    shapes = dict(zip(inputs, dynamic))
    if fmt == "torchscript":
        torch.jit.save(torch.jit.trace(module, example), str(path))
    elif fmt == "exported-program":
        program = torch.export.export(module, example, dynamic_shapes=shapes)
        torch.export.save(program, str(path))
    else:
        quiet = io.StringIO()
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            torch.onnx.export(module, example, str(path), dynamo=True, input_names=list(inputs),
                              output_names=list(outputs), dynamic_shapes=shapes, opset_version=OPSET,
                              external_data=False)


def _run(path: Path, fmt: str, check: tuple[Tensor, ...], inputs: tuple[str, ...]) -> tuple[Tensor, float]:
    """The exported file run on ``check``: its output and the seconds it took."""
    if fmt == "onnx":
        try:
            import onnxruntime
        except ImportError:
            raise GanzooError("verifying an ONNX export needs onnxruntime: pip install 'ganzoo[onnx]'") from None
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feed = {name: tensor.numpy() for name, tensor in zip(inputs, check)}
        start = time.perf_counter()
        out = session.run(None, feed)[0]
        return torch.from_numpy(out), time.perf_counter() - start
    loaded = torch.jit.load(str(path)) if fmt == "torchscript" else torch.export.load(str(path)).module()
    start = time.perf_counter()
    out = loaded(*check)
    return out, time.perf_counter() - start
