"""`ganzoo new-plugin` writes a package that pip installs and that passes its own tests as written."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("kind", ["architecture", "loss", "metric", "image-to-image"])
def test_the_generated_plugin_installs_and_passes_its_tests(kind, tmp_path, run_ganzoo):
    name = f"my-{kind}"
    module = "ganzoo_" + name.replace("-", "_")
    made = run_ganzoo(["new-plugin", name, "--kind", kind, "-o", str(tmp_path / "pkg")])
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "pkg" / "tests" / f"test_{module}.py").is_file()
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(site), str(tmp_path / "pkg")],
        capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    env = {**os.environ, "PYTHONPATH": str(site), "OMP_NUM_THREADS": "1"}
    env.pop("GANZOO_PLUGINS", None)
    tested = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path / "pkg" / "tests")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-2000:]
    assert "1 passed" in tested.stdout
    listed = run_ganzoo(["plugins"], env={"PYTHONPATH": str(site), "GANZOO_PLUGINS": None})
    row = [line.split() for line in listed.stdout.splitlines() if line.startswith(name)]
    assert row and row[0][1] == f"ganzoo-{name}" and row[0][-1] == "ok", listed.stdout


def test_new_plugin_refuses_a_bad_name_and_a_used_folder(tmp_path, run_ganzoo, one_line_error):
    assert "plugin name 'My_GAN'" in one_line_error(run_ganzoo(["new-plugin", "My_GAN", "-o", str(tmp_path / "x")]))
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "keep.txt").write_text("mine")
    line = one_line_error(run_ganzoo(["new-plugin", "fine", "-o", str(tmp_path / "used")]))
    assert "is not an empty folder" in line
    assert os.listdir(tmp_path / "used") == ["keep.txt"]


def test_export_prints_the_sha256_and_a_register_line(tmp_path, run_ganzoo, mnist_dir):
    run = tmp_path / "run"
    trained = run_ganzoo(["train", "mlp", "--data", str(mnist_dir), "-o", str(run), "--steps", "1",
                          "--set", "checkpoint_every=1", "--set", "g_hidden=8", "--set", "d_hidden=8", "--no-progress"])
    assert trained.returncode == 0, trained.stderr
    exported = run_ganzoo(["export", str(run), "-o", str(tmp_path / "mlp-tiny")])
    assert exported.returncode == 0, exported.stderr
    from ganzoo.fileio import sha256_of

    digest = sha256_of(tmp_path / "mlp-tiny" / "model.safetensors")
    assert f"sha256 {digest}" in exported.stdout
    assert (f'register("mlp-tiny", PRETRAINED / "mlp-tiny", architecture="mlp", sha256="{digest}"'
            in exported.stdout)
    assert json.loads((tmp_path / "mlp-tiny" / "config.json").read_text())["architecture"] == "mlp"
