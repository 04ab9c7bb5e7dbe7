"""``ganzoo compare``: two candidates, two seeds, killed midway and resumed; its table, JSON and
chart; bad input refused before any training."""

from __future__ import annotations

import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ganzoo.compare import compare, parse_budget, parse_candidate
from ganzoo.errors import GanzooError
from ganzoo.fileio import read_jsonl

TINY = ["--set", "g_hidden=16", "--set", "d_hidden=16", "--set", "latent_dim=8", "--set", "batch_size=50"]


def compare_args(data: Path, out: Path) -> list[str]:
    return ["compare", "mlp:bce", "mlp:hinge", "--data", str(data), "--budget", "400", "-m", "classifier-fd",
            "--seeds", "2", "--eval-n", "100", *TINY, "-o", str(out)]


def test_candidates_and_budgets_parse():
    candidate = parse_candidate("dcgan:hinge,spectral_norm=true,lr_d=4e-4")
    assert (candidate.architecture, candidate.loss) == ("dcgan", "hinge")
    assert candidate.settings == {"spectral_norm": True, "lr_d": 4e-4}
    assert parse_candidate("mlp").loss is None
    assert [parse_budget(b).images for b in ("150000", "150k", "1.5M")] == [150_000, 150_000, 1_500_000]
    assert [parse_budget(b).seconds for b in ("90s", "30min", "1.5h", "2 MIN")] == [90, 1800, 5400, 120]
    assert parse_budget("30min").images is None and parse_budget("150k").seconds is None
    for bad in ("0", "-5", "ten", "3d", "0min", "1.5mins"):
        with pytest.raises(GanzooError, match="--budget"):
            parse_budget(bad)


def test_a_killed_compare_resumes_without_rerunning_what_finished(write_mnist_subset, tmp_path, run_ganzoo):
    data = write_mnist_subset(tmp_path / "mnist", 256)
    out = tmp_path / "compare"
    first_done = out / "mlp-bce-seed0" / "checkpoints" / "step_00000008"
    first_recorded = out / "mlp-bce-seed0" / "peak_memory.json"  # written once its process has exited
    process = subprocess.Popen([sys.executable, "-m", "ganzoo", *compare_args(data, out)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while not first_recorded.is_file() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.2)
    assert first_done.is_dir() and first_recorded.is_file(), "the first run never finished"
    os.killpg(process.pid, signal.SIGKILL)  # the compare and the `ganzoo train` it runs
    process.wait()
    assert not (out / "compare.json").exists()
    kept = first_done.stat().st_mtime_ns

    result = run_ganzoo(compare_args(data, out))
    assert result.returncode == 0, result.stderr
    assert "[1/4] mlp-bce-seed0: finished earlier, kept" in result.stderr
    assert first_done.stat().st_mtime_ns == kept  # not trained again

    report = json.loads((out / "compare.json").read_text())
    assert report["budget_images"] == 400 and report["metrics"] == ["classifier-fd"] and report["seeds"] == 2
    assert report["eval_n"] == 100 and report["lower_is_better"] == {"classifier-fd": True}
    assert report["machine"]["versions"]["torch"] == torch.__version__
    assert report["machine"]["hardware"] == [report["runs"][0]["hardware"]] and "CPU" in report["runs"][0]["hardware"]
    assert [r["candidate"] for r in report["runs"]] == ["mlp:bce", "mlp:bce", "mlp:hinge", "mlp:hinge"]
    for run in report["runs"]:
        assert run["images_seen"] == 400 and run["train_config"]["steps"] == 8
        assert run["train_config"]["loss"] == run["candidate"].split(":")[1]
        assert run["curves"]["classifier-fd"][0][0] == 0 and run["curves"]["classifier-fd"][-1][0] == 400
        assert run["peak_memory_bytes"] > 0 and run["parameters"]["generator"] > 0
    for row in report["candidates"]:
        finals = [r["final"]["classifier-fd"] for r in report["runs"] if r["candidate"] == row["candidate"]]
        assert row["classifier-fd"]["mean"] == pytest.approx(statistics.mean(finals))
        assert row["classifier-fd"]["std"] == pytest.approx(statistics.stdev(finals))
    table = (out / "compare.md").read_text()
    assert table in result.stdout
    assert "| `mlp:bce` | 1x28x28 |" in table and "| `mlp:hinge` | 1x28x28 |" in table
    assert table.count(" | 400 | ") == 2  # the images each candidate saw, in full
    assert "400 images shown to the discriminator" in table and "Mean ± std over seeds" in table
    assert f"Trained on {report['runs'][0]['hardware']}; torch {torch.__version__}" in table
    assert (out / "compare.png").stat().st_size > 0


def test_a_time_budget_ends_each_run_by_its_training_seconds(write_mnist_subset, tmp_path):
    from ganzoo.engine.runs import describe_run

    data = write_mnist_subset(tmp_path / "mnist", 256)
    common = {"g_hidden": 16, "d_hidden": 16, "latent_dim": 8, "batch_size": 32, "log_every": 10}
    options = dict(budget="2s", metrics=["classifier-fd"], eval_n=100, common=common, say=lambda text: None)
    report = compare(["mlp:bce"], data, tmp_path / "out", **options)
    assert report["budget_seconds"] == 2 and report["budget_images"] is None
    (run,) = report["runs"]
    windows = [r for r in read_jsonl(Path(run["run"]) / "log.jsonl") if "images_per_s" in r]
    seconds = [(r["step"] - before["step"]) * 32 / r["images_per_s"] for before, r in zip([{"step": 0}, *windows],
                                                                                           windows)]
    # the run stopped at the first logging window past 2 s of training
    assert sum(seconds[:-1]) < 2 <= sum(seconds) == pytest.approx(run["train_seconds"], abs=0.1)
    assert run["train_config"]["time_limit"] == 2 and run["train_config"]["eval_every_seconds"] == 0.4
    steps = [images // 32 for images, _ in run["curves"]["classifier-fd"]]
    # an evaluation at the start, at each window whose training time crosses a multiple of 0.4 s, and at the end
    trained = list(itertools.accumulate(seconds))
    crossed = [w["step"] for w, before, after in zip(windows, [0.0, *trained], trained) if after // 0.4 > before // 0.4]
    assert steps == sorted({0, *crossed, run["images_seen"] // 32}) and len(crossed) >= 1
    assert describe_run(Path(run["run"]))["state"] == "finished"
    assert "minutes of training per run" in (tmp_path / "out" / "compare.md").read_text()

    said = []
    compare(["mlp:bce"], data, tmp_path / "out", **{**options, "say": said.append})
    assert said == ["[1/1] mlp-bce-seed0: finished earlier, kept"]


@pytest.mark.parametrize("candidates, extra, says", [
    (["mlp:bce", "nosuch:bce"], {}, "unknown architecture 'nosuch'"),
    (["mlp:bce", "mlp:nosuchloss"], {}, "nosuchloss"),
    (["mlp:bce", "mlp,nosuch_key=1"], {}, "unknown setting 'nosuch_key'"),
    (["mlp:bce"], {"budget": "0"}, "--budget"),
    (["mlp:bce,lr_decay_steps=10"], {"budget": "1min"}, "lr_decay_steps"),
    (["mlp:bce"], {"metrics": ["tstr"]}, "class-conditional"),
    (["mlp:bce"], {"metrics": ["nosuchmetric"]}, "nosuchmetric"),
])
def test_bad_input_is_refused_before_training(write_mnist_subset, tmp_path, candidates, extra, says):
    data = write_mnist_subset(tmp_path / "mnist", 64)
    options = {"budget": "100", "metrics": ["classifier-fd"], **extra}
    with pytest.raises(GanzooError, match=says):
        compare(candidates, data, tmp_path / "out", **options, say=lambda text: None)
    assert not (tmp_path / "out").exists()


def test_bad_input_on_the_command_line_is_one_line(write_mnist_subset, tmp_path, run_ganzoo, one_line_error):
    data = write_mnist_subset(tmp_path / "mnist", 64)
    result = run_ganzoo(["compare", "mlp:bce", "nosuch:bce", "--data", str(data), "--budget", "100",
                         "-m", "classifier-fd", "-o", str(tmp_path / "out")])
    assert "unknown architecture 'nosuch'" in one_line_error(result)
    assert not (tmp_path / "out").exists()
