"""The web app in a real browser: the built app (npm), a real `stridelab serve` on loopback, and
Debian's Chromium driven by Playwright. Nothing here skips: without Chromium, node or the built
app the tests fail and say how to fix it (`make test` installs and builds everything)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Playwright, ViewportSize, sync_playwright

from tests.servers import serve

REPO_ROOT = Path(__file__).resolve().parents[2]
FRONTEND = REPO_ROOT / "frontend"
ARTIFACTS = REPO_ROOT / "var" / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PHONE: ViewportSize = {"width": 390, "height": 844}


def npm(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    if shutil.which("npm") is None:
        pytest.fail("npm is not installed: the web app needs Node.js 20+ and npm (make install)")
    return subprocess.run(["npm", *args], cwd=FRONTEND, capture_output=True, text=True,
                          timeout=timeout, check=False)


@pytest.fixture(scope="session")
def built_app() -> Path:
    """Builds the app from the current sources once per run, so the browser tests never check a
    stale dist/ (`npm ci` first when node_modules is missing)."""
    if not (FRONTEND / "node_modules").is_dir():
        result = npm("ci", "--no-audit", "--no-fund")
        assert result.returncode == 0, result.stdout + result.stderr
    result = npm("run", "build")
    assert result.returncode == 0, result.stdout + result.stderr
    return FRONTEND / "dist"


@pytest.fixture(scope="module")
def server(built_app: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`stridelab serve` on the embedded default (SQLite, local files, in-process worker)."""
    data = tmp_path_factory.mktemp("web-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDELAB_")}
    env.update(STRIDELAB_DATA_DIR=str(data), STRIDELAB_FRONTEND_DIR=str(FRONTEND))
    command = [sys.executable, "-m", "backend.cli.main", "serve"]
    with serve(command, env, data / "server.log") as base:
        yield base


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/browser.sh (Debian packages chromium "
                    "and chromium-driver); `make test` does it")
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
