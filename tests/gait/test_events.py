"""Initial contact and toe-off per foot within one frame at 60 fps, in every view."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from tests.gait.conftest import Runner

FRAME_S = 1 / 60


def _errors(found: list[float], truth: np.ndarray) -> np.ndarray:
    return np.array([x - truth[np.argmin(np.abs(truth - x))] for x in found])


@pytest.mark.parametrize(("view", "params", "within"), [
    ("rear", {"camera_azimuth_deg": 0.0}, 1.0),
    ("front", {"camera_azimuth_deg": 180.0}, 1.0),
    ("side", {"camera_azimuth_deg": 90.0}, 1.0),
    ("side", {"camera_azimuth_deg": 270.0}, 1.0),  # runner facing the image's left
    ("side", {"camera_azimuth_deg": 90.0, "cadence_spm": 185.0, "contact_time_s": 0.2}, 1.0),
    # With 1.5 px landmark noise: 95 % of the events within one frame.
    ("rear", {"camera_azimuth_deg": 0.0, "noise_px": 1.5, "world_noise_m": 0.002}, 0.95),
    ("side", {"camera_azimuth_deg": 90.0, "noise_px": 1.5}, 0.95),
])
def test_events_within_one_frame(runner: Runner, view: str, params: dict[str, Any],
                                 within: float) -> None:
    s, r = runner(view, **params)
    truth = s.truth["events"]
    errs = []
    for side in ("left", "right"):
        ev = r.events.side(side)
        # Nearly every true contact is found (the first and last may be cut by the clip).
        n_true = int(np.sum((truth[side]["initial_contact_s"] > 0.3)
                            & (truth[side]["initial_contact_s"] < s.params.duration_s - 0.5)))
        assert len(ev.initial_contact_s) >= n_true - 1, side
        errs.append(_errors(ev.initial_contact_s, truth[side]["initial_contact_s"]))
        errs.append(_errors(ev.toe_off_s, truth[side]["toe_off_s"]))
    e = np.abs(np.concatenate(errs))
    assert np.mean(e <= FRAME_S) >= within, f"max error {1000 * e.max():.1f} ms"
    assert np.median(e) <= FRAME_S / 2


def test_steps_alternate_and_have_plausible_durations(runner: Runner) -> None:
    _s, r = runner("rear", camera_azimuth_deg=0.0)
    merged = sorted([(t, "left") for t in r.events.left.initial_contact_s]
                    + [(t, "right") for t in r.events.right.initial_contact_s])
    sides = [x[1] for x in merged]
    assert all(a != b for a, b in itertools.pairwise(sides))
    gaps = np.diff([x[0] for x in merged])
    assert np.allclose(gaps, 60 / 170, atol=FRAME_S)
    assert r.events.n_steps == len(merged) - 1
    # Every toe-off follows its contact (paired by time) by a plausible contact time.
    for side in ("left", "right"):
        ev = r.events.side(side)
        for ic, to in _pairs(ev.initial_contact_s, ev.toe_off_s):
            assert 0.2 <= to - ic <= 0.3


def _pairs(ics: list[float], tos: list[float]) -> list[tuple[float, float]]:
    """Toe-offs paired with their contacts by time, as docs/gait.md says to read them: each
    toe-off belongs to the latest contact before it, and no two toe-offs to one contact."""
    out = []
    for to in tos:
        ic = max(t for t in ics if t < to)
        out.append((ic, to))
    assert len({ic for ic, _ in out}) == len(out)
    return out


def test_contacts_without_toe_off_leave_the_lists_unaligned_but_paired_by_time(
        runner: Runner) -> None:
    """A contact cut by a gap has no toe-off: the lists are not index-aligned (the report
    keeps a flat list per event), and pairing by time still finds every toe-off's contact."""
    s, r = runner("rear", camera_azimuth_deg=0.0, nan_gaps=((5.0, 0.6),), seed=4)
    truth = s.truth["events"]
    cut = 0
    for side in ("left", "right"):
        ev = r.events.side(side)
        pairs = _pairs(ev.initial_contact_s, ev.toe_off_s)
        cut += len(ev.initial_contact_s) - len(pairs)
        for ic, to in pairs:
            true_ic = truth[side]["initial_contact_s"]
            k = int(np.argmin(np.abs(true_ic - ic)))
            true_to = truth[side]["toe_off_s"][truth[side]["toe_off_s"] > true_ic[k]][0]
            assert abs(to - true_to) <= FRAME_S
    assert cut >= 1  # the contact the gap cut short is reported without a toe-off


def test_a_long_gap_splits_the_analysis_without_inventing_events(runner: Runner) -> None:
    _s, r = runner("rear", camera_azimuth_deg=0.0, nan_gaps=((5.0, 0.6),), seed=4)
    assert r.clip_quality.n_segments == 2
    every = r.events.left.initial_contact_s + r.events.right.initial_contact_s
    every += r.events.left.toe_off_s + r.events.right.toe_off_s
    assert not any(5.0 <= t <= 5.6 for t in every)


def test_a_landing_seen_in_depth_is_timed_at_its_flip_not_at_the_turn() -> None:
    """From behind, the pose model holds a grounded foot nearly still in depth and flips it
    from in front of the pelvis to behind as it lands: half of that flat stance's speed is
    reached right at the turn; the flip's steepest point is where the foot lands (labels on
    the real rear clip: tests/gait/test_real_running.py)."""
    from backend.gait.events import _belt_catch_time

    t = np.arange(14) / 30.0
    # Swinging forward to a turn at sample 3, drifting back at the flat stance's pace
    # (0.1 m/s), the flip (samples 6-8), then the stance.
    x = np.array([0.10, 0.16, 0.19, 0.200, 0.1967, 0.1933, 0.19, 0.05, -0.10, -0.105, -0.11,
                  -0.115, -0.12, -0.125])
    stance_speed = 0.15  # m/s, as measured in mid-stance
    early = _belt_catch_time(t, x, stance_speed, 3, 12)
    at_flip = _belt_catch_time(t, x, stance_speed, 3, 12, depth=True)
    assert early is not None and at_flip is not None
    assert early * 30 < 4.5  # right after the turn
    assert 6.5 <= at_flip * 30 <= 7.5  # the flip's steepest point, where the foot lands


def test_a_flip_in_depth_is_timed_at_its_first_steep_drop_not_a_later_one() -> None:
    """The real rear clip's flips are not clean: one drops, bounces back a little and drops
    again (its contact at frame 28, both raters). The contact is the first peak of backward
    speed that reaches half of the landing's fastest: not the turn, not the flip's start, not
    the fastest drop."""
    from backend.gait.events import _belt_catch_time

    t = np.arange(14) / 30.0
    # Turn at sample 2, nearly still to 4, a first drop (4 -> 5), a bump (6), a second,
    # steeper drop (7 -> 8), then the stance.
    x = np.array([0.10, 0.16, 0.171, 0.170, 0.169, 0.10, 0.12, 0.09, -0.01, -0.02, -0.03,
                  -0.06, -0.10, -0.105])
    at_flip = _belt_catch_time(t, x, 0.1, 2, 12, depth=True)
    assert at_flip is not None
    # The turn (2), half the stance speed (3.0), the flip's start (half the fastest: 3.9) and
    # the fastest drop (7) are all outside.
    assert 4.0 < at_flip * 30 < 4.6, at_flip * 30
    # A foot carried back at the belt's pace (no flip: the synthetic runner's depth) keeps
    # the catch rule, half of the stance's speed.
    belt = np.concatenate([np.array([0.10, 0.16, 0.19, 0.20]), 0.20 - 0.1 * np.arange(1, 9) / 30])
    caught = _belt_catch_time(t[:12], belt, 0.1, 3, 10, depth=True)
    assert caught is not None and 3.0 < caught * 30 < 4.0
