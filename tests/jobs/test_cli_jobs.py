"""The job commands as a user runs them: 'stridelab jobs status' and 'stridelab jobs reap' on
a data dir (the worker itself is run in test_workers.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.jobs.conftest import STRIDELAB


def _run(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRIDELAB_")}
    env["STRIDELAB_DATA_DIR"] = str(data_dir)
    return subprocess.run([*STRIDELAB, *args], env=env, capture_output=True, text=True,
                          timeout=180, check=False)


def test_jobs_status_and_reap(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    assert _run("db", "upgrade", data_dir=data_dir).returncode == 0
    status = _run("jobs", "status", data_dir=data_dir)
    assert status.returncode == 0, status.stderr
    assert "queued" in status.stdout and "succeeded" in status.stdout
    assert "0 message(s) waiting" in status.stderr
    reaped = _run("jobs", "reap", data_dir=data_dir)
    assert reaped.returncode == 0, reaped.stderr
    assert "Re-queued 0, failed 0, re-sent 0." in reaped.stderr
