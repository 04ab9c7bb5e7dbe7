"""The README's "Writing a plugin" example, exactly as printed, installs, trains and exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ganzoo.engine import start_run
from ganzoo.hub import export_run, load_pretrained

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_plugin_files() -> dict[str, str]:
    """The files of the "Writing a plugin" section: each code block names its file in its first line."""
    section = README.read_text().split("## Writing a plugin", 1)[1].split("\n## ", 1)[0]
    files = {}
    for language, body in re.findall(r"```(\w+)\n(.*?)```", section, flags=re.S):
        name = re.match(r"# ([^\s:]+)", body).group(1)
        files["pyproject.toml" if language == "toml" else name] = body
    return files


def test_the_readme_plugin_example_trains_and_exports(tmp_path, plugin_sys_path, mnist_dir):
    files = readme_plugin_files()
    assert set(files) == {"pyproject.toml", "ganzoo_mygan/__init__.py", "ganzoo_mygan/models.py"}
    site = tmp_path / "site"
    for name in ("ganzoo_mygan/__init__.py", "ganzoo_mygan/models.py"):
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_text(files[name])
    table = files["pyproject.toml"].split("[project.entry-points.ganzoo]", 1)[1]
    entry_points = table.replace('"', "")  # TOML strings -> entry_points.txt values
    info = site / "ganzoo_mygan-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ganzoo-mygan\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[ganzoo]" + entry_points)
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
