"""Every bundled model card follows the Hub's conventions: it parses with huggingface_hub's
ModelCard and metadata_load, its model-index round-trips, ``license: other`` names its terms,
the pipeline tag fits the kind of model, no machine path or timing leaks in, it is what
render_card makes of config.json today, and its Python example runs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard, metadata_load
from huggingface_hub.repocard_data import model_index_to_eval_results
from PIL import Image

from ganzoo.card import render_card

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = sorted(ROOT.glob("plugins/*/pretrained/*/README.md"))
MACHINE = re.compile(r"(/work/|/home/|/tmp/|\.\./shared|/root/|site-packages|\bseconds:|\bdevice:)")


@pytest.mark.parametrize("card", BUNDLED, ids=lambda p: p.parent.name)
def test_bundled_card_follows_the_hubs_conventions(card: Path):
    config = json.loads((card.parent / "config.json").read_text())
    text = card.read_text()
    assert text == render_card(card.parent.name, config), "stale card: re-render it from config.json"
    ModelCard(text)  # parses
    meta = metadata_load(card)
    assert meta["library_name"] == "ganzoo" and "model_name" not in meta
    if meta.get("license") == "other":
        assert meta["license_name"] and meta["license_link"]
    translator = config.get("latent_dim") is None
    conditional = config.get("num_classes") is not None
    expected_pipeline = "image-to-image" if translator else None if conditional else "unconditional-image-generation"
    assert meta.get("pipeline_tag") == expected_pipeline
    if conditional:
        assert "conditional-image-generation" in meta["tags"]
    _, results = model_index_to_eval_results(meta["model-index"])
    assert [(r.metric_type, r.metric_value) for r in results] == \
        [(e["metric"], e["value"]) for e in config["evaluation"]]
    front = text.split("---")[1]
    assert not MACHINE.search(front), MACHINE.search(front)
    assert not re.search(r"/work/|\.\./shared|/home/", text)
    assert not re.search(r"\bissue\b|\bsession\b", text, re.IGNORECASE)


@pytest.mark.parametrize("card", BUNDLED, ids=lambda p: p.parent.name)
def test_the_cards_python_example_runs(card: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    code = re.search(r"```python\n(.*?)```", card.read_text(), re.DOTALL).group(1)
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 20, 3), dtype=np.uint8)).save("photo.png")
    namespace: dict = {}
    exec(compile(code, f"{card.parent.name}/README.md", "exec"), namespace)  # noqa: S102 - our own card
    made = [p for p in os.listdir(tmp_path) if p != "photo.png"]
    assert made == ["grid.png"] or "out" in namespace, (made, sorted(namespace))
