"""The Trainer's speed switches: memory format, optimizer kernels, compilation, data placement.

Each is a ``TrainConfig`` field, so a run records what it used and ``ganzoo bench --set ...``
can compare them. The ``auto`` defaults follow the measurements in ``benchmarks/results``.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import Tensor, nn

from ganzoo.engine.config import TrainConfig
from ganzoo.errors import GanzooError

DEVICE_DATA_FRACTION = 0.25
"""``data_on_device=auto`` keeps images on the GPU when they take under this share of its free
memory."""


def _switch(value: str, auto_on: bool) -> bool:
    return value == "on" or (value == "auto" and auto_on)


def uses_channels_last(config: TrainConfig, networks: nn.Module) -> bool:
    """``auto``: on for convolutional networks (any 4-D weight), on every device. On this
    project's 2-core CPU it measured 17 % faster for DCGAN-64 and 31 % for SRGAN, and no
    different for CycleGAN (``benchmarks/results/fastpaths_cpu.md``); on GPUs cuDNN's NHWC
    kernels are the ones bf16 tensor cores run."""
    convolutional = any(p.dim() == 4 for p in networks.parameters()
                        if not isinstance(p, nn.parameter.UninitializedParameter))  # lazy: no shape yet
    return _switch(config.channels_last, convolutional)


def to_channels_last(batch: dict[str, Any]) -> dict[str, Any]:
    """The batch with every 4-D float tensor (images) in channels-last layout."""
    return {k: v.contiguous(memory_format=torch.channels_last)
            if isinstance(v, Tensor) and v.dim() == 4 and v.is_floating_point() else v
            for k, v in batch.items()}


def optimizer_kwargs(config: TrainConfig) -> dict[str, bool]:
    """``fused``/``foreach`` for torch.optim. ``auto``: fused Adam (on the CPU measured 1 %
    faster than foreach for DCGAN-64 and 11 % for the MLP GAN), foreach RMSprop (which has no
    fused kernel)."""
    impl = config.optimizer_impl
    if impl == "auto":
        impl = "fused" if config.optimizer == "adam" else "foreach"
    if impl == "fused":
        if config.optimizer != "adam":
            raise GanzooError(f"optimizer_impl=fused exists for adam only, not {config.optimizer}; "
                              "use foreach")
        return {"fused": True}
    return {"foreach": impl == "foreach"}


def compile_networks(recipe: nn.Module, config: TrainConfig) -> None:
    """``torch.compile`` every generator and discriminator in place (state-dict keys unchanged).

    Discriminators stay eager when a gradient penalty or R1 needs a double backward pass,
    which compiled graphs do not support."""
    if config.compile == "off":
        return
    mode = None if config.compile == "default" else config.compile
    modules = list(recipe.generators.values())  # type: ignore[attr-defined]
    if config.gp_weight > 0 or config.r1_weight > 0:
        warnings.warn("compile: discriminators stay eager (gradient penalties need double backward)",
                      stacklevel=2)
    else:
        modules += list(recipe.discriminators.values())  # type: ignore[attr-defined]
    for module in modules:
        module.compile(mode=mode)


def place_data(data: Any, config: TrainConfig, device: torch.device) -> Any:
    """The training data where batches are cut from: on the GPU when it fits (then batches never
    leave the device), otherwise in host memory (batches are pinned before their copy)."""
    if device.type != "cuda" or config.data_on_device == "off":
        return data
    if config.data_on_device == "auto":
        images = getattr(data, "images", None)
        size = images.numel() * images.element_size() if isinstance(images, Tensor) else 0
        free, _ = torch.cuda.mem_get_info(device)
        if size > DEVICE_DATA_FRACTION * free:
            return data
    return data.to(device)
