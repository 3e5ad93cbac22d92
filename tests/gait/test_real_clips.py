"""The analysis on real phone clips (../shared/clips: people moving on a force plate, about
1.7 s each, not running): it runs to the end, reads the clip correctly (frame rate, the
person, the view), and withholds what it cannot measure instead of inventing it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend.gait import Report, analyze
from backend.gait.metrics import ALL_KEYS
from backend.pose import Track, run_pose

CLIPS = Path(__file__).resolve().parents[3] / "shared" / "clips"
NAMES = ("single_person_front_portrait", "single_person_rear_oblique_portrait",
         "two_people_portrait")


@pytest.fixture(scope="module")
def tracks() -> dict[str, Track]:
    """Each clip through the real pose engine, once for the module."""
    return {name: run_pose(CLIPS / f"{name}.mp4") for name in NAMES}


@pytest.mark.parametrize("view", ["auto", "rear", "front", "side"])
@pytest.mark.parametrize("name", NAMES)
def test_real_clip_is_analysed_to_the_end_and_nothing_is_invented(
        tracks: dict[str, Track], name: str, view: str) -> None:
    track = tracks[name]
    r = analyze(track, view)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert Report.from_dict(d).to_dict() == d
    q = r.clip_quality
    # What the clip is, read from it: 100 frames at 60 fps, one person in nearly all of them.
    assert q.n_frames == 100 and abs(q.fps_measured - 60.0) < 0.5  # type: ignore[operator]
    assert q.person_visible_fraction >= 0.95 and q.whole_body_fraction >= 0.9
    # 1.7 s of people moving about: not enough running steps, and the report says so.
    assert not q.fit
    assert any("running steps" in x for x in q.reasons)
    assert any("at least 6 steps" in x for x in q.advice)
    assert q.n_steps < 6
    for key in ALL_KEYS:
        m = r.metrics[key]
        assert m.value is None and m.left is None and m.right is None, key
        assert m.withheld_reason
    assert r.faults == [] and r.chain == []
    # Whatever events were found lie inside the clip, toe-offs after their contacts.
    t0, t1 = float(track.timestamps_s[0]), float(track.timestamps_s[-1])
    for side in ("left", "right"):
        ev = r.events.side(side)
        assert all(t0 <= t <= t1 for t in ev.initial_contact_s + ev.toe_off_s)


@pytest.mark.parametrize(("name", "inferred"), [
    ("single_person_front_portrait", "front"),
    ("two_people_portrait", "front"),
    ("single_person_rear_oblique_portrait", "rear"),
])
def test_real_clip_view_is_inferred(tracks: dict[str, Track], name: str, inferred: str) -> None:
    r = analyze(tracks[name], "auto")
    assert r.view_detail.inferred == inferred
    assert r.view_detail.camera_angle_deg is not None
    # Filmed from behind at an angle: the inference is less sure than for the square clips.
    if "oblique" in name:
        assert r.view_detail.confidence < 0.6
        assert r.view_detail.camera_angle_deg > 20.0
    else:
        assert r.view_detail.confidence >= 0.7


def test_real_front_clip_labelled_side_is_flagged(tracks: dict[str, Track]) -> None:
    r = analyze(tracks["single_person_front_portrait"], "side")
    assert r.view == "side" and r.view_detail.oblique
    assert any("looks like a front view" in n for n in r.view_detail.notes)
