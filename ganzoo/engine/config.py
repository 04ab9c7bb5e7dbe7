"""The Trainer's settings, with defaults an architecture may override."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from ganzoo.data.options import LABELS, MODES, DataOptions
from ganzoo.errors import GanzooError

PRECISIONS = ("fp32", "bf16", "fp16")
OPTIMIZERS = ("adam", "rmsprop")
COMPILE_MODES = ("off", "default", "reduce-overhead", "max-autotune")
SWITCHES = ("auto", "on", "off")
OPTIMIZER_IMPLS = ("auto", "fused", "foreach", "loop")


@dataclass
class TrainConfig:
    steps: int = 5000
    """Generator steps to train for (each preceded by ``d_steps`` discriminator steps)."""
    time_limit: float = 0.0
    """Also stop once this many seconds of training have passed (samples, evaluations and
    checkpoints not counted; checked at each ``log_every`` window); 0: train to ``steps``."""
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple[float, float] = (0.5, 0.999)
    lr_decay_steps: int = 0
    """Decay both learning rates linearly towards 0 over the last ``lr_decay_steps`` steps
    (CycleGAN's schedule: constant, then linear decay); 0 keeps them constant."""
    d_steps: int = 1
    optimizer: str = "adam"
    """adam or rmsprop (betas apply to adam)."""
    loss: str = "bce"
    label_smoothing: float = 0.0
    """One-sided: real targets become 1 - label_smoothing (losses that have targets)."""
    gp_weight: float = 0.0
    """WGAN-GP gradient penalty weight (lambda); 0 turns it off."""
    r1_weight: float = 0.0
    """R1 penalty weight (gamma); 0 turns it off."""
    r1_every: int = 1
    """Lazy R1 (StyleGAN2): the penalty on one discriminator step in ``r1_every``, weighted by
    ``r1_every``; 16 costs about a sixteenth of R1's double backward pass."""
    weight_clip: float = 0.0
    """Clip discriminator weights to [-c, c] after each step (WGAN); 0 turns it off."""
    diffaugment: str = ""
    """DiffAugment policy for the discriminator's inputs, e.g. "color,translation,cutout"."""
    init_from: str = ""
    """Fine-tuning: start from this model's weights (a pretrained name, hf-hub:ORG/NAME, a
    pretrained directory or a run; its model config becomes the run's defaults)."""
    freeze_d: int = 0
    """FreezeD (Mo et al., 2020): the discriminators' first ``freeze_d`` blocks stay frozen."""
    ema: float = 0.999
    """Decay of the generator's exponential moving average; 0 turns EMA off."""
    precision: str = "fp32"
    device: str = "auto"
    channels_last: str = "auto"
    """Keep conv weights and image batches channels-last: auto (on for convolutional
    networks), on or off."""
    compile: str = "off"
    """torch.compile every network: off, default, reduce-overhead (CUDA graphs) or max-autotune."""
    optimizer_impl: str = "auto"
    """The optimizers' kernels: auto (fused Adam, foreach RMSprop), fused, foreach or loop."""
    cudnn_benchmark: bool = True
    """Let cuDNN time its convolution algorithms for the run's fixed shapes (CUDA)."""
    data_on_device: str = "auto"
    """Keep the uint8 images in GPU memory: auto (when they take under a quarter of the free
    memory; otherwise pinned host memory), on or off."""
    data_mode: str = "auto"
    """How an image folder is read: memory (decoded once into the decoded cache, memory-mapped
    after), stream (DataLoader workers decode each batch: sets larger than memory) or auto
    (streams when the decoded pixels would take over half the available memory)."""
    data_workers: int = 0
    """Processes that decode images (the first read, or streaming); 0: chosen from the cores."""
    labels: str = "auto"
    """Where class labels come from: folders (one subfolder per class of an image folder), none,
    or auto (a reader's own: MNIST's, a Hugging Face dataset's class column)."""
    image_column: str = ""
    """Hugging Face datasets: the image column (empty: the first Image feature)."""
    label_column: str = ""
    """Hugging Face datasets: the label column (empty: the first ClassLabel feature)."""
    hflip: bool = False
    """Flip each training image left-right with probability 1/2 (noise-to-image data; the flips
    follow the seed and the sample order, so a resume repeats them)."""
    sync_batchnorm: bool = False
    """Under torchrun on GPUs: batch-norm statistics over the global batch (SyncBatchNorm)."""
    seed: int = 0
    log_every: int = 50
    sample_every: int = 500
    checkpoint_every: int = 500
    keep_checkpoints: int = 2
    keep_best: str = ""
    """An evaluation metric (one of ``eval_metrics``) whose best-scoring checkpoint is kept
    besides the newest ``keep_checkpoints``, for ``ganzoo export --best``; empty keeps none."""
    loggers: str = ""
    """Sinks besides log.jsonl, comma-separated: "tensorboard" (event files in <run>/tensorboard)
    and "csv" (<run>/log.csv); the CLI's ``--log``."""
    preview_samples: int = 64
    eval_metrics: str = ""
    """Comma-separated metrics (e.g. "swd,ms-ssim") to run every ``eval_every`` steps and at
    step 0, logged to log.jsonl as ``eval_<metric>``; empty turns it off."""
    eval_every: int = 1000
    eval_every_seconds: float = 0.0
    """Also evaluate, and checkpoint, each time another this many seconds of training have
    passed (checked at each ``log_every`` window); 0: by ``eval_every`` only."""
    eval_n: int = 1000
    """Generated and training images per evaluation (fewer than the metrics' protocols: the
    figures track progress within a run, not comparisons with published ones)."""
    eval_data: str = ""
    """The reference data of image-to-image metrics in ``eval_metrics`` (a folder of HR/LR pairs
    such as Set5 for sr, a CycleGAN dataset for domain-accuracy), read at their full protocol;
    empty: the training data."""

    def __post_init__(self) -> None:
        checks = [
            (self.steps >= 1, "steps must be >= 1"),
            (self.batch_size >= 1, "batch_size must be >= 1"),
            (0 < self.lr_g < math.inf and 0 < self.lr_d < math.inf, "learning rates must be finite and > 0"),
            (all(0 <= b < 1 for b in self.betas), "betas must be two values in [0, 1)"),
            (self.d_steps >= 1, "d_steps must be >= 1"),
            (self.r1_every >= 1, "r1_every must be >= 1"),
            (self.freeze_d >= 0, "freeze_d must be >= 0"),
            (all(n.strip() in ("tensorboard", "csv") for n in self.loggers.split(",") if n.strip()),
             f"loggers must be tensorboard and/or csv, got {self.loggers!r}"),
            (0 <= self.lr_decay_steps <= self.steps, "lr_decay_steps must be between 0 and steps"),
            (self.optimizer in OPTIMIZERS, f"optimizer must be one of {', '.join(OPTIMIZERS)}"),
            (0 <= min(self.gp_weight, self.r1_weight, self.weight_clip) and
             max(self.gp_weight, self.r1_weight, self.weight_clip) < math.inf,
             "gp_weight, r1_weight and weight_clip must be finite and >= 0"),
            (0 <= self.ema < 1, "ema must be in [0, 1) (0 turns it off)"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}"),
            (self.compile in COMPILE_MODES, f"compile must be one of {', '.join(COMPILE_MODES)}"),
            (self.channels_last in SWITCHES and self.data_on_device in SWITCHES,
             f"channels_last and data_on_device must be one of {', '.join(SWITCHES)}"),
            (self.optimizer_impl in OPTIMIZER_IMPLS,
             f"optimizer_impl must be one of {', '.join(OPTIMIZER_IMPLS)}"),
            (min(self.log_every, self.sample_every, self.checkpoint_every) >= 1,
             "log_every, sample_every and checkpoint_every must be >= 1"),
            (self.keep_checkpoints >= 1, "keep_checkpoints must be >= 1"),
            (self.data_mode in MODES, f"data_mode must be one of {', '.join(MODES)}"),
            (self.labels in LABELS, f"labels must be one of {', '.join(LABELS)}"),
            (self.data_workers >= 0, "data_workers must be >= 0 (0 chooses from the cores)"),
            (self.eval_every >= 1 and self.eval_n >= 2, "eval_every must be >= 1 and eval_n >= 2"),
            (0 <= min(self.time_limit, self.eval_every_seconds) and
             max(self.time_limit, self.eval_every_seconds) < math.inf,
             "time_limit and eval_every_seconds must be finite and >= 0 (0 turns them off)"),
            (not self.keep_best or self.keep_best in self.eval_metric_names(),
             f"keep_best={self.keep_best} must be one of the eval_metrics (add --set "
             f"eval_metrics={self.keep_best})"),
            (not self.keep_best or self.eval_every % self.checkpoint_every == 0,
             f"keep_best needs a checkpoint at every evaluation: eval_every ({self.eval_every}) "
             f"must be a multiple of checkpoint_every ({self.checkpoint_every})"),
        ]
        for ok, message in checks:
            if not ok:
                raise GanzooError(f"bad training setting: {message}")

    @classmethod
    def from_settings(cls, values: dict[str, Any]) -> "TrainConfig":
        """Checked construction: unknown keys and wrongly typed values are one-line errors."""
        from ganzoo.settings import build_settings

        return build_settings(cls, values, "training")

    def eval_metric_names(self) -> list[str]:
        return list(dict.fromkeys(n.strip() for n in self.eval_metrics.split(",") if n.strip()))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def data_options(self, *, cache: bool = True, progress: bool | None = None) -> DataOptions:
        """How the run's data readers read (``cache``: the CLI's ``--no-cache`` turns it off)."""
        return DataOptions(cache=cache, mode=self.data_mode, labels=self.labels, image_column=self.image_column,
                           label_column=self.label_column, workers=self.data_workers, progress=progress)
