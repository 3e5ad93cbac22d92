"""The package as the Docker image installs it (``pip install .``, models provisioned into the
installed package, run away from the source tree) serves, analyses a real clip and answers
the plan: scripts/installed_smoke.sh, the container smoke test without a container engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import CLIPS_DIR

ROOT = Path(__file__).resolve().parents[1]
CLIP = CLIPS_DIR / "running" / "side_treadmill_barefoot.mov"


def test_the_installed_package_serves_and_analyses_a_real_clip(tmp_path: Path) -> None:
    assert CLIP.is_file(), f"the shared clips are missing: {CLIP}"
    env = {**os.environ, "PYTHON": sys.executable, "TMPDIR": str(tmp_path)}
    run = subprocess.run(["bash", str(ROOT / "scripts" / "installed_smoke.sh"), str(CLIP)],
                         env=env, capture_output=True, text=True, timeout=600)
    out = run.stdout + run.stderr
    assert run.returncode == 0, out[-4000:]
    assert "backend from " + str(tmp_path) in out  # the installed copy ran, not the source
    assert "healthz: {'status': 'ok'" in out
    assert "clip 1: succeeded" in out
    assert "fit True" in out and "plan: 200" in out
