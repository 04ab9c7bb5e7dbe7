"""SRGAN's content loss: MSE in VGG19 feature space (VGG54), or in pixel space as the fallback.

VGG54 (Ledig et al.) is the MSE between the relu5_4 feature maps (the 4th convolution before
the 5th max-pooling, after its activation) of ImageNet's ``vgg19`` (timm's
``timm/vgg19.tv_in1k``, i.e. torchvision's weights) for the SR and HR
images, with the features rescaled by 1/12.75 (the paper's factor, which brings the loss to the
pixel MSE's order of magnitude). Images go in as [-1, 1] and are mapped to ImageNet's
normalisation first.

The weights come from a local file (``vgg_weights``) or the Hugging Face cache; nothing is
downloaded during training. Where neither has them, "auto" falls back to the pixel MSE and says
so once.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.api import GanzooError

VGG54 = "vgg19-54"
PIXEL = "pixel-mse"
FEATURE_SCALE = 1 / 12.75
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
TIMM_VGG19 = "timm/vgg19.tv_in1k"
"""timm's pretrained ``vgg19`` on the Hub (torchvision's ImageNet weights)."""
LAST_CONV = 34
"""Index of conv5_4 in VGG19's ``features`` (timm and torchvision number them alike)."""
_FEATURE_KEY = re.compile(r"^(?:module\.)?features[._](\d+)\.(weight|bias)$")
"""``features.N.weight`` (timm, torchvision) or ``features_N.weight`` (timm's features_only)."""


class ContentFallbackWarning(UserWarning):
    """No pretrained VGG19 weights could be found: the content loss is the pixel MSE."""


def vgg19_features() -> nn.Sequential:
    """VGG19's ``features`` up to relu5_4 (conv5_4's ReLU), numbered as in timm's and
    torchvision's ``vgg19`` (``0`` = conv1_1, ..., ``34`` = conv5_4), random weights. Built here
    rather than with ``timm.create_model`` (which also makes the 120M-parameter classifier)."""
    layers: list[nn.Module] = []
    c_in = 3
    for stage, (width, convs) in enumerate(((64, 2), (128, 2), (256, 4), (512, 4), (512, 4))):
        if stage:
            layers.append(nn.MaxPool2d(2, 2))
        for _ in range(convs):
            layers += [nn.Conv2d(c_in, width, 3, padding=1), nn.ReLU(inplace=True)]
            c_in = width
    return nn.Sequential(*layers)


def cached_vgg19_file() -> Path | None:
    """timm's pretrained vgg19 weights in the Hugging Face cache, or None (the Hub is not asked)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        import timm

        repo_id = timm.models.get_pretrained_cfg("vgg19").hf_hub_id or TIMM_VGG19
    except (ImportError, AttributeError):
        repo_id = TIMM_VGG19
    for filename in ("model.safetensors", "pytorch_model.bin"):
        found = try_to_load_from_cache(repo_id, filename)
        if isinstance(found, str):
            return Path(found)
    return None


def _read_state(path: Path) -> dict[str, Tensor]:
    if not path.is_file():
        raise GanzooError(f"vgg_weights {path} is not a file; give a VGG19 weights file (safetensors or .pth)")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is the same one-line error
        raise GanzooError(f"cannot read VGG19 weights from {path}: {str(exc).splitlines()[0]}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise GanzooError(f"{path} holds no state dict; give VGG19 weights (timm's or torchvision's)")
    return state


def load_vgg54(path: str | Path | None) -> nn.Module:
    """VGG19 up to relu5_4 with the weights in ``path`` (timm or torchvision layout; only the
    convolutions are read), frozen and in eval mode. ``path`` None: random weights (tests)."""
    model = vgg19_features()
    if path is not None:
        path = Path(path)
        state = {}
        for key, value in _read_state(path).items():
            match = _FEATURE_KEY.match(key)
            if match and int(match[1]) <= LAST_CONV:
                state[f"{match[1]}.{match[2]}"] = value
        own = model.state_dict()
        missing = sorted(set(own) - set(state))
        wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
        if missing or wrong:
            what = f"missing {missing[0]}" if missing else f"{wrong[0]} has shape {tuple(state[wrong[0]].shape)}"
            raise GanzooError(f"{path} does not hold VGG19 convolution weights ({what}); "
                              "give timm's or torchvision's vgg19 weights")
        model.load_state_dict(state)
    return model.eval().requires_grad_(False)


class VGGContentLoss(nn.Module):
    """MSE of rescaled relu5_4 features of two image batches in [-1, 1]."""

    def __init__(self, features: nn.Module) -> None:
        super().__init__()
        self.features = features
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def train(self, mode: bool = True) -> "VGGContentLoss":
        return super().train(False)  # always eval: no dropout, fixed statistics

    def embed(self, images: Tensor) -> Tensor:
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        x = ((images + 1) / 2 - self.mean) / self.std
        return self.features(x) * FEATURE_SCALE

    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        with torch.no_grad():
            target = self.embed(hr)
        return F.mse_loss(self.embed(sr).float(), target.float())


class PixelContentLoss(nn.Module):
    def forward(self, sr: Tensor, hr: Tensor) -> Tensor:
        return F.mse_loss(sr.float(), hr.float())


def resolve_content_loss(choice: str, vgg_weights: str = "") -> tuple[str, nn.Module]:
    """``(name actually used, loss module)`` for the ``content_loss`` setting (see the module
    docstring); "vgg19-54" without weights is an error, "auto" falls back with one warning."""
    if choice == PIXEL:
        return PIXEL, PixelContentLoss()
    path = Path(vgg_weights).expanduser() if vgg_weights else cached_vgg19_file()
    if path is not None:
        return VGG54, VGGContentLoss(load_vgg54(path))
    if choice == VGG54:
        raise GanzooError("content_loss=vgg19-54 needs pretrained VGG19 weights: none in the Hugging Face "
                          "cache; pass --set vgg_weights=PATH, or run `huggingface-cli download "
                          "timm/vgg19.tv_in1k` first")
    warnings.warn("no pretrained VGG19 weights (vgg_weights unset, timm/vgg19.tv_in1k not in the Hugging "
                  "Face cache): SRGAN's content loss falls back to the pixel MSE (content_loss=pixel-mse); "
                  "pass --set vgg_weights=PATH for the paper's VGG54 loss", ContentFallbackWarning, stacklevel=2)
    return PIXEL, PixelContentLoss()
