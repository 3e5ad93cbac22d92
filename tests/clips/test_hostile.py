"""Hostile files are refused with a clear 4xx, in bounded memory and time: each is probed in a
child process whose peak memory and run time are measured (generous bounds: CPUs differ; the
figures seen on the development machine are in the comments)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clips.conftest import upload
from tests.clips.hostile import (
    image_and_video,
    lying_duration,
    many_tracks,
    repeated_frames,
)
from tests.conftest import Accounts

PROBE = """
import json, re, sys, time
from pathlib import Path
from backend.clips.probe import UnusableClipError, probe_clip
start = time.monotonic()
try:
    probe_clip(Path(sys.argv[1]), min_duration_s=3, max_duration_s=90, min_fps=24)
    code, message = None, ""
except UnusableClipError as exc:
    code, message = exc.code, str(exc)
# VmHWM: this process's own peak (ru_maxrss would carry the parent's over the fork).
status = open("/proc/self/status").read()
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1))
print(json.dumps({"code": code, "message": message, "seconds": time.monotonic() - start,
                  "peak_mb": peak_kb / 1024}))
"""
MAX_PEAK_MB = 400
MAX_SECONDS = 20.0


def probe_in_child(path: Path) -> dict[str, Any]:
    run = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True,
                         text=True, timeout=120, check=True)
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("hostile")
    hours = repeated_frames(work / "hours.mp4", size=(64, 64), seconds=2 * 3600)
    return {
        # 8192 x 8192 frames (67 megapixels each): before the check, probing took 360 MB
        # and the analysis would have decoded every one.
        "huge_frames": repeated_frames(work / "huge.mp4", size=(8192, 8192), seconds=4),
        # Two hours of frames in 3 MB.
        "hours_of_frames": hours,
        # The same, its headers claiming 10 s: read through, it took 5.3 s and every
        # timestamp in memory; now the reading stops past the limit.
        "lying_duration": lying_duration(hours, claimed_s=10.0),
        "many_tracks": many_tracks(work / "tracks.mkv", tracks=900),
        "image_and_video": image_and_video(work / "polyglot.jpg", work),
    }


@pytest.mark.parametrize(("name", "code", "says"), [
    # Seen here (probe time, child's peak memory; a normal 4 s clip: 0.005 s, 76 MB):
    ("huge_frames", "frame_too_large", "8192 x 8192 pixels"),  # 0.017 s, 95 MB
    ("hours_of_frames", "too_long", "7200 s long"),  # 0.032 s, 88 MB
    ("lying_duration", "too_long", "whatever its header says"),  # 0.054 s, 88 MB
    ("many_tracks", "too_many_streams", "901 tracks"),  # 0.05 s, 82 MB
    ("image_and_video", "not_a_video", "still picture"),  # 0.009 s, 73 MB
])
def test_a_hostile_file_is_refused_in_bounded_memory_and_time(
        hostile: dict[str, Path], name: str, code: str, says: str) -> None:
    result = probe_in_child(hostile[name])
    assert result["code"] == code, result
    assert says in result["message"], result
    assert result["seconds"] < MAX_SECONDS and result["peak_mb"] < MAX_PEAK_MB, result


async def test_a_hostile_upload_is_a_4xx_and_stores_nothing(
        client: httpx.AsyncClient, accounts: Accounts, hostile: dict[str, Path]) -> None:
    athlete = await accounts.register("athlete")
    for name in ("huge_frames", "lying_duration", "many_tracks"):
        resp = await upload(client, athlete["headers"], hostile[name])
        assert resp.status_code in (413, 415, 422), (name, resp.text)
        assert "Film" in resp.json()["detail"] or "film" in resp.json()["detail"]
    clips = (await client.get("/api/v1/clips", headers=athlete["headers"])).json()
    assert clips["total"] == 0
