"""The FID InceptionV3: the network that pytorch-fid and torch-fidelity use for FID, KID and IS.

This is the TensorFlow Inception graph of 2015-12-05 (``inception-2015-12-05.tgz``) that the
original TTUR FID code ran, as pytorch-fid ports it (``fid_inception_v3()``): torchvision's
InceptionV3 layout with 1008 output classes, no auxiliary head, and the TensorFlow quirks that
pytorch-fid patches in (``FIDInceptionA``/``C``/``E_1``/``E_2``): the 3x3 average pools of the
A, C and first E blocks do not count the zero padding, and the last E block max-pools. With the
weights file ``pt_inception-2015-12-05-6726825d.pth`` loaded, its pool3 features are pytorch-fid's.

Input is uint8 NCHW (grey is repeated to RGB, as PIL's ``convert('RGB')`` does in pytorch-fid),
scaled to [0, 1], resized to 299x299 with ``F.interpolate(mode='bilinear',
align_corners=False)`` and mapped to [-1, 1] (pytorch-fid's ``resize_input=True,
normalize_input=True``). Outputs are the 2048-d pool3 features and the 1008 logits.

torch-fidelity has the same network and weights but its own resize (a TensorFlow-1.x-compatible
bilinear) and input scaling ((x - 128) / 128), so its features differ slightly from pytorch-fid's
and ours; for FID the difference is usually in the second decimal.

The weights are never downloaded here: pass a path, or put the file in the torch hub checkpoints
directory. ``weights="random"`` builds a seeded random-init network for tests and for checking
the mathematics; its figures are marked ``RANDOM_INIT`` in every protocol.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganzoo.errors import ArtifactError
from ganzoo.fileio import sha256_of

WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
WEIGHTS_URL = f"https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/{WEIGHTS_NAME}"
WEIGHTS_SHA256_PREFIX = "6726825d"
"""torch.hub's convention: the hex digits after the last '-' of the name start the file's sha256."""
RANDOM_INIT = "random-init (not a real FID)"
EXTRACTOR_NAME = "FID InceptionV3 (pytorch-fid fid_inception_v3, TF inception-2015-12-05), pool3"
RESIZE = "299x299 bilinear (F.interpolate, align_corners=False), [0, 255] -> [0, 1] -> [-1, 1]"
INPUT_SIZE = 299
FEATURE_DIM = 2048
NUM_CLASSES = 1008


class BasicConv2d(nn.Module):
    """Convolution without bias, batch norm (eps 0.001, TensorFlow's), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, **kwargs) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, bias=False, **kwargs)
        self.bn = nn.BatchNorm2d(out_channels, eps=0.001)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn(self.conv(x)), inplace=True)


def _avg_pool_no_pad(x: Tensor) -> Tensor:
    # TensorFlow's average pool leaves the padded zeros out of the average (pytorch-fid's patch)
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class InceptionA(nn.Module):
    def __init__(self, in_channels: int, pool_features: int) -> None:
        super().__init__()
        self.branch1x1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(in_channels, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(in_channels, pool_features, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(_avg_pool_no_pad(x))
        return torch.cat([b1, b5, b3, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3 = BasicConv2d(in_channels, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, bd, bp], 1)


class InceptionC(nn.Module):
    def __init__(self, in_channels: int, channels_7x7: int) -> None:
        super().__init__()
        c7 = channels_7x7
        self.branch1x1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(in_channels, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        for layer in (self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4, self.branch7x7dbl_5):
            bd = layer(bd)
        bp = self.branch_pool(_avg_pool_no_pad(x))
        return torch.cat([b1, b7, bd, bp], 1)


class InceptionD(nn.Module):
    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.branch3x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(in_channels, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x: Tensor) -> Tensor:
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        bp = F.max_pool2d(x, kernel_size=3, stride=2)
        return torch.cat([b3, b7, bp], 1)


class InceptionE(nn.Module):
    """``pool="avg"``: pytorch-fid's FIDInceptionE_1 (Mixed_7b); ``pool="max"``: FIDInceptionE_2
    (Mixed_7c), where the TensorFlow graph max-pools in the pool branch."""

    def __init__(self, in_channels: int, pool: str) -> None:
        super().__init__()
        if pool not in ("avg", "max"):
            raise ValueError(f"pool must be 'avg' or 'max', got {pool!r}")
        self.pool = pool
        self.branch1x1 = BasicConv2d(in_channels, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(in_channels, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(in_channels, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(in_channels, 192, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        b1 = self.branch1x1(x)
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        if self.pool == "avg":
            pooled = _avg_pool_no_pad(x)
        else:
            pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        bp = self.branch_pool(pooled)
        return torch.cat([b1, b3, bd, bp], 1)


class FIDInceptionV3(nn.Module):
    """pytorch-fid's ``fid_inception_v3()`` (module names and state-dict keys included) with its
    ``InceptionV3([3], resize_input=True, normalize_input=True)`` preprocessing.

    ``forward(images)`` takes uint8 NCHW images (1 or 3 channels, any size) and returns the pool3
    features (N, 2048) and the logits (N, 1008), in float32. ``weights_id`` is the weights file's
    sha256, or ``RANDOM_INIT``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = InceptionA(192, pool_features=32)
        self.Mixed_5c = InceptionA(256, pool_features=64)
        self.Mixed_5d = InceptionA(288, pool_features=64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = InceptionC(768, channels_7x7=128)
        self.Mixed_6c = InceptionC(768, channels_7x7=160)
        self.Mixed_6d = InceptionC(768, channels_7x7=160)
        self.Mixed_6e = InceptionC(768, channels_7x7=192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = InceptionE(1280, pool="avg")
        self.Mixed_7c = InceptionE(2048, pool="max")
        self.fc = nn.Linear(FEATURE_DIM, NUM_CLASSES)
        self.weights_id = RANDOM_INIT

    @staticmethod
    def preprocess(images: Tensor) -> Tensor:
        """uint8 NCHW -> float32 RGB 299x299 in [-1, 1], exactly as pytorch-fid."""
        if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"expected uint8 NCHW images with 1 or 3 channels, got {images.dtype} "
                             f"{tuple(images.shape)}")
        x = images.float().div(255)  # torchvision's ToTensor
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # PIL's convert('RGB') repeats grey
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)
        return 2 * x - 1

    def pool3(self, x: Tensor) -> Tensor:
        """Preprocessed (N, 3, 299, 299) input -> the (N, 2048) pool3 features."""
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        for block in (self.Mixed_5b, self.Mixed_5c, self.Mixed_5d, self.Mixed_6a, self.Mixed_6b,
                      self.Mixed_6c, self.Mixed_6d, self.Mixed_6e, self.Mixed_7a, self.Mixed_7b,
                      self.Mixed_7c):
            x = block(x)
        return F.adaptive_avg_pool2d(x, (1, 1)).flatten(1)

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor]:
        features = self.pool3(self.preprocess(images))
        return features, self.fc(features)


def random_init_(model: FIDInceptionV3, seed: int = 0) -> FIDInceptionV3:
    """Seeded random weights: He-normal convolutions, identity batch norms, and a small random
    classifier (its bias too, so logits with and without it differ). For tests only."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * (2 / fan_in) ** 0.5)
            elif isinstance(module, nn.BatchNorm2d):
                module.reset_parameters()
            elif isinstance(module, nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) / module.in_features**0.5)
                module.bias.copy_(torch.randn(module.bias.shape, generator=generator) * 0.1)
    model.weights_id = RANDOM_INIT
    return model


def default_weights_path() -> Path:
    """Where torch.hub keeps the file: ``torch.hub.get_dir()/checkpoints/<name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_NAME


def load_fid_inception(weights: str | Path | None = None, device: str | torch.device = "cpu", *,
                       sha256_prefix: str = WEIGHTS_SHA256_PREFIX, seed: int = 0) -> FIDInceptionV3:
    """The FID InceptionV3 in eval mode on ``device``, gradients off.

    ``weights``: a path to the weights file; None for ``torch.hub.get_dir()/checkpoints/``
    (never downloaded); ``"random"`` for a random-init network seeded with ``seed`` (tests).
    The file's sha256 must start with ``sha256_prefix`` (the standard file's, by default), and
    it is read with ``torch.load(weights_only=True)``.
    """
    if isinstance(weights, str) and weights == "random":
        model = random_init_(FIDInceptionV3(), seed)
    else:
        path = Path(weights).expanduser() if weights is not None else default_weights_path()
        if not path.is_file():
            where = (f"{path} does not exist" if weights is not None
                     else f"it is not in the torch hub checkpoints directory {path.parent}")
            raise ArtifactError(
                f"the FID Inception weights {WEIGHTS_NAME} are needed but {where}; download it from "
                f"{WEIGHTS_URL} and pass --inception-weights PATH or put it in {default_weights_path().parent}")
        model = FIDInceptionV3()
        digest = sha256_of(path)
        if not digest.startswith(sha256_prefix):
            raise ArtifactError(
                f"{path}: sha256 {digest[:16]}... does not start with {sha256_prefix}, so it is not "
                f"{WEIGHTS_NAME}; download it again from {WEIGHTS_URL}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ArtifactError(f"{path}: cannot read the FID Inception weights ({first}); "
                                f"download {WEIGHTS_NAME} again from {WEIGHTS_URL}") from None
        if not isinstance(state, dict) or not all(isinstance(v, Tensor) for v in state.values()):
            raise ArtifactError(f"{path} does not hold a state dict of tensors; use {WEIGHTS_NAME} "
                                f"from {WEIGHTS_URL}")
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            problem = " ".join(str(exc).split())[:300]
            raise ArtifactError(f"{path} is not the FID InceptionV3 state dict ({problem}); use {WEIGHTS_NAME} "
                                f"from {WEIGHTS_URL}") from None
        model.weights_id = digest
    return model.to(device).eval().requires_grad_(False)


@torch.inference_mode()
def extract(images: Tensor, model: FIDInceptionV3, batch_size: int = 50, device: str | torch.device = "cpu",
            progress: bool = False, desc: str = "inception") -> tuple[Tensor, Tensor]:
    """Pool3 features (N, 2048) and logits (N, 1008) of uint8 NCHW ``images``, float64 on the CPU.

    Images go to ``device`` a batch at a time (the model must already be there).
    """
    from tqdm.auto import tqdm

    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    features, logits = [], []
    with tqdm(total=len(images), desc=desc, unit="img", disable=not progress, leave=False) as bar:
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device, non_blocking=True)
            f, y = model(batch)
            features.append(f.to("cpu", torch.float64))
            logits.append(y.to("cpu", torch.float64))
            bar.update(len(batch))
    if not features:
        raise ValueError("no images to extract features from")
    return torch.cat(features), torch.cat(logits)
