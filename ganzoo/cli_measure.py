"""The measuring commands of the ``ganzoo`` command line: ``ganzoo eval`` (quality) and
``ganzoo bench`` (speed). Thin, as in ``ganzoo.cli``: parse, call the library, print; torch is
imported only inside the commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ganzoo.errors import GanzooError
from ganzoo.settings import parse_key_values

NO_CACHE_HELP = ("Decode image folders again instead of using the decoded cache "
                 "($GANZOO_DATA_CACHE, default ~/.cache/ganzoo/data).")


@click.command("eval")
@click.argument("model", required=False)
@click.option("--data", "--real-dir", "data", required=True, type=click.Path(path_type=Path),
              help="Reference dataset, read at the model's resolution.")
@click.option("--fake-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Instead of a MODEL: a folder of generated images (`ganzoo sample --out-dir`, or any "
                   "generator's output) to measure against --data.")
@click.option("--dataset", "dataset_name", help="Dataset reader to use (default: detected from --data).")
@click.option("--no-cache", is_flag=True, help=NO_CACHE_HELP)
@click.option("--split", help="Reference split for readers that have them (default: test).")
@click.option("-m", "--metrics", default="swd,ms-ssim", show_default=True,
              help="Comma-separated metric names (`ganzoo list` shows them all).")
@click.option("-n", "num", type=int, help="Images a side for every metric (default: each metric's protocol).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Seed of the samples, subsets and projections.")
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("--inception-weights", type=click.Path(dir_okay=False, path_type=Path),
              help="pt_inception-2015-12-05 weights for fid/kid/is (default: the torch hub cache).")
@click.option("--real-vs-real", is_flag=True,
              help="No model: two disjoint halves of --data against each other (the metric's floor).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), help="Write the full report as JSON.")
@click.option("--record", is_flag=True,
              help="Also add the figures to MODEL's config.json and model card (a pretrained directory).")
@click.option("--offline", is_flag=True, help="Never contact the Hub (also HF_HUB_OFFLINE=1).")
@click.option("--progress/--no-progress", default=None, help="Progress bars (default: on a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON on stdout instead of the summary.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors and warnings.")
def eval_command(model: str | None, data: Path, fake_dir: Path | None, dataset_name: str | None, split: str | None,
                 metrics: str, num: int | None, seed: int, device: str, inception_weights: Path | None,
                 real_vs_real: bool, out: Path | None, record: bool, offline: bool, progress: bool | None,
                 as_json: bool, quiet: bool, no_cache: bool) -> None:
    """Measure MODEL (a pretrained NAME, hf-hub:ORG/NAME, a directory or a training run)
    against --data with --metrics; every figure is reported with its protocol.

    \b
    ganzoo eval dcgan-celeba --data ../shared/data/celeba64 -m swd,ms-ssim
    ganzoo eval cgan-mnist --data ../shared/data/mnist -m classifier-score,classifier-fd,tstr
    ganzoo eval --real-vs-real --data ../shared/data/celeba64 -m swd
    ganzoo eval --fake-dir faces/ --data ../shared/data/celeba64 -m swd
    """
    import sys

    from ganzoo.fileio import atomic_write_text
    from ganzoo.huggingface import HubOptions
    from ganzoo.metrics.evaluate import evaluate
    from ganzoo.metrics.report import summary_lines

    chosen = sum((model is not None, real_vs_real, fake_dir is not None))
    if chosen != 1:
        raise GanzooError("give only one of a MODEL, --fake-dir or --real-vs-real" if chosen
                          else "give a MODEL to evaluate, or --real-vs-real for the data's floor (or --fake-dir DIR: "
                               "a folder of generated images)")
    if record and fake_dir is not None:
        raise GanzooError("--record writes into a pretrained directory; a --fake-dir has none")
    if record and not (model and (Path(model) / "config.json").is_file()):
        raise GanzooError("--record writes into a pretrained directory; give MODEL as a path to one "
                          "(e.g. one made by `ganzoo export`)")
    if out is not None and not out.parent.is_dir():
        raise GanzooError(f"the folder of -o {out} does not exist; create it or choose another path")
    names = [m.strip() for m in metrics.split(",") if m.strip()]
    report = evaluate(model, data, names, n=num, seed=seed, device=device, split=split,
                      dataset_name=dataset_name,
                      metric_options={"inception_weights": str(inception_weights) if inception_weights else None},
                      hub_options=HubOptions(offline=offline), fake_dir=fake_dir, cache=not no_cache,
                      progress=not quiet and (sys.stderr.isatty() if progress is None else progress))
    say = (lambda text: None) if quiet or as_json else click.echo
    if not quiet:
        for note in (report["model"] or {}).get("notes", ()):
            click.echo(f"note: {note}", err=True)
    for entry in report["results"]:
        for warning in entry["warnings"]:
            click.echo(f"warning: {warning}", err=True)
    what = report["model"]["source"] if report["model"] else report["reference"]["real_vs_real"]
    reference = report["reference"]
    shape = "x".join(map(str, reference["resolution"])) if reference["resolution"] else "image pairs"
    say(f"{model or fake_dir or 'real vs real'}: {what}; reference {reference['path']} ({reference['split']}, "
        f"{shape}), seed {seed}, on {report['device']}")
    for line in summary_lines(report):
        say(f"  {line}")
    if out is not None:
        atomic_write_text(out, json.dumps(report, indent=2) + "\n")
        say(f"wrote the report with protocols to {out}")
    if record:
        from ganzoo.export import record_evaluation

        record_evaluation(Path(model), report)
        say(f"recorded {len(report['results'])} figure(s) in {model}/config.json and its model card")
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))


@click.command()
@click.argument("architectures", nargs=-1)
@click.option("--device", default="auto", show_default=True, help="auto, cpu, cuda or cuda:N.")
@click.option("-b", "--batch-size", "batch_sizes", metavar="N[,N...]",
              help="Batch sizes to train at, e.g. 1,64,128 (default: each architecture's own).")
@click.option("--steps", default=0, show_default=True,
              help="Timed steps per block; 0: as many as fill about --block-seconds.")
@click.option("--block-seconds", default=0.5, show_default=True, help="Length of a timed block when --steps is 0.")
@click.option("--repeats", default=3, show_default=True, help="Timed blocks per contender.")
@click.option("--warmup", default=1, show_default=True, help="Untimed steps per contender first.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A model or training setting for the engine, e.g. --set compile=default.")
@click.option("--seed", default=0, show_default=True)
@click.option("--threads", type=click.IntRange(min=1), help="torch.set_num_threads (default: torch's own).")
@click.option("--memory/--no-memory", default=True, show_default=True,
              help="Measure each contender's peak memory in a fresh process.")
@click.option("--no-pretrained", is_flag=True, help="Skip the bundled pretrained models' sampling rows.")
@click.option("--out-dir", default=Path("benchmarks/results"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path), help="Where bench_<device>.{md,json,png} go.")
def bench(architectures: tuple[str, ...], device: str, batch_sizes: str | None, steps: int, block_seconds: float,
          repeats: int, warmup: int, settings: tuple[str, ...], seed: int, threads: int | None, memory: bool,
          no_pretrained: bool, out_dir: Path) -> None:
    """Training and sampling speed of ARCHITECTURES (default: all), engine against a plain
    PyTorch loop of the same networks, on synthetic data; writes a table, JSON and a chart."""
    import shlex
    import sys

    from ganzoo.bench import BenchOptions, check_request, parse_batch_sizes, run_bench
    from ganzoo.bench.report import write_report

    options = BenchOptions(device=device, batch_sizes=parse_batch_sizes(batch_sizes), steps=steps,
                           block_seconds=block_seconds, repeats=repeats, warmup=warmup,
                           settings=parse_key_values(settings), seed=seed, memory=memory,
                           pretrained=not no_pretrained)
    if threads is not None:
        if threads < 1:
            raise GanzooError("--threads must be >= 1")
        import torch

        torch.set_num_threads(threads)
    names, resolved = check_request(list(architectures), options)
    command = "ganzoo " + shlex.join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else ""
    record = run_bench(names, options, resolved, command=command, log=lambda line: click.echo(line, err=True))
    paths = write_report(record, out_dir)
    from ganzoo.bench.report import best_table

    click.echo(best_table(record))
    click.echo(f"wrote {paths['md']}, {paths['json']} and {paths['png']}")
    failed = [a["architecture"] for a in record["architectures"] if a["status"] != "ok"]
    if failed:
        raise click.ClickException(f"benchmark failed for {', '.join(failed)} (see {paths['md']})")


@click.command()
@click.argument("candidates", nargs=-1, required=True)
@click.option("--data", required=True, type=click.Path(path_type=Path), help="The data every candidate trains on.")
@click.option("--budget", required=True,
              help="The same for every run: images shown to the discriminator (150000, 150k, 1.5M) or "
                   "minutes of training on this machine (90s, 30min, 1.5h).")
@click.option("-m", "--metrics", required=True, help="Comma-separated metrics logged during training (e.g. swd).")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True, help="Runs per candidate (seeds 0..K-1).")
@click.option("--eval-n", type=click.IntRange(min=2), default=1000, show_default=True,
              help="Images each evaluation during training sees.")
@click.option("--set", "settings", multiple=True, metavar="KEY=VALUE",
              help="A setting for every candidate (a candidate's own key=value wins), e.g. --set image_size=32.")
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the run directories, compare.md, compare.json and compare.png.")
def compare(candidates: tuple[str, ...], data: Path, budget: str, metrics: str, seeds: int, eval_n: int,
            settings: tuple[str, ...], out_dir: Path) -> None:
    """Train every CANDIDATE (ARCH[:LOSS][,key=value...]) on --data to the same --budget, with
    --metrics logged during training over --seeds seeds, and table the results.

    \b
    ganzoo compare dcgan:bce dcgan:hinge,spectral_norm=true dcgan:lsgan \\
        --data ../shared/data/celeba64 --budget 150k -m swd --seeds 3 -o runs/compare-faces

    Running it again resumes: finished runs are kept, the others continue.
    """
    from ganzoo.compare import TABLE, compare as run_compare

    names = [m.strip() for m in metrics.split(",") if m.strip()]
    run_compare(list(candidates), data, out_dir, budget=budget, metrics=names, seeds=seeds, eval_n=eval_n,
                common=parse_key_values(settings), say=lambda text: click.echo(text, err=True))
    click.echo((out_dir / TABLE).read_text(), nl=False)
