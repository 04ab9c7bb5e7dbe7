"""Pretrained generators: load one from wherever it is (``load_pretrained``), and the names the
rest of ganzoo and its users import. The jobs live in their own modules: ``ganzoo.sources``
(where a model comes from), ``ganzoo.artifacts`` (the directory layout, read and written) and
``ganzoo.export`` (a training run exported, evaluations recorded).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ganzoo.artifacts import (
    CARD, CONFIG, SAMPLES, WEIGHTS, build_generator, load_weights, read_config, read_safetensors,
    safetensors_shapes, save_pretrained,
)
from ganzoo.export import export_run, load_from_run, record_evaluation
from ganzoo.sources import Source, resolve

if TYPE_CHECKING:
    from ganzoo.huggingface import HubOptions

__all__ = ["CARD", "CONFIG", "SAMPLES", "WEIGHTS", "Source", "build_generator", "export_run",
           "load_pretrained", "load_weights", "read_config", "record_evaluation", "resolve",
           "safetensors_shapes", "save_pretrained"]


def load_pretrained(name_or_path: str | Path, device: str = "cpu", *, use_ema: bool = True,
                    options: "HubOptions | None" = None):
    """Rebuild a generator from a pretrained name (``NAME[@REV]``), ``hf-hub:ORG/NAME[@REV]``,
    a pretrained directory or a training run (see ``resolve`` for the order of sources).
    ``options`` (``ganzoo.huggingface.HubOptions``) sets the endpoint, cache, token or offline.

    The generator comes back in eval mode on ``device``; ``generator.pretrained_config`` holds
    its config.json (for a run, the equivalent) and ``generator.source`` where it came from.
    """
    source = resolve(name_or_path, options)
    if source.kind == "run":
        generator, config = load_from_run(source.path, use_ema)
    else:
        config = read_config(source.path)
        generator = build_generator(config, source.path)
        load_weights(generator, read_safetensors(source.path / WEIGHTS), source.path / WEIGHTS)
    generator.pretrained_config = config
    generator.source = source
    return generator.to(device).eval()
