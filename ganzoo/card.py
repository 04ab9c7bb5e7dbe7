"""Model cards: README.md with YAML metadata for the Hugging Face Hub, generated from config.json."""

from __future__ import annotations

import re
from typing import Any

from ganzoo.errors import ArtifactError

PIPELINE_TAG = "unconditional-image-generation"


def card_metadata(name: str, config: dict[str, Any]):
    """The card's YAML metadata as a ``huggingface_hub.ModelCardData``.

    ``config["evaluation"]`` entries (``metric``, ``value``, ``dataset``, ``split``, ``name``,
    ``protocol``) become the model-index, each result carrying its protocol as metric args.
    """
    from huggingface_hub import EvalResult, ModelCardData

    arch = config["architecture"]
    dataset = config.get("dataset") or {}
    conditional = config.get("num_classes") is not None
    translator = "latent_dim" in config and config["latent_dim"] is None
    pipeline = "image-to-image" if translator else PIPELINE_TAG
    tags = ["ganzoo", "gan", arch,
            "image-to-image" if translator else "conditional-image-generation" if conditional else PIPELINE_TAG]
    results = [
        EvalResult(
            task_type=pipeline,
            dataset_type=entry.get("dataset_id") or dataset.get("hf_id") or entry.get("dataset", "unknown"),
            dataset_name=entry.get("dataset", dataset.get("name", "unknown")),
            dataset_split=entry.get("split"),
            metric_type=entry["metric"],
            metric_name=entry.get("name", entry["metric"]),
            metric_value=entry["value"],
            metric_args=entry.get("protocol") or None,
        )
        for entry in config.get("evaluation") or []
    ]
    return ModelCardData(
        library_name="ganzoo",
        tags=tags,
        license=dataset.get("license"),
        datasets=[dataset["hf_id"]] if dataset.get("hf_id") else None,
        pipeline_tag=pipeline,
        model_name=name,
        eval_results=results or None,
    )


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
            "from ganzoo.hub import load_pretrained",
            "from ganzoo.images import read_image",
            f'generator = load_pretrained("{use_name}")',
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
            "from ganzoo.hub import load_pretrained",
            f'generator = load_pretrained("{use_name}")',
            "images = generator.generate(64, seed=0)  # N, C, H, W in [-1, 1]",
            "```",
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
            protocol = ", ".join(f"{k}={v}" for k, v in (entry.get("protocol") or {}).items())
            where = entry.get("dataset", "") + (f" ({entry['split']})" if entry.get("split") else "")
            lines.append(f"| {entry.get('name', entry['metric'])} | {entry['value']} | {where} | {protocol} |")
        lines.append("")
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
