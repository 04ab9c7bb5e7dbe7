"""Model cards: README.md with YAML metadata for the Hugging Face Hub, generated from config.json."""

from __future__ import annotations

import re
from typing import Any

from ganzoo.errors import ArtifactError

PIPELINE_TAG = "unconditional-image-generation"
"""The Hub's task for noise-to-image models; image-to-image ones are "image-to-image". The Hub
has no task for class-conditional generation: those cards carry a tag and no pipeline_tag."""

DATASET_TERMS = {
    "celeba64": ("celeba-terms", "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"),
    "bsds200-train": ("bsds-terms", "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/"),
    "summer2winter128": ("cyclegan-datasets-terms", "https://github.com/junyanz/CycleGAN"),
}
"""``license: other`` needs ``license_name`` and ``license_link`` on the Hub: the terms pages of
the datasets the zoo's models were trained on (a dataset card may name its own instead)."""

HIDDEN_ARGS = ("data", "seconds", "device", "path")
"""Protocol keys that describe the machine a figure was measured on, not the figure: they stay
in config.json's evaluation records and out of the card's model-index."""


def _card_args(protocol: dict[str, Any] | None) -> dict[str, Any] | None:
    """A protocol as model-index metric args: no machine paths or timings."""
    args = {k: v for k, v in (protocol or {}).items()
            if k not in HIDDEN_ARGS and not (isinstance(v, str) and (v.startswith(("/", "../", "./", "~"))))}
    return args or None


def _license_fields(dataset: dict[str, Any]) -> dict[str, str]:
    """``license`` and, for ``other``, the ``license_name`` and ``license_link`` the Hub asks for."""
    license_id = dataset.get("license")
    if not license_id:
        return {}
    if license_id != "other":
        return {"license": license_id}
    known = DATASET_TERMS.get(str(dataset.get("name", "")).lower())
    slug = re.sub(r"[^a-z0-9]+", "-", str(dataset.get("name", "dataset")).lower()).strip("-") or "dataset"
    name = dataset.get("license_name") or (known[0] if known else f"{slug}-terms")
    link = dataset.get("license_link") or (known[1] if known else "README.md#data")
    return {"license": "other", "license_name": name, "license_link": link}


def card_metadata(name: str, config: dict[str, Any]):
    """The card's YAML metadata as a ``huggingface_hub.ModelCardData``, by the Hub's conventions.

    ``config["evaluation"]`` entries (``metric``, ``value``, ``dataset``, ``split``, ``name``,
    ``protocol``) become the model-index, each result carrying its protocol (without machine
    paths or timings) as metric args.
    """
    from huggingface_hub import EvalResult, ModelCardData

    arch = config["architecture"]
    dataset = config.get("dataset") or {}
    conditional = config.get("num_classes") is not None
    translator = "latent_dim" in config and config["latent_dim"] is None
    pipeline = "image-to-image" if translator else None if conditional else PIPELINE_TAG
    task = pipeline or "conditional-image-generation"
    tags = ["ganzoo", "gan", arch, task]
    results = [
        EvalResult(
            task_type=task,
            dataset_type=entry.get("dataset_id") or dataset.get("hf_id") or entry.get("dataset", "unknown"),
            dataset_name=entry.get("dataset", dataset.get("name", "unknown")),
            dataset_split=entry.get("split"),
            metric_type=entry["metric"],
            metric_name=entry.get("name", entry["metric"]),
            metric_value=entry["value"],
            metric_args=_card_args(entry.get("protocol")),
        )
        for entry in config.get("evaluation") or []
    ]
    return ModelCardData(
        library_name="ganzoo",
        tags=tags,
        datasets=[dataset["hf_id"]] if dataset.get("hf_id") else None,
        pipeline_tag=pipeline,
        model_name=name if results else None,  # the model-index's name; no top-level key without one
        eval_results=results or None,
        **_license_fields(dataset),
    )


def _export_section(use_name: str, config: dict[str, Any]) -> list[str]:
    """How to export the model for deployment, with the exported graph's signature."""
    from ganzoo.deploy import (
        CONDITIONAL_INPUTS, NOISE_INPUTS, NOISE_OUTPUTS, OPSET, TRANSLATOR_INPUTS, TRANSLATOR_OUTPUTS,
    )

    c, h, w = config["image_shape"]
    if config.get("latent_dim") is None:
        signature = (f"input `{TRANSLATOR_INPUTS[0]}` (N, {c}, h, w) and output `{TRANSLATOR_OUTPUTS[0]}` "
                     "(N, C, H', W'), float32 in [-1, 1]; batch and size are dynamic")
    else:
        inputs = NOISE_INPUTS if config.get("num_classes") is None else CONDITIONAL_INPUTS
        signature = f"input `{inputs[0]}` (N, {config['latent_dim']}) float32"
        if len(inputs) > 1:
            signature += f" and `{inputs[1]}` (N,) int64 in 0..{config['num_classes'] - 1}"
        signature += f", output `{NOISE_OUTPUTS[0]}` (N, {c}, {h}, {w}) float32 in [-1, 1]; the batch is dynamic"
    return [
        "## Export",
        "",
        "```bash",
        f"ganzoo export {use_name} --format onnx -o model.onnx   # or torchscript (.pt), exported-program (.pt2)",
        "```",
        "",
        f"ONNX opset {OPSET}: {signature}. Each export is checked against PyTorch before it is written.",
        "",
    ]


def card_results(path) -> list[dict[str, Any]]:
    """The measured metrics in a model card's model-index (``README.md``), as dicts with
    ``metric``, ``name``, ``value``, ``dataset``, ``split`` and ``protocol``; [] if none.

    The YAML is read with ``yaml.safe_load`` (no tags that construct objects); metadata that is
    not valid YAML is an ArtifactError naming the card."""
    import yaml
    from huggingface_hub import metadata_load
    from huggingface_hub.repocard_data import model_index_to_eval_results

    try:
        metadata = metadata_load(path) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 2})" if where is not None else ""  # after the opening ---
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ArtifactError(f"the model card {path} has metadata that is not valid YAML{line}: {problem}") from None
    except (OSError, ValueError):
        return []
    try:
        if not isinstance(metadata, dict) or not metadata.get("model-index"):
            return []
        _, results = model_index_to_eval_results(metadata["model-index"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
    return [{"metric": r.metric_type, "name": r.metric_name or r.metric_type, "value": r.metric_value,
             "dataset": r.dataset_name, "split": r.dataset_split, "protocol": r.metric_args or {}}
            for r in results]


def translate_keywords(options: str) -> dict[str, str]:
    """``"--option direction=a2b"`` (or the alias form ``"--direction a2b"``) -> keywords."""
    return dict(re.findall(r"--(?:option\s+)?(\w+)[\s=](\S+)", options))


def render_card(name: str, config: dict[str, Any], *, use_name: str | None = None) -> str:
    """The model card of the pretrained model ``name`` described by ``config`` (config.json).

    ``use_name`` is how users load it (a registered name, or ``hf-hub:ORG/NAME`` on the Hub).
    """
    use_name = use_name or name
    arch = config["architecture"]
    training = config.get("training") or {}
    dataset = config.get("dataset") or {}
    meta = ["---", card_metadata(name, config).to_yaml(), "---", ""]
    c, h, w = config["image_shape"]
    channels = f"{c} channel{'s' if c > 1 else ''}"
    if "latent_dim" in config and config["latent_dim"] is None:  # image to image
        options = config.get("translate_options", "")
        keywords = "".join(f', {key}="{value}"' for key, value in translate_keywords(options).items())
        intro = (f"An image-to-image generator of architecture `{arch}` from [ganzoo](https://pypi.org/project/ganzoo/) "
                 f"(trained on {h}x{w} crops with {channels}; it is fully convolutional).")
        usage = [
            "```bash",
            f"ganzoo sample {use_name} --input photo.png {options + ' ' if options else ''}-o out.png",
            f"ganzoo sample {use_name} --input photos/ {options + ' ' if options else ''}-o translated/",
            "```",
            "",
            "```python",
            "import ganzoo",
            "from ganzoo.images import read_image",
            f'generator = ganzoo.load_pretrained("{use_name}")',
            f'out = generator.translate(read_image("photo.png")[None]{keywords})  # uint8 NCHW',
            "```",
        ]
    else:
        intro = (f"A generator of architecture `{arch}` from [ganzoo](https://pypi.org/project/ganzoo/), making "
                 f"{h}x{w} images with {channels} in [-1, 1].")
        usage = [
            "```bash",
            f"ganzoo sample {use_name} -n 64 -o grid.png --seed 0",
            "```",
            "",
            "```python",
            "import ganzoo",
            f'generator = ganzoo.load_pretrained("{use_name}")',
            "images = generator.generate(64, seed=0)  # N, C, H, W in [-1, 1]",
            'ganzoo.images.save_image(images, "grid.png")',
            "```",
        ]
        if config.get("num_classes") is not None:
            usage[-5:-1] = [
                "import torch",
                "import ganzoo",
                f'generator = ganzoo.load_pretrained("{use_name}")',
                f"labels = torch.arange({config['num_classes']}).repeat_interleave(8)  # one row per class",
                "images = generator.generate(len(labels), seed=0, labels=labels)  # N, C, H, W in [-1, 1]",
                'ganzoo.images.save_image(images, "grid.png", nrow=8)',
            ]
    package = (config.get("plugin") or {}).get("distribution") or "ganzoo"
    if package != "ganzoo":  # a third-party architecture: say what to install
        version = (config.get("plugin") or {}).get("version")
        pinned = f"{package}=={version}" if version else package
        usage = [f"Needs the `{package}` plugin: `pip install ganzoo {pinned}`.", "", *usage]
    lines = [
        f"# {name}",
        "",
        intro,
        "",
        "![samples](samples.png)",
        "",
        "## Use",
        "",
        *usage,
        "",
        "## Architecture",
        "",
        "| option | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in config["config"].items()],
        "",
    ]
    lines += _export_section(use_name, config)
    if training:
        lines += [
            "## Training",
            "",
            "| | |",
            "|---|---|",
            *[f"| {k.replace('_', ' ')} | {v} |" for k, v in training.items()],
            "",
        ]
    if config.get("evaluation"):
        lines += ["## Evaluation", "", "| metric | value | data | protocol |", "|---|---|---|---|"]
        for entry in config["evaluation"]:
            protocol = ", ".join(f"{k}={v}" for k, v in (_card_args(entry.get("protocol")) or {}).items())
            where = entry.get("dataset", "") + (f" ({entry['split']})" if entry.get("split") else "")
            lines.append(f"| {entry.get('name', entry['metric'])} | {entry['value']} | {where} | {protocol} |")
        lines.append("")
    if dataset:
        lines += ["## Data", ""]
        lines.append(f"Trained on `{dataset.get('name', '?')}` ({dataset.get('split', 'train')} split).")
        if dataset.get("class_names"):
            classes = ", ".join(f"{i} `{name}`" for i, name in enumerate(dataset["class_names"]))
            lines += ["", f"Classes (`--label` takes the number or the name): {classes}."]
        if dataset.get("license_note"):
            lines += ["", f"Dataset terms: {dataset['license_note']}."]
        lines.append("")
    if config.get("notes"):
        lines += ["## Notes", "", config["notes"], ""]
    lines += ["Weights are safetensors; nothing in this repository is pickled or executed.", ""]
    return "\n".join(meta + lines)
