"""Hostile input the CLI reads: oversized images, special files, bad devices, huge grids and
plugins that exit at import. Each is one line (exit 2) or is skipped, never a hang or a traceback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from ganzoo.data.folder import image_files
from ganzoo.devices import resolve_device
from ganzoo.errors import GanzooError


def test_a_decompression_bomb_as_input_is_one_line(tmp_path, run_ganzoo, one_line_error):
    bomb = tmp_path / "bomb.png"
    Image.new("L", (20000, 20000)).save(bomb, optimize=False)  # 400 Mpx: over PIL's guard
    line = one_line_error(run_ganzoo(["sample", "cyclegan-summer2winter", "--input", str(bomb),
                                      "-o", str(tmp_path / "out.png")]))
    assert "cannot read image" in line and "decompression bomb" in line.lower()
    assert not (tmp_path / "out.png").exists()


def test_a_named_pipe_with_an_image_name_is_not_read(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "real.png")
    os.mkfifo(tmp_path / "trap.png")
    assert image_files(tmp_path) == [tmp_path / "real.png"]  # listing returns; nothing opens the pipe


@pytest.mark.parametrize("name", ["cpu:7", "cuda:99", "tpu", "banana"])
def test_devices_that_do_not_exist_are_refused(name):
    with pytest.raises(GanzooError, match="device"):
        resolve_device(name)
    assert resolve_device("cpu") == torch.device("cpu") and resolve_device("cpu:0") == torch.device("cpu:0")


def test_a_huge_grid_is_refused_at_once(tmp_path, run_ganzoo, one_line_error):
    line = one_line_error(run_ganzoo(["sample", "dcgan-celeba", "-n", "100000", "-o", str(tmp_path / "g.png")]))
    assert "-n must be between 1 and 4096" in line


def test_generate_in_batches_gives_the_same_images():
    from ganzoo.hub import load_pretrained

    for name in ("dcgan-mnist", "cgan-mnist"):
        generator = load_pretrained(name)
        labels = torch.arange(10).repeat(3) if generator.num_classes else None
        whole = generator.generate(30, seed=3, labels=labels)
        assert torch.allclose(whole, generator.generate(30, seed=3, labels=labels, batch_size=7), atol=1e-6)


def test_a_plugin_that_exits_at_import_takes_nothing_down(make_plugin, plugin_sys_path, run_ganzoo):
    root = make_plugin("quitter", textwrap.dedent("""
        import sys
        sys.exit(3)
    """))
    result = run_ganzoo(["plugins"], env={"PYTHONPATH": str(root), "GANZOO_PLUGINS": None})
    assert result.returncode == 0, result.stderr
    assert "quitter: could not load: SystemExit: 3" in result.stdout
    assert "dcgan" in result.stdout


@pytest.mark.parametrize(("args", "says"), [
    (["train"], ["ARCHITECTURE", "see ganzoo train --help"]),
    (["sample", "mlp-mnist", "-n", "many"], ["'many' is not a valid integer", "see ganzoo sample --help"]),
    (["no-such-command"], ["no-such-command"]),
    (["plugins", "--bogus"], ["--bogus", "see ganzoo plugins --help"]),
    (["sample", "mlp-mnist", "--nrow", "-3"], ["'--nrow': -3 is not in the range x>=1"]),
    (["sample", "mlp-mnist", "--seed", "-1"], ["'--seed': -1 is not in the range x>=0"]),
    (["train", "mlp", "-o", "r", "--steps", "0"], ["'--steps': 0 is not in the range x>=1"]),
    (["eval", "mlp-mnist", "--data", ".", "--seed", "-2"], ["'--seed': -2 is not in the range x>=0"]),
    (["bench", "mlp", "--threads", "0"], ["'--threads': 0 is not in the range x>=1"]),
])
def test_click_usage_errors_are_one_line_like_every_other(run_ganzoo, one_line_error, args, says):
    line = one_line_error(run_ganzoo(args))  # exit 2, "error: ...", no usage block
    assert all(part in line for part in says), line


BUNDLED_MLP = Path(__file__).resolve().parents[1] / "plugins" / "ganzoo_mlp" / "pretrained" / "mlp-mnist"


@pytest.mark.parametrize(("metadata", "says"), [
    ("license: [unclosed", "expected ',' or ']'"),
    ('license: !!python/object/apply:os.system ["touch pwned"]', "could not determine a constructor"),
])
def test_a_card_with_bad_yaml_is_a_warning_and_constructs_nothing(tmp_path, run_ganzoo, metadata, says):
    model = tmp_path / "model"
    shutil.copytree(BUNDLED_MLP, model)
    (model / "README.md").write_text(f"---\n{metadata}\n---\n# model\n")
    result = run_ganzoo(["info", str(model)], cwd=tmp_path)
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]  # one line
    assert result.stderr.startswith("warning: the model card") and says in result.stderr
    assert "parameters" in result.stdout  # the model itself is still described
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("repo_id", "says"), [
    ("zoo/b..c", "may not hold -- or .."),
    ("zoo/x--y", "may not hold -- or .."),
    ("zoo/model.", "may not start or end with - or ."),
    ("zoo/" + "x" * 97, "at most 96 characters"),
    ("zoo/model.git", "may not end in .git"),
])
def test_hub_ids_the_hub_refuses_are_one_line_before_any_request(tmp_path, run_ganzoo, one_line_error, repo_id, says):
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}
    line = one_line_error(run_ganzoo(["pull", f"hf-hub:{repo_id}"], env=env, cwd=tmp_path))
    assert says in line and "is not a Hub model reference" in line
    line = one_line_error(run_ganzoo(["push", str(BUNDLED_MLP), "--repo-id", repo_id], env=env, cwd=tmp_path))
    assert says in line and "is not a Hub repository id" in line


def test_a_one_image_reference_set_is_refused_as_real_vs_real_refuses_it(tmp_path, run_ganzoo, one_line_error):
    folder = tmp_path / "one"
    folder.mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "a.png")
    line = one_line_error(run_ganzoo(["eval", "dcgan-celeba", "--data", str(folder), "-m", "swd", "-n", "8"],
                                     cwd=tmp_path))
    assert "holds 1 image; swd compares" in line and "needs at least 2 (real-vs-real: 4)" in line
    line = one_line_error(run_ganzoo(["eval", "--real-vs-real", "--data", str(folder), "-m", "swd"], cwd=tmp_path))
    assert "real-vs-real needs at least 4" in line
