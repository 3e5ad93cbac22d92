"""Whom to track: the runner by default, or the person at a point in the first frame.

A clip often shows bystanders; the detector's most confident person is not necessarily the
runner. By default the engine looks at the first seconds of the clip (a few frames a second),
finds everyone, links them over time, and picks the person whose legs move the most: someone
moving through gait cycles, while bystanders stand, or at least move less (a track whose torso
length swings, a bystander's crop mixing in the runner's limbs, counts for less). With
``person=(x, y)`` the person whose body holds that point wins, from the first frame in which
someone is found there (never someone else while that person is hidden).

Later, whenever the tracker must fall back on the detector, it takes the detection nearest to
where its person was expected, and never one nearer to where someone else was seen (see
:class:`Target`), never simply the most confident one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from backend.pose.detector import Detection, PoseDetector
from backend.pose.landmarks import LandmarkModel, PoseLandmarks
from backend.pose.track import Landmark
from backend.pose.video import Frame

BODY = slice(11, 33)
# Runner selection: how much of the clip to look at, and how often.
SELECTION_WINDOW_S = 2.5
SELECTION_INTERVAL_S = 0.125
# Two people whose hips and shoulders are this close (in torso lengths) are one person.
SAME_PERSON_TORSOS = 0.35
# Linking people between samples: how far a hip may move, in torso lengths, plus per second.
# Tight enough that two people a torso and a half apart (two_people_portrait) never swap.
LINK_BASE_TORSOS = 0.35
LINK_TORSOS_PER_S = 3.0
# A point chooses a person when it lies within this many torso lengths of their body's box.
POINT_MARGIN_TORSOS = 0.25
# Re-acquiring with the detector: how far (in region sizes) the person may be from where they
# were expected, plus per second since then.
REACQUIRE_BASE_SIZES = 0.25
REACQUIRE_SIZES_PER_S = 0.5
# Legs moving less than this (torso lengths, RMS) is standing: then the biggest person wins.
MIN_GAIT_MOTION = 0.02
# Relative variation of torso length at which a track's motion counts 1/e as much.
TORSO_VARIATION_SCALE = 0.05


def hip_center(landmarks: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    return landmarks[[Landmark.LEFT_HIP, Landmark.RIGHT_HIP], :2].mean(0).astype(np.float64)


def shoulder_center(landmarks: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    return landmarks[[Landmark.LEFT_SHOULDER, Landmark.RIGHT_SHOULDER], :2].mean(0).astype(
        np.float64)


def torso_length(landmarks: npt.NDArray[np.float32]) -> float:
    return float(np.linalg.norm(shoulder_center(landmarks) - hip_center(landmarks)))


def distance_to_body(landmarks: npt.NDArray[np.float32], point: tuple[float, float]) -> float:
    """0 inside the box around the body landmarks, else the distance to it (pixels)."""
    body = landmarks[BODY, :2]
    lo, hi = body.min(0), body.max(0)
    p = np.asarray(point, np.float64)
    gap = np.maximum(0.0, np.maximum(lo - p, p - hi))
    return float(np.hypot(*gap))


@dataclass(frozen=True)
class Person:
    """Someone found in a frame: the detection and the landmarks of its region."""

    detection: Detection
    pose: PoseLandmarks

    @property
    def hip(self) -> npt.NDArray[np.float64]:
        return hip_center(self.pose.landmarks)

    @property
    def torso(self) -> float:
        return max(torso_length(self.pose.landmarks), 1.0)


def find_people(frame: Frame, detector: PoseDetector, landmarker: LandmarkModel) -> list[Person]:
    """Everyone the detector finds, with landmarks; duplicates of one person merged."""
    people: list[Person] = []
    for detection in detector.detect(frame):
        pose = landmarker.infer(frame, detection.roi())
        if pose is None:
            continue
        candidate = Person(detection, pose)
        duplicate = False
        for i, other in enumerate(people):
            scale = SAME_PERSON_TORSOS * min(candidate.torso, other.torso)
            same_hips = np.linalg.norm(candidate.hip - other.hip) < scale
            same_shoulders = np.linalg.norm(shoulder_center(candidate.pose.landmarks)
                                            - shoulder_center(other.pose.landmarks)) < scale
            if same_hips and same_shoulders:
                duplicate = True
                if candidate.pose.score > other.pose.score:
                    people[i] = candidate
                break
        if not duplicate:
            people.append(candidate)
    return people


def choose_by_point(people: Iterable[Person], point: tuple[float, float]) -> Person | None:
    """The person whose body holds ``point``; among several, the one whose torso is nearest.

    None when the point is on nobody found (that person may be hidden in this frame): never
    someone else merely because they are the only one found.
    """
    best: tuple[float, float, Person] | None = None
    for p in people:
        if distance_to_body(p.pose.landmarks, point) > POINT_MARGIN_TORSOS * p.torso:
            continue
        torso_mid = (p.hip + shoulder_center(p.pose.landmarks)) / 2
        key = (distance_to_body(p.pose.landmarks, point),
               float(np.linalg.norm(torso_mid - np.asarray(point))))
        if best is None or key < best[:2]:
            best = (key[0], key[1], p)
    return None if best is None else best[2]


@dataclass
class PersonTrack:
    """One person followed through the selection window's samples."""

    times: list[float] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)

    def add(self, t: float, person: Person) -> None:
        self.times.append(t)
        self.people.append(person)

    @property
    def hip(self) -> npt.NDArray[np.float64]:
        return self.people[-1].hip

    def gait_motion(self) -> float:
        """How much the legs' spread varies, in torso lengths: large for gait cycles.

        The median absolute deviation, not the variance: a bystander's crop sometimes takes in
        the runner's leg (two_people_portrait), and those few chimera samples must not make the
        bystander look like a runner.
        """
        if len(self.people) < 3:
            return 0.0
        spreads = []
        for p in self.people:
            lm = p.pose.landmarks
            pairs = [(Landmark.LEFT_ANKLE, Landmark.RIGHT_ANKLE),
                     (Landmark.LEFT_KNEE, Landmark.RIGHT_KNEE),
                     (Landmark.LEFT_HEEL, Landmark.RIGHT_HEEL)]
            spreads.append(np.concatenate([lm[a, :2] - lm[b, :2] for a, b in pairs]) / p.torso)
        values = np.asarray(spreads)
        deviation = np.abs(values - np.median(values, axis=0))
        return float(np.median(deviation, axis=0).mean())

    def consistency(self) -> float:
        """1 for a body whose torso length holds steady, towards 0 as it varies.

        Over a couple of seconds a person's torso length barely changes; estimates that mix two
        overlapping people (a bystander's crop taking in the runner's limbs) make it swing by
        tens of percent, and such a track's leg motion is not to be trusted.
        """
        torsos = np.asarray([p.torso for p in self.people])
        variation = float(torsos.std() / max(float(torsos.mean()), 1.0))
        return math.exp(-variation / TORSO_VARIATION_SCALE)

    def mean_torso(self) -> float:
        return float(np.mean([p.torso for p in self.people]))

    def expected_center(self, t: float) -> npt.NDArray[np.float64]:
        """The detector's body centre (keypoint 0) at ``t``, interpolated between samples and
        held beyond them: what a detection of this person at ``t`` should be near."""
        centers = np.asarray([p.detection.hip_center for p in self.people])
        return np.array([np.interp(t, self.times, centers[:, 0]),
                         np.interp(t, self.times, centers[:, 1])])

    def region_size(self) -> float:
        return float(np.mean([p.detection.roi().size for p in self.people]))

    def seen_near(self, t: float, margin_s: float) -> bool:
        return self.times[0] - margin_s <= t <= self.times[-1] + margin_s


def link_samples(samples: list[tuple[float, list[Person]]]) -> list[PersonTrack]:
    """Greedy nearest-hip linking of the people found at successive sample times."""
    tracks: list[PersonTrack] = []
    for t, people in samples:
        pairs = []
        for ti, track in enumerate(tracks):
            dt = t - track.times[-1]
            for pi, person in enumerate(people):
                gate = max(track.people[-1].torso, person.torso) * (
                    LINK_BASE_TORSOS + LINK_TORSOS_PER_S * dt)
                d = float(np.linalg.norm(person.hip - track.hip))
                if d <= gate:
                    pairs.append((d, ti, pi))
        used_tracks: set[int] = set()
        used_people: set[int] = set()
        for _, ti, pi in sorted(pairs):
            if ti in used_tracks or pi in used_people:
                continue
            tracks[ti].add(t, people[pi])
            used_tracks.add(ti)
            used_people.add(pi)
        for pi, person in enumerate(people):
            if pi not in used_people:
                track = PersonTrack()
                track.add(t, person)
                tracks.append(track)
    return tracks


def pick_runner(tracks: list[PersonTrack], n_samples: int) -> PersonTrack | None:
    """The track moving through gait cycles the most (weighted by how often it was seen)."""
    if not tracks:
        return None
    n = max(n_samples, 1)

    def gait_score(track: PersonTrack) -> float:
        return track.gait_motion() * track.consistency() * len(track.people) / n

    best = max(tracks, key=gait_score)
    if gait_score(best) >= MIN_GAIT_MOTION:
        return best
    # Nobody moves: the largest, most present person (the one filmed).
    return max(tracks, key=lambda tr: tr.mean_torso() * len(tr.people) / n)


@dataclass
class Target:
    """Where the tracked person is expected, to choose among detections when (re-)acquiring.

    Positions are the detector's body centre (keypoint 0), compared with the same point of the
    tracked pose (its first auxiliary landmark), so that detections and poses agree.
    """

    reference: PersonTrack | None = None  # the runner over the selection window
    others: list[PersonTrack] = field(default_factory=list)  # everyone else seen there
    last_time: float | None = None
    last_center: npt.NDArray[np.float64] | None = None
    last_size: float = 0.0

    def update(self, t: float, pose: PoseLandmarks) -> None:
        self.last_time = t
        self.last_center = pose.auxiliary[0].astype(np.float64)
        size = 2.0 * float(np.hypot(*(pose.auxiliary[1] - pose.auxiliary[0])))
        self.last_size = max(size, 1.0)

    def _expected(self, t: float) -> tuple[npt.NDArray[np.float64], float, float] | None:
        """(centre, region size, seconds of uncertainty) where our person should be at ``t``."""
        ref = self.reference
        if ref is not None and (self.last_time is None or t <= ref.times[-1]):
            inside = ref.times[0] <= t <= ref.times[-1]
            elapsed = 0.0 if inside else min(abs(t - ref.times[0]), abs(t - ref.times[-1]))
            return ref.expected_center(t), ref.region_size(), SELECTION_INTERVAL_S + elapsed
        if self.last_center is not None and self.last_time is not None:
            return self.last_center, self.last_size, max(t - self.last_time, 0.0)
        return None

    def choose(self, t: float, detections: list[Detection]) -> Detection | None:
        """The detection of our person, or None when no detection is plausibly them: a
        detection nearer to where someone else was seen is someone else."""
        if not detections:
            return None
        expected = self._expected(t)
        if expected is None:
            return detections[0]  # nobody to follow yet: the most confident person
        center, size, uncertainty_s = expected
        gate = size * (REACQUIRE_BASE_SIZES + REACQUIRE_SIZES_PER_S * uncertainty_s)
        others = [o.expected_center(t) for o in self.others
                  if o.seen_near(t, SELECTION_INTERVAL_S)]
        best: tuple[float, Detection] | None = None
        for detection in detections:
            c = np.asarray(detection.hip_center, np.float64)
            distance = float(np.hypot(*(c - center)))
            if distance > gate:
                continue
            if any(float(np.hypot(*(c - o))) < distance for o in others):
                continue
            if best is None or distance < best[0]:
                best = (distance, detection)
        return None if best is None else best[1]
