"""The Python entry points, in the shape of timm's and huggingface_hub's: ``list_models``,
``create_model`` and ``load_pretrained`` (re-exported as ``ganzoo.list_models`` and so on).

    import ganzoo
    ganzoo.list_models("dcgan*", pretrained=True)        # ['dcgan-celeba', 'dcgan-mnist']
    g = ganzoo.create_model("dcgan", g_width=32)         # untrained, the architecture's defaults
    g = ganzoo.load_pretrained("dcgan-celeba")           # trained weights, verified
    images = g.generate(16, seed=0)                      # float NCHW in [-1, 1]
    ganzoo.images.save_image(images, "faces.png")        # a grid, format from the extension

Every generator these return carries ``pretrained_config`` (what ``save_pretrained`` writes as
config.json), so ``g.save_pretrained(DIR)`` and ``g.push_to_hub(REPO)`` work on all of them.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from pathlib import Path
from typing import Any

from ganzoo.errors import GanzooError, UnknownNameError


def list_models(pattern: str = "*", *, pretrained: bool = False) -> list[str]:
    """Names matching the shell-style ``pattern``: architectures (``create_model`` builds them
    untrained), or with ``pretrained=True`` the pretrained models (``load_pretrained``)."""
    from ganzoo.plugins import get_zoo

    zoo = get_zoo()
    names = zoo.pretrained.names() if pretrained else zoo.architectures.names()
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def load_pretrained(name_or_path: str | Path, *, device: str = "cpu", revision: str | None = None,
                    cache_dir: str | Path | None = None, local_files_only: bool = False,
                    token: str | None = None, endpoint: str | None = None, use_ema: bool = True):
    """A trained generator, in eval mode on ``device``, from a registered name, an
    ``hf-hub:ORG/NAME`` repository, a pretrained directory or a training run.

    The Hub keywords mean what they mean to ``huggingface_hub.hf_hub_download``: ``revision``
    (a branch, tag or commit; also written ``NAME@REV``), ``cache_dir``, ``local_files_only``
    (never ask the Hub), ``token`` and ``endpoint``. The weights are verified wherever they
    come from; ``generator.source`` says where that was.
    """
    from ganzoo.hub import load_pretrained as load
    from ganzoo.huggingface import HubOptions

    spec = str(name_or_path)
    if revision is not None:
        if Path(spec).is_dir():
            raise GanzooError(f"{spec} is a local directory; it has no revision to pick")
        if "@" in spec.removeprefix("hf-hub:"):
            raise GanzooError(f"{spec} already names a revision; drop revision={revision!r}")
        spec = f"{spec}@{revision}"
    options = HubOptions(endpoint=endpoint, cache_dir=cache_dir, token=token, offline=local_files_only)
    return load(spec if not Path(spec).is_dir() else Path(spec), device, use_ema=use_ema, options=options)


def create_model(name: str, pretrained: bool = False, *, device: str = "cpu", **config: Any):
    """A generator of architecture ``name`` built from its defaults and ``config`` (untrained),
    or of pretrained model ``name``'s architecture and config: untrained unless ``pretrained``,
    as timm's ``create_model`` does. ``pretrained=True`` loads the weights (``load_pretrained``)
    and takes no ``config``, which would no longer fit them."""
    from ganzoo.plugins import get_zoo

    zoo = get_zoo()
    if name in zoo.architectures:
        if pretrained:
            choices = [e.name for e in zoo.pretrained if e.architecture == name]
            hint = f"name one of them: {', '.join(choices)}" if choices else "none is registered"
            raise GanzooError(f"{name} is an architecture, not a trained model; for its weights {hint}")
        arch = zoo.architectures.get(name).load()()
        model_config = arch.make_config(config)
        generator = arch.build_generator(model_config)
        generator.pretrained_config = {"architecture": name, "config": _as_dict(model_config)}
        return generator.to(device)
    if name not in zoo.pretrained:
        known = sorted(set(zoo.architectures.names()) | set(zoo.pretrained.names()))
        raise UnknownNameError(f"unknown model {name!r}; ganzoo.list_models() and "
                               f"ganzoo.list_models(pretrained=True) list them ({', '.join(known)})")
    if pretrained:
        if config:
            raise GanzooError(f"create_model({name!r}, pretrained=True) takes no config "
                              f"({', '.join(sorted(config))}): the weights fit the model's own")
        return load_pretrained(name, device=device)
    from ganzoo.artifacts import build_generator, read_config
    from ganzoo.sources import resolve

    source = resolve(name)
    recorded = read_config(source.path)
    arch = zoo.architectures.get(recorded["architecture"]).load()()
    model_config = arch.make_config({**recorded["config"], **config})
    generator = build_generator({**recorded, "config": _as_dict(model_config)}, source.path)
    generator.pretrained_config = {"architecture": recorded["architecture"], "config": _as_dict(model_config)}
    return generator.to(device)


def _as_dict(config: Any) -> dict[str, Any]:
    return dataclasses.asdict(config) if dataclasses.is_dataclass(config) else dict(config)
