"""Images to a folder: ``ganzoo sample MODEL -n N --out-dir DIR`` (``write_folder``), and the
folder read back as a set of generated images (``read_folder``, for ``ganzoo eval --fake-dir``).

Image ``i`` is drawn from its own seed, ``seed + i``, so a set does not depend on the batch size
and a resumed folder is the folder an uninterrupted run makes: files that exist are kept (each
was written atomically, so each is complete), the missing ones are made. A conditional model
draws ``--label`` or the classes in turn (image ``i`` of class ``i % classes``), recorded in
labels.csv; the latents used are kept in latents.npy. ``samples.json`` records the model, seed,
format and truncation; a folder of another model, seed or truncation is refused rather than mixed. The ``npz`` format writes one ``samples.npz`` instead
(``arr_0``: uint8 N, H, W, C, the layout of the common FID evaluators; ``labels`` if any).
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ganzoo.errors import DataError, GanzooError
from ganzoo.fileio import atomic_write_text
from ganzoo.latents import describe_truncation, draw_each, write_latents
from ganzoo.pixels import to_unsigned

FOLDER_FORMATS = ("png", "jpg", "webp", "npz")
MANIFEST, LABELS, NPZ, LATENTS = "samples.json", "labels.csv", "samples.npz", "latents.npy"
BATCH = 256


@dataclass(frozen=True)
class FolderResult:
    path: Path
    written: int
    kept: int
    labels: bool


def file_name(i: int, n: int, fmt: str) -> str:
    return f"{i:0{max(6, len(str(n - 1)))}d}.{fmt}"


def folder_labels(generator: Any, n: int, label: int | None) -> list[int] | None:
    """Image ``i``'s class: ``label``, or ``i % classes``; None for an unconditional model."""
    classes = generator.num_classes
    if classes is None:
        if label is not None:
            raise GanzooError("the model is not conditional; drop --label")
        return None
    if label is not None and not 0 <= label < classes:
        raise GanzooError(f"label {label} is out of range: the model has classes 0 to {classes - 1}")
    return [label if label is not None else i % classes for i in range(n)]


def _check_folder(out_dir: Path, manifest: dict[str, Any]) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise GanzooError(f"--out-dir {out_dir} is a file; give a folder (new, or one this command filled before)")
    existing = out_dir / MANIFEST
    if existing.is_file():
        try:
            before = json.loads(existing.read_text())
        except json.JSONDecodeError:
            before = {}
        changed = [k for k in ("model", "seed", "format", "label", "image_shape", "truncation", "latents_from")
                   if before.get(k, manifest[k] if k in ("truncation", "latents_from") else None) != manifest[k]]
        if changed:
            raise GanzooError(f"{out_dir} holds samples made with another {', '.join(changed)} ({MANIFEST}); "
                              "choose another --out-dir, or the same settings to complete it")


def write_folder(generator: Any, out_dir: str | Path, n: int, *, model: str, seed: int = 0, fmt: str = "png",
                 label: int | None = None, truncation: float | None = None, latents: torch.Tensor | None = None,
                 batch_size: int = BATCH, progress: bool = False) -> FolderResult:
    """Write ``n`` images of the noise-to-image ``generator`` into ``out_dir`` (see the module),
    with the ``truncation`` trick or from given ``latents`` (then n is their number), and the
    latents used in latents.npy."""
    if generator.latent_dim is None:
        raise GanzooError(f"{model} translates images; --out-dir is for models that sample from noise "
                          "(translate a folder with --input FOLDER -o FOLDER)")
    if fmt not in FOLDER_FORMATS:
        raise GanzooError(f"unknown --format {fmt!r}; choose one of {', '.join(FOLDER_FORMATS)}")
    if n < 1:
        raise GanzooError(f"-n must be at least 1, got {n}")
    out_dir = Path(out_dir)
    if latents is not None:
        n = len(latents)
    labels = folder_labels(generator, n, label)
    manifest = {"model": model, "source": generator.source.describe() if hasattr(generator, "source") else model,
                "n": n, "seed": seed, "format": fmt, "label": label, "image_shape": list(generator.image_shape),
                "truncation": describe_truncation(truncation), "latents": LATENTS,
                "latents_from": "a latents file" if latents is not None else "seeds",
                "naming": f"image i is {file_name(0, n, fmt)} ... from seed {seed} + i" if fmt != "npz" else
                          f"{NPZ}: arr_0 uint8 (N, H, W, C), image i from seed {seed} + i",
                "labels": LABELS if labels is not None else None}
    _check_folder(out_dir, manifest)
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / MANIFEST, json.dumps(manifest, indent=2) + "\n")
    z_all = latents if latents is not None else draw_each(generator, range(n), seed, truncation)
    if latents is not None and (out_dir / LATENTS).is_file():
        previous = np.load(out_dir / LATENTS, allow_pickle=False)
        if previous.shape != tuple(z_all.shape) or not np.array_equal(previous, z_all.numpy()):
            raise GanzooError(f"{out_dir} holds samples of other latents ({LATENTS}); choose another --out-dir")
    write_latents(z_all, out_dir / LATENTS)
    if fmt == "npz":
        return _write_npz(generator, out_dir, n, z_all, labels, batch_size, progress)
    if labels is not None:
        rows = io.StringIO()
        writer = csv.writer(rows)
        writer.writerow(["file", "label"])
        writer.writerows((file_name(i, n, fmt), labels[i]) for i in range(n))
        atomic_write_text(out_dir / LABELS, rows.getvalue())
    missing = [i for i in range(n) if not (out_dir / file_name(i, n, fmt)).is_file()]
    from ganzoo.images import save_image

    with tqdm(total=n, initial=n - len(missing), desc="sample", unit="img", disable=not progress) as bar:
        for start in range(0, len(missing), batch_size):
            chunk = missing[start:start + batch_size]
            images = _generate(generator, z_all[chunk], chunk, labels)
            for i, image in zip(chunk, images):
                save_image(image, out_dir / file_name(i, n, fmt))
            bar.update(len(chunk))
    return FolderResult(out_dir, len(missing), n - len(missing), labels is not None)


def _generate(generator: Any, z: torch.Tensor, indices: list[int], labels: list[int] | None) -> torch.Tensor:
    """uint8 images of latents ``z`` (images ``indices``)."""
    batch_labels = None if labels is None else torch.tensor([labels[i] for i in indices])
    return to_unsigned(generator.generate(len(indices), z=z, labels=batch_labels)).cpu()


def _write_npz(generator: Any, out_dir: Path, n: int, z_all: torch.Tensor, labels: list[int] | None,
               batch_size: int, progress: bool) -> FolderResult:
    target = out_dir / NPZ
    if target.is_file():
        return FolderResult(out_dir, 0, n, labels is not None)
    chunks = []
    with tqdm(total=n, desc="sample", unit="img", disable=not progress) as bar:
        for start in range(0, n, batch_size):
            indices = list(range(start, min(n, start + batch_size)))
            chunks.append(_generate(generator, z_all[indices], indices, labels).permute(0, 2, 3, 1).numpy())
            bar.update(len(indices))
    arrays = {"arr_0": np.concatenate(chunks)}
    if labels is not None:
        arrays["labels"] = np.asarray(labels, dtype=np.int64)
    tmp = target.with_name(f".{NPZ}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            np.savez(handle, **arrays)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return FolderResult(out_dir, n, 0, labels is not None)


def read_folder(path: str | Path):
    """A folder of generated images (one file per image, or a ``samples.npz``) as an
    ``ImageDataset`` at the images' own size, with labels from labels.csv (or the npz) if any."""
    from ganzoo.data.dataset import ImageDataset
    from ganzoo.data.folder import image_files
    from ganzoo.images import read_image

    root = Path(path)
    if not root.is_dir():
        raise DataError(f"--fake-dir {root} is not a folder of images")
    if (root / NPZ).is_file():
        with np.load(root / NPZ, allow_pickle=False) as archive:
            if "arr_0" not in archive or archive["arr_0"].ndim != 4 or archive["arr_0"].dtype != np.uint8:
                raise DataError(f"{root / NPZ} has no uint8 arr_0 of shape (N, H, W, C)")
            images = torch.from_numpy(archive["arr_0"]).permute(0, 3, 1, 2).contiguous()
            labels = torch.from_numpy(archive["labels"]) if "labels" in archive else None
    else:
        files = image_files(root)
        if not files:
            raise DataError(f"no images found under --fake-dir {root}")
        loaded = [read_image(file) for file in files]
        shapes = {tuple(image.shape) for image in loaded}
        if len(shapes) > 1:
            raise DataError(f"the images under {root} differ in size or channels ({', '.join(map(str, sorted(shapes)))}); "
                            "a generated set has one shape")
        images = torch.stack(loaded)
        labels = _read_labels(root / LABELS, [file.relative_to(root).as_posix() for file in files])
    classes = int(labels.max()) + 1 if labels is not None else None
    manifest = root / MANIFEST
    model = json.loads(manifest.read_text()).get("model", "") if manifest.is_file() else ""
    return ImageDataset(images, labels, classes, f"{root} ({model})" if model else str(root), str(root),
                        {"split": "generated"}, "fake-dir")


def _read_labels(path: Path, names: list[str]) -> torch.Tensor | None:
    if not path.is_file():
        return None
    with open(path, newline="") as handle:
        by_name = {row["file"]: int(row["label"]) for row in csv.DictReader(handle)}
    missing = [name for name in names if name not in by_name]
    if missing:
        raise DataError(f"{path} gives no label for {missing[0]} ({len(missing)} files); "
                        "remove labels.csv or complete it")
    return torch.tensor([by_name[name] for name in names])
