"""Data-parallel training under torchrun: two CPU processes with gloo, on loopback only."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from ganzoo.engine import start_run
from ganzoo.engine.distributed import Distributed

WORKER = Path(__file__).resolve().parent / "distributed_worker.py"
COMMON = ['device="cpu"', "ema=0", "log_every=5", "checkpoint_every=100", "sample_every=100"]


def torchrun(args: list[str], cwd: Path, processes: int = 2, plugins: str = "mlp") -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone`` on a free loopback port; gloo talks over the loopback interface."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": "lo", "GANZOO_PLUGINS": plugins}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc-per-node={processes}", *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def run_worker(data: Path, out: Path, settings: list[str], processes: int) -> list[dict]:
    """Train with tests/distributed_worker.py; every rank's final weights."""
    out.mkdir(parents=True)
    if processes == 1:
        result = subprocess.run([sys.executable, str(WORKER), "mlp", str(data), str(out / "run"), *settings],
                                env={**os.environ, "OMP_NUM_THREADS": "1", "GANZOO_PLUGINS": "mlp"},
                                capture_output=True, text=True, timeout=300)
    else:
        result = torchrun([str(WORKER), "mlp", str(data), str(out / "run"), *settings], out, processes)
    assert result.returncode == 0, result.stderr[-3000:]
    return [load_file(out / f"weights_rank{r}.safetensors") for r in range(processes)]


def distance(a: dict, b: dict) -> float:
    return torch.cat([(a[k].float() - b[k].float()).flatten() for k in a]).norm().item()


def test_a_rank_takes_its_contiguous_share_of_each_global_batch():
    indices = torch.arange(10, 18)
    shares = [Distributed(rank, 2).shard(indices) for rank in (0, 1)]
    assert shares[0].tolist() == [10, 11, 12, 13] and shares[1].tolist() == [14, 15, 16, 17]


@pytest.mark.slow
def test_two_processes_stay_identical_and_match_one_process_with_the_global_batch(
        write_mnist_subset, tmp_path: Path):
    data = write_mnist_subset(tmp_path / "mnist", 256)
    steps = ["steps=30"]
    two = run_worker(data, tmp_path / "two", [*COMMON, *steps, "batch_size=16"], processes=2)
    one = run_worker(data, tmp_path / "one", [*COMMON, *steps, "batch_size=32"], processes=1)[0]

    # gradients are averaged before every step, so the ranks never drift apart
    assert two[0].keys() == two[1].keys() == one.keys()
    assert all(torch.equal(two[0][k], two[1][k]) for k in two[0])

    init = start_run("mlp", data, tmp_path / "init", settings={"device": "cpu", "batch_size": 32},
                     progress=False).recipe.state_dict()
    moved_one, moved_two = distance(one, init), distance(two[0], init)
    assert moved_one > 0.5 and moved_two > 0.5
    # same start, same data in each global batch; only the noise differs (a seed per rank), so
    # the two runs end close together relative to how far they travelled (measured 0.16)
    assert distance(two[0], one) < 0.3 * moved_one


@pytest.mark.slow
def test_torchrun_cli_writes_once_from_rank_0_and_resumes_exactly(write_mnist_subset, tmp_path: Path):
    data = write_mnist_subset(tmp_path / "mnist", 256)
    train = ["-m", "ganzoo", "train", "mlp", "--device", "cpu", "--batch-size", "16", "--no-progress",
             "--set", "checkpoint_every=10", "--set", "log_every=5"]
    straight = torchrun([*train, "--data", str(data), "-o", "straight", "--steps", "20"], tmp_path)
    assert straight.returncode == 0, straight.stderr[-3000:]
    assert straight.stdout.count("trained 20 steps, 640 images seen") == 1  # rank 0 speaks, 2 x 16 x 20
    halves = torchrun([*train, "--data", str(data), "-o", "halves", "--steps", "10"], tmp_path)
    assert halves.returncode == 0, halves.stderr[-3000:]
    resumed = torchrun(["-m", "ganzoo", "train", "mlp", "-o", "halves", "--resume", "--steps", "20",
                        "--no-progress"], tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]

    a, b = tmp_path / "straight", tmp_path / "halves"
    for run in (a, b):  # one writer: one log line per window, both checkpoints, the grids
        steps = [line.split(",")[0] for line in (run / "log.jsonl").read_text().splitlines()]
        assert steps == [f'{{"step": {s}' for s in (5, 10, 15, 20)]
        assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["step_00000010", "step_00000020"]
        assert (run / "samples" / "step_00000020.png").is_file()
    final_a = load_file(a / "checkpoints" / "step_00000020" / "model.safetensors")
    final_b = load_file(b / "checkpoints" / "step_00000020" / "model.safetensors")
    assert final_a.keys() == final_b.keys() and any(k.startswith("ema.") for k in final_a)
    assert all(torch.equal(final_a[k], final_b[k]) for k in final_a)  # each rank's RNG resumed
    losses = lambda run: [line.split('"images_per_s"')[0] for line in (run / "log.jsonl").read_text().splitlines()]
    assert losses(a) == losses(b)


def test_sync_batchnorm_on_cpu_processes_is_a_clear_error(write_mnist_subset, tmp_path: Path):
    data = write_mnist_subset(tmp_path / "mnist", 64)
    result = torchrun(["-m", "ganzoo", "train", "mlp", "--data", str(data), "-o", "run", "--steps", "2",
                       "--device", "cpu", "--batch-size", "8", "--set", "sync_batchnorm=true"], tmp_path)
    assert result.returncode != 0
    assert "error: sync_batchnorm needs GPUs" in result.stderr
    assert not (tmp_path / "run" / "run.json").exists()


def test_streamed_shards_under_torchrun_train_what_the_in_memory_shards_do(tmp_path: Path):
    from tests.test_data_scale import write_images

    write_images(tmp_path / "faces", 16)
    train = ["-m", "ganzoo", "train", "dcgan", "--data", str(tmp_path / "faces"), "--device", "cpu",
             "--batch-size", "4", "--steps", "3", "--no-progress", "--no-cache", "--set", "g_width=4",
             "--set", "d_width=4", "--set", "latent_dim=8", "--set", "image_size=32", "--set", "sample_every=100",
             "--set", "checkpoint_every=3"]
    runs = {}
    for mode in ("memory", "stream"):
        result = torchrun([*train, "-o", mode, "--set", f"data_mode={mode}", "--set", "data_workers=1"], tmp_path,
                          plugins="dcgan")
        assert result.returncode == 0, result.stderr[-3000:]
        runs[mode] = load_file(tmp_path / mode / "checkpoints" / "step_00000003" / "model.safetensors")
    assert runs["memory"].keys() == runs["stream"].keys()
    assert all(torch.equal(runs["memory"][k], runs["stream"][k]) for k in runs["memory"])
