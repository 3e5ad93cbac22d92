"""The web app's API client is generated from the server's OpenAPI document: this fails when
the committed document or the generated types (frontend/src/api/) lag behind the API, so the
app and the API cannot drift. To refresh both:

    python frontend/scripts/openapi.py && (cd frontend && npm run api)
"""

from __future__ import annotations

import importlib.util
import subprocess
from pathlib import Path

from tests.web.conftest import FRONTEND, npm

API_DIR = FRONTEND / "src" / "api"
FIX = "run `python frontend/scripts/openapi.py && (cd frontend && npm run api)` and commit"


def _generator() -> object:
    path = FRONTEND / "scripts" / "openapi.py"
    spec = importlib.util.spec_from_file_location("frontend_openapi", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_openapi_document_matches_the_api() -> None:
    current = _generator().document()  # type: ignore[attr-defined]
    committed = (API_DIR / "openapi.json").read_text(encoding="utf-8")
    assert committed == current, f"frontend/src/api/openapi.json is stale: {FIX}"


def test_generated_client_types_match_the_committed_document(tmp_path: Path) -> None:
    if not (FRONTEND / "node_modules").is_dir():
        result = npm("ci", "--no-audit", "--no-fund")
        assert result.returncode == 0, result.stdout + result.stderr
    out = tmp_path / "schema.d.ts"
    result = subprocess.run(
        ["npx", "--no-install", "openapi-typescript", str(API_DIR / "openapi.json"),
         "-o", str(out)],
        cwd=FRONTEND, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    committed = (API_DIR / "schema.d.ts").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, (
        f"frontend/src/api/schema.d.ts is stale: {FIX}")


def test_app_type_checks_against_the_generated_client() -> None:
    """The app's calls (paths, parameters, bodies) type-check against the generated client."""
    result = subprocess.run(["npx", "--no-install", "tsc", "--noEmit"], cwd=FRONTEND,
                            capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
