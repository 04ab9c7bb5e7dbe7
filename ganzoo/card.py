"""Model cards: README.md with YAML metadata for the Hugging Face Hub, generated from config.json."""

from __future__ import annotations

import json
from typing import Any


def _yaml_list(key: str, values: list[str]) -> list[str]:
    return [f"{key}:"] + [f"- {json.dumps(v)}" for v in values] if values else []


def render_card(name: str, config: dict[str, Any]) -> str:
    """The model card of the pretrained model ``name`` described by ``config`` (config.json)."""
    arch = config["architecture"]
    training = config.get("training") or {}
    dataset = config.get("dataset") or {}
    conditional = config.get("num_classes") is not None
    tags = ["ganzoo", "gan", arch, "conditional-image-generation" if conditional
            else "unconditional-image-generation"]
    meta = ["---", "library_name: ganzoo"]
    meta += _yaml_list("tags", tags)
    if dataset.get("license"):
        meta.append(f"license: {dataset['license']}")
    meta += _yaml_list("datasets", [dataset["hf_id"]] if dataset.get("hf_id") else [])
    meta += ["pipeline_tag: unconditional-image-generation", "---", ""]
    c, h, w = config["image_shape"]
    lines = [
        f"# {name}",
        "",
        f"A generator of architecture `{arch}` from [ganzoo](https://pypi.org/project/ganzoo/), making "
        f"{h}x{w} images with {c} channel{'s' if c > 1 else ''} in [-1, 1].",
        "",
        "![samples](samples.png)",
        "",
        "## Use",
        "",
        "```bash",
        f"ganzoo sample {name} -n 64 -o grid.png --seed 0",
        "```",
        "",
        "```python",
        "from ganzoo.hub import load_pretrained",
        f'generator = load_pretrained("{name}")',
        "images = generator.generate(64, seed=0)  # N, C, H, W in [-1, 1]",
        "```",
        "",
        "## Architecture",
        "",
        "| option | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in config["config"].items()],
        "",
    ]
    if training:
        lines += [
            "## Training",
            "",
            "| | |",
            "|---|---|",
            *[f"| {k.replace('_', ' ')} | {v} |" for k, v in training.items()],
            "",
        ]
    if dataset:
        lines += ["## Data", ""]
        lines.append(f"Trained on `{dataset.get('name', '?')}` ({dataset.get('split', 'train')} split).")
        if dataset.get("license_note"):
            lines += ["", f"Dataset terms: {dataset['license_note']}."]
        lines.append("")
    if config.get("notes"):
        lines += ["## Notes", "", config["notes"], ""]
    lines += ["Weights are safetensors; nothing in this repository is pickled or executed.", ""]
    return "\n".join(meta + lines)
