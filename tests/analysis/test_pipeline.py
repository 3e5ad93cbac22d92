"""One analysis pipeline: the app's worker and the command line draw the same key frames for
the same clip (the moments the faults are measured at, lines and angles on the clip's own
frames), from the same report."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from backend.clips.pipeline import analyse_clip

ROOT = Path(__file__).resolve().parents[2]
# Real footage: 4 s from behind on a treadmill, fit for analysis (docs/gait.md).
CLIP = ROOT.parent / "shared" / "clips" / "running" / "rear_treadmill_barefoot.mov"
STRIDELAB = ROOT / ".venv" / "bin" / "stridelab"


def test_the_app_and_the_command_line_draw_the_same_key_frames(tmp_path: Path) -> None:
    clip = CLIP
    stages: list[str] = []
    app = analyse_clip(clip, view="rear", person=None, athlete=None, out_dir=tmp_path / "app",
                       progress=lambda _f, stage: stages.append(stage), overlay=False)
    assert app.report["clip_quality"]["fit"], app.report["clip_quality"]
    assert stages[0] == "pose" and "pictures" in stages and stages[-1] == "saving"

    pictures = tmp_path / "cli"
    out = tmp_path / "report.json"
    res = subprocess.run([str(STRIDELAB), "analyze", str(clip), "--view", "rear", "--out",
                          str(out), "--pictures", str(pictures)],
                         capture_output=True, text=True, timeout=300, check=False, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text()) == app.report

    names = [p.name for p in app.keyframe_paths]
    assert names == ["left_initial_contact.png", "left_mid_stance.png",
                     "right_initial_contact.png", "right_mid_stance.png"]
    assert sorted(p.name for p in pictures.iterdir()) == sorted([*names, "strides.png"])
    for path in app.keyframe_paths:
        assert path.read_bytes() == (pictures / path.name).read_bytes(), path.name
