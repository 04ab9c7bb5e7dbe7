"""The core concepts: Generator, Discriminator, AdversarialLoss, Recipe and Architecture.

A plugin provides an ``Architecture`` (which builds a generator, a discriminator and the recipe
that trains them from one config dataclass); the ``Trainer`` runs any recipe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Protocol, runtime_checkable

import torch
from torch import Tensor, nn

from ganzoo.errors import GanzooError

Batch = Mapping[str, Tensor]
"""A training batch: ``"image"`` (float NCHW in [-1, 1]) and, for labelled data, ``"label"``."""


@runtime_checkable
class TrainingData(Protocol):
    """What ``Architecture.load_training_data`` returns and the Trainer reads.

    ``ganzoo.data.ImageDataset`` is one; families with other data (HR/LR pairs, two domains)
    provide their own class with these members.
    """

    images: Tensor
    """uint8 NCHW images: the in-training metrics sample the real side from them."""
    labels: Tensor | None
    num_classes: int | None
    name: str
    path: str
    card: Mapping[str, Any]
    """What a model card says of the data (license, terms, citation)."""
    reader: str
    """The registered dataset reader that produced the data."""

    @property
    def image_shape(self) -> tuple[int, int, int]: ...

    def __len__(self) -> int: ...

    def batch(self, indices: Tensor, device: torch.device) -> Batch:
        """The training batch of ``indices`` on ``device``, images as float in [-1, 1]."""

    def to(self, device: torch.device | str) -> "TrainingData":
        """The same data with its tensors on ``device``."""


class Generator(nn.Module):
    """Maps its input to images in [-1, 1], NCHW.

    Subclasses set ``image_shape`` (C, H, W) and either ``latent_dim`` (noise -> image, with
    ``num_classes`` when conditional) or neither (image -> image).
    """

    image_shape: tuple[int, int, int]
    latent_dim: int | None = None
    num_classes: int | None = None
    spatial_multiple: int = 1
    """Image-to-image generators: input sides must be multiples of this (exports declare it)."""
    translate_options: str = ""
    """Image-to-image generators: the ``ganzoo sample`` options their translate takes, for
    model cards (e.g. "--direction a2b")."""

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    # -- pretrained directories and the Hub (huggingface_hub's names and semantics) ------------

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, **kwargs: Any) -> "Generator":
        """``ganzoo.load_pretrained(name_or_path, **kwargs)``, checked to be a ``cls``."""
        from ganzoo.models import load_pretrained

        generator = load_pretrained(name_or_path, **kwargs)
        if not isinstance(generator, cls):
            raise GanzooError(f"{name_or_path} is a {type(generator).__name__}, not a {cls.__name__}; "
                              f"load it with ganzoo.load_pretrained or {type(generator).__name__}.from_pretrained")
        return generator

    def _pretrained_spec(self) -> dict[str, Any]:
        spec = getattr(self, "pretrained_config", None)
        if not isinstance(spec, dict) or "architecture" not in spec or "config" not in spec:
            raise GanzooError(f"this {type(self).__name__} was not made by ganzoo.create_model or "
                              "ganzoo.load_pretrained, so its architecture is unknown; use "
                              "ganzoo.hub.save_pretrained(generator, DIR, architecture=..., model_config=...)")
        return spec

    def save_pretrained(self, save_directory: str | Path, *, overwrite: bool = False,
                        notes: str | None = None) -> Path:
        """Write this generator as a pretrained directory (config.json, model.safetensors, a
        model card and samples.png), atomically; what ``from_pretrained`` and ``ganzoo sample``
        read. Training and dataset records of a loaded model are kept; its measured evaluations
        are not (the weights may have changed since: measure again with ``ganzoo eval --record``)."""
        from ganzoo.artifacts import SAMPLES, save_pretrained

        spec = self._pretrained_spec()
        samples = None
        source = getattr(getattr(self, "source", None), "path", None)
        if self.latent_dim is None and source is not None and (Path(source) / SAMPLES).is_file():
            from PIL import Image

            with Image.open(Path(source) / SAMPLES) as grid:
                samples = grid.copy()
        return save_pretrained(self, save_directory, architecture=spec["architecture"], model_config=spec["config"],
                               training=spec.get("training"), dataset=spec.get("dataset"), overwrite=overwrite,
                               notes=spec.get("notes", "") if notes is None else notes, samples=samples)

    def push_to_hub(self, repo_id: str, *, private: bool = False, revision: str | None = None,
                    commit_message: str | None = None, token: str | None = None,
                    endpoint: str | None = None) -> str:
        """``save_pretrained`` into a temporary directory, then upload it to the Hub repository
        ``repo_id`` (created if needed; ``revision`` a branch). Returns the commit id."""
        import tempfile

        from ganzoo.huggingface import HubOptions, push_to_hub

        with tempfile.TemporaryDirectory(prefix="ganzoo-push-") as staging:
            directory = self.save_pretrained(Path(staging) / repo_id.split("/")[-1])
            return push_to_hub(directory, repo_id, private=private, revision=revision,
                               commit_message=commit_message, options=HubOptions(endpoint=endpoint, token=token))

    def sample_latent(
        self, n: int, *, generator: torch.Generator | None = None, device: torch.device | None = None
    ) -> Tensor:
        if self.latent_dim is None:
            raise GanzooError(f"{type(self).__name__} takes images, not latent vectors")
        return torch.randn(n, self.latent_dim, generator=generator, device=device or self.device)

    def translate(self, images: Tensor, **options: Any) -> Tensor:
        """Image-to-image generators map uint8 NCHW images to uint8 NCHW images (``options``
        such as ``direction`` come from ``ganzoo sample --input``); noise generators do not."""
        raise GanzooError(f"{type(self).__name__} makes images from noise; drop --input")

    @torch.no_grad()
    def generate(
        self,
        n: int = 64,
        *,
        seed: int | None = None,
        z: Tensor | None = None,
        labels: Tensor | None = None,
        batch_size: int | None = None,
    ) -> Tensor:
        """Sample ``n`` images in eval mode without gradients (``seed`` makes it repeatable).
        ``batch_size`` bounds the images per forward pass (the same images, less memory)."""
        was_training = self.training
        self.eval()
        try:
            if z is None:
                rng = torch.Generator(device="cpu")
                if seed is not None:
                    rng.manual_seed(seed)
                else:
                    rng.seed()
                z = self.sample_latent(n, generator=rng, device=torch.device("cpu"))
            if self.num_classes is not None and labels is None:
                raise GanzooError("this generator is conditional: give labels")
            step = batch_size or len(z)
            out = []
            for start in range(0, len(z), step):
                chunk = z[start:start + step].to(self.device, self.dtype)  # a bf16 model takes bf16 noise
                if self.num_classes is not None:
                    out.append(self(chunk, labels[start:start + step].to(self.device)))
                else:
                    out.append(self(chunk))
            return out[0] if len(out) == 1 else torch.cat(out)
        finally:
            self.train(was_training)


def class_rows(num_classes: int, n: int) -> Tensor:
    """Labels for a grid with one row per class: ``max(1, n // num_classes)`` of each."""
    return torch.arange(num_classes).repeat_interleave(max(1, n // num_classes))


class Discriminator(nn.Module):
    """Images (and labels when conditional) -> logits, one per image or per patch."""


class AdversarialLoss(ABC):
    """The adversarial objective: ``d_loss`` for the discriminator, ``g_loss`` for the generator.

    Logits are promoted to float32 before any reduction, so losses stay accurate under autocast.
    Penalties that need the discriminator (gradient penalty, R1) are separate terms.
    """

    name: ClassVar[str] = ""
    training_defaults: ClassVar[dict[str, Any]] = {}
    """Training settings this loss needs (e.g. WGAN's clipping and RMSprop); user settings win."""
    uses_real_logits: ClassVar[bool] = False
    decision_threshold: ClassVar[float | None] = 0.0
    """Logits above it mean "real" (LSGAN's targets 1 and 0: 0.5); None for critics whose scores
    carry no decision (WGAN). The discriminator's accuracy, logged as ``d_real_acc`` and
    ``d_fake_acc``, is measured against it."""
    """True: ``g_loss`` needs the discriminator's logits on the real batch (relativistic losses),
    and every recipe scores the real batch in the generator step to pass them; False: recipes
    pass None and save that forward pass."""

    def __init__(self, label_smoothing: float = 0.0) -> None:
        if not 0.0 <= label_smoothing < 0.5:
            raise GanzooError(f"label smoothing must be in [0, 0.5), got {label_smoothing}")
        self.label_smoothing = label_smoothing

    @abstractmethod
    def d_loss(self, real_logits: Tensor, fake_logits: Tensor) -> Tensor: ...

    @abstractmethod
    def g_loss(self, fake_logits: Tensor, real_logits: Tensor | None = None) -> Tensor:
        """The generator's loss; ``real_logits`` are this step's logits of the real batch when
        ``uses_real_logits`` is set, else None."""


class Recipe(nn.Module):
    """Binds the networks and losses of one family and says what one training step means.

    ``discriminator_loss`` and ``generator_loss`` return dicts of named scalar tensors with a
    ``"loss"`` entry. A recipe never calls backward or an optimizer: the Trainer does. The
    Trainer optimises the parameters in ``generators`` and ``discriminators`` with one optimizer
    each, keeps an EMA of ``generators`` and exports ``generators[export_name]``.
    """

    export_name: ClassVar[str] = "generator"

    def __init__(self, generators: Mapping[str, nn.Module], discriminators: Mapping[str, nn.Module]):
        super().__init__()
        self.generators = nn.ModuleDict(generators)
        self.discriminators = nn.ModuleDict(discriminators)

    def attach_data(self, data: Any) -> None:
        """Called by the Trainer with its training data before ``preview_inputs``: image-to-image
        recipes draw their preview inputs from it."""

    def begin_step(self, step: int) -> None:
        """Called by the Trainer before each step (0-based), e.g. to switch training phases."""

    def trains_discriminator(self, step: int) -> bool:
        """Whether step ``step`` runs the discriminator steps (False: a generator-only phase)."""
        return True

    @abstractmethod
    def discriminator_loss(self, batch: Batch) -> dict[str, Tensor]: ...

    @abstractmethod
    def generator_loss(self, batch: Batch) -> dict[str, Tensor]: ...

    @abstractmethod
    def preview_inputs(self, n: int, rng: torch.Generator) -> Any:
        """Fixed inputs for the sample grids drawn during training (made on the CPU)."""

    @abstractmethod
    def preview(self, generators: nn.ModuleDict, inputs: Any) -> Tensor:
        """Images for a sample grid from ``inputs``, using ``generators`` (live or EMA)."""

    def preview_columns(self, inputs: Any) -> int | None:
        """Images per row of the sample grid (None: a square grid)."""
        return None


@dataclass
class RecipeOptions:
    """Training choices a recipe applies inside its losses (set from the TrainConfig)."""

    gp_weight: float = 0.0
    """WGAN-GP gradient penalty on interpolates of real and fake (Gulrajani et al.)."""
    r1_weight: float = 0.0
    """R1 penalty on real images (Mescheder et al.)."""
    r1_every: int = 1
    """Lazy regularisation (StyleGAN2): R1 on one discriminator step in ``r1_every``, weighted
    by ``r1_every`` so that the penalty's strength is unchanged."""
    r1_due: bool = True
    """Whether this discriminator step computes R1; the Trainer sets it before each step."""
    augment: Callable[[Tensor], Tensor] | None = None
    """A differentiable augmentation applied to every image the discriminator sees."""


class Architecture(ABC):
    """A GAN family. Plugins subclass it and register the class under a name.

    ``config_class`` is a dataclass of the family's hyperparameters; fields named ``channels``,
    ``image_size`` and ``num_classes`` are filled from the training data when not set.
    ``training_defaults`` overrides the Trainer's defaults (``ganzoo.engine.TrainConfig``).
    """

    config_class: ClassVar[type]
    training_defaults: ClassVar[dict[str, Any]] = {}
    recipe_class: ClassVar[type[Recipe] | None] = None
    """None: the core's unconditional or conditional recipe, chosen by the generator."""
    bench_adapter: ClassVar[Any] = None
    """How ``ganzoo bench`` exercises the family: a ``ganzoo.bench.adapter.BenchAdapter``
    subclass or its ``"module:attribute"`` (None: the default for noise-to-image GANs)."""

    def make_config(self, values: Mapping[str, Any] | None = None) -> Any:
        """Build the config from defaults and ``values``; unknown keys and values of the wrong
        type are one-line errors."""
        from ganzoo.settings import build_settings

        return build_settings(self.config_class, values or {}, type(self).__name__)

    def load_training_data(self, path: str | Path, *, dataset_name: str | None = None,
                           image_size: int | None = None, settings: Mapping[str, Any] | None = None,
                           data_options: Any = None) -> Any:
        """The training data at ``path``: by default an ``ImageDataset`` (or streamed images)
        from the registered readers, at ``image_size``, read as ``data_options`` (a
        ``ganzoo.data.options.DataOptions``: cache, streaming, labels) say. ``settings`` are
        the run's model settings (before the data fills channels, size and classes), for
        families whose data depends on them (a crop, a scale). Families with other data (image
        pairs, two domains) return their own ``TrainingData``."""
        from ganzoo.data.dataset import load_dataset

        return load_dataset(path, dataset_name, image_size=image_size, options=data_options)

    @abstractmethod
    def build_generator(self, config: Any) -> Generator: ...

    @abstractmethod
    def build_discriminator(self, config: Any) -> Discriminator: ...

    def build_recipe(self, config: Any, loss: AdversarialLoss, options: RecipeOptions | None = None) -> Recipe:
        from ganzoo.recipes import ConditionalRecipe, UnconditionalRecipe

        generator = self.build_generator(config)
        recipe_class = self.recipe_class or (
            ConditionalRecipe if generator.num_classes else UnconditionalRecipe
        )
        return recipe_class(generator, self.build_discriminator(config), loss, options or RecipeOptions())
