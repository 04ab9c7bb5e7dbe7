"""Hugging Face datasets: ``--data hf:ORG/NAME[:SPLIT]`` (the Hub, or its local cache when
offline) or a directory written by ``Dataset.save_to_disk``, read with the ``datasets`` library
(the optional extra ``ganzoo[datasets]``).

The image column is the first ``Image`` feature (or ``image_column``), the labels the first
``ClassLabel`` feature (or ``label_column``; ``labels="none"`` drops them). Images are
centre-cropped and resized as image folders are, once: the pixels go to the decoded cache,
keyed by the dataset's fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganzoo.data.dataset import HF_PREFIX, ImageDataset
from ganzoo.data.decode import CROP, square
from ganzoo.data.options import DataOptions
from ganzoo.errors import DataError

DEFAULT_SPLIT = "train"


def _datasets():
    try:
        import datasets
    except ImportError:
        raise DataError("reading Hugging Face datasets needs the datasets package: "
                        "pip install 'ganzoo[datasets]'") from None
    return datasets


def parse_ref(ref: str) -> tuple[str, str | None]:
    """``hf:ORG/NAME[:SPLIT]`` as (ORG/NAME, SPLIT or None)."""
    body = ref[len(HF_PREFIX):]
    name, _, split = body.partition(":")
    if not name or name.count("/") > 1 or name.startswith("/") or name.endswith("/"):
        raise DataError(f"--data {ref}: a Hugging Face dataset is hf:ORG/NAME or hf:ORG/NAME:SPLIT")
    return name, split or None


def open_hub_dataset(ref: str, split: str | None) -> tuple[Any, str, str]:
    """The split of a Hub dataset (the local cache when offline) as a ``datasets.Dataset``, its
    id and the split's name."""
    datasets = _datasets()
    name, named_split = parse_ref(ref)
    split = split or named_split or DEFAULT_SPLIT
    try:
        return datasets.load_dataset(name, split=split), name, split
    except (ConnectionError, OSError, FileNotFoundError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"cannot read the Hugging Face dataset {name} (split {split}): {first}; it is not in "
                        "the local cache and the Hub cannot be reached, or it has no such split (download it "
                        "once online, or give a directory saved with save_to_disk)") from None


def open_saved_dataset(path: Path, split: str | None) -> tuple[Any, str]:
    """The dataset saved in ``path`` (the ``split`` of a saved DatasetDict) and the split's name."""
    datasets = _datasets()
    try:
        loaded = datasets.load_from_disk(str(path))
    except (OSError, ValueError, FileNotFoundError) as exc:
        raise DataError(f"cannot read the saved dataset in {path}: {exc}") from None
    if isinstance(loaded, datasets.DatasetDict):
        split = split or DEFAULT_SPLIT
        if split not in loaded:
            raise DataError(f"{path} has the splits {', '.join(loaded)}, not {split!r}; name one with --split "
                            "or hf:...:SPLIT")
        return loaded[split], split
    return loaded, split or "all rows"


def _column(features: dict, wanted: str, kind: type, what: str, setting: str, where: str) -> str | None:
    if wanted:
        if wanted not in features:
            raise DataError(f"{where} has no column {wanted!r} (columns: {', '.join(features)}); fix --set {setting}")
        if not isinstance(features[wanted], kind):
            raise DataError(f"{where}: column {wanted!r} is {type(features[wanted]).__name__}, not {what}")
        return wanted
    return next((name for name, feature in features.items() if isinstance(feature, kind)), None)


def load_hf_dataset(ref: str, *, image_size: int | None = None, split: str | None = None,
                    options: DataOptions | None = None) -> ImageDataset:
    """``hf:ORG/NAME[:SPLIT]`` read as an ``ImageDataset`` (see the module docstring)."""
    table, name, split = open_hub_dataset(ref, split)
    return read_table(table, name, split, image_size, options, hf_id=name)


def load_saved_dataset(path: str | Path, image_size: int | None = None, split: str | None = None,
                       options: DataOptions | None = None) -> ImageDataset:
    """A directory written by ``save_to_disk``, read as an ``ImageDataset``."""
    path = Path(path)
    table, split = open_saved_dataset(path, split)
    return read_table(table, path.name, split, image_size, options, path=str(path))


def read_table(table: Any, name: str, split: str, image_size: int | None, options: DataOptions | None,
               *, hf_id: str = "", path: str = "") -> ImageDataset:
    datasets = _datasets()
    options = options or DataOptions()
    where = f"the dataset {name}"
    if options.labels == "folders":
        raise DataError(f"labels=folders reads class subfolders of an image folder; {where} has label "
                        "columns (name one with --set label_column=...)")
    if options.mode == "stream":
        raise DataError(f"data_mode=stream reads image folders; {where} is read into memory (drop the setting)")
    features = dict(table.features)
    image_column = _column(features, options.image_column, datasets.Image, "an Image feature", "image_column", where)
    if image_column is None:
        raise DataError(f"{where} has no image column (columns: {', '.join(features)}); name it with "
                        "--set image_column=...")
    label_column = None if options.labels == "none" else _column(
        features, options.label_column, datasets.ClassLabel, "a ClassLabel feature", "label_column", where)
    size = image_size or 64
    pixels, grey = _pixels(table, image_column, size, options)
    labels = class_names = None
    if label_column is not None:
        labels = torch.tensor(table[label_column], dtype=torch.int64)
        class_names = list(features[label_column].names)
    card: dict[str, Any] = {"split": split}
    if hf_id:
        card["hf_id"] = hf_id
    if table.info.license:
        card["license"] = table.info.license
    if class_names:
        card["class_names"] = class_names
    images = torch.from_numpy(pixels).permute(0, 3, 1, 2)
    return ImageDataset(images=images[:, :1] if grey else images, labels=labels,
                        num_classes=None if class_names is None else len(class_names), name=name,
                        path=f"{HF_PREFIX}{hf_id}:{split}" if hf_id else path, card=card, class_names=class_names)


def _pixels(table: Any, column: str, size: int, options: DataOptions) -> tuple[np.ndarray, bool]:
    """The column's images as N x size x size x 3 uint8, through the decoded cache (keyed by the
    table's fingerprint), and whether they are all greyscale."""
    from ganzoo.data.cache import FORMAT, DecodedCache

    def fill(out: np.ndarray) -> dict[str, Any]:
        from tqdm import tqdm

        grey = True
        rows = table.select_columns([column])
        for i, row in enumerate(tqdm(rows, desc="decoding", unit="img", leave=False,
                                     disable=None if options.progress is None else not options.progress)):
            image = row[column]
            grey &= image.mode in ("L", "1")
            out[i] = np.asarray(square(image.convert("RGB"), size))
        return {"grey": grey}

    shape = (len(table), size, size, 3)
    fingerprint = getattr(table, "_fingerprint", "") or ""
    if not options.cache or not fingerprint:
        out = np.empty(shape, np.uint8)
        return out, fill(out)["grey"]
    payload = {"format": FORMAT, "fingerprint": fingerprint, "column": column, "size": size, "crop": CROP}
    key = "hf-" + hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
    cache = DecodedCache(options.cache_dir)
    pixels, record = cache.open(key) or cache.build(key, shape, fill)
    return pixels, bool(record.get("grey"))
