"""The GPU fast paths, on a CUDA machine (skipped elsewhere): bf16, channels-last, fused Adam,
images kept on the device, torch.compile and CUDA graphs, and `ganzoo bench --device cuda`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from ganzoo.engine import start_run

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

TINY = {"device": "cuda", "batch_size": 16, "image_size": 32, "g_width": 16, "d_width": 16,
        "precision": "bf16", "log_every": 2, "sample_every": 4, "checkpoint_every": 4}


@pytest.fixture(scope="module")
def mnist(write_mnist_subset, tmp_path_factory) -> Path:
    return write_mnist_subset(tmp_path_factory.mktemp("mnist"), 128)


@pytest.mark.parametrize("compile_mode", ["off", "default", "reduce-overhead"])
def test_bf16_channels_last_fused_adam_on_device_data_train(mnist, tmp_path, compile_mode):
    trainer = start_run("dcgan", mnist, tmp_path / "run", settings={**TINY, "compile": compile_mode},
                        progress=False)
    assert trainer.device.type == "cuda" and trainer.channels_last
    assert trainer.data.images.device.type == "cuda" and trainer.batches.device.type == "cuda"
    assert trainer.opt_g.defaults["fused"]
    summary = trainer.fit()
    assert summary["steps"] == 4
    log = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert all(math.isfinite(v) for record in log for k, v in record.items() if k.endswith("loss"))
    assert (tmp_path / "run" / "checkpoints" / "step_00000004").is_dir()


def test_data_on_device_off_cuts_batches_in_pinned_host_memory(mnist, tmp_path):
    trainer = start_run("dcgan", mnist, tmp_path / "run", settings={**TINY, "data_on_device": "off"},
                        progress=False)
    assert trainer.data.images.device.type == "cpu"
    losses = trainer.train_step()
    assert all(v.device.type == "cuda" and torch.isfinite(v).all() for v in losses.values())


def test_bench_on_cuda_reports_device_memory_and_share_of_bf16_peak(ganzoo, tmp_path):
    out = tmp_path / "results"
    result = ganzoo("bench", "dcgan", "--device", "cuda", "-b", "8", "--steps", "2", "--repeats", "1",
                    "--set", "precision=bf16", "--set", "g_width=8", "--set", "d_width=8",
                    "--no-pretrained", "--out-dir", out)
    assert result.returncode == 0, result.stderr
    record = json.loads((out / "bench_cuda.json").read_text())
    (row,) = record["architectures"][0]["batches"]
    assert row["engine"]["memory"]["method"] == "cuda max_memory_allocated"
    assert row["engine"]["memory"]["peak_bytes"] > 0 and row["engine"]["tflops"] > 0
    name = torch.cuda.get_device_name()
    if any(key in name for key in ("H100", "H200", "A100")):
        assert 0 < row["engine"]["fraction_of_bf16_peak"] < 1
