"""The package as a user gets it: ``pip install <repo>`` (not editable) into a
clean virtual environment, then what that environment sees.

The working tree is copied first (without .git, virtual environments,
node_modules and build output), so the build never writes into the repo
(``build/``, ``*.egg-info``) and tests exactly the files a clone would have
plus uncommitted work. pip's cache makes a rerun take seconds.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIST = "pysignalr-server"
RUNTIME_REQUIREMENTS = {"aiohttp", "asyncpg", "msgpack", "attrs"}
TEST_ONLY_MODULES = {
    "pytest",
    "_pytest",
    "pytest_asyncio",
    "pytest_timeout",
    "hypothesis",
    "pysignalr",
    "signalrcore",
}
NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "venv", "node_modules", "build", "dist", "*.egg-info", "__pycache__",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", ".hypothesis", ".benchmarks", "test-artifacts",
)  # fmt: skip
INSTALL_TIMEOUT = 240.0

# Run in the environment under test: import the package (and the backplane),
# record the modules that pulled in, then describe the installed distribution.
PROBE = textwrap.dedent(
    """
    import sys
    import pysignalr_server
    import pysignalr_server.postgres
    modules = sorted({name.split(".")[0] for name in sys.modules})

    import importlib.metadata as metadata
    import importlib.resources as resources
    import json

    py_typed = resources.files("pysignalr_server") / "py.typed"
    print(json.dumps({
        "modules": modules,
        "package_file": pysignalr_server.__file__,
        "prefix": sys.prefix,
        "version": pysignalr_server.__version__,
        "dist_version": metadata.version("pysignalr-server"),
        "py_typed": str(py_typed) if py_typed.is_file() else None,
        "requires": metadata.requires("pysignalr-server"),
        "files": [str(f) for f in metadata.files("pysignalr-server") or []],
    }))
    """
)


def clean_env() -> dict[str, str]:
    """This environment without anything that would leak the repo or the
    test environment into the child interpreter."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}}
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    return env


def run(command: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, (
        f"{' '.join(command)} failed (exit {proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    return proc


def source_version() -> str:
    text = (ROOT / "pysignalr_server" / "_version.py").read_text()
    match = re.search(r"""^__version__\s*=\s*["']([^"']+)["']""", text, re.MULTILINE)
    assert match, f"no __version__ in _version.py:\n{text}"
    return match.group(1)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment with the package installed from a copy of
    the working tree; returns its python."""
    base = tmp_path_factory.mktemp("packaging")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED, symlinks=True)
    run([sys.executable, "-m", "venv", str(base / "venv")], cwd=base, timeout=60)
    python = base / "venv" / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", str(source)], cwd=base, timeout=INSTALL_TIMEOUT)
    return python


@pytest.fixture(scope="module")
def facts(venv: Path) -> dict[str, Any]:
    # cwd is outside the repo, so `import pysignalr_server` can only find the installed copy.
    proc = run([str(venv), "-c", PROBE], cwd=venv.parents[2], timeout=60)
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def test_installed_not_editable(venv: Path, facts: dict[str, Any]) -> None:
    package = Path(facts["package_file"]).resolve()
    assert package.is_relative_to(Path(facts["prefix"]).resolve()), package
    assert "site-packages" in package.parts and not package.is_relative_to(ROOT), package


def test_version_is_the_source_version(venv: Path, facts: dict[str, Any]) -> None:
    proc = run(
        [str(venv), "-c", "import pysignalr_server, sys; print(pysignalr_server.__version__)"],
        cwd=venv.parents[2],
        timeout=60,
    )
    assert proc.stdout.strip() == source_version()
    assert facts["dist_version"] == source_version()  # the distribution's metadata agrees


def test_import_pulls_in_no_test_dependency(facts: dict[str, Any]) -> None:
    assert TEST_ONLY_MODULES.isdisjoint(facts["modules"]), sorted(TEST_ONLY_MODULES & set(facts["modules"]))


def test_import_pulls_in_no_test_dependency_even_where_they_are_installed() -> None:
    """The same in this test environment, where pytest and the Python
    SignalR clients are installed: nothing imports them lazily either."""
    proc = run([sys.executable, "-c", PROBE], cwd=ROOT, timeout=60)
    facts = json.loads(proc.stdout)
    assert Path(facts["package_file"]).resolve().is_relative_to(ROOT)  # the working tree
    assert TEST_ONLY_MODULES.isdisjoint(facts["modules"]), sorted(TEST_ONLY_MODULES & set(facts["modules"]))


def test_py_typed_is_installed(facts: dict[str, Any]) -> None:
    assert facts["py_typed"] is not None, "pysignalr_server/py.typed is not installed"
    assert Path(facts["py_typed"]).resolve().is_relative_to(Path(facts["prefix"]).resolve())
    assert "pysignalr_server/py.typed" in facts["files"]


def test_requirements_are_the_runtime_dependencies(facts: dict[str, Any]) -> None:
    runtime = [r for r in facts["requires"] or [] if not re.search(r";.*\bextra\s*==", r)]
    names = [re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", r).group(0).lower() for r in runtime]  # type: ignore[union-attr]
    assert sorted(names) == sorted(RUNTIME_REQUIREMENTS), runtime


def test_only_the_package_is_installed(facts: dict[str, Any]) -> None:
    """No samples, tests or protocol_tests packages end up in site-packages."""
    top = {Path(f).parts[0] for f in facts["files"]}
    extra = {t for t in top if t != "pysignalr_server" and not t.endswith((".dist-info", ".egg-info"))}
    assert not extra, sorted(extra)
    modules = {f for f in facts["files"] if f.endswith(".py")}
    assert "pysignalr_server/postgres/bus.py" in modules and "pysignalr_server/protocol/json.py" in modules
