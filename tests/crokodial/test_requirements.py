"""Production installs requirements.txt only: no app module may import a dev-only package."""

import re
import subprocess
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("crokodial", "leads", "imports", "webhooks")


def _pinned(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        match = re.match(r"([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==", line)
        if match:
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


def _dev_only_modules() -> set[str]:
    dev_only = _pinned(ROOT / "requirements-dev.txt") - _pinned(ROOT / "requirements.txt")
    return {
        module
        for module, distributions in packages_distributions().items()
        if module.isidentifier()
        and {re.sub(r"[-_.]+", "-", d).lower() for d in distributions} <= dev_only
    }


# Run in a fresh interpreter: dev-only top-level modules refuse to import, then Django starts and
# every module of the apps (migrations included) is imported, as the Procfile's processes would.
# A library may look for an optional package without importing it (importlib.util.find_spec, as
# polars does): only executing a dev-only module fails.
CHILD = """
import importlib, importlib.abc, importlib.util, pkgutil, sys
blocked = set(sys.argv[1].split(","))

class Refuse(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in blocked:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ImportError(f"dev-only package imported at runtime: {module.__name__}")

sys.meta_path.insert(0, Refuse())
import django
django.setup()
for app in sys.argv[2].split(","):
    package = importlib.import_module(app)
    for module in pkgutil.walk_packages(package.__path__, app + "."):
        importlib.import_module(module.name)
print("ok")
"""


def test_the_dev_requirements_build_on_the_runtime_ones():
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    assert {"pytest", "playwright", "ruff", "mypy"} & _pinned(ROOT / "requirements.txt") == set()


def test_no_app_module_imports_a_dev_only_package():
    blocked = _dev_only_modules()
    assert {"pytest", "playwright", "mypy", "httpx"} <= blocked
    done = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(sorted(blocked)), ",".join(APPS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
