"""The ``ganzoo`` command line. Thin: parse, call the library, print.

Heavy modules (torch and everything that imports it) are imported inside the commands that
need them, so ``ganzoo --help``, ``ganzoo list`` and ``ganzoo plugins`` start fast.
"""

from __future__ import annotations

import contextlib
import json
import errno
import math
import warnings
from pathlib import Path
from typing import Any

import click

from ganzoo import __version__
from ganzoo.cli_measure import NO_CACHE_HELP, bench, compare, eval_command
from ganzoo.errors import GanzooError
from ganzoo.settings import parse_key_values

MAX_GRID = 4096
"""Most images ``ganzoo sample`` draws into one grid (64 x 64 tiles of 64 px: a 16-megapixel PNG)."""
SAMPLE_BATCH = 256
"""Images per generator forward pass when sampling (bounds memory, not the result)."""


class UsageProblem(click.ClickException):
    """A GanzooError shown as one line, exit code 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


FILE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR,
               errno.ENAMETOOLONG, errno.ENOENT, errno.EEXIST}
"""What the filesystem says about the paths a user gave (a full disk, a read-only folder):
one line, exit 2. Files already written were written atomically and stay valid."""


class GanzooGroup(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GanzooError as exc:
            raise UsageProblem(str(exc)) from None
        except OSError as exc:
            if exc.errno not in FILE_ERRORS:
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            raise UsageProblem(f"{where}{exc.strerror or exc}; free space or choose another path, then run "
                               "the command again (files already written are complete)") from None
        except click.UsageError as exc:  # click's own (missing arguments, bad values): the same one line
            where = f"; see {exc.ctx.command_path} --help" if exc.ctx is not None else ""
            raise UsageProblem(exc.format_message().rstrip(".") + where) from None


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(v).ljust(w) for v, w in zip(header, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(str(v).ljust(w) for v, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


@click.group(cls=GanzooGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ganzoo")
def cli() -> None:
    """ganzoo: a zoo of generative adversarial networks.

    Sample a pretrained model, train an architecture on your data, export and share the result.
    Architectures come from plugins; `ganzoo list` shows what is installed.

    \b
    ganzoo sample mlp-mnist -n 64 -o digits.png
    ganzoo train mlp --data ../shared/data/mnist -o runs/mlp --steps 5000
    ganzoo sample runs/mlp -o mine.png
    """


JSON_HELP = "Print the result as JSON on stdout (for scripts) instead of text."


def _echo_json(value: Any) -> None:
    import json

    click.echo(json.dumps(value, indent=2, default=str))


@cli.command("list")
@click.option("--pretrained", is_flag=True, help="Only the pretrained models.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def list_command(pretrained: bool, as_json: bool) -> None:
    """List architectures, pretrained models, losses, dataset readers and metrics."""
    from ganzoo.plugins import get_zoo

    zoo = get_zoo()
    if as_json:
        listing: dict[str, Any] = {"pretrained": [
            {"name": e.name, "architecture": e.architecture, "plugin": e.plugin, "repo_id": e.repo_id,
             "revision": e.revision, "sha256": e.sha256, "bundled": e.bundled is not None,
             "description": e.description} for e in zoo.pretrained]}
        if not pretrained:
            for kind, registry in (("architectures", zoo.architectures), ("losses", zoo.losses),
                                   ("datasets", zoo.datasets), ("metrics", zoo.metrics)):
                listing[kind] = [{"name": e.name, "plugin": e.plugin, "description": e.description} for e in registry]
        _echo_json(listing)
        return
    if not pretrained:
        rows = [[e.name, e.plugin, e.description] for e in zoo.architectures]
        click.echo(_table(rows, ["architecture", "plugin", "description"]))
        click.echo()
    rows = [[e.name, e.architecture, e.plugin, e.repo_id or "-", e.description] for e in zoo.pretrained]
    click.echo(_table(rows, ["pretrained", "architecture", "plugin", "hub", "description"]))
    if not pretrained:
        for kind, registry in (("loss", zoo.losses), ("dataset reader", zoo.datasets), ("metric", zoo.metrics)):
            if len(registry):
                click.echo()
                click.echo(_table([[e.name, e.plugin, e.description] for e in registry],
                                  [kind, "plugin", "description"]))
    if any(p.errors for p in zoo.plugins):
        click.echo("\nsome plugins failed to load; run `ganzoo plugins` for details", err=True)


@cli.command()
@click.argument("name")
@click.option("--offline", is_flag=True, help="Never contact the Hub (also HF_HUB_OFFLINE=1).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def info(name: str, offline: bool, as_json: bool) -> None:
    """Show an architecture or a pretrained model (NAME[@REV], hf-hub:ORG/NAME or a directory)."""
    from ganzoo import hub
    from ganzoo.card import card_results
    from ganzoo.huggingface import HubOptions
    from ganzoo.plugins import get_zoo

    zoo = get_zoo()
    if name in zoo.architectures and not Path(name).is_dir():
        _architecture_info(name, as_json)
        return
    source = hub.resolve(name, HubOptions(offline=offline))
    _echo_notes(source)
    if source.kind == "run":
        raise GanzooError(f"{name} is a training run; `ganzoo export {name} -o DIR` makes a pretrained model")
    config = hub.read_config(source.path)
    shapes = hub.safetensors_shapes(source.path / hub.WEIGHTS)
    params = sum(math.prod(s) for s in shapes.values())
    if as_json:
        _echo_json({"name": source.name, "kind": source.kind, "source": source.describe(),
                    "path": str(source.path), "notes": list(source.notes), "parameters": params, "config": config})
        return
    click.echo(f"{source.name}  ({config['architecture']}, from the {source.describe()})")
    click.echo(f"  images      {'x'.join(map(str, config['image_shape']))} in {config.get('value_range')}")
    click.echo(f"  parameters  {params:,} (generator, {config.get('dtype', '?')})")
    for key, value in config["config"].items():
        click.echo(f"  {key:<11} {value}")
    for title in ("training", "dataset"):
        if config.get(title):
            click.echo(f"{title}:")
            for key, value in config[title].items():
                click.echo(f"  {key:<14} {value}")
    card = source.path / hub.CARD
    try:
        results = card_results(card) if card.is_file() else []
    except GanzooError as exc:  # the model works without its card: say so and go on
        click.echo(f"warning: {exc}; its evaluation is not shown", err=True)
        results = []
    if results:
        click.echo("evaluation (from the model card):")
        for r in results:
            where = r["dataset"] + (f" ({r['split']})" if r.get("split") else "")
            facts = ", ".join(f"{k}={v}" for k, v in r["protocol"].items()
                              if k in INFO_TEXT_KEYS or (isinstance(v, (int, float)) and not isinstance(v, bool)
                                                         and k not in INFO_HIDDEN_KEYS))
            click.echo(f"  {r['metric']:<16} {r['value']:<9} on {where}" + (f"  [{facts}]" if facts else ""))
        click.echo("  (the full protocols are in the model card's model-index)")
    if config.get("notes"):
        click.echo(f"notes: {config['notes']}")


INFO_TEXT_KEYS = ("resolution", "per_level")
INFO_HIDDEN_KEYS = ("seconds", "scale_factor")
"""`ganzoo info` shows a card figure's numeric protocol facts (counts, the real data's value,
the floor beside it) and these text ones; the card's model-index has them all."""


def _echo_notes(source: Any) -> None:
    for note in getattr(source, "notes", ()):
        click.echo(f"note: {note}", err=True)


def _architecture_info(name: str, as_json: bool = False) -> None:
    import dataclasses

    from ganzoo.engine import TrainConfig
    from ganzoo.engine.run import get_architecture
    from ganzoo.plugins import get_zoo

    entry = get_zoo().architectures.get(name)
    arch = get_architecture(name)
    config = arch.make_config()
    g, d = arch.build_generator(config), arch.build_discriminator(config)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    defaults = {**TrainConfig().to_dict(), **arch.training_defaults}
    if as_json:
        _echo_json({"architecture": name, "plugin": entry.plugin, "description": entry.description,
                    "generator_parameters": count(g), "discriminator_parameters": count(d),
                    "image_shape": list(g.image_shape), "model_config": dataclasses.asdict(config),
                    "training_defaults": defaults})
        return
    click.echo(f"{name}  (plugin {entry.plugin}): {entry.description}")
    click.echo(f"  generator      {count(g):,} parameters, makes {'x'.join(map(str, g.image_shape))}")
    click.echo(f"  discriminator  {count(d):,} parameters")
    click.echo("model config (--set key=value):")
    for key, value in dataclasses.asdict(config).items():
        click.echo(f"  {key:<16} {value}")
    click.echo("training defaults:")
    for key, value in defaults.items():
        click.echo(f"  {key:<16} {value}")


@cli.command()
@click.argument("architecture", required=False)
@click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Settings from a YAML or JSON file (a past run's run.json works as is); flags and "
                   "--set override it.")
@click.option("--print-config", is_flag=True, help="Print the resolved settings as JSON and exit.")
@click.option("--data", type=click.Path(path_type=Path),
              help="Dataset directory (e.g. MNIST idx files, a folder of images), or hf:ORG/NAME[:SPLIT].")
@click.option("--dataset", "dataset_name", help="Dataset reader to use (default: detected from --data).")
@click.option("--no-cache", is_flag=True, help=NO_CACHE_HELP)
@click.option("-o", "--out", "run_dir", type=click.Path(path_type=Path),
              help="Run directory for logs, sample grids and checkpoints.")
@click.option("--steps", type=click.IntRange(min=1), help="Generator steps to train for.")
@click.option("--batch-size", type=click.IntRange(min=1))
@click.option("--loss", help="Adversarial loss (see `ganzoo list`; default per architecture).")
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]))
@click.option("--device", help="auto (default), cpu, cuda or cuda:N.")
@click.option("--seed", type=click.IntRange(min=0))
@click.option("--resume", is_flag=True, help="Continue the run in -o from its last checkpoint.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="Any model or training setting, e.g. --set g_hidden=256 --set lr_d=1e-4.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--init-from", help="Fine-tune: start from this model's weights (a pretrained NAME, hf-hub:ORG/NAME, "
                                  "a pretrained directory or a run); --set freeze_d=K freezes D's first K blocks.")
@click.option("--log", "loggers", metavar="tensorboard,csv",
              help="Also log to TensorBoard (<run>/tensorboard) and/or CSV (<run>/log.csv).")
def train(architecture: str | None, config_file: Path | None, print_config: bool, data: Path | None,
          dataset_name: str | None, run_dir: Path | None, steps: int | None, batch_size: int | None,
          loss: str | None, precision: str | None, device: str | None, seed: int | None, resume: bool,
          settings: tuple[str, ...], progress: bool | None, init_from: str | None, loggers: str | None,
          no_cache: bool) -> None:
    """Train ARCHITECTURE on --data, writing everything into the run directory -o.

    \b
    ganzoo train dcgan --data ../shared/data/celeba64 -o runs/faces --set g_width=32
    ganzoo train --config runs/faces/run.json -o runs/faces-again      # the same run again
    ganzoo train --config faces.yaml --print-config                     # what it would use
    """
    from ganzoo.engine import distributed, resume_run, start_run
    from ganzoo.engine.run import read_run

    options = {"batch_size": batch_size, "loss": loss, "precision": precision, "device": device,
               "seed": seed, "steps": steps, "loggers": loggers, "init_from": init_from}
    chosen: dict[str, Any] = {}
    if config_file is not None:
        from ganzoo.engine.config_file import read_config_file

        if resume:
            raise GanzooError("--config sets up a new run; --resume takes its settings from the run's run.json")
        found = read_config_file(config_file)
        if architecture is not None and found.architecture not in (None, architecture):
            raise GanzooError(f"{config_file} is a config for {found.architecture!r}, not {architecture!r}; "
                              "drop ARCHITECTURE or use another --config")
        architecture = architecture or found.architecture
        data = data if data is not None else (Path(found.data) if found.data else None)
        dataset_name = dataset_name or found.dataset
        chosen.update(found.settings)
    if architecture is None:
        raise GanzooError("give the ARCHITECTURE to train (`ganzoo list`), or a --config that names one; "
                          "see ganzoo train --help")
    chosen.update({k: v for k, v in options.items() if v is not None})
    chosen.update(parse_key_values(settings))
    if print_config:
        from ganzoo.engine.config_file import resolved_config

        click.echo(json.dumps({**resolved_config(architecture, chosen),
                               "data": {"path": str(data) if data else None, "reader": dataset_name}},
                              indent=2, default=list))
        return
    if run_dir is None:
        raise GanzooError("give the run directory with -o (a new or empty folder, or a run to --resume)")
    steps = chosen.pop("steps", None) if not resume else steps
    if resume:
        record = read_run(run_dir)
        if record["architecture"] != architecture:
            raise GanzooError(f"{run_dir} trains {record['architecture']!r}, not {architecture!r}")
        chosen.pop("steps", None)
        if chosen:
            raise GanzooError(f"settings are fixed when a run starts; with --resume only --steps and "
                              f"--data may be given (got {', '.join(chosen)})")
        trainer = resume_run(run_dir, steps=steps, data=data, progress=progress, cache=not no_cache)
        if trainer.is_main:
            for warning in trainer.resume_warnings:
                click.echo(f"warning: {warning}", err=True)
            click.echo(f"resuming {run_dir} at step {trainer.step}", err=True)
    else:
        if data is None:
            raise GanzooError("--data is required to start a run")
        if steps is not None:
            chosen["steps"] = steps
        trainer = start_run(architecture, data, run_dir, dataset_name=dataset_name,
                            settings=chosen, progress=progress, cache=not no_cache)
    try:
        with _interrupts_say_how_to_resume(trainer, architecture, run_dir):
            summary = trainer.fit()
    finally:
        distributed.shutdown()
    if trainer.is_main:
        click.echo(f"trained {summary['steps']} steps, {summary['images_seen']:,} images seen, "
                   f"{summary['train_seconds']}s on {summary['hardware']}; run in {run_dir}")


@contextlib.contextmanager
def _interrupts_say_how_to_resume(trainer: Any, architecture: str, run_dir: Path):
    """Ctrl-C (exit 130) and SIGTERM (exit 143) end training with one line naming the last
    checkpoint and the command that resumes from it."""
    import signal

    from ganzoo.engine.checkpoint import latest_checkpoint

    terminated: list[int] = []

    def stop(signum: int, frame: Any) -> None:
        terminated.append(signum)
        if len(terminated) == 1 and trainer.dist is None:  # the first: finish this step and checkpoint it
            trainer.stop_requested = signum
            if trainer.is_main:
                click.echo("stopping after this step, with a checkpoint (Ctrl-C again aborts at once)", err=True)
            return
        raise KeyboardInterrupt  # the second (or under torchrun): at once

    # Both installed explicitly: a process started in the background inherits SIGINT ignored.
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    except KeyboardInterrupt:
        if trainer.is_main:
            latest = latest_checkpoint(run_dir)
            where = f"the last checkpoint is {latest.name}" if latest else "no checkpoint was written yet"
            click.echo(f"interrupted at step {trainer.step}; {where}; continue with: "
                       f"ganzoo train {architecture} -o {run_dir} --resume", err=True)
        raise SystemExit(143 if terminated and terminated[0] == signal.SIGTERM else 130) from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
def runs(paths: tuple[Path, ...], as_json: bool) -> None:
    """A table of training runs: PATHS are runs or folders of runs (default: runs/)."""
    from ganzoo.engine.runs import describe_run, find_runs

    found = find_runs(list(paths) or [Path("runs")] if (paths or Path("runs").is_dir()) else [])
    if not found:
        raise GanzooError(f"no training runs (folders with run.json) under {', '.join(map(str, paths)) or 'runs/'}")
    rows = [describe_run(run) for run in found]
    if as_json:
        _echo_json(rows)
        return

    def number(value: Any, form: str) -> str:
        return "-" if value is None else format(value, form)

    table = [[r["run"], r["architecture"], r["data"] or "-", f"{r['step']:,}/{r['steps']:,}",
              number(r["images_per_s"], ".0f"), number(r["d_loss"], ".3g"), number(r["g_loss"], ".3g"),
              ", ".join(f"{k} {v['value']:.4g} @{v['step']:,}" for k, v in r["best"].items()) or "-",
              str(len(r["checkpoints"])), r["state"] + (f" (pid {r['pid']})" if r["pid"] else "")] for r in rows]
    click.echo(_table(table, ["run", "architecture", "data", "step", "img/s", "d_loss", "g_loss", "best",
                              "ckpts", "state"]))


@cli.command()
@click.argument("model")
@click.option("-n", "num", default=64, show_default=True, help="Number of images.")
@click.option("-o", "--out", "out_arg", default="samples.png", show_default=True,
              help="Image file for the grid (.png, .jpg or .webp; a folder: FOLDER/samples.png).")
@click.option("--out-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write one file per image into this folder instead of a grid (image i from seed "
                   "--seed + i; resumable: files already there are kept).")
@click.option("--format", "fmt", type=click.Choice(["png", "jpg", "webp", "npz"]), default="png",
              show_default=True, help="--out-dir's files (npz: one samples.npz).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--truncation", type=float, metavar="PSI",
              help="Truncation trick (BigGAN's): latent components beyond [-PSI, PSI] are drawn again.")
@click.option("--latents", "latents_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Latents to use (.npy or .safetensors, shape (N, latent_dim)) instead of drawing them.")
@click.option("--walk", type=click.IntRange(min=2), metavar="K",
              help="An animated latent walk (-o walk.gif) through K keyframes, spherically interpolated.")
@click.option("--frames", type=click.IntRange(min=1), default=12, show_default=True,
              help="--walk: frames from each keyframe to the next.")
@click.option("--fps", type=float, default=12, show_default=True, help="--walk: frames per second.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON on stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and warnings.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the latent noise.")
@click.option("--label", help="Class to draw, by number or by name (conditional models; default: one row per class).")
@click.option("--nrow", type=click.IntRange(min=1), help="Images per row (default: a square grid).")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--offline", is_flag=True, help="Never contact the Hub (also HF_HUB_OFFLINE=1).")
@click.option("--input", "inputs", type=click.Path(exists=True, path_type=Path),
              help="Image-to-image models: an image, or a folder of images, to translate.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="Image-to-image models: an option of their translate (the model card lists them), "
                   "e.g. --option direction=b2a. Repeatable.")
@click.option("--direction", help="Same as --option direction=VALUE (two-way translators: a2b or b2a).")
@click.pass_context
def sample(ctx: click.Context, model: str, num: int, out_arg: str, out_dir: Path | None, fmt: str,
           progress: bool | None, truncation: float | None, latents_file: Path | None, walk: int | None,
           frames: int, fps: float, as_json: bool, quiet: bool, seed: int, label: str | None, nrow: int | None, device: str, offline: bool,
           inputs: Path | None, options: tuple[str, ...], direction: str | None) -> None:
    """Sample a grid of images from MODEL (a pretrained NAME[@REV], hf-hub:ORG/NAME[@REV],
    a pretrained directory or a training run), or -n single images into --out-dir.
    Image-to-image models translate --input (a file, written to -o; or a folder, written as
    PNGs into the folder -o)."""
    explicit_out = ctx.get_parameter_source("out_arg") is not click.core.ParameterSource.DEFAULT
    out = Path(out_arg)
    if inputs is None and (out_arg.endswith(("/", "\\")) or out.is_dir()):
        out = out / "samples.png"  # -o a folder: the grid goes inside it
    if walk is not None:
        if out_dir is not None or latents_file is not None or inputs is not None:
            raise GanzooError("--walk makes one animation from drawn latents; drop --out-dir, --latents and --input")
        if out.suffix.lower() != ".gif":
            raise GanzooError(f"--walk writes a GIF: give -o with a .gif name (got {out.name})")
        if not 1 <= num <= MAX_GRID:
            raise GanzooError(f"-n (walks side by side) must be between 1 and {MAX_GRID}")
    if out_dir is not None:
        if explicit_out or inputs is not None:
            raise GanzooError("--out-dir writes single images from noise; drop -o and --input")
        if num < 1:
            raise GanzooError(f"-n must be at least 1, got {num}")
    elif ctx.get_parameter_source("fmt") is not click.core.ParameterSource.DEFAULT:
        raise GanzooError("--format is for --out-dir; a grid's format comes from the extension of -o")
    elif not 1 <= num <= MAX_GRID:
        raise GanzooError(f"-n must be between 1 and {MAX_GRID} (one grid image); for more images, write "
                          "them into a folder with --out-dir DIR")
    import torch

    from ganzoo.artifacts import class_index
    from ganzoo.devices import resolve_device
    from ganzoo.hub import load_pretrained
    from ganzoo.huggingface import HubOptions
    from ganzoo.images import image_format, make_grid, save_image
    from ganzoo.interfaces import class_rows

    if out_dir is None and walk is None and (inputs is None or not inputs.is_dir()):
        image_format(out)  # a file name ganzoo can write, before any model is loaded

    generator = load_pretrained(model, device=str(resolve_device(device)), options=HubOptions(offline=offline))
    if not quiet:
        _echo_notes(generator.source)
    label = class_index(label, generator, model)  # a number, or a class name from config.json

    def done(text: str, **record: Any) -> None:
        if as_json:
            _echo_json({"model": model, "source": generator.source.describe(), **record})
        elif not quiet:
            click.echo(text)

    if out_dir is not None and generator.latent_dim is None:
        raise GanzooError(f"{model} translates images; --out-dir is for models that sample from noise "
                          "(translate a folder with --input FOLDER -o FOLDER)")
    if generator.latent_dim is None and (walk is not None or truncation is not None or latents_file is not None):
        raise GanzooError(f"{model} translates images; --walk, --truncation and --latents are for models "
                          "that sample from noise")
    from ganzoo.latents import draw_stream, read_latents, write_latents

    given = None if latents_file is None else read_latents(latents_file, generator.latent_dim)
    if inputs is not None or generator.latent_dim is None:
        translate_options = parse_key_values(options, flag="--option")
        if direction is not None:
            translate_options["direction"] = direction
        written = _translate(generator, model, inputs, out, translate_options)
        where = out if len(written) > 1 or (inputs is not None and inputs.is_dir()) else written[0]
        done(f"translated {len(written)} image(s) with the {generator.source.describe()} into {where}",
             written=[str(path) for path in written], options=translate_options)
        return
    if options or direction:
        raise GanzooError(f"{model} makes images from noise; --option and --direction are for image-to-image models")
    if out_dir is not None:
        import sys

        from ganzoo.sampling import write_folder

        result = write_folder(generator, out_dir, num, model=model, seed=seed, fmt=fmt, label=label,
                              truncation=truncation, latents=given,
                              progress=not quiet and (sys.stderr.isatty() if progress is None else progress))
        labels_note = " (labels in labels.csv)" if result.labels and fmt != "npz" else ""
        done(f"wrote {result.written} images ({result.kept} already there) from the "
             f"{generator.source.describe()} into {out_dir}{labels_note}",
             out_dir=str(out_dir), n=num, seed=seed, format=fmt, written=result.written, kept=result.kept,
             labels="labels.csv" if result.labels and fmt != "npz" else None)
        return
    if given is not None:
        num = len(given)
        if not 1 <= num <= MAX_GRID:
            raise GanzooError(f"{latents_file} holds {num} latents; a grid takes 1 to {MAX_GRID} (use --out-dir)")
    classes = generator.num_classes
    labels = None
    if classes is None and label is not None:
        raise GanzooError(f"{model} is not conditional; drop --label")
    if classes is not None:
        if label is not None and not 0 <= label < classes:
            raise GanzooError(f"label {label} is out of range: {model} has classes 0 to {classes - 1}")
        if label is not None:
            labels = torch.full((num,), label, dtype=torch.long)
        elif given is not None:
            labels = torch.arange(num) % classes
        else:
            labels = class_rows(classes, num)
            nrow = nrow or len(labels) // classes
    count = num if labels is None else len(labels)
    z = given if given is not None else draw_stream(generator, count, seed, truncation)
    if walk is not None:
        from ganzoo.latents import frame_ms, walk as walk_latents

        keys = torch.stack([z] + [draw_stream(generator, count, seed + k, truncation) for k in range(1, walk)])
        pictures = [make_grid(generator.generate(count, z=step, labels=labels, batch_size=SAMPLE_BATCH), nrow=nrow)
                    for step in walk_latents(keys, frames)]
        _save_gif(pictures, out, frame_ms(fps))
        write_latents(keys.flatten(0, 1), out.with_name(f"{out.stem}.latents.npy"))
        done(f"wrote a walk of {len(pictures)} frames through {walk} keyframes ({count} walks) from the "
             f"{generator.source.describe()} to {out}", written=[str(out)], n=count, seed=seed, frames=len(pictures))
        return
    images = generator.generate(count, z=z, labels=labels, batch_size=SAMPLE_BATCH)
    save_image(make_grid(images, nrow=nrow), out)
    latents_path = write_latents(z, out.with_name(f"{out.stem}.latents.npy"))
    done(f"wrote {len(images)} samples from the {generator.source.describe()} to {out} (latents in "
         f"{latents_path.name})", written=[str(out), str(latents_path)], n=len(images), seed=seed,
         labels=None if labels is None else labels.tolist())


def _save_gif(pictures: list[Any], out: Path, ms: int) -> None:
    """An animated GIF of PIL images, looping, written atomically."""
    import os

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        pictures[0].save(tmp, format="GIF", save_all=True, append_images=pictures[1:], duration=ms, loop=0)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _translate(generator: Any, model: str, inputs: Path | None, out: Path, options: dict[str, Any]) -> list[Path]:
    """Translate --input (a file or a folder) into -o; the files written."""
    from ganzoo.data.folder import image_files
    from ganzoo.images import read_image, save_uint8

    if inputs is None:
        raise GanzooError(f"{model} translates images; give --input IMAGE or --input FOLDER")
    if inputs.is_dir():
        files = image_files(inputs)
        if not files:
            raise GanzooError(f"no images found under {inputs}; give a PNG or JPEG file or a folder of them")
        if out.suffix:
            raise GanzooError(f"--input is a folder, so -o must be a folder too (got the file name {out})")
        pairs = [(file, out / f"{file.stem}.png") for file in files]
    else:
        pairs = [(inputs, out)]
    images = [read_image(file) for file, _ in pairs]  # every input is checked before anything is written
    for image, (_, target) in zip(images, pairs):
        save_uint8(generator.translate(image[None], **options)[0], target)
    return [target for _, target in pairs]


@cli.command()
@click.argument("model")
@click.option("-o", "--out", required=True, type=click.Path(path_type=Path),
              help="Pretrained directory to write (with --format: the file).")
@click.option("--format", "fmt", type=click.Choice(["onnx", "torchscript", "exported-program"]),
              help="Export MODEL (any model `sample` takes) for deployment instead: ONNX (.onnx), "
                   "TorchScript (.pt) or a torch.export ExportedProgram (.pt2), verified against PyTorch.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="With --format, image-to-image models: a forward option (e.g. direction=b2a).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists (only once the new one is written).")
@click.option("--no-ema", is_flag=True, help="Export the live generator instead of its EMA.")
@click.option("--with-discriminator", is_flag=True,
              help="Add the discriminator (discriminator.safetensors), for fine-tuning with train --init-from.")
@click.option("--dataset-name", help="Name of the training data for the model card.")
@click.option("--license", "license_", help="Licence id of the training data (e.g. cc-by-sa-3.0).")
@click.option("--dataset-terms", help="The data's terms of use, quoted in the model card.")
@click.option("--notes", default="", help="Free text for the model card (e.g. how far training got).")
@click.option("--best", metavar="METRIC",
              help="Export the checkpoint with the best METRIC logged during training (eval_metrics; "
                   "keep it from rotation with --set keep_best=METRIC) instead of the latest.")
def export(model: str, out: Path, fmt: str | None, options: tuple[str, ...], overwrite: bool, no_ema: bool,
           with_discriminator: bool, dataset_name: str | None, license_: str | None, dataset_terms: str | None, notes: str,
           best: str | None) -> None:
    """Export a training run MODEL's latest (or --best) checkpoint as a pretrained directory;
    with --format, any MODEL as an ONNX, TorchScript or ExportedProgram file.

    \b
    ganzoo export runs/faces -o my-faces --best swd
    ganzoo export dcgan-celeba --format onnx -o dcgan-celeba.onnx
    """
    if fmt is not None:
        from ganzoo.deploy import export_generator
        from ganzoo.hub import load_pretrained

        generator = load_pretrained(model, use_ema=not no_ema)
        info = export_generator(generator, out, fmt, options=parse_key_values(options, flag="--option"),
                                overwrite=overwrite)
        click.echo(f"exported {model} to {info.path}: {info.describe()}")
        return
    if options:
        raise GanzooError("--option is for --format exports")
    run_dir = Path(model)
    if not run_dir.is_dir():
        raise GanzooError(f"{model} is not a training run folder; to export a pretrained model for "
                          "deployment, add --format onnx|torchscript|exported-program")
    from ganzoo.hub import export_run

    facts = {"name": dataset_name, "license": license_, "license_note": dataset_terms}
    path = export_run(run_dir, out, overwrite=overwrite, use_ema=not no_ema,
                      dataset={k: v for k, v in facts.items() if v}, notes=notes, best=best,
                      with_discriminator=with_discriminator)
    click.echo(f"exported {run_dir} to {path}")
    click.echo(register_line(path))


def register_line(path: Path) -> str:
    """The weights' sha256 and the ``register_pretrained`` call that bundles ``path`` in a plugin."""
    import json

    from ganzoo.fileio import sha256_of

    digest = sha256_of(path / "model.safetensors")
    architecture = json.loads((path / "config.json").read_text())["architecture"]
    return (f"sha256 {digest}\nto bundle it, copy {path.name}/ into your package's pretrained/ folder and add to "
            f"register_pretrained:\n    register(\"{path.name}\", PRETRAINED / \"{path.name}\", "
            f"architecture=\"{architecture}\", sha256=\"{digest}\", description=\"...\")")


@cli.command("new-plugin")
@click.argument("name")
@click.option("--kind", type=click.Choice(["architecture", "loss", "metric", "image-to-image"]), default="architecture",
              show_default=True, help="What the plugin adds.")
@click.option("-o", "--out", type=click.Path(path_type=Path),
              help="Folder to write the package into (new or empty; default ./ganzoo-NAME).")
def new_plugin_command(name: str, kind: str, out: Path | None) -> None:
    """Write a pip-installable plugin package NAME that works and passes its own tests."""
    from ganzoo.scaffold import new_plugin

    out = out or Path(f"ganzoo-{name}")
    written = new_plugin(name, out, kind)
    click.echo(f"wrote {len(written)} files into {out}; next: pip install -e {out} && pytest {out}/tests")


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--repo-id", required=True, help="Hub repository ORG/NAME (created if needed).")
@click.option("--private", is_flag=True, help="Create the repository private.")
@click.option("--revision", help="Branch to commit to (created if needed; default: main).")
@click.option("--message", help="Commit message.")
def push(directory: Path, repo_id: str, private: bool, revision: str | None, message: str | None) -> None:
    """Upload a pretrained DIRECTORY to the Hugging Face Hub with a generated model card.

    The token comes from HF_TOKEN or `hf auth login`; HF_ENDPOINT selects another Hub.
    """
    from ganzoo.huggingface import push_to_hub

    commit = push_to_hub(directory, repo_id, private=private, revision=revision, commit_message=message)
    click.echo(f"pushed {directory} to {repo_id}@{commit[:12]} (ganzoo sample hf-hub:{repo_id})")


@cli.command()
@click.argument("model")
@click.option("--offline", is_flag=True, help="Never contact the Hub (also HF_HUB_OFFLINE=1).")
@click.option("--force", is_flag=True, help="Download again even if the cache has the files.")
def pull(model: str, offline: bool, force: bool) -> None:
    """Fetch MODEL (a pretrained NAME[@REV] or hf-hub:ORG/NAME[@REV]) into the Hugging Face cache.

    Falls back to the cache, then to the copy bundled with the plugin, when the Hub cannot
    serve it, and says which source will be used.
    """
    from ganzoo.hub import resolve
    from ganzoo.huggingface import HubOptions

    if Path(model).is_dir():
        raise GanzooError(f"{model} is a local directory; pull takes a pretrained name or hf-hub:ORG/NAME")
    source = resolve(model, HubOptions(offline=offline), pull=True, force=force)
    _echo_notes(source)
    verb = {"hub": "downloaded", "cache": "up to date in the", "bundled": "using the"}[source.kind]
    click.echo(f"{model}: {verb} {source.describe()}")


@cli.command()
@click.option("--check", is_flag=True, help="Also import every registered target and report per "
              "plugin; exit 1 if any fails.")
def plugins(check: bool) -> None:
    """Installed plugins, their versions, hooks and load errors."""
    from ganzoo.plugins import check_targets, get_zoo

    zoo = get_zoo()
    problems = check_targets(zoo) if check else {}
    for p in zoo.plugins:
        p.errors.extend(problems.get(p.name, []))
    rows = [[p.name, p.distribution, p.version, ",".join(h.removeprefix("register_") for h in p.hooks) or "-",
             "ok" if not p.errors else "ERROR"] for p in zoo.plugins]
    click.echo(_table(rows, ["plugin", "distribution", "version", "registers", "status"]))
    for p in zoo.plugins:
        for error in p.errors:
            click.echo(f"{p.name}: {error}")
    if check and any(p.errors for p in zoo.plugins):
        raise SystemExit(1)


cli.add_command(eval_command)  # ganzoo.cli_measure: the measuring commands
cli.add_command(bench)
cli.add_command(compare)


def _add_plugin_commands() -> None:
    from ganzoo.plugins import add_plugin_commands, get_zoo

    add_plugin_commands(get_zoo(), cli)


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """Warnings as the CLI prints them: ``warning: <message>``, without the source line."""
    return f"warning: {message}\n"


def main() -> None:
    warnings.formatwarning = _one_line_warning
    _add_plugin_commands()
    cli(prog_name="ganzoo")
