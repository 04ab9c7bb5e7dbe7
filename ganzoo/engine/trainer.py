"""The one training engine: generic over recipes, knows no architecture by name."""

from __future__ import annotations

import contextlib
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ganzoo.data.dataset import ImageDataset, ShuffledBatches
from ganzoo.devices import resolve_device
from ganzoo.engine import checkpoint as ckpt
from ganzoo.engine import distributed, fastpaths
from ganzoo.engine.config import TrainConfig
from ganzoo.engine.ema import EMA
from ganzoo.engine.precision import Precision
from ganzoo.errors import GanzooError
from ganzoo.fileio import atomic_write_text, read_jsonl
from ganzoo.hardware import hardware_name
from ganzoo.images import make_grid, save_image
from ganzoo.interfaces import Recipe, RecipeOptions

LOG_FILE = "log.jsonl"


class StopRequested(KeyboardInterrupt):
    """Training stopped on request after checkpointing step ``step``."""

    def __init__(self, signum: int, step: int) -> None:
        super().__init__(f"stopped at step {step}")
        self.signum, self.step = signum, step


class Trainer:
    """Trains a recipe on a dataset: D steps then a G step, EMA, logs, grids and checkpoints.

    Everything a resume needs (step, optimizer, scaler, RNG and sampler states, every network
    and the EMA) goes into the checkpoint, so a resumed run continues exactly where it was.

    Under torchrun each process trains on its share of every global batch of
    ``batch_size x world size`` images with its own noise (seed + rank), gradients are averaged
    over the processes before each optimizer step, and only rank 0 keeps the EMA and writes
    logs, sample grids, evaluations and checkpoints (``ganzoo.engine.distributed``).
    """

    resume_warnings: tuple[str, ...] = ()
    """Why a resume passed over newer checkpoints (corrupt ones), for the CLI to show."""
    run_lock: Any = None
    """The run directory's ``ganzoo.engine.lock.RunLock`` (set by start_run/resume_run), released
    when ``fit`` ends."""

    def __init__(
        self,
        recipe: Recipe,
        dataset: ImageDataset,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        progress: bool | None = None,
    ) -> None:
        self.config = config
        self.run_dir = Path(run_dir)
        self.dist, device_name = distributed.setup(config.device)
        self.is_main = self.dist is None or self.dist.is_main
        self.world_size = 1 if self.dist is None else self.dist.world_size
        self.device = resolve_device(device_name)
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = config.cudnn_benchmark
        self.channels_last = fastpaths.uses_channels_last(config, recipe)
        self.recipe = recipe.to(self.device)
        if self.channels_last:
            self.recipe.to(memory_format=torch.channels_last)
        if self.dist is not None:
            self._prepare_distributed()
        self.data = fastpaths.place_data(dataset, config, self.device)
        self.precision = Precision(config.precision, self.device)
        self.progress = progress
        self.opt_g = self._optimizer(recipe.generators, config.lr_g)
        self.opt_d = self._optimizer(recipe.discriminators, config.lr_d)
        self.ema = EMA(recipe.generators, config.ema) if config.ema > 0 and self.is_main else None
        fastpaths.compile_networks(recipe, config)
        images = getattr(self.data, "images", None)  # ImageDataset: the order lives beside the images
        self.batches = ShuffledBatches(len(dataset), config.batch_size * self.world_size, config.seed,
                                       images.device if isinstance(images, Tensor) else "cpu")
        recipe.attach_data(self.data)
        self.preview_inputs = recipe.preview_inputs(
            config.preview_samples, torch.Generator().manual_seed(config.seed)
        )
        self._following = False
        self.step = 0
        self.train_seconds = 0.0
        self._d_params = [p for p in recipe.discriminators.parameters() if p.requires_grad]  # FreezeD stays frozen
        self.options = getattr(recipe, "options", None)
        if config.r1_every > 1 and not isinstance(self.options, RecipeOptions):
            raise GanzooError("r1_every needs a recipe that keeps its RecipeOptions as .options; "
                              "leave r1_every at 1 for this architecture")
        self.evaluation = self._evaluation()
        self.logger_names = [n.strip() for n in config.loggers.split(",") if n.strip()]
        if self.logger_names:
            from ganzoo.engine.loggers import check_available

            check_available(self.logger_names)
        self.loggers = None  # opened by fit: a refused start leaves no event files behind
        self.health = self._health_monitor() if self.is_main else None
        self.stop_requested: int | None = None
        """A signal number: ``fit`` checkpoints at the end of the current step and raises
        ``StopRequested`` (set by the CLI's Ctrl-C / SIGTERM handler)."""

    def _health_monitor(self):
        from ganzoo.engine.health import HealthMonitor

        generators = self.recipe.generators
        noise = "generator" in generators and getattr(generators["generator"], "latent_dim", None) is not None
        real = None
        if noise and hasattr(self.data, "subset") and len(self.data) >= 4:
            chosen = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(self.config.seed))[:64]
            real = self.data.subset(chosen).images
        return HealthMonitor(self.config.steps, real)

    def _health(self, note: str | None) -> None:
        if note is not None:
            self._log({"step": self.step, "warning": note})

    def _prepare_distributed(self) -> None:
        """Synchronised batch norm if asked, rank 0's weights everywhere, a seed per rank."""
        dist = self.dist
        assert dist is not None
        if self.config.sync_batchnorm:
            if self.device.type != "cuda":
                raise GanzooError("sync_batchnorm needs GPUs (PyTorch's SyncBatchNorm has no CPU "
                                  "kernels); drop --set sync_batchnorm=true for a CPU run")
            for modules in (self.recipe.generators, self.recipe.discriminators):
                nn.SyncBatchNorm.convert_sync_batchnorm(modules)
        dist.broadcast_module(self.recipe)
        torch.manual_seed(distributed.rank_seed(self.config.seed, dist.rank))

    def _evaluation(self):
        names = self.config.eval_metric_names()
        if not names or not self.is_main:
            return None
        from ganzoo.engine.evaluation import TrainingEvaluation

        if "generator" not in self.recipe.generators:
            raise GanzooError("eval_metrics: this recipe has no 'generator' to evaluate")
        evaluation = TrainingEvaluation(names, self.data, n=self.config.eval_n, seed=self.config.seed,
                                        device=self.device, eval_data=self.config.eval_data)
        evaluation.check(self.recipe.generators["generator"])
        return evaluation

    def evaluate(self) -> dict[str, Any]:
        """Run the chosen metrics on the sampling (EMA) generator and log them at this step."""
        start = time.perf_counter()
        values = self.evaluation(self.sampling_generators()["generator"])
        record = {"step": self.step, **values, "eval_seconds": round(time.perf_counter() - start, 2)}
        self._log(record)
        return record

    def _optimizer(self, modules: nn.Module, lr: float) -> torch.optim.Optimizer:
        params = [p for p in modules.parameters() if p.requires_grad]
        kernels = fastpaths.optimizer_kwargs(self.config)
        if self.config.optimizer == "rmsprop":
            return torch.optim.RMSprop(params, lr=lr, **kernels)
        return torch.optim.Adam(params, lr=lr, betas=self.config.betas, **kernels)

    def _average_gradients(self, optimizer: torch.optim.Optimizer) -> None:
        assert self.dist is not None
        self.dist.average_gradients(p for group in optimizer.param_groups for p in group["params"])

    def _next_batch(self) -> dict[str, Tensor]:
        if not self._following and hasattr(self.data, "follow"):  # streamed data decodes ahead
            self.data.follow(self.batches, None if self.dist is None else self.dist.shard,
                             pin_memory=self.device.type == "cuda")
            self._following = True
        indices = self.batches.next()
        if self.dist is not None:
            indices = self.dist.shard(indices)
        batch = self.data.batch(indices, self.device)
        if self.config.hflip:
            batch = self._flip(batch)
        return fastpaths.to_channels_last(batch) if self.channels_last else batch

    def _flip(self, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """``hflip``: each image mirrored with probability 1/2, drawn from the seed and the sample
        order's position (so a resume, and every rank, draws the same)."""
        paired = sorted(set(batch) - {"image", "label"})
        if paired:
            raise GanzooError(f"hflip mirrors single images; this architecture's batches also hold "
                              f"{', '.join(paired)} (drop --set hflip=true)")
        position = self.batches.epoch * self.batches.num_items + self.batches.position
        rng = torch.Generator().manual_seed(self.config.seed * 1_000_003 + position)
        images = batch["image"]
        flip = (torch.rand(len(images), generator=rng) < 0.5).to(images.device).view(-1, 1, 1, 1)
        return {**batch, "image": torch.where(flip, images.flip(-1), images)}

    # -- one step -----------------------------------------------------------------------------

    def lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step`` (0-based): 1, then over the last
        ``lr_decay_steps`` steps 1 - k / (lr_decay_steps + 1) at the k-th of them."""
        decay = self.config.lr_decay_steps
        if decay == 0:
            return 1.0
        return 1.0 - max(0, step + 1 - (self.config.steps - decay)) / (decay + 1)

    def _schedule_learning_rates(self) -> None:
        factor = self.lr_factor(self.step)
        for optimizer, base in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in optimizer.param_groups:
                group["lr"] = base * factor

    def train_step(self) -> dict[str, Tensor]:
        """One generator step after ``d_steps`` discriminator steps; returns detached losses."""
        recipe, precision = self.recipe, self.precision
        if self.config.lr_decay_steps:
            self._schedule_learning_rates()
        reduce = self._average_gradients if self.dist is not None else None
        recipe.begin_step(self.step)
        d_out: dict[str, Tensor] = {}
        d_steps = self.config.d_steps if recipe.trains_discriminator(self.step) else 0
        if d_steps == 0:
            batch = self._next_batch()
        for k in range(d_steps):
            if self.options is not None and self.config.r1_every > 1:
                self.options.r1_due = (self.step * d_steps + k) % self.config.r1_every == 0
            batch = self._next_batch()
            with precision.autocast():
                d_out = recipe.discriminator_loss(batch)
            precision.step(d_out["loss"], self.opt_d, reduce)
            if self.config.weight_clip > 0:
                clip = self.config.weight_clip
                with torch.no_grad():
                    torch._foreach_clamp_min_(self._d_params, -clip)
                    torch._foreach_clamp_max_(self._d_params, clip)
        for p in self._d_params:  # no weight gradients for D during the G step
            p.requires_grad_(False)
        try:
            with precision.autocast():
                g_out = recipe.generator_loss(batch)
            precision.step(g_out["loss"], self.opt_g, reduce)
        finally:
            for p in self._d_params:
                p.requires_grad_(True)
        if self.ema is not None:
            self.ema.update()
        self.step += 1
        out = {f"d_{k}" if k != "loss" else "d_loss": v.detach() for k, v in d_out.items()}
        out.update({f"g_{k}" if k != "loss" else "g_loss": v.detach() for k, v in g_out.items()})
        return out

    # -- the loop -----------------------------------------------------------------------------

    def fit(self) -> dict[str, Any]:
        """Train up to ``config.steps``; returns the training summary."""
        cfg = self.config
        if self.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if self.logger_names and self.loggers is None:
                from ganzoo.engine.loggers import RunLoggers

                self.loggers = RunLoggers(self.logger_names, self.run_dir)
        self.recipe.train()
        sums: dict[str, Tensor] = {}
        counts: dict[str, int] = {}
        window_steps, window_start = 0, time.perf_counter()
        bar = tqdm(total=cfg.steps, initial=self.step, desc="train", unit="step",
                   disable=(None if self.progress is None else not self.progress) if self.is_main else True,
                   dynamic_ncols=True)
        try:
            if self.evaluation is not None and self.step == 0:
                self.evaluate()  # the baseline, and any problem with the metrics, before training
                window_start = time.perf_counter()
            out_of_time = 0 < cfg.time_limit <= self.train_seconds
            while self.step < cfg.steps and not out_of_time:
                timed_evaluation = False
                losses = self.train_step()
                for key, value in losses.items():
                    sums[key] = sums[key] + value if key in sums else value.clone()
                    counts[key] = counts.get(key, 0) + 1  # a figure some steps lack (lazy R1, phases)
                window_steps += 1
                bar.update(1)
                if self.step % cfg.log_every == 0 or self.step == cfg.steps:
                    record = self._mean_losses(sums, counts)  # the one host sync per window
                    elapsed = time.perf_counter() - window_start
                    trained_before = self.train_seconds
                    self.train_seconds += self._agreed_seconds(elapsed)
                    out_of_time = 0 < cfg.time_limit <= self.train_seconds
                    every = cfg.eval_every_seconds
                    timed_evaluation = every > 0 and self.train_seconds // every > trained_before // every
                    images = window_steps * cfg.batch_size * cfg.d_steps * self.world_size
                    record = {"step": self.step, **record, "images_per_s": images / elapsed}
                    self._log(record)
                    self._refuse_divergence(record)
                    if self.health is not None:
                        self._health(self.health.on_record(record))
                    bar.set_postfix({k: f"{v:.3g}" for k, v in record.items() if k != "step"})
                    sums, counts, window_steps, window_start = {}, {}, 0, time.perf_counter()
                paused = time.perf_counter()  # samples, evaluation and checkpoints are not billed as training
                last = self.step == cfg.steps or out_of_time
                if self.is_main and (self.step % cfg.sample_every == 0 or last):
                    self.write_samples()
                if self.evaluation is not None and (self.step % cfg.eval_every == 0 or last or timed_evaluation):
                    self.evaluate()
                saved = self.step % cfg.checkpoint_every == 0 or last or timed_evaluation
                if saved:
                    self._refuse_divergence()
                    self.save()
                    self._after_checkpoint()
                if self.stop_requested is not None:  # Ctrl-C or SIGTERM: this step is kept, then stop
                    if not saved:
                        self._refuse_divergence()
                        self.save()
                    raise StopRequested(self.stop_requested, self.step)
                window_start += time.perf_counter() - paused
        finally:
            bar.close()
            if self.run_lock is not None:  # the run directory is free for a resume
                self.run_lock.release()
            if self.loggers is not None:
                self.loggers.close()
                self.loggers = None
        summary = self.summary()
        if self.is_main:
            self._after_checkpoint()
            if self.logger_names and "tensorboard" in self.logger_names:
                from ganzoo.engine.loggers import RunLoggers

                final = {k: v for r in read_jsonl(self.run_dir / LOG_FILE) for k, v in r.items()
                         if k.startswith("eval_") and isinstance(v, float)}
                with contextlib.closing(RunLoggers(["tensorboard"], self.run_dir)) as loggers:
                    loggers.hparams({**self.config.to_dict()}, final)
        return summary

    def _agreed_seconds(self, elapsed: float) -> float:
        """A window's training seconds; under torchrun with a time limit, the ranks' mean, so
        that every rank stops and evaluates at the same step."""
        cfg = self.config
        if self.dist is None or not (cfg.time_limit or cfg.eval_every_seconds):
            return elapsed
        return float(self.dist.average(torch.tensor([elapsed], device=self.device)))

    def _after_checkpoint(self) -> None:
        """The loss curve redrawn (with the evaluation panels) and the loggers flushed."""
        if not self.is_main:
            return
        from ganzoo.engine.plots import plot_losses

        plot_losses(self.run_dir / LOG_FILE, self.run_dir / "loss_curve.png")
        if self.loggers is not None:
            self.loggers.flush()

    def _refuse_divergence(self, record: dict[str, Any] | None = None) -> None:
        """Stop, writing nothing more, once a logged loss or any network's weights are not finite:
        a checkpoint of NaN weights would rotate the good ones away."""
        bad = [k for k, v in (record or {}).items() if isinstance(v, float) and not math.isfinite(v)]
        if not bad and record is None:
            params = [p.detach() for p in self.recipe.parameters()]
            if params and not bool(torch.stack([p.isfinite().all() for p in params]).all()):
                bad = ["the network weights"]
        if bad:
            latest = ckpt.latest_checkpoint(self.run_dir)
            resume = (f"the last good checkpoint is {latest.name}" if latest is not None
                      else "no checkpoint was written")
            raise GanzooError(f"training diverged at step {self.step}: {', '.join(bad)} not finite; {resume}. "
                              "Lower the learning rates or change the loss, then start a new run")

    def _mean_losses(self, sums: dict[str, Tensor], counts: dict[str, int]) -> dict[str, float]:
        """The window's mean of each logged figure over the steps that had it (over the ranks
        too, under torchrun)."""
        if not sums:
            return {}
        keys = sorted(sums)
        values = torch.stack([sums[k].float() / counts[k] for k in keys])
        if self.dist is not None:
            values = self.dist.average(values)
        return dict(zip(keys, values.tolist()))

    def _log(self, record: dict[str, Any]) -> None:
        """Append ``record`` to log.jsonl with the wall-clock time (Unix seconds) it was written."""
        if not self.is_main:
            return
        record = {**record, "time": round(time.time(), 3)}
        with open(self.run_dir / LOG_FILE, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        if self.loggers is not None:
            self.loggers.record(record)

    def sampling_generators(self) -> nn.ModuleDict:
        return self.ema.module if self.ema is not None else self.recipe.generators  # type: ignore

    @torch.no_grad()
    def write_samples(self) -> Path:
        generators = self.sampling_generators()
        was_training = generators.training
        generators.eval()
        try:
            images = self.recipe.preview(generators, self.preview_inputs)
        finally:
            generators.train(was_training)
        if self.health is not None and "generator" in generators and generators["generator"].latent_dim is not None:
            self._health(self.health.on_samples(self.step, images))
        grid = make_grid(images, nrow=self.recipe.preview_columns(self.preview_inputs))
        if self.loggers is not None:
            self.loggers.image(grid, self.step)
        return save_image(grid, self.run_dir / "samples" / f"step_{self.step:08d}.png")

    def summary(self) -> dict[str, Any]:
        cfg = self.config
        return {
            "steps": self.step,
            "batch_size": cfg.batch_size,
            "d_steps": cfg.d_steps,
            "images_seen": self.step * cfg.batch_size * cfg.d_steps * self.world_size,
            "train_seconds": round(self.train_seconds, 1),
            "hardware": hardware_name(self.device) + (f" x {self.world_size} processes"
                                                      if self.world_size > 1 else ""),
            "processes": self.world_size,
            "precision": cfg.precision,
            "loss": cfg.loss,
            "ema": cfg.ema,
            "torch": str(torch.__version__),
        }

    # -- checkpoints --------------------------------------------------------------------------

    def save(self) -> Path | None:
        """Write a checkpoint (rank 0; every rank must call it, for their RNG states)."""
        rng_cpu, rng_cuda = torch.get_rng_state(), (
            torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [])
        ranks = self.dist.gather((rng_cpu, rng_cuda)) if self.dist is not None else []
        path = self._write_checkpoint(rng_cpu, rng_cuda, ranks) if self.is_main else None
        if self.dist is not None:
            self.dist.barrier()  # no rank trains on while rank 0 writes
        return path

    def _write_checkpoint(self, rng_cpu: Tensor, rng_cuda: list[Tensor], ranks: list) -> Path:
        tensors = ckpt.pack_weights(self.recipe.state_dict(),
                                    self.ema.module.state_dict() if self.ema is not None else None)
        state = {
            "step": self.step,
            "export_name": self.recipe.export_name,
            "train_seconds": self.train_seconds,
            "ema_updates": self.ema.updates if self.ema is not None else 0,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.precision.scaler.state_dict(),
            "batches": self.batches.state_dict(),
            "rng_cpu": rng_cpu,
            "rng_cuda": rng_cuda,
            "rng_ranks": [{"cpu": cpu, "cuda": cuda} for cpu, cuda in ranks],
            "summary": self.summary(),
        }
        try:
            return ckpt.save_checkpoint(self.run_dir, self.step, tensors, state,
                                        self.config.keep_checkpoints, protect=self._best_steps())
        except OSError as exc:  # e.g. a full disk: the earlier checkpoints are untouched
            latest = ckpt.latest_checkpoint(self.run_dir)
            kept = f"{latest.name} is the last complete one" if latest else "no checkpoint is complete"
            raise GanzooError(f"could not write the step-{self.step} checkpoint in {self.run_dir}: "
                              f"{exc.strerror or exc}; {kept}; free space, then --resume") from None

    def _best_steps(self) -> set[int]:
        """The step of the best-scoring checkpoint by ``keep_best`` (this one included), read
        from the log, which is the one record of every evaluation, resumed runs' included."""
        metric = self.config.keep_best
        if not metric:
            return set()
        from ganzoo.metrics.evaluate import lower_is_better

        steps = {step for step, _ in ckpt.list_checkpoints(self.run_dir)} | {self.step}
        best = ckpt.best_step(read_jsonl(self.run_dir / LOG_FILE), metric,
                              lower_is_better=lower_is_better(metric), steps=steps)
        return {best[0]} if best else set()

    def load(self, path: Path) -> None:
        """Restore everything from the checkpoint directory ``path``."""
        tensors = ckpt.load_checkpoint_weights(path)
        state = ckpt.load_checkpoint_state(path)
        ckpt.load_fitting(self.recipe, ckpt.unpack_weights(tensors, ckpt.RECIPE_PREFIX), path)
        if self.ema is not None:
            ckpt.load_fitting(self.ema.module, ckpt.unpack_weights(tensors, ckpt.EMA_PREFIX), path)
            self.ema.updates = int(state["ema_updates"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.precision.scaler.load_state_dict(state["scaler"])
        self.batches.load_state_dict(state["batches"])
        self._restore_rng(state)
        self.step = int(state["step"])
        self.train_seconds = float(state["train_seconds"])
        if self.is_main:
            self.truncate_log()
        if self.dist is not None:
            self.dist.barrier()  # nobody trains on before the log is trimmed

    def _restore_rng(self, state: dict[str, Any]) -> None:
        """This rank's RNG states; a run resumed on another number of processes reseeds from
        the seed, the rank and the step instead."""
        ranks = state.get("rng_ranks") or []
        if self.dist is None and not ranks:
            rng_cpu, rng_cuda = state["rng_cpu"], state["rng_cuda"]
        elif self.dist is not None and len(ranks) == self.world_size:
            rng_cpu, rng_cuda = ranks[self.dist.rank]["cpu"], ranks[self.dist.rank]["cuda"]
        else:
            rank = 0 if self.dist is None else self.dist.rank
            torch.manual_seed(distributed.rank_seed(self.config.seed, rank, int(state["step"])))
            return
        torch.set_rng_state(rng_cpu)
        if rng_cuda and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng_cuda)

    def truncate_log(self) -> None:
        """Drop log lines written after the checkpoint by the process that was interrupted."""
        log = self.run_dir / LOG_FILE
        if not log.exists():
            return
        kept = [r for r in read_jsonl(log) if r.get("step", 0) <= self.step]
        atomic_write_text(log, "".join(json.dumps(r) + "\n" for r in kept))
