"""The layer table of docs/architecture.md holds: import-linter's contracts (pyproject.toml,
``[tool.importlinter]``, also run by ``make lint``) are all kept, and they do catch an
import that points up."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "lint-imports"
    command = [str(exe)] if exe.exists() else ["lint-imports"]
    return subprocess.run([*command, "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False, env={"PYTHONPATH": str(cwd),
                                                         "PATH": "/usr/bin:/bin"})


def test_every_layer_contract_is_kept() -> None:
    result = _lint_imports(REPO_ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_domain_importing_upwards_breaks_the_contracts(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(REPO_ROOT / "backend", copy / "backend",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "pyproject.toml", copy)
    # The cycle issue 12 started from: a domain reaching up into the app's assembly, and
    # the job runner importing the domain whose task it runs.
    with (copy / "backend" / "clips" / "tasks.py").open("a") as handle:
        handle.write("\nimport backend.api.app  # noqa\n")
    with (copy / "backend" / "jobs" / "runtime.py").open("a") as handle:
        handle.write("\nimport backend.clips.tasks  # noqa\n")
    result = _lint_imports(copy)
    assert result.returncode != 0
    assert "Layers point down" in result.stdout and "BROKEN" in result.stdout
    assert "backend.jobs" in result.stdout


def test_the_contracts_name_every_package_of_the_layer_table() -> None:
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in layer.replace(":", "|").split("|")}
    table = (REPO_ROOT / "docs" / "architecture.md").read_text()
    for package in named:
        assert f"`backend/{package}" in table, f"backend/{package} is not in the table"
