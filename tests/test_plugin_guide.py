"""docs/plugins.md, exactly as printed: its package pip-installs, trains, exports with its
version in config.json and the card, passes its own test file (ganzoo.testing), and bundles its model."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from ganzoo.engine import start_run
from ganzoo.hub import export_run, load_pretrained
from ganzoo.plugins import get_zoo

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def guide_blocks() -> list[tuple[str, str]]:
    """The guide's code blocks that name their file in their first line (``# path`` or
    ``# path, with ...`` for a later version of the same file), in order."""
    blocks = []
    for body in re.findall(r"```\w+\n(.*?)```", GUIDE.read_text(), flags=re.S):
        named = re.match(r"# ([\w./]+)(,[^\n]*)?\n", body)
        if named:
            blocks.append((named.group(1), body))
    return blocks


def guide_files() -> dict[str, str]:
    """Each named file as first printed."""
    files: dict[str, str] = {}
    for name, body in guide_blocks():
        files.setdefault(name, body)
    return files


def test_the_guide_plugin_installs_trains_exports_and_conforms(tmp_path, plugin_sys_path, mnist_dir):
    files = guide_files()
    assert set(files) == {"pyproject.toml", "ganzoo_mygan/__init__.py", "ganzoo_mygan/models.py",
                          "tests/test_mygan.py"}
    package = tmp_path / "ganzoo-mygan"
    for name, body in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(body)
    site = tmp_path / "site"
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index",
         "--disable-pip-version-check", "--target", str(site), str(package)],
        capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    plugin_sys_path(site)

    run_dir = tmp_path / "run"
    start_run("mygan", mnist_dir, run_dir, settings={"steps": 3, "checkpoint_every": 3, "sample_every": 3},
              progress=False).fit()
    exported = export_run(run_dir, tmp_path / "mygan-mnist")
    assert json.loads((exported / "config.json").read_text())["plugin"] == {
        "name": "mygan", "distribution": "ganzoo-mygan", "version": "0.1"}
    assert "`pip install ganzoo ganzoo-mygan==0.1`" in (exported / "README.md").read_text()
    images = load_pretrained(exported).generate(4, seed=0)
    assert images.shape == (4, 1, 28, 28) and images.abs().max() <= 1

    namespace: dict = {}
    exec(compile(files["tests/test_mygan.py"], "test_mygan.py", "exec"), namespace)  # the guide's test
    namespace["test_mygan_conforms"](tmp_path / "conformance")

    # Step 5: bundle the export with the second version of the hook module.
    _, later = [body for name, body in guide_blocks() if name == "ganzoo_mygan/__init__.py"]
    shutil.copytree(exported, site / "ganzoo_mygan" / "pretrained" / "mygan-mnist")
    (site / "ganzoo_mygan" / "__init__.py").write_text(later)
    sys.modules.pop("ganzoo_mygan", None)
    get_zoo.cache_clear()
    from ganzoo.testing import check_pretrained

    check_pretrained("mygan-mnist")
    assert get_zoo().pretrained.get("mygan-mnist").bundled is not None
