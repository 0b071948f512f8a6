"""The house's floors (docs/development.md): leads at the bottom, imports and webhooks beside each
other on it, crokodial on top; no module imports a floor above its own, and no two modules of an
app import each other (a function-level import counts: it is a cycle all the same)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("leads", "imports", "webhooks", "crokodial")
MAY_IMPORT = {
    "leads": {"leads"},
    "imports": {"leads", "imports"},
    "webhooks": {"leads", "webhooks"},
    "crokodial": set(APPS),
}
# Settings and the project's wiring read the apps; nothing in an app reads them.


def _modules() -> dict[str, Path]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def _imports(path: Path, known: set[str]) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name in known}


def test_no_module_imports_a_floor_above_its_own():
    modules = _modules()
    wrong = [
        f"{name} imports {imported}"
        for name, path in modules.items()
        for imported in _imports(path, set(modules))
        if imported.split(".")[0] not in MAY_IMPORT[name.split(".")[0]]
    ]
    assert wrong == []


def test_no_two_modules_import_each_other():
    modules = _modules()
    graph = {name: _imports(path, set(modules)) - {name} for name, path in modules.items()}
    # A package's __init__ re-exporting its modules is not a cycle through them.
    pairs = sorted(
        f"{a} <-> {b}"
        for a, imported in graph.items()
        for b in imported
        if a < b and a in graph.get(b, set()) and not b.startswith(a + ".")
    )
    assert pairs == []
