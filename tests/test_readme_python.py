"""The README's "Use it from Python" block runs as it is written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_example_runs(tmp_path, monkeypatch, data_root):
    section = README.read_text().split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    code = code.replace("../shared/data", str(data_root))  # the README's paths are relative to the checkout
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own README
    assert namespace["images"].shape == (16, 1, 32, 32)
    assert (tmp_path / "digits.png").is_file() and (tmp_path / "my-dcgan" / "config.json").is_file()
    assert namespace["summary"]["steps"] == 20
    assert type(namespace["mine"]) is type(namespace["untrained"])
