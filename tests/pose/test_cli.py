"""``stridelab pose`` as a user runs it: a real subprocess of the installed command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.pose import Track
from tests.pose.conftest import FRONT, TWO_PEOPLE

STRIDELAB = Path(sys.executable).with_name("stridelab")


def stridelab(*args: str | Path) -> subprocess.CompletedProcess[str]:
    assert STRIDELAB.is_file(), f"{STRIDELAB} is missing: run `make install`"
    env = dict(os.environ, COLUMNS="120")
    return subprocess.run([str(STRIDELAB), "pose", *map(str, args)], capture_output=True,
                          text=True, timeout=300, env=env)


def test_writes_the_track_and_overlay_with_a_progress_bar(tmp_path: Path) -> None:
    out, overlay = tmp_path / "tracks" / "front.npz", tmp_path / "front.mp4"
    result = stridelab(FRONT, "--out", out, "--overlay", overlay)
    assert result.returncode == 0, result.stderr
    track = Track.load(out)
    assert track.n_frames == 100 and track.found.all()
    assert overlay.stat().st_size > 10_000
    assert "frames/s" in result.stderr and "100/100" in result.stderr
    assert "person found in 100" in result.stderr


def test_person_option_chooses_whom_to_track(tmp_path: Path) -> None:
    out = tmp_path / "man.npz"
    result = stridelab(TWO_PEOPLE, "--out", out, "--person", "560,650")
    assert result.returncode == 0, result.stderr
    track = Track.load(out)
    assert not track.found[0]  # he is hidden at first; the woman in front is not taken
    hips = track.landmarks[track.found][:, [23, 24], 0].mean(1)
    assert (hips > 420).all()  # he stays right of her (her hips are left of x = 340)
    assert np.isnan(track.landmarks[0]).all()


@pytest.mark.parametrize(("args", "message", "code"), [
    (["--person", "12"], "is not a point", 2),
    (["--person", "a,b"], "is not a point", 2),
])
def test_bad_point_is_a_usage_error(tmp_path: Path, args: list[str], message: str,
                                    code: int) -> None:
    result = stridelab(FRONT, "--out", tmp_path / "x.npz", *args)
    assert result.returncode == code
    assert message in result.stderr


def test_bad_clip_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    clip = tmp_path / "notes.mp4"
    clip.write_text("not a video\n")
    result = stridelab(clip, "--out", tmp_path / "x.npz")
    assert result.returncode == 1
    assert "notes.mp4: not a video file that can be read" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "x.npz").exists()


@pytest.mark.parametrize("option", ["--out", "--overlay"])
def test_unwritable_output_is_a_clear_error_before_any_work(tmp_path: Path, option: str) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a directory")
    for bad in (blocker / "sub" / "x.npz", Path("/proc/stridelab-no-such-dir/x.npz")):
        args = {"--out": tmp_path / "t.npz", option: bad}
        result = stridelab(FRONT, *(str(a) for kv in args.items() for a in kv))
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr + result.stdout
        assert "Cannot write" in result.stderr
        assert str(bad.parent) in result.stderr.replace("\n", "")
        assert "frames/s" not in result.stderr  # no frame was processed
        assert not (tmp_path / "t.npz").exists()


def test_npz_is_appended_and_the_real_path_printed(tmp_path: Path) -> None:
    result = stridelab(FRONT, "--out", tmp_path / "front")
    assert result.returncode == 0, result.stderr
    written = tmp_path / "front.npz"
    assert Track.load(written).n_frames == 100
    assert str(written) in result.stderr.replace("\n", "")
