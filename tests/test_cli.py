"""The command line: help, listings, and one-line errors with exit code 2 for everything a user
can get wrong. The top-level help, version, listings and one error go through the real entry path
(``python -m ganzoo``); the rest run the same command group in this process (``ganzoo_here``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

COMMANDS = ["list", "info", "train", "sample", "export", "plugins"]


@pytest.fixture
def started_run(tmp_path, mnist_dir) -> Path:
    """A started (not trained) run, made in-process: cheaper than a subprocess."""
    from ganzoo.engine import start_run

    run = tmp_path / "run"
    start_run("mlp", mnist_dir, run, settings={"steps": 2, "g_hidden": 16, "d_hidden": 16,
                                           "latent_dim": 8, "batch_size": 8}, progress=False)
    return run


# -- help and listings ----------------------------------------------------------------------------


def test_top_level_help_lists_every_command(ganzoo, tmp_path):
    result = ganzoo("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Usage:" in result.stdout
    for command in COMMANDS:
        assert f"  {command}" in result.stdout, command
    assert result.stderr == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_help_for_every_command(ganzoo_here, command, tmp_path):
    result = ganzoo_here(command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"Usage: ganzoo {command}" in result.stdout
    assert result.stderr == ""


def test_version(ganzoo, tmp_path):
    from ganzoo import __version__

    result = ganzoo("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert __version__ in result.stdout


def test_list_shows_architectures_and_pretrained(ganzoo, tmp_path):
    result = ganzoo("list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    architectures, pretrained, losses, readers, metrics = result.stdout.split("\n\n")
    assert losses.startswith("loss")
    assert {line.split()[0] for line in losses.splitlines()[2:]} >= {"bce", "hinge", "lsgan", "wgan-gp"}
    assert readers.startswith("dataset reader")
    assert {line.split()[0] for line in readers.splitlines()[2:]} >= {"mnist", "image-folder"}
    assert metrics.startswith("metric")
    assert any(line.split()[:2] == ["swd", "ganzoo"] for line in metrics.splitlines())
    assert architectures.startswith("architecture")
    assert any(line.split()[:2] == ["mlp", "mlp"] for line in architectures.splitlines())
    assert pretrained.startswith("pretrained")
    assert any(line.split()[:3] == ["mlp-mnist", "mlp", "mlp"] for line in pretrained.splitlines())
    only = ganzoo("list", "--pretrained", cwd=tmp_path)
    assert only.returncode == 0
    assert only.stdout.splitlines()[0].startswith("pretrained")
    assert "mlp-mnist" in only.stdout


def test_plugins_lists_the_mlp_plugin(ganzoo, tmp_path):
    result = ganzoo("plugins", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[2:] if line.strip()}
    assert rows["mlp"][-1] == "ok"
    assert "architectures" in rows["mlp"][3] and "pretrained" in rows["mlp"][3]
    assert rows["ganzoo"][-1] == "ok"


def test_info_architecture_shows_parameter_counts(ganzoo, tmp_path):
    from ganzoo.engine.run import get_architecture

    arch = get_architecture("mlp")
    config = arch.make_config()
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    g, d = count(arch.build_generator(config)), count(arch.build_discriminator(config))

    result = ganzoo("info", "mlp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"generator      {g:,} parameters, makes 1x28x28" in result.stdout
    assert f"discriminator  {d:,} parameters" in result.stdout
    assert "g_hidden" in result.stdout and "batch_size" in result.stdout


def test_info_unknown_name(ganzoo, one_line_error, tmp_path):
    line = one_line_error(ganzoo("info", "mlp-mnsit", cwd=tmp_path))
    assert "did you mean 'mlp-mnist'" in line


# -- train: what users get wrong ------------------------------------------------------------------


def test_train_unknown_architecture_suggests(ganzoo_here, one_line_error, mnist_dir, tmp_path):
    line = one_line_error(ganzoo_here("train", "mpl", "--data", str(mnist_dir), "-o", "run", cwd=tmp_path))
    assert "unknown architecture 'mpl'" in line
    assert "did you mean 'mlp'" in line
    assert not (tmp_path / "run").exists()


def test_train_missing_data_directory(ganzoo_here, one_line_error, tmp_path):
    line = one_line_error(ganzoo_here("train", "mlp", "--data", "no/such/dir", "-o", "run", cwd=tmp_path))
    assert "no/such/dir" in line and "does not exist" in line
    assert not (tmp_path / "run").exists()


def test_train_on_a_corrupt_idx_file(ganzoo_here, one_line_error, mnist_dir, tmp_path):
    data = tmp_path / "mnist"
    data.mkdir()
    for path in mnist_dir.glob("*.gz"):
        shutil.copyfile(path, data / path.name)
    images = data / "train-images-idx3-ubyte.gz"
    images.chmod(0o644)
    images.write_bytes(images.read_bytes()[:100_000])
    line = one_line_error(ganzoo_here("train", "mlp", "--data", str(data), "-o", "run", cwd=tmp_path))
    assert "train-images-idx3-ubyte.gz" in line
    assert not (tmp_path / "run").exists()


def test_train_into_an_existing_run_needs_resume(ganzoo_here, one_line_error, mnist_dir, started_run, tmp_path):
    before = (started_run / "run.json").read_bytes()
    files = sorted(p.name for p in started_run.iterdir())
    assert "run.json" in files
    line = one_line_error(ganzoo_here("train", "mlp", "--data", str(mnist_dir), "-o", str(started_run),
                                 "--steps", "2", cwd=tmp_path))
    assert "--resume" in line
    assert (started_run / "run.json").read_bytes() == before
    assert sorted(p.name for p in started_run.iterdir()) == files


def test_train_malformed_set(ganzoo_here, one_line_error, mnist_dir, tmp_path):
    # (unknown keys and their suggestions: test_engine.py::test_unknown_setting_suggests_a_name)
    line = one_line_error(ganzoo_here("train", "mlp", "--data", str(mnist_dir), "-o", "run", "--set", "g_hidden",
                                 cwd=tmp_path))
    assert "--set takes key=value, got 'g_hidden'" in line
    assert not (tmp_path / "run").exists()


def test_train_set_of_the_wrong_type(ganzoo_here, one_line_error, mnist_dir, tmp_path):
    # a value of the wrong type is a one-line error, not a traceback from nn.Linear
    line = one_line_error(ganzoo_here("train", "mlp", "--data", str(mnist_dir), "-o", "run",
                                 "--set", "g_hidden=32.5", cwd=tmp_path))
    assert "g_hidden" in line


def test_resume_refuses_new_settings(ganzoo_here, one_line_error, started_run, tmp_path):
    line = one_line_error(ganzoo_here("train", "mlp", "-o", str(started_run), "--resume", "--seed", "3",
                                 "--set", "lr_g=1e-3", cwd=tmp_path))
    assert "settings are fixed" in line and "seed" in line and "lr_g" in line


def test_resume_of_something_that_is_not_a_run(ganzoo_here, one_line_error, tmp_path):
    (tmp_path / "empty").mkdir()
    line = one_line_error(ganzoo_here("train", "mlp", "-o", "empty", "--resume", cwd=tmp_path))
    assert "not a training run" in line


# -- sample and export ----------------------------------------------------------------------------


def test_sample_needs_at_least_one_image(ganzoo_here, one_line_error, tmp_path):
    line = one_line_error(ganzoo_here("sample", "mlp-mnist", "-n", "0", "-o", "out.png", cwd=tmp_path))
    assert "-n" in line
    assert not (tmp_path / "out.png").exists()


def test_sample_unknown_model(ganzoo_here, one_line_error, tmp_path):
    line = one_line_error(ganzoo_here("sample", "no-such-model", "-o", "out.png", cwd=tmp_path))
    assert "unknown pretrained model 'no-such-model'" in line
    assert not (tmp_path / "out.png").exists()


def test_export_a_run(ganzoo_here, one_line_error, started_run, tmp_path):
    from ganzoo.engine import resume_run

    resume_run(started_run, progress=False).fit()  # train the two steps
    result = ganzoo_here("export", str(started_run), "-o", "pretrained", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "pretrained" / "config.json").read_text())["architecture"] == "mlp"

    before = (tmp_path / "pretrained" / "model.safetensors").read_bytes()
    again = ganzoo_here("export", str(started_run), "-o", "pretrained", cwd=tmp_path)
    assert "--overwrite" in one_line_error(again)
    assert (tmp_path / "pretrained" / "model.safetensors").read_bytes() == before
    # (sampling an exported directory on the command line: test_artifacts.py)


def test_export_of_something_that_is_not_a_run(ganzoo_here, one_line_error, tmp_path):
    (tmp_path / "nothing").mkdir()
    line = one_line_error(ganzoo_here("export", "nothing", "-o", "out", cwd=tmp_path))
    assert "not a training run" in line
    assert not (tmp_path / "out").exists()
