"""`ganzoo bench`: the engine beside a plain PyTorch loop of the same networks, on synthetic data.

Timings are never asserted beyond being positive: a benchmark is not a unit test. The runs use
one timed step, tiny networks where the defaults are slow, and skip what a test does not need.
"""

from __future__ import annotations

import json
import math
import os

import pytest

from ganzoo.bench.adapter import bench_adapter

TINY = {
    "mlp": {"g_hidden": 16, "d_hidden": 16},
    "dcgan": {"g_width": 4, "d_width": 4, "image_size": 32},
    "cgan": {"g_width": 4, "d_width": 4, "embed_dim": 4},
    "cyclegan": {"g_width": 4, "d_width": 4, "image_size": 32, "pool_size": 2},
    "srgan": {"width": 8, "d_width": 4, "blocks": 1, "hr_crop": 32},
}
"""Model settings small enough for one CPU step in well under a second."""

QUICK = ["--steps", "1", "--repeats", "1", "--warmup", "0"]


def _record(out_dir) -> dict:
    return json.loads((out_dir / "bench_cpu.json").read_text())


def test_bench_mlp_writes_table_json_and_chart(ganzoo, tmp_path):
    out = tmp_path / "results"
    result = ganzoo("bench", "mlp", *QUICK, "-b", "8", "--device", "cpu", "--set", "g_hidden=32",
                    "--out-dir", out)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in out.iterdir()} == {"bench_cpu.md", "bench_cpu.json", "bench_cpu.png"}
    assert (out / "bench_cpu.png").read_bytes().startswith(b"\x89PNG")
    record = _record(out)
    assert record["device"] == "cpu" and record["hardware"]
    assert {"torch", "python", "ganzoo"} <= set(record["versions"]) and record["date_utc"]
    (arch,) = record["architectures"]
    assert arch["architecture"] == "mlp" and arch["status"] == "ok"
    (row,) = arch["batches"]
    assert row["status"] == "ok" and row["batch_size"] == 8
    assert row["params"]["generator"] > 0 and row["params"]["discriminator"] > 0
    for side in ("engine", "plain"):
        assert row[side]["images_per_s"] > 0
        assert row[side]["memory"]["status"] == "ok" and row[side]["memory"]["peak_bytes"] >= 0
    assert row["ratio"] > 0 and row["engine_settings"]["g_hidden"] == 32
    # G's two layers (100-32-784) run forward once; D's (784-32-1) forward on real and fake
    assert row["flops_per_step"] > 2 * 8 * (100 * 32 + 32 * 784 + 2 * (784 * 32 + 32))
    assert row["engine"]["tflops"] > 0 and row["engine"]["fraction_of_bf16_peak"] is None  # no CPU peak
    assert arch["best"]["engine_batch_size"] == 8
    assert arch["sampling"]["batch_1_images_per_s"] > 0
    assert [p["model"] for p in record["pretrained"]] == ["mlp-mnist"]
    assert record["pretrained"][0]["status"] == "ok", record["pretrained"][0]
    markdown = (out / "bench_cpu.md").read_text()
    assert "| mlp | 8 |" in markdown and record["versions"]["torch"] in markdown
    assert "progress" not in result.stdout and "[1/1 mlp]" in result.stderr  # per-step lines on stderr


def _cli_error(args: list[str]) -> str:
    """The one ``error: ...`` line of ``ganzoo bench ARGS`` run in-process (exit code 2)."""
    from click.testing import CliRunner

    from ganzoo.cli import cli

    result = CliRunner().invoke(cli, ["bench", *args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_unknown_architecture_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "results"
    assert _cli_error(["mpl", "--out-dir", str(out)]) == "error: unknown architecture 'mpl'; did you mean 'mlp'?"
    assert not out.exists()


@pytest.mark.parametrize("args, message", [
    (["-b", "4,x"], "--batch-size takes comma-separated whole numbers"),
    (["-b", "0"], "batch sizes must be >= 1"),
    (["--set", "g_hiden=3"], "did you mean 'g_hidden'?"),
    (["--device", "tpu"], "unknown device"),
])
def test_bad_options_are_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "results"
    assert message in _cli_error(["mlp", *args, "--out-dir", str(out)])
    assert not out.exists()


def test_an_impossible_batch_is_reported_as_oom_and_the_run_goes_on(ganzoo, tmp_path):
    out = tmp_path / "results"
    result = ganzoo("bench", "mlp", *QUICK, "-b", "4,2000000000", "--no-memory", "--no-pretrained",
                    "--out-dir", out)
    assert result.returncode == 0, result.stderr
    small, huge = _record(out)["architectures"][0]["batches"]
    assert small["status"] == "ok" and small["engine"]["images_per_s"] > 0
    assert huge["status"] == "OOM" and "allocate" in huge["error"]
    assert "| mlp | 2000000000 | - | OOM |" in (out / "bench_cpu.md").read_text()


def test_every_architecture_builds_both_contenders_with_equal_networks():
    import torch

    from ganzoo.bench.contenders import build_engine, build_plain, parameter_counts, resolve_setup
    from ganzoo.plugins import get_zoo

    names = get_zoo().architectures.names()
    assert {"mlp", "dcgan", "cgan", "cyclegan", "srgan"} <= set(names)
    for name in names:
        setup = resolve_setup(name, TINY.get(name, {}), 4, "cpu", 0)
        data = setup.make_data()
        engine, plain = build_engine(setup, data, "unused-run-dir"), build_plain(setup, data)
        counts = parameter_counts(engine, plain)  # raises unless the two sides are equal
        assert counts["generator"] > 0 and counts["discriminator"] > 0, name
        for losses in (engine.train_step(), plain.train_step()):
            assert losses and all(math.isfinite(float(v)) for v in losses.values()), (name, losses)
        generator = setup.arch.build_generator(setup.model_config()).eval()
        with torch.no_grad():
            images = generator(*bench_adapter(setup.arch).sampling_inputs(generator, 2, torch.device("cpu")))
        assert images.shape[0] == 2 and images.shape[1] == generator.image_shape[0], name


def test_third_party_architecture_benches_through_the_defaults(plugin_site, run_ganzoo, tmp_path):
    out = tmp_path / "results"
    env = {"PYTHONPATH": os.pathsep.join([str(plugin_site), os.environ.get("PYTHONPATH", "")]),
           "GANZOO_PLUGINS": None, "OMP_NUM_THREADS": "1"}
    result = run_ganzoo(["bench", "toy", *QUICK, "-b", "4", "--no-pretrained", "--out-dir", out], env=env,
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (arch,) = _record(out)["architectures"]
    row = arch["batches"][0]
    assert arch["status"] == "ok" and row["status"] == "ok"
    assert row["engine"]["images_per_s"] > 0 and row["plain"]["images_per_s"] > 0
    assert row["engine"]["memory"]["status"] == "ok"  # the probe process finds the plugin too
    assert row["engine_settings"]["loss"] == "hinge"  # the toy's own training defaults


def test_flops_are_counted_and_set_against_the_gpus_published_bf16_peak():
    import torch

    from ganzoo.bench.flops import bf16_peak_tflops, count_flops, throughput

    a, b = torch.randn(4, 8), torch.randn(8, 16)
    assert count_flops(lambda: a @ b) == 2 * 4 * 8 * 16
    assert bf16_peak_tflops("NVIDIA H100 80GB HBM3") == 989.4
    assert bf16_peak_tflops("NVIDIA H100 PCIe") == 756.0
    assert bf16_peak_tflops("Intel(R) Xeon(R) Processor") is None
    share = throughput(10**12, images_per_s=2000.0, images_per_step=100, device_name="NVIDIA H200")
    assert share["tflops"] == 20.0 and abs(share["fraction_of_bf16_peak"] - 20.0 / 989.4) < 1e-12


def test_bench_resolves_settings_as_train_does_with_the_losss_own_defaults():
    from ganzoo.bench.contenders import resolve_setup

    setup = resolve_setup("mlp", {"loss": "wgan"}, 8, "cpu", 0)
    assert (setup.train.optimizer, setup.train.d_steps, setup.train.weight_clip) == ("rmsprop", 5, 0.01)
    assert setup.images_per_step == 40 and setup.train.batch_size == 8
    assert resolve_setup("mlp", {"loss": "wgan", "d_steps": 2}, 8, "cpu", 0).train.d_steps == 2  # user wins
