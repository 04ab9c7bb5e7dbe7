"""Training runs on disk: start one from an architecture and a dataset, or resume one.

A run directory holds ``run.json`` (what was asked for), ``log.jsonl``, ``samples/``,
``checkpoints/`` and, at the end, ``loss_curve.png``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
from typing import Any, Mapping

import torch

from ganzoo import __version__
from ganzoo.data.dataset import HF_PREFIX, ImageDataset
from ganzoo.data.options import DataOptions
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine import distributed
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.lock import LOCK_FILE, RunLock, is_main_process
from ganzoo.engine.trainer import Trainer
from ganzoo.errors import ArtifactError, DataError, GanzooError
from ganzoo.fileio import atomic_write_text
from ganzoo.interfaces import Architecture, Recipe, RecipeOptions
from ganzoo.plugins import get_zoo
from ganzoo.suggest import did_you_mean

RUN_FILE = "run.json"
DATA_FIELDS = ("channels", "image_size", "num_classes")
"""Config fields that are filled from the data when the user does not set them."""


def get_architecture(name: str) -> Architecture:
    return get_zoo().architectures.get(name).load()()


def split_overrides(arch: Architecture, overrides: Mapping[str, Any]) -> tuple[dict, dict]:
    """Route ``--set key=value`` pairs to the model config or the training config."""
    model_keys = [f.name for f in dataclasses.fields(arch.config_class)]
    train_keys = TrainConfig.field_names()
    model, train = {}, {}
    for key, value in overrides.items():
        if key in model_keys:
            model[key] = value
        elif key in train_keys:
            train[key] = value
        else:
            hint = did_you_mean(key, model_keys + train_keys)
            raise GanzooError(f"unknown setting {key!r} for {type(arch).__name__}{hint}")
    return model, train


def fit_config_to_data(arch: Architecture, model: dict, dataset: ImageDataset) -> dict:
    """Fill channels / image_size / num_classes from the data; refuse contradictions."""
    fields = {f.name for f in dataclasses.fields(arch.config_class)}
    c, h, w = dataset.image_shape
    facts: dict[str, Any] = {"channels": c, "image_size": h if h == w else None,
                             "num_classes": dataset.num_classes}
    model = dict(model)
    for key in DATA_FIELDS:
        if key not in fields:
            continue
        fact = facts[key]
        if fact is None:
            if key == "image_size":
                raise DataError(f"images in {dataset.path} are {h}x{w}; this architecture needs square images")
            if key not in model:
                raise DataError(f"{dataset.name} has no labels; this architecture needs a labelled dataset")
            continue
        if key in model and model[key] != fact:
            raise DataError(f"{key}={model[key]} was set but the data at {dataset.path} has {key}={fact}; "
                            f"drop the setting or use matching data")
        model[key] = fact
    return model


def read_training_data(arch: Architecture, data: str | Path, reader: str | None, image_size: int | None,
                       model_values: Mapping[str, Any], options: DataOptions) -> Any:
    """``arch``'s training data at ``data`` read with ``options`` (architectures whose own
    ``load_training_data`` predates them get the other arguments only)."""
    kwargs: dict[str, Any] = {"dataset_name": reader, "image_size": image_size, "settings": model_values}
    if "data_options" in inspect.signature(arch.load_training_data).parameters:
        kwargs["data_options"] = options
    return arch.load_training_data(data, **kwargs)


def recorded_data_path(data: str | Path) -> str:
    """``--data`` as run.json records it: absolute, so a resume may run elsewhere (a
    ``hf:`` dataset id as given)."""
    return str(data) if str(data).startswith(HF_PREFIX) else str(Path(data).resolve())


def _requested_size(arch: Architecture, model_values: dict) -> int | None:
    """The image size to read data at: the user's setting, else the architecture's default."""
    if "image_size" in model_values:
        return model_values["image_size"]
    return getattr(arch.make_config(), "image_size", None)


def build_recipe(arch: Architecture, model_config: Any, train: TrainConfig) -> Recipe:
    """The architecture's recipe with the loss, penalties and augmentation ``train`` asks for."""
    loss = get_zoo().losses.get(train.loss).load()(label_smoothing=train.label_smoothing)
    augment = None
    if train.diffaugment:
        from ganzoo.augment import DiffAugment

        augment = DiffAugment(train.diffaugment)
    options = RecipeOptions(gp_weight=train.gp_weight, r1_weight=train.r1_weight, r1_every=train.r1_every,
                            augment=augment)
    return arch.build_recipe(model_config, loss, options)


def _loss_defaults(arch: Architecture, loss_name: str) -> tuple[dict, dict]:
    """The chosen loss's own settings, split into model and training settings; model settings
    the architecture does not have are ignored."""
    defaults = dict(get_zoo().losses.get(loss_name).load().training_defaults)
    model_keys = {f.name for f in dataclasses.fields(arch.config_class)}
    train_keys = set(TrainConfig.field_names())
    return ({k: v for k, v in defaults.items() if k in model_keys},
            {k: v for k, v in defaults.items() if k in train_keys and k not in model_keys})


def resolve_settings(arch: Architecture, settings: Mapping[str, Any]) -> tuple[dict, TrainConfig]:
    """The model values and the training config a run of ``arch`` with ``settings`` gets:
    the user's settings, over the chosen loss's own (e.g. WGAN's clipping and RMSprop), over
    the architecture's training defaults, over the Trainer's. Bad settings are one-line errors
    here, before any data is read."""
    model_values, train_values = split_overrides(arch, settings)
    arch.make_config(model_values)
    loss_name = train_values.get("loss", arch.training_defaults.get("loss", TrainConfig.loss))
    loss_model, loss_train = _loss_defaults(arch, loss_name)
    model_values = {**loss_model, **model_values}
    return model_values, TrainConfig.from_settings({**arch.training_defaults, **loss_train, **train_values})


def _check_shapes(recipe: Recipe, dataset: ImageDataset) -> None:
    generator = recipe.generators[recipe.export_name]
    if getattr(generator, "num_classes", None) and dataset.labels is None:
        raise DataError(f"{dataset.path} has no labels; this conditional architecture needs a "
                        "labelled dataset (e.g. MNIST)")
    made = tuple(getattr(generator, "image_shape", ()))
    if made and made != dataset.image_shape:
        raise DataError(
            f"the generator makes {made} images but the data at {dataset.path} is "
            f"{dataset.image_shape}; set channels/image_size to match the data"
        )


def with_source_defaults(architecture: str, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` over the model config of the model ``init_from`` names (fine-tuning: the
    source's model config is the default); unchanged without ``init_from``."""
    if not settings.get("init_from"):
        return settings
    from ganzoo.engine.finetune import source_config

    source_arch, source_model = source_config(str(settings["init_from"]))
    if source_arch != architecture:
        raise GanzooError(f"--init-from {settings['init_from']} is a {source_arch!r} model; train {source_arch} "
                          f"to fine-tune it, not {architecture}")
    return {**source_model, **settings}


def start_run(
    architecture: str,
    data: Any,
    run_dir: str | Path,
    *,
    dataset_name: str | None = None,
    settings: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    cache: bool = True,
) -> Trainer:
    """A Trainer for a new run in ``run_dir`` (which must be new or empty). ``data`` is a path
    the architecture reads, or training data already in memory (a ``TrainingData``, e.g. from
    its bench adapter's ``make_data``; resume such a run with the same ``data``); ``cache``:
    use the decoded cache for image folders. Under torchrun every process calls it; rank 0
    writes the run directory."""
    run_dir = Path(run_dir)
    _check_new_run_dir(run_dir)
    arch = get_architecture(architecture)
    settings = with_source_defaults(architecture, dict(settings or {}))
    model_values, train_config = resolve_settings(arch, settings)
    if train_config.eval_data:  # recorded absolute, as the data path is: a resume may run elsewhere
        train_config.eval_data = str(Path(train_config.eval_data).resolve())
    created = not run_dir.exists()
    lock = _lock_new_run_dir(run_dir) if is_main_process() else None
    try:
        in_memory = not isinstance(data, (str, Path))
        dataset = data if in_memory else read_training_data(
            arch, data, dataset_name, _requested_size(arch, model_values), model_values,
            train_config.data_options(cache=cache, progress=progress))
        model_values = fit_config_to_data(arch, model_values, dataset)
        model_config = arch.make_config(model_values)
        trainer = _make_trainer(arch, model_config, train_config, dataset, run_dir, progress,
                                init_from=train_config.init_from or None)
    except BaseException:
        if lock is not None:
            lock.release()
            (run_dir / LOCK_FILE).unlink(missing_ok=True)
            if created and not any(run_dir.iterdir()):
                run_dir.rmdir()  # a refused start leaves nothing behind
        raise
    trainer.run_lock = lock
    if trainer.dist is not None:
        trainer.dist.barrier()  # every rank has checked run_dir before rank 0 writes into it
    if not trainer.is_main:
        return trainer
    run_dir.mkdir(parents=True, exist_ok=True)
    record = {
        "ganzoo_version": __version__,
        "architecture": architecture,
        "model_config": dataclasses.asdict(model_config),
        "train_config": train_config.to_dict(),
        "data": {"path": str(dataset.path) if in_memory else recorded_data_path(data),
                 "reader": dataset.reader, "dataset": dataset.name, "card": dict(dataset.card)},
    }
    atomic_write_text(run_dir / RUN_FILE, json.dumps(record, indent=2) + "\n")
    return trainer


def _check_new_run_dir(run_dir: Path) -> None:
    if (run_dir / RUN_FILE).exists():
        raise GanzooError(f"{run_dir} already holds a run; pass --resume to continue it or pick another -o")
    if run_dir.exists() and not run_dir.is_dir():
        raise GanzooError(f"{run_dir} is a file; -o names the run directory to create")
    if run_dir.exists() and any(p.name != LOCK_FILE for p in run_dir.iterdir()):
        raise GanzooError(f"{run_dir} exists and is not empty; pick another -o")


def _lock_new_run_dir(run_dir: Path) -> RunLock:
    """Lock ``run_dir`` (created if needed), then check again under the lock that it is free:
    two ``ganzoo train`` started at once into one folder cannot both pass."""
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = RunLock(run_dir).acquire()
    except OSError as exc:
        raise GanzooError(f"cannot write the run directory {run_dir}: {exc.strerror or exc}; "
                          "choose a writable -o") from None
    try:
        _check_new_run_dir(run_dir)
    except GanzooError:
        lock.release()
        raise
    return lock


def _make_trainer(arch, model_config, train_config, dataset, run_dir, progress, init_from: str | None = None
                  ) -> Trainer:
    """The recipe, with a new run's initial weights (``init_from``) and frozen discriminator
    blocks (``freeze_d``, also on a resume), and its Trainer."""
    torch.manual_seed(train_config.seed)
    recipe = build_recipe(arch, model_config, train_config)
    _check_shapes(recipe, dataset)
    if init_from:
        from ganzoo.engine.finetune import load_initial_weights

        load_initial_weights(recipe, init_from)
    if train_config.freeze_d:
        from ganzoo.engine.finetune import freeze_discriminator_blocks

        freeze_discriminator_blocks(recipe, train_config.freeze_d)
    return Trainer(recipe, dataset, train_config, run_dir, progress=progress)


def read_run(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / RUN_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise GanzooError(f"{run_dir} is not a training run (no {RUN_FILE})") from None
    except json.JSONDecodeError as exc:
        raise GanzooError(f"{path} is not valid JSON: {exc}") from None


def select_checkpoint(run_dir: str | Path, best: str | None = None) -> tuple[Path, dict[str, Any]]:
    """The run's latest checkpoint, or with ``best`` the one whose logged ``eval_<best>`` is the
    best of those that have a checkpoint; with what chose it (for the training summary)."""
    from ganzoo.fileio import read_jsonl

    run_dir = Path(run_dir)
    found = dict(ckpt.list_checkpoints(run_dir))
    if not found:
        raise ArtifactError(f"run {run_dir} has no checkpoint yet; train it longer or --resume it")
    if best is None:
        return found[max(found)], {}
    from ganzoo.metrics.evaluate import lower_is_better

    log = run_dir / "log.jsonl"
    records = read_jsonl(log) if log.exists() else []
    chosen = ckpt.best_step(records, best, lower_is_better=lower_is_better(best), steps=found.keys())
    if chosen is None:
        raise GanzooError(f"{run_dir} logged no eval_{best} at a step that has a checkpoint; train with "
                          f"--set eval_metrics={best} --set keep_best={best}, or export without --best")
    step, value = chosen
    images = next((r[f"eval_{best}_images"] for r in records  # model metrics log their own count
                   if r.get("step") == step and f"eval_{best}_images" in r),
                  read_run(run_dir)["train_config"].get("eval_n"))
    return found[step], {"chosen_by": f"best {best} during training ({value:.4g} on {images} images, step {step})"}


def resume_run(
    run_dir: str | Path,
    *,
    steps: int | None = None,
    data: Any = None,
    progress: bool | None = None,
    cache: bool = True,
) -> Trainer:
    """A Trainer that continues the run in ``run_dir`` from its latest checkpoint (``cache``:
    use the decoded cache for image folders)."""
    run_dir = Path(run_dir)
    record = read_run(run_dir)
    lock = RunLock(run_dir).acquire() if is_main_process() else None
    group, _ = distributed.setup(record["train_config"].get("device", "auto"))
    if group is None or group.is_main:
        ckpt.remove_partial_checkpoints(run_dir)
    if group is not None:
        group.barrier()
    latest, passed_over = ckpt.latest_intact_checkpoint(run_dir)
    if passed_over and latest is None:
        raise ArtifactError(f"{passed_over[0]}; no intact checkpoint is left to resume from, so start a new run")
    done = ckpt.checkpoint_step(latest) if latest is not None else 0
    if steps is not None and steps < done:
        raise GanzooError(f"{run_dir} is already at step {done}; --steps is the total to train to, so give "
                          f"more than {done} (or leave it out)")
    arch = get_architecture(record["architecture"])
    model_config = arch.make_config(record["model_config"])
    train_values = dict(record["train_config"])
    if steps is not None:
        train_values["steps"] = steps
    train_config = TrainConfig.from_settings(train_values)
    if data is not None and not isinstance(data, (str, Path)):
        dataset = data  # in memory, as the run started
    else:
        dataset = read_training_data(arch, data or record["data"]["path"], record["data"].get("reader"),
                                     record["model_config"].get("image_size"), record["model_config"],
                                     train_config.data_options(cache=cache, progress=progress))
    trainer = _make_trainer(arch, model_config, train_config, dataset, run_dir, progress)
    trainer.run_lock = lock
    trainer.resume_warnings = tuple(f"{reason}; resuming from {latest.name}, the newest intact one"
                                    for reason in passed_over)
    if latest is not None:
        trainer.load(latest)
    elif trainer.is_main:  # killed before its first checkpoint: start over, dropping the old log lines
        trainer.truncate_log()
    if trainer.is_main and steps is not None and steps != record["train_config"]["steps"]:
        record["train_config"]["steps"] = steps
        atomic_write_text(run_dir / RUN_FILE, json.dumps(record, indent=2) + "\n")
    return trainer
