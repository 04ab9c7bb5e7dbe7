"""ganzoo.api is the plugin API: every name resolves, importing it is cheap, and the first-party
plugins import nothing else from the core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import ganzoo.api as api

PLUGINS = Path(__file__).resolve().parents[1] / "plugins"


def test_every_name_in_all_resolves():
    missing = [name for name in api.__all__ if not hasattr(api, name)]
    assert missing == []
    with pytest.raises(AttributeError, match="ganzoo.api.__all__"):
        api.not_a_name  # noqa: B018


def test_importing_the_api_and_hookimpl_does_not_import_torch():
    code = "import sys; from ganzoo.api import hookimpl, VERSION, GanzooError; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def core_imports(path: Path) -> list[str]:
    """The ganzoo modules ``path`` imports from, other than ganzoo.api."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules = [node.module]
        elif isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        else:
            continue
        found += [m for m in modules if (m == "ganzoo" or m.startswith("ganzoo.")) and m != "ganzoo.api"]
    return found


def test_first_party_plugins_import_only_the_api():
    offenders = {str(p.relative_to(PLUGINS)): core_imports(p) for p in sorted(PLUGINS.rglob("*.py"))}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert sum(1 for _ in PLUGINS.rglob("*.py")) >= 10  # the scan really saw the plugins


def test_the_check_catches_a_core_import(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("from ganzoo.settings import require_positive\nimport ganzoo.hub\nfrom ganzoo.api import hookimpl\n")
    assert core_imports(module) == ["ganzoo.settings", "ganzoo.hub"]


@pytest.mark.parametrize(("required", "ok"), [(api.VERSION, True), ("1.0", True), ("0.9", False),
                                              ("2.0", False), ("1.99", False)])
def test_api_compatibility(required, ok):
    assert api.is_compatible(required) is ok


def test_a_malformed_api_declaration_is_a_clear_error():
    with pytest.raises(api.GanzooError, match="major.minor"):
        api.is_compatible("one")
