"""The upload queue's Vitest tests (frontend/src/upload/queue.test.ts: retry after a dropped
connection, resume from IndexedDB after a closed app, no duplicate upload, refusals), run by
the Python suite so that `make test` runs them."""

from __future__ import annotations

import subprocess

from tests.web.conftest import FRONTEND, npm


def test_upload_queue_vitest() -> None:
    if not (FRONTEND / "node_modules").is_dir():
        result = npm("ci", "--no-audit", "--no-fund")
        assert result.returncode == 0, result.stdout + result.stderr
    result = subprocess.run(["npx", "--no-install", "vitest", "run", "--reporter=verbose"],
                            cwd=FRONTEND, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    for name in ("retries after a dropped connection", "resumes an upload cut off by a closed app",
                 "never uploads the same clip twice"):
        assert name in output, output
    assert " 0 passed" not in output
