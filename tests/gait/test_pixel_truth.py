"""The pixel-cadence helper (tests/gait/pixel_truth.py) and the real-clip truths it produced.

The helper is judged on synthetic videos whose step frequency is known by construction, then on
the real running clips: where tests/fixtures/real_running/truth.json says a clip's cadence is
trusted, the helper must reproduce it. The hand-labelled contact files are checked for shape and
consistency, and their cadence against the pixel truth.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

from tests.gait.contact_labels import consensus
from tests.gait.pixel_truth import (
    Frames,
    PixelCadence,
    pixel_cadence,
    power_spectrum,
    read_frames,
    spectral_peak,
)
from tests.pose.media import set_mp4_rotation

CLIPS = Path(__file__).resolve().parents[3] / "shared" / "clips" / "running"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "real_running"
TRUTH: dict[str, Any] = json.loads((FIXTURES / "truth.json").read_text())
CONTACT_FILES = sorted(FIXTURES.glob("contacts_*.json"))

Image = npt.NDArray[np.uint8]


# --- synthetic runners -------------------------------------------------------------------------

def runner_frame(t: float, step_hz: float, background: Image, skin: Image) -> Image:
    """An upright 180x320 grey frame at time ``t``: a textured still background, a textured
    trunk and head that bob once per step, two legs that swing fore and aft in antiphase once
    per stride (half the step frequency). The texture moves with each part, as clothes do."""
    image = background.copy()
    bob = 4.0 * np.sin(2 * np.pi * step_hz * t)
    swing = 22.0 * np.sin(np.pi * step_hz * t)
    top = round(50 + bob)
    hip_y = top + 100
    cx = 90
    image[top:top + 22, cx - 10:cx + 10] = skin[:22, :20] // 2 + 120  # head
    image[top + 24:hip_y, cx - 18:cx + 18] = skin[:76, :36] // 3  # trunk
    for side, shade in ((-1.0, 0), (1.0, 140)):
        x = round(cx + side * swing)
        image[hip_y:hip_y + 120, x - 7:x + 7] = skin[:120, 40:54] // 3 + shade  # legs
    return image


def write_clip(path: Path, times: list[float], step_hz: float, *, rotate: int = 0) -> Path:
    """Encode the synthetic runner at ``times`` (H.264 in MP4, real timestamps), optionally
    stored turned by ``rotate`` degrees with the display matrix to turn it back."""
    rng = np.random.default_rng(7)
    background = rng.integers(90, 170, (320, 180), dtype=np.uint8)
    skin = rng.integers(0, 255, (120, 60), dtype=np.uint8)
    time_base = Fraction(1, 90_000)
    turns = rotate // 90
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        assert isinstance(stream, av.VideoStream)
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        stream.options = {"crf": "12"}
        for i, t in enumerate(times):
            grey = runner_frame(t, step_hz, background, skin)
            stored = np.ascontiguousarray(np.rot90(grey, -turns)) if turns else grey
            if i == 0:
                stream.height, stream.width = stored.shape
            frame = av.VideoFrame.from_ndarray(stored, format="gray").reformat(format="yuv420p")
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    if rotate:
        set_mp4_rotation(path, rotate)
    return path


def test_spectral_peak_finds_a_sinusoid_at_uneven_times() -> None:
    rng = np.random.default_rng(1)
    t = np.cumsum(rng.uniform(0.025, 0.045, 200))
    x = np.sin(2 * np.pi * 2.8 * t) + 0.3 * rng.standard_normal(len(t)) + 0.5 * t
    f, salience, sub = spectral_peak(x, t, (2.0, 3.9))
    assert f is not None and abs(f - 2.8) < 0.005
    assert salience > 20 and sub < 0.05
    # Half the frequency holds nothing: the ratio that flags a harmonic stays small.
    p = power_spectrum(x, t, np.array([1.4, 2.8]))
    assert p[0] < 0.05 * p[1]


def test_synthetic_runner_cadence_is_recovered(tmp_path: Path) -> None:
    step_hz = 2.8  # 168 steps/min
    times = [i / 30 for i in range(180)]
    r = pixel_cadence(write_clip(tmp_path / "run.mp4", times, step_hz))
    assert r.trusted, r
    assert r.leg_motion_spm is not None and abs(r.leg_motion_spm - 168.0) < 0.5
    assert r.bob_spm is not None and abs(r.bob_spm - 168.0) < 0.5
    assert r.spm is not None and abs(r.spm - 168.0) < 0.5
    # The region found is the runner: the legs and trunk, centred, not the whole frame.
    x0, y0, x1, y1 = r.region
    assert 40 <= x0 < 90 < x1 <= 140 and y0 < 80 and y1 > 250


def test_variable_frame_rate_uses_the_real_timestamps(tmp_path: Path) -> None:
    """3 s at 30 fps then 3 s at 20 fps: frame indices at a constant rate would blur the peak
    over two frequencies 1.5x apart."""
    times = [i / 30 for i in range(90)] + [3.0 + i / 20 for i in range(60)]
    r = pixel_cadence(write_clip(tmp_path / "vfr.mp4", times, 2.6))
    assert r.trusted and r.spm is not None and abs(r.spm - 156.0) < 0.5


def test_display_rotation_is_applied(tmp_path: Path) -> None:
    """Stored sideways with a display matrix (as phones do): the body bobs up and down only
    once the frame is upright, so the bob method finds the step only if the rotation is
    respected."""
    times = [i / 30 for i in range(180)]
    frames = read_frames(write_clip(tmp_path / "rot.mp4", times, 2.8, rotate=90))
    assert frames.gray.shape[1:] == (320, 180)
    r = pixel_cadence("unused", frames=frames)
    assert r.trusted and r.spm is not None and abs(r.spm - 168.0) < 0.5


def test_slow_motion_is_read_with_its_slow_factor_and_refused_without(tmp_path: Path) -> None:
    """A 1.4 Hz step in clip time (a 2x slow-motion of 168 steps/min)."""
    times = [i / 30 for i in range(180)]
    frames = read_frames(write_clip(tmp_path / "slow.mp4", times, 1.4))
    slowed = pixel_cadence("unused", frames=frames, slow_factor=2.0)
    assert slowed.trusted and slowed.spm is not None and abs(slowed.spm - 168.0) < 0.5
    assert slowed.clip_spm is not None and abs(slowed.clip_spm - 84.0) < 0.25
    by_capture_rate = pixel_cadence("unused", frames=frames, capture_fps=60.0)
    assert by_capture_rate.spm is not None and abs(by_capture_rate.spm - 168.0) < 0.5
    # Read as real time, the band holds only the second harmonic (2.8 Hz) of the legs: it
    # must not come out as a trusted 168.
    assert not pixel_cadence("unused", frames=frames).trusted
    with pytest.raises(ValueError):
        pixel_cadence("unused", frames=frames, slow_factor=2.0, capture_fps=60.0)


# --- real clips --------------------------------------------------------------------------------

@cache
def decoded(clip: str) -> Frames:
    path = CLIPS / clip
    if not path.is_file():
        pytest.fail(f"the shared clip {path} is missing (see ../shared/clips/running)")
    return read_frames(path)


TRUSTED = sorted(k for k, v in TRUTH.items() if isinstance(v, dict) and v.get("trusted"))


def run(clip: str, run_name: str) -> PixelCadence:
    kwargs = TRUTH[clip]["methods"][run_name]["pixel_cadence_kwargs"]
    return pixel_cadence(CLIPS / clip, frames=decoded(clip), **kwargs)


def test_the_truth_file_names_its_trusted_clips() -> None:
    assert set(TRUSTED) == {"rear_treadmill_barefoot.mov", "side_treadmill_barefoot.mov",
                            "side_treadmill_outdoors_small.mp4", "side_treadmill_slowmo.mp4"}
    for clip, entry in TRUTH.items():
        if clip.startswith("_"):
            continue
        assert entry["note"], clip
        assert entry["cadence_spm"] is None or entry["trusted"], clip


@pytest.mark.parametrize("clip", TRUSTED)
def test_real_clip_reproduces_its_trusted_cadence(clip: str) -> None:
    entry = TRUTH[clip]
    r = run(clip, entry["trusted_run"])
    assert r.trusted, (r.leg_motion_spm, r.bob_spm, r.warnings)
    assert r.spm is not None and r.clip_spm is not None
    if entry["cadence_spm"] is not None:  # a real-time truth
        assert abs(r.spm - entry["cadence_spm"]) <= 1.0
    # In clip time, to the same 1 step/min in real time.
    assert abs(r.clip_spm - entry["clip_time_cadence_spm"]) * r.slow_factor <= 1.0


def test_slow_motion_clip_at_half_its_true_slow_factor_is_not_trusted() -> None:
    """The README's 'about half the real one' would put the band on the step's second
    harmonic: both methods then agree on it, and only the bob's power at half the frequency
    (the true step) gives it away."""
    r = run("side_treadmill_slowmo.mp4", "slow_5x")
    assert not r.fundamental_ok and not r.trusted
    assert r.repeated_fraction > 0.1 and any("repeat" in w for w in r.warnings)


# --- hand-labelled contacts --------------------------------------------------------------------

def frame_times(clip: str) -> npt.NDArray[np.float64]:
    """Presentation times (s from the first frame) of the displayed frames, decode order."""
    with av.open(str(CLIPS / clip)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base or 1)
        pts = [float(packet.pts) for packet in container.demux(stream) if packet.pts is not None]
    times = np.sort(np.array(pts)) * tb
    return np.asarray(times - times[0], dtype=np.float64)


def test_there_are_at_least_two_labelled_clips() -> None:
    assert len(CONTACT_FILES) >= 2


@pytest.mark.parametrize("path", CONTACT_FILES, ids=lambda p: p.stem)
def test_labelled_contacts_are_well_formed(path: Path) -> None:
    d = json.loads(path.read_text())
    assert set(d) >= {"clip", "fps", "frame_times_from", "labeller_note", "contacts",
                      "uncertainty_frames", "n_frames"}
    assert path.stem == "contacts_" + Path(d["clip"]).stem
    assert d["frame_times_from"] == "container pts"
    assert d["clip"] in TRUTH and d["labeller_note"]
    assert (CLIPS / d["clip"]).is_file(), f"the shared clip {d['clip']} is missing"
    times = frame_times(d["clip"])
    assert len(times) == d["n_frames"]
    assert abs((len(times) - 1) / times[-1] - d["fps"]) < 0.05
    contacts = d["contacts"]
    assert len(contacts) >= 6
    for c in contacts:
        assert set(c) == {"foot", "initial_contact_frame", "toe_off_frame"}
        assert c["foot"] in ("left", "right")
        assert 0 <= c["initial_contact_frame"] < d["n_frames"]
        if c["toe_off_frame"] is not None:
            assert c["initial_contact_frame"] < c["toe_off_frame"] < d["n_frames"]
    ics = [c["initial_contact_frame"] for c in contacts]
    assert ics == sorted(ics) and len(set(ics)) == len(ics)
    # Feet alternate in time, and a foot leaves the belt before its own next contact.
    feet = [c["foot"] for c in contacts]
    assert all(a != b for a, b in itertools.pairwise(feet))
    for side in ("left", "right"):
        own = [c for c in contacts if c["foot"] == side]
        for a, b in itertools.pairwise(own):
            if a["toe_off_frame"] is not None:
                assert a["toe_off_frame"] < b["initial_contact_frame"]


@pytest.mark.parametrize("path", CONTACT_FILES, ids=lambda p: p.stem)
def test_a_second_blind_rater_agrees_within_the_labels_uncertainty(path: Path) -> None:
    """The second rater labelled without seeing the first rater's labels or the analysis;
    every first-rater contact has a second-rater contact of the same foot within two frames
    (the consensus the analysis is judged against, tests/gait/contact_labels.py)."""
    d = json.loads(path.read_text())
    second = d["second_rater"]
    assert second["labeller_note"]
    for c in second["contacts"]:
        assert set(c) == {"foot", "initial_contact_frame", "toe_off_frame",
                          "uncertainty_frames", "note"}
        assert c["foot"] in ("left", "right") and 0 <= c["initial_contact_frame"] < d["n_frames"]
        assert 0 < c["uncertainty_frames"] <= 2 and c["note"]
    ics = [c["initial_contact_frame"] for c in second["contacts"]]
    assert ics == sorted(ics) and len(set(ics)) == len(ics)
    feet = [c["foot"] for c in second["contacts"]]
    assert all(a != b for a, b in itertools.pairwise(feet))
    for side in ("left", "right"):
        own = [c for c in second["contacts"] if c["foot"] == side]
        for c in own:
            if c["toe_off_frame"] is not None:
                assert c["initial_contact_frame"] < c["toe_off_frame"] < d["n_frames"]
        for a, b in itertools.pairwise(own):
            if a["toe_off_frame"] is not None:
                assert a["toe_off_frame"] < b["initial_contact_frame"]
    pairs = consensus(d)
    # Each second-rater contact stands for one first-rater contact at most.
    assert len({p.second_frame for p in pairs}) == len(pairs)
    gaps = [abs(p.first_frame - p.second_frame) for p in pairs]
    assert max(gaps) <= 2, gaps


@pytest.mark.parametrize("path", CONTACT_FILES, ids=lambda p: p.stem)
def test_labelled_cadence_agrees_with_the_pixel_truth(path: Path) -> None:
    """The labels' own cadence (60 / the fitted step time) is what the file says, and agrees
    with the pixel truth to within what +/- the labels' uncertainty allows (3 sigma)."""
    d = json.loads(path.read_text())
    assert (CLIPS / d["clip"]).is_file(), f"the shared clip {d['clip']} is missing"
    times = frame_times(d["clip"])
    ic = times[[c["initial_contact_frame"] for c in d["contacts"]]]
    k = np.arange(len(ic), dtype=np.float64)
    step_s = float(np.polyfit(k, ic, 1)[0])
    cadence = 60.0 / step_s
    assert abs(cadence - d["cadence_from_labels_spm"]) < 0.1
    # Each contact uniform within +/- uncertainty frames: the fitted slope's standard error.
    sigma = d["uncertainty_frames"] * float(np.median(np.diff(times))) / np.sqrt(3)
    slope_se = sigma / np.sqrt(((k - k.mean()) ** 2).sum())
    cadence_se = 60.0 * slope_se / step_s**2
    truth = TRUTH[d["clip"]]["cadence_spm"]
    assert truth is not None
    assert abs(cadence - truth) <= 3 * cadence_se + 0.5
