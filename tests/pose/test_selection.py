"""Whom the engine tracks on two_people_portrait.mp4.

Two people overlap there: a woman standing in the foreground, seen from behind (MediaPipe's own
pipeline, which takes the most confident detection, follows her: the reference fixture), and a
man moving on the force plate behind her, hidden by her in the first frames. The runner is the
man. The tests prove each choice holds in every frame: the woman's track is MediaPipe's, and
the man's never comes near her.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from backend.pose import Track
from tests.pose.conftest import (
    TWO_PEOPLE,
    WOMAN_BOUNDS,
    Agreement,
    reference,
    torso_lengths,
)

# Points of the upright first frame (1088x1920): on the woman's back, and on the man's chest
# (he is hidden at first: the engine must wait for him, not take her).
WOMAN = (200.0, 950.0)
MAN = (560.0, 650.0)


def hips(landmarks: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    return np.asarray(landmarks[:, [23, 24], :2].mean(1), np.float64)


def assert_one_person_throughout(track: Track) -> None:
    """No jump between consecutive frames: the hips move less than a third of a torso."""
    found = track.found
    steps = np.linalg.norm(np.diff(hips(track.landmarks[found]), axis=0), axis=1)
    torso = float(np.median(torso_lengths(track.landmarks[found])))
    assert steps.max() < torso / 3, f"the track jumps by {steps.max():.0f} px"


def assert_is_the_man(track: Track) -> None:
    woman = reference(TWO_PEOPLE)["landmarks"]
    found = track.found
    assert found.sum() >= 90, f"the man is found in only {found.sum()} of 100 frames"
    assert not found[0], "the man is hidden in the first frame: nobody should be reported"
    # In every frame, his hips are more than a torso length from the woman's (MediaPipe's).
    separation = np.linalg.norm(hips(track.landmarks) - hips(woman), axis=1)[found]
    torso = torso_lengths(woman)[found]
    assert (separation > 1.5 * torso).all()
    assert_one_person_throughout(track)


def test_default_picks_the_runner(track_of: Callable[..., Track]) -> None:
    assert_is_the_man(track_of(TWO_PEOPLE))


def test_point_on_the_hidden_man_waits_for_him(track_of: Callable[..., Track]) -> None:
    track = track_of(TWO_PEOPLE, person=MAN)
    assert_is_the_man(track)
    np.testing.assert_array_equal(track.landmarks, track_of(TWO_PEOPLE).landmarks)


def test_point_on_the_woman_keeps_her(track_of: Callable[..., Track]) -> None:
    track = track_of(TWO_PEOPLE, person=WOMAN)
    ref = reference(TWO_PEOPLE)["landmarks"]
    assert track.found.all()
    # She is the person MediaPipe follows: in every frame our hips are hers (within a quarter
    # torso; typically 1 %), and her landmarks agree with MediaPipe's (less closely than on
    # the single-person clips: the man's limbs crossing her crop make some of them ambiguous,
    # for MediaPipe as for us).
    gap = np.linalg.norm(hips(track.landmarks) - hips(ref), axis=1) / torso_lengths(ref)
    assert gap.max() < 0.25
    assert float(np.median(gap)) < 0.02
    failures = WOMAN_BOUNDS.failures(Agreement.of(track.landmarks, ref))
    assert not failures, "; ".join(failures)
    assert_one_person_throughout(track)
