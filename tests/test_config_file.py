"""``ganzoo train --config FILE``: a past run's run.json reproduces the run bit for bit, YAML and
JSON files work, flags and --set override the file, --print-config shows the resolved settings,
and bad files or unknown keys are one line."""

from __future__ import annotations

import json

from safetensors.torch import load_file

TINY = ["--set", "g_hidden=8", "--set", "d_hidden=8", "--set", "latent_dim=4", "--batch-size", "8"]


def _weights(run):
    (checkpoint,) = sorted((run / "checkpoints").iterdir())[-1:]
    return load_file(checkpoint / "model.safetensors")


def test_a_run_json_reproduces_its_run_bit_for_bit(ganzoo, tmp_path, mnist_dir):
    first = ganzoo("train", "mlp", "--data", mnist_dir, "-o", "a", "--steps", "4", *TINY, "--seed", "3")
    assert first.returncode == 0, first.stderr
    again = ganzoo("train", "--config", "a/run.json", "-o", "b")
    assert again.returncode == 0, again.stderr
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    record_a, record_b = (json.loads((tmp_path / r / "run.json").read_text()) for r in "ab")
    assert record_a["train_config"] == record_b["train_config"] and record_a["model_config"] == record_b["model_config"]


def test_yaml_files_and_overrides(ganzoo, tmp_path, mnist_dir):
    (tmp_path / "c.yaml").write_text(f"architecture: mlp\ndata: {mnist_dir}\nsteps: 2\ng_hidden: 8\nd_hidden: 8\n"
                                     "latent_dim: 4\nbatch_size: 8\nlr_g: 0.001\nbetas: [0.5, 0.9]\n")
    shown = ganzoo("train", "--config", "c.yaml", "--steps", "5", "--set", "lr_d=3e-4", "--print-config")
    assert shown.returncode == 0, shown.stderr
    resolved = json.loads(shown.stdout)
    assert resolved["train_config"]["steps"] == 5 and resolved["train_config"]["lr_g"] == 0.001
    assert resolved["train_config"]["lr_d"] == 3e-4 and resolved["train_config"]["betas"] == [0.5, 0.9]
    assert resolved["model_config"]["g_hidden"] == 8 and not (tmp_path / "runs").exists()
    made = ganzoo("train", "--config", "c.yaml", "-o", "r")
    assert made.returncode == 0, made.stderr
    assert json.loads((tmp_path / "r" / "run.json").read_text())["train_config"]["lr_g"] == 0.001


def test_bad_config_files_are_one_line(ganzoo_here, one_line_error, tmp_path, mnist_dir):
    (tmp_path / "typo.yaml").write_text("architecture: mlp\ng_hiden: 8\n")
    assert "unknown setting 'g_hiden' for MLPGAN; did you mean 'g_hidden'?" in one_line_error(ganzoo_here("train", "--config", "typo.yaml", "--print-config"))
    (tmp_path / "broken.yaml").write_text("steps: [1,\n")
    assert "is not valid YAML" in one_line_error(ganzoo_here("train", "--config", "broken.yaml", "-o", "x"))
    (tmp_path / "list.json").write_text("[1, 2]")
    assert "must hold a mapping" in one_line_error(ganzoo_here("train", "--config", "list.json", "-o", "x"))
    (tmp_path / "c.toml").write_text("")
    assert "must be a .yaml, .yml or .json" in one_line_error(ganzoo_here("train", "--config", "c.toml", "-o", "x"))
    (tmp_path / "dcgan.yaml").write_text("architecture: dcgan\n")
    assert "is a config for 'dcgan', not 'mlp'" in one_line_error(
        ganzoo_here("train", "mlp", "--config", "dcgan.yaml", "-o", "x"))
    assert "give the ARCHITECTURE" in one_line_error(ganzoo_here("train", "-o", "x", "--data", mnist_dir))
    assert not (tmp_path / "x").exists()


def test_print_config_shows_the_model_config_an_init_from_run_takes(ganzoo_here, tmp_path):
    shown = ganzoo_here("train", "dcgan", "--init-from", "dcgan-celeba", "--set", "d_width=48", "--print-config")
    assert shown.returncode == 0, shown.stderr
    resolved = json.loads(shown.stdout)  # the bundled model is widths 32; the dcgan default is 64
    assert resolved["model_config"]["g_width"] == 32 and resolved["model_config"]["d_width"] == 48
    assert resolved["train_config"]["init_from"] == "dcgan-celeba"
