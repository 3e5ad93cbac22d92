"""Key frames with the measured lines drawn, and the stride-by-stride plot."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

from backend.gait.pictures import clip_frames, key_frames, render
from tests.gait.conftest import Runner

CLIP = Path(__file__).resolve().parents[3] / "shared" / "clips" / "single_person_front_portrait.mp4"


def _nontrivial(path: Path) -> np.ndarray:
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[0] > 200 and img.shape[1] > 200
    # Not a blank canvas: many distinct colours and real contrast.
    flat = img[..., :3].reshape(-1, 3)
    assert flat.std() > 0.05
    assert len(np.unique((flat * 255).astype(np.uint8), axis=0)) > 50
    return np.asarray(img)


@pytest.mark.parametrize(("view", "azimuth", "colour"), [
    ("rear", 0.0, (1.0, 1.0, 0.0)),  # the yellow hip line
    ("side", 90.0, (1.0, 0.0, 1.0)),  # the magenta shank
])
def test_key_frames_and_stride_plot(runner: Runner, tmp_path: Path, view: str, azimuth: float,
                                    colour: tuple[float, float, float]) -> None:
    s, r = runner(view, camera_azimuth_deg=azimuth, pelvic_drop_deg=(8.0, 4.0))
    paths = render(r, s.track, tmp_path)
    names = {p.name for p in paths}
    assert names == {"left_initial_contact.png", "left_mid_stance.png",
                     "right_initial_contact.png", "right_mid_stance.png", "strides.png"}
    for p in paths:
        _nontrivial(p)
    ic = _nontrivial(tmp_path / ("left_mid_stance.png" if view == "rear"
                                 else "left_initial_contact.png"))
    # The measured line is drawn in its colour.
    near = np.all(np.abs(ic[..., :3] - np.array(colour)) < 0.1, axis=-1)
    assert near.sum() > 50
    # Key frames sit on the report's events.
    for k in key_frames(r):
        ev = r.events.side(k.side)  # type: ignore[arg-type]
        if k.kind == "initial_contact":
            assert k.t_s in ev.initial_contact_s


def test_unfit_clip_draws_nothing(runner: Runner, tmp_path: Path) -> None:
    s, r = runner("rear", duration_s=1.6)
    assert not r.clip_quality.fit
    assert render(r, s.track, tmp_path) == []


def test_clip_frames_and_drawing_on_them(runner: Runner, tmp_path: Path) -> None:
    frames = clip_frames(CLIP, [0.0, 0.5, 1.0])
    assert sorted(frames) == [0.0, 0.5, 1.0]
    for img in frames.values():
        assert img.shape == (1920, 1080, 3) and img.dtype == np.uint8 and img.std() > 10
    # Draw a synthetic runner's lines over a real frame (same portrait size).
    s, r = runner("rear", camera_azimuth_deg=0.0)
    times = [k.t_s for k in key_frames(r)]
    on_clip = {t: frames[0.5] for t in times}
    paths = render(r, s.track, tmp_path / "clip", frames=on_clip)
    blank = render(r, s.track, tmp_path / "blank")
    a = mpimg.imread(paths[0])
    b = mpimg.imread(blank[0])
    assert a.shape == b.shape and float(np.abs(a - b).mean()) > 0.05  # the photo is behind
