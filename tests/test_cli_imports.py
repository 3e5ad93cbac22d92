"""Start-up of the command line: a command loads only what it needs.

``import backend.cli`` registers every subcommand, so a module-level import in any of them is
paid by all: the analysis stack (scipy, matplotlib) and the web and database stack (fastapi,
sqlalchemy, sqlmodel, uvicorn, huey) cost over a second before ``stridelab pose`` reads its
first frame. Each command imports its own stack inside its function. This checks which modules
a fresh process has loaded (a behaviour, not a timing).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CLIP = REPO_ROOT.parent / "shared" / "clips" / "single_person_front_portrait.mp4"
HEAVY = ("scipy", "matplotlib", "sqlalchemy", "sqlmodel", "fastapi", "uvicorn", "huey")

# Imports the command line, runs it with the given arguments (as the `stridelab` script does),
# and prints which heavy modules were loaded after each step, as the last line of stdout.
PROBE = f"""
import json, sys

def loaded():
    return sorted(name for name in {HEAVY!r} if name in sys.modules)

import backend.cli

report = {{"import": loaded()}}
try:
    backend.cli.app(sys.argv[1:], prog_name="stridelab")
except SystemExit as stop:
    report["exit"] = stop.code
report["command"] = loaded()
print()
print(json.dumps(report))
"""


def probe(*args: str) -> dict[str, object]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    report: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.parametrize("args", [["--help"], ["pose", "--help"]], ids=" ".join)
def test_help_loads_no_heavy_module(args: list[str]) -> None:
    report = probe(*args)
    assert report == {"import": [], "exit": 0, "command": []}


def test_pose_with_a_bad_clip_loads_no_heavy_module(tmp_path: Path) -> None:
    report = probe("pose", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "t.npz"))
    assert report == {"import": [], "exit": 1, "command": []}


def test_pose_run_loads_no_heavy_module(tmp_path: Path) -> None:
    """A whole run of the pose engine (needs the provisioned models, like tests/pose)."""
    assert CLIP.is_file(), f"the shared test clip {CLIP} is missing (see ../shared/clips)"
    out = tmp_path / "track.npz"
    report = probe("pose", str(CLIP), "--out", str(out))
    assert report == {"import": [], "exit": 0, "command": []}
    assert out.is_file()
