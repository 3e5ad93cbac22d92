"""``stridelab analyze-track`` and ``stridelab analyze`` as a user runs them: real processes."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from backend.gait import SCHEMA_VERSION
from tests.gait.synthetic import make_runner

ROOT = Path(__file__).resolve().parents[2]
STRIDELAB = ROOT / ".venv" / "bin" / "stridelab"
CLIP = ROOT.parent / "shared" / "clips" / "single_person_front_portrait.mp4"


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(STRIDELAB), *map(str, args)], capture_output=True, text=True,
                          timeout=300, check=False, cwd=ROOT)


@pytest.fixture(scope="module")
def track_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("track") / "runner.npz"
    make_runner(pelvic_drop_deg=(8.0, 4.0), step_width_norm=-0.04,
                arm_crossover_norm=0.09).track.save(path)
    return path


def test_analyze_track_writes_report_and_table(track_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "report.json"
    pics = tmp_path / "pics"
    res = run("analyze-track", track_file, "--view", "auto", "--out", out, "--pictures", pics,
              "--height-m", "1.75")
    assert res.returncode == 0, res.stderr
    d = json.loads(out.read_text())
    assert d["schema_version"] == SCHEMA_VERSION and d["view"] == "rear"
    assert d["clip_quality"]["fit"] is True
    assert {f["code"] for f in d["faults"]} >= {"hip_drop", "crossover_gait", "arm_crossover"}
    assert d["athlete"]["height_m"] == 1.75
    # The summary table on stdout: metrics, faults and the chain, readable.
    for text in ("Metrics", "pelvic_drop_deg", "Faults", "hip_drop", "moderate",
                 "Chain reading", "posterior_oblique_sling", "Withheld"):
        assert text in res.stdout, text
    assert "Report written to" in res.stderr
    assert len(list(pics.glob("*.png"))) == 5


@pytest.mark.parametrize(("content", "message"), [
    (b"not a zip file at all", "cannot read track file"),
    (None, "missing arrays"),
])
def test_bad_track_is_a_clear_error(tmp_path: Path, content: bytes | None, message: str) -> None:
    bad = tmp_path / "bad.npz"
    if content is None:
        np.savez(bad, landmarks=np.zeros((3, 33, 5)))
    else:
        bad.write_bytes(content)
    res = run("analyze-track", bad, "--out", tmp_path / "r.json")
    assert res.returncode == 2
    assert message in res.stderr and "pose engine" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert not (tmp_path / "r.json").exists()


def test_missing_track_and_bad_arguments(tmp_path: Path, track_file: Path) -> None:
    res = run("analyze-track", tmp_path / "nope.npz", "--out", tmp_path / "r.json")
    assert res.returncode == 2 and "no such file" in res.stderr
    res = run("analyze-track", track_file, "--view", "top", "--out", tmp_path / "r.json")
    assert res.returncode == 2 and "top" in res.stderr and "Traceback" not in res.stderr
    res = run("analyze-track", track_file, "--height-m", "-1", "--out", tmp_path / "r.json")
    assert res.returncode == 2 and "height_m must be a positive number" in res.stderr


def test_analyze_real_clip(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    overlay = tmp_path / "overlay.mp4"
    track = tmp_path / "track.npz"
    res = run("analyze", CLIP, "--view", "front", "--out", out, "--overlay", overlay,
              "--track-out", tmp_path / "track", "--pictures", tmp_path / "pics")
    assert res.returncode == 0, res.stderr
    # A progress bar while the pose engine runs, as `stridelab pose` shows.
    assert "frames/s" in res.stderr and "100/100" in res.stderr
    # numpy appends .npz to the track's name: the path printed is the one written.
    assert f"Track written to {track}" in res.stderr.replace("\n", "")
    d = json.loads(out.read_text())
    assert d["view"] == "front" and d["clip_quality"]["fit"] is False
    assert all(m["value"] is None for m in d["metrics"].values())
    assert "fit for analysis" in res.stdout and "NO" in res.stdout
    assert "running steps" in res.stdout
    assert overlay.stat().st_size > 10_000 and track.stat().st_size > 1000
    assert "0 pictures written" in res.stderr  # an unfit clip gets no invented drawings
    res = run("analyze-track", track, "--view", "front", "--out", tmp_path / "again.json")
    assert res.returncode == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["clip_quality"] == d["clip_quality"]


def test_analyze_bad_clip(tmp_path: Path) -> None:
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(b"\x00" * 1000)
    res = run("analyze", bad, "--out", tmp_path / "r.json")
    assert res.returncode == 2 and "Traceback" not in res.stderr and res.stderr.strip()


@pytest.mark.parametrize("option", ["--out", "--pictures", "--overlay", "--track-out"])
def test_unwritable_output_fails_before_the_pose_engine(tmp_path: Path, option: str) -> None:
    """An output under a regular file (its directory cannot exist) or under /proc (cannot be
    created, even by root): a clear one-line error and exit 2 at once, not a traceback after
    the whole clip."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    for bad in (blocker / "sub" / "x.out", Path("/proc/stridelab-no-such-dir/x.out")):
        args = {"--out": tmp_path / "r.json", option: bad}
        started = time.monotonic()
        res = run("analyze", CLIP, "--view", "front", *(str(a) for kv in args.items() for a in kv))
        assert res.returncode == 2, res.stderr
        assert "Traceback" not in res.stderr + res.stdout
        assert "Cannot write" in res.stderr and str(bad.parent) in res.stderr.replace("\n", "")
        assert "frames/s" not in res.stderr  # the pose engine never started
        assert time.monotonic() - started < 30
        assert not (tmp_path / "r.json").exists()


def test_unwritable_report_of_analyze_track(tmp_path: Path, track_file: Path) -> None:
    res = run("analyze-track", track_file, "--out", "/proc/stridelab-no-such-dir/r.json")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "Cannot write the report" in res.stderr
    res = run("analyze-track", track_file, "--out", tmp_path)  # a directory, not a file
    assert res.returncode == 2 and "directory" in res.stderr and "Traceback" not in res.stderr


def test_capture_fps_turns_a_slow_motion_track_into_real_time(tmp_path: Path) -> None:
    """A runner at 166 steps/min filmed at 240 fps and played at 30: without the rate the
    times are withheld and the report asks for it; with --capture-fps 240 they are real."""
    s = make_runner(camera_azimuth_deg=90.0, duration_s=4.0, fps=240.0, cadence_spm=166.0,
                    noise_px=0.5, seed=6)
    from dataclasses import replace

    slow = replace(s.track, timestamps_s=s.track.timestamps_s * 8.0, fps_nominal=30.0)
    track = tmp_path / "slow.npz"
    slow.save(track)
    out = tmp_path / "r.json"
    res = run("analyze-track", track, "--view", "side", "--out", out)
    assert res.returncode == 0, res.stderr
    q = json.loads(out.read_text())["clip_quality"]
    assert q["slow_motion"] is True and q["needs_capture_fps"] is True
    res = run("analyze-track", track, "--view", "side", "--out", out, "--capture-fps", "240")
    assert res.returncode == 0, res.stderr
    d = json.loads(out.read_text())
    assert d["clip_quality"]["capture_fps"] == 240.0
    assert d["metrics"]["cadence_spm"]["value"] == pytest.approx(166.0, rel=0.02)
    # Or how many times slower than life it plays.
    res = run("analyze-track", track, "--view", "side", "--out", out,
              "--slow-motion-factor", "8")
    assert res.returncode == 0, res.stderr
    d = json.loads(out.read_text())
    assert d["clip_quality"]["time_scale"] == pytest.approx(1 / 8, rel=1e-3)
    assert d["metrics"]["cadence_spm"]["value"] == pytest.approx(166.0, rel=0.02)
    res = run("analyze-track", track, "--view", "side", "--out", out,
              "--slow-motion-factor", "8", "--capture-fps", "240")
    assert res.returncode == 2
    assert "--slow-motion-factor" in res.stderr and "not both" in res.stderr
    # A capture rate below the clip's own rate is a clear error, not a traceback.
    res = run("analyze-track", track, "--view", "side", "--out", out, "--capture-fps", "10")
    assert res.returncode == 2
    assert "--capture-fps" in res.stderr and "below the clip's own frame rate" in res.stderr
    assert "Traceback" not in res.stderr
