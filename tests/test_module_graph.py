"""The core's modules import each other one way: no cycles among module-level imports, and the
core never imports a plugin."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def top_level_imports(path: Path) -> set[str]:
    """Modules imported at module level (not inside functions or ``if TYPE_CHECKING``)."""
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def graph() -> dict[str, set[str]]:
    """Module -> the core modules it imports. A module's own parent packages are left out: they
    are already initialising when it runs (``from ganzoo.engine import checkpoint`` inside
    ganzoo.engine depends on the sibling, not on the package)."""
    modules = {module_name(p): p for p in sorted((ROOT / "ganzoo").rglob("*.py"))}
    return {name: {m for m in top_level_imports(path)
                   if m in modules and m != name and not name.startswith(m + ".")}
            for name, path in modules.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(edges):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles_in_the_core():
    edges = graph()
    assert len(edges) > 40  # the scan saw the core
    assert find_cycle(edges) is None, " -> ".join(find_cycle(edges))


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_core_imports_no_plugin():
    offenders = {module_name(p): sorted(m for m in top_level_imports(p) if m.startswith("ganzoo_"))
                 for p in (ROOT / "ganzoo").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}
